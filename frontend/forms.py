from django import forms
from django.contrib.auth.forms import AuthenticationForm


class EmailAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, asking for the e-mail address (the user model's USERNAME_FIELD)."""

    username = forms.EmailField(
        label="E-mail", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class PreferencesForm(forms.Form):
    """The user menu's choices; an empty value means "follow the browser"."""

    language = forms.ChoiceField(choices=[("", ""), ("en", "English"), ("ja", "日本語")], required=False)
    theme = forms.ChoiceField(choices=[("", ""), ("light", "light"), ("dark", "dark")], required=False)

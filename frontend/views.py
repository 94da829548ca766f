"""Pages of the browser app: sign-in and sign-out (Django sessions), and the shells that load the built app.

The app itself talks to the REST API with the session cookie and the CSRF token from the page.
"""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from frontend.forms import EmailAuthenticationForm


class SignInView(auth_views.LoginView):
    template_name = "frontend/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


class SignOutView(auth_views.LogoutView):
    next_page = "frontend:login"


def _app_page(request: HttpRequest, *, page: str, project_id: int | None = None) -> HttpResponse:
    settings_for_app = {
        "page": page,
        "project": project_id,
        "user": {"id": request.user.pk, "email": request.user.email},
        "imageOrigins": list(settings.TESSERA_IMAGE_ALLOWED_ORIGINS),
    }
    return render(request, "frontend/app.html", {"page": page, "app_settings": settings_for_app})


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return redirect("frontend:projects")


@require_GET
@login_required
@ensure_csrf_cookie
def projects(request: HttpRequest) -> HttpResponse:
    return _app_page(request, page="projects")


@require_GET
@login_required
@ensure_csrf_cookie
def label(request: HttpRequest, project_id: int) -> HttpResponse:
    return _app_page(request, page="label", project_id=project_id)

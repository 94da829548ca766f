"""Request and response shapes of the tessera app's endpoints, for the OpenAPI schema only.

The views build their answers as plain dicts (see ``annotation/api/output.py`` for why); these
serializers describe those dicts to drf-spectacular and are never used to render or parse. A test
(``tests/test_openapi_schema.py``) checks real answers against the schema they generate, so the two
cannot drift apart silently.
"""

from rest_framework import serializers


class ErrorDetailOut(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable reason, e.g. not_found, permission_denied.")
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True, help_text="The request field at fault, if any.")


class ErrorOut(serializers.Serializer):
    error = ErrorDetailOut()
    detail = serializers.CharField(help_text="The message again, where Label Studio clients read it.")


class UserOut(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()
    username = serializers.CharField(allow_blank=True)
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)
    active_organization = serializers.IntegerField(allow_null=True)
    role = serializers.CharField(allow_null=True, help_text="The caller's role in the active organization.")


class OrganizationOut(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    role = serializers.CharField()
    active = serializers.BooleanField()


class OrganizationSwitchIn(serializers.Serializer):
    organization = serializers.IntegerField(help_text="Id of an organization the caller belongs to.")


class ApiTokenOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(allow_blank=True)
    prefix = serializers.CharField(help_text="First characters of the key, to tell tokens apart.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True, help_text="Null: never expires.")


class ApiTokenCreatedOut(ApiTokenOut):
    key = serializers.CharField(help_text="Shown in this answer only.")


class ApiTokenIn(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=100)
    expires_in_days = serializers.IntegerField(required=False, min_value=1, max_value=3650)


class TokenKeyOut(serializers.Serializer):
    token = serializers.CharField()


class UserSimpleOut(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField()
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)
    avatar = serializers.CharField(allow_null=True)


ROLE_HELP = "owner, admin, manager, reviewer or annotator."


class MembershipOut(serializers.Serializer):
    user = UserSimpleOut()
    role = serializers.CharField(help_text=ROLE_HELP)
    is_active = serializers.BooleanField(
        help_text="False: deactivated (their work stays, their access stopped)."
    )
    created_at = serializers.DateTimeField()


class MembershipPageOut(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.IntegerField(allow_null=True, help_text="The next page number, or null.")
    previous = serializers.IntegerField(allow_null=True)
    results = MembershipOut(many=True)


class MembershipIn(serializers.Serializer):
    email = serializers.EmailField(help_text="An existing account's e-mail address; else send an invitation.")
    role = serializers.CharField(required=False, help_text=f"Default annotator; {ROLE_HELP}")


class MembershipRoleIn(serializers.Serializer):
    role = serializers.CharField(help_text=ROLE_HELP)


class InvitationOut(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()
    role = serializers.CharField()
    state = serializers.ChoiceField(choices=["pending", "accepted", "revoked", "expired"])
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    invited_by = UserSimpleOut(allow_null=True)


class InvitationCreatedOut(InvitationOut):
    url = serializers.CharField(help_text="The absolute accept link: shown in this answer only.")
    email_sent = serializers.BooleanField(help_text="Whether the link went out by e-mail.")


class InvitationPageOut(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.IntegerField(allow_null=True)
    previous = serializers.IntegerField(allow_null=True)
    results = InvitationOut(many=True)


class InvitationIn(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.CharField(required=False, help_text=f"Default annotator; {ROLE_HELP}")
    send_email = serializers.BooleanField(required=False, default=True)

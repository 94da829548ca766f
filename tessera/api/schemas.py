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

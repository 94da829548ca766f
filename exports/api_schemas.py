"""Response shapes of the exports app's endpoints, for the OpenAPI schema only (see tessera/api/schemas.py)."""

from rest_framework import serializers


class BackendVersionOut(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.CharField()


class VersionOut(serializers.Serializer):
    release = serializers.CharField()
    edition = serializers.CharField(help_text='"Community": the SDK then exports through /export.')
    backend = BackendVersionOut()
    lsf = serializers.CharField(allow_null=True)
    dm2 = serializers.CharField(allow_null=True)

    def get_fields(self):
        # Label Studio's component versions, always null here; hyphenated keys cannot be class attributes.
        fields = super().get_fields()
        for name in (
            "label-studio-os-package",
            "label-studio-os-backend",
            "label-studio-frontend",
            "label-studio-converter",
        ):
            fields[name] = serializers.CharField(allow_null=True)
        return fields

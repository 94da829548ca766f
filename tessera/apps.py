from django.apps import AppConfig


class TesseraConfig(AppConfig):
    name = "tessera"
    verbose_name = "Tessera platform: organizations, members, tokens, audit"

    def ready(self) -> None:
        from tessera import schema  # noqa: F401 - registers the OpenAPI auth extension

from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Exports: streamed project exports and, later, dataset versions"

    def ready(self) -> None:
        # Dataset formats register themselves when their module is imported.
        from exports.formats import converter_formats  # noqa: F401

from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    verbose_name = "Exports: streamed project exports and dataset versions"

    def ready(self) -> None:
        # Connects the receiver that removes a deleted version's files (a project's deletion included).
        from exports import dataset_services  # noqa: F401

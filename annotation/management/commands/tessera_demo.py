"""Set up the demo: an organization, an owner with a password and token, and a sentiment project with tasks
and two pre-labelers: zero-shot by label description (its job over the tasks is queued at once, so the
worker started next pre-labels them) and the MiniLM classifier, which learns from the labels people give
(its first fit comes from beat's refit sweep in the demo's worker, since a third of the tasks come labeled).

Safe to run again: it reuses what exists, only adds tasks to an empty project and pre-labelers to a
project without any.
"""

from django.core.management.base import BaseCommand, CommandError

from annotation.demo_data import INSTRUCTIONS, LABEL_CONFIG, MAX_HEADLINES, headlines
from annotation.importing.parsers import to_task_item
from annotation.models import Project
from annotation.services.annotations import annotation_create
from annotation.services.imports import tasks_import
from annotation.services.projects import project_create
from exports.dataset_services import dataset_version_create
from tessera.models import Role
from tessera.services import api_token_create, organization_get_or_create, user_upsert
from training.models import PrelabelBackend, Prelabeler
from training.services.prelabel_jobs import prelabel_job_create
from training.services.prelabelers import create_prelabeler

DEMO_ORG = "Tessera Demo"
DEMO_EMAIL = "demo@tessera.local"
DEMO_PASSWORD = "tessera-demo"  # noqa: S105 - the demo's published sign-in, printed on start
DEMO_PROJECT = "Financial news sentiment"
# What each choice means for investors: the zero-shot pre-labeler compares a headline with these.
DESCRIPTIONS = {
    "Positive": "Good news for the company's investors: profits, growth, upgrades, wins.",
    "Negative": "Bad news for the company's investors: losses, cuts, downgrades, lawsuits.",
    "Neutral": "Routine company news with no clear effect for investors.",
}


# The demo's labeled share and the dataset version built from it (split by sentiment, seeded).
LABELED_SHARE = 3  # one task in three
DATASET_MIN_LABELED = 30
DATASET_RECIPE = {
    "name": "Labeled headlines v1",
    "formats": ["text_classification", "jsonl"],
    "splits": {"train": 0.8, "validation": 0.1, "test": 0.1},
    "stratify": True,
    "seed": 1,
}


def labeled_count(tasks: int) -> int:
    return tasks // LABELED_SHARE


def sentiment_result(label: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


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
        if not Prelabeler.objects.filter(project=project).exists():
            zero_shot = create_prelabeler(
                project=project,
                user=user,
                backend=PrelabelBackend.ZERO_SHOT,
                title="Zero-shot by label description",
                settings={"descriptions": DESCRIPTIONS},
            )
            create_prelabeler(
                project=project,
                user=user,
                backend=PrelabelBackend.EMBEDDING_CLASSIFIER,
                title="MiniLM classifier (learns from your labels)",
            )
            # A third of the tasks come labeled (by the demo annotator, with the headline's sentiment), so
            # the Datasets and Training tabs have something to build and train on from the start.
            for task, row in zip(
                project.tasks.order_by("inner_id")[: labeled_count(tasks)], headlines(tasks), strict=False
            ):
                label = row["meta"]["template_sentiment"]
                annotation_create(task=task, user=annotator, result=sentiment_result(label))
            # Queued now, run by the demo's worker as soon as it starts.
            prelabel_job_create(prelabeler=zero_shot, user=user, tasks="unlabeled", from_request=False)
            if labeled_count(tasks) >= DATASET_MIN_LABELED:
                dataset_version_create(project=project, user=user, body=DATASET_RECIPE)
        token = api_token_create(user=user, name="demo")
        self.stdout.write(
            f"login: {DEMO_EMAIL} / {DEMO_PASSWORD} (annotator: annotator@tessera.local / {DEMO_PASSWORD})"
        )
        self.stdout.write(f"project: {project.title} (id {project.pk}, {project.tasks.count()} tasks)")
        self.stdout.write(
            f"pre-labelers: {', '.join(project.prelabelers.order_by('pk').values_list('title', flat=True))}"
        )
        self.stdout.write(f"api token: {token}")

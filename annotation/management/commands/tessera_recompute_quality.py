"""Rebuild agreement statistics, per-task agreement and consensus, and the dashboard's annotator totals,
from the annotations, for one project (``--project ID``) or every project: every agreement and annotator
figure from scratch. The write paths keep them up to date; this repairs or backfills."""

import time

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from annotation.services.quality import project_quality_recompute


class Command(BaseCommand):
    help = "Recompute agreement, consensus and annotator totals from scratch (--project ID for one project)."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, help="Only this project's id.")

    def handle(self, *args, project: int | None, **options):
        projects = Project.objects.order_by("id")
        if project is not None:
            projects = projects.filter(pk=project)
            if not projects.exists():
                raise CommandError(f"Project {project} not found.")
        for row in projects.iterator():
            started = time.perf_counter()
            quality = project_quality_recompute(project=row, with_activity=True)
            self.stdout.write(
                f"project {row.pk}: {quality.tasks} tasks, {quality.annotations} annotations "
                f"in {time.perf_counter() - started:.2f} s"
            )

"""Write the search rows of tasks left above their project's watermark, now, in this process: what the
job queued after each import does (annotation.tasks.index_task_search), for every project behind or
the ones named. For operators (a broker that lost messages) and benchmarks.

Unlike the job, which stops after TESSERA_SEARCH_INDEX_RUN_SECONDS and queues its continuation, the
command runs to the end of each project (or for ``--seconds``): an operator who runs it means "now".
"""

from django.core.management.base import BaseCommand
from django.db.models import F

from annotation.models import Project
from annotation.services.search_index import task_search_index


class Command(BaseCommand):
    help = "Index the full-text search rows of projects whose tasks are not all indexed (PostgreSQL)."

    def add_arguments(self, parser):
        parser.add_argument("--project", type=int, action="append", help="only this project (repeatable)")
        parser.add_argument(
            "--seconds",
            type=float,
            default=float("inf"),
            help="stop each project after the batch that passes this many seconds (default: no limit)",
        )

    def handle(self, *args, **options):
        projects = options["project"] or list(
            Project.objects.exclude(search_indexed_layout_version=F("task_layout_version"))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        for project_id in projects:
            report = task_search_index(project_id=project_id, seconds=options["seconds"])
            if report.skipped:
                self.stdout.write(f"project {project_id}: another run is indexing it; left to that run")
                continue
            self.stdout.write(
                f"project {project_id}: indexed {report.indexed}, through id {report.through_id}, "
                f"complete: {report.complete}"
            )

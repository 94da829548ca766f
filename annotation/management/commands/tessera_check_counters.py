"""Compare every task and project counter, and the dashboard's running totals, with a recount of the
rows; ``--fix`` sets them to the recount.

Exits non-zero when it finds a difference and was not asked to fix it, so that a cron job or a
release check can alert on it.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from annotation.models import Project
from annotation.services.activity_totals import activity_differences, activity_fix
from annotation.services.counters import counters_check


class Command(BaseCommand):
    help = "Check task and project counters against a recount of their rows (--fix to correct them)."

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Set every wrong counter to its recount.")

    def handle(self, *args, fix: bool, **options):
        report = counters_check(fix=fix)
        wrong_totals = self._dashboard_totals(fix=fix)
        if not report.total:
            if wrong_totals and not fix:
                raise CommandError(
                    f"The dashboard totals of {wrong_totals} projects differ from a recount; run with --fix."
                )
            self.stdout.write("Every counter matches a recount.")
            return
        for name, count in sorted(report.differences.items()):
            self.stdout.write(f"{name}: {count} wrong")
        for line in report.examples:
            self.stdout.write(f"  {line}")
        if len(report.examples) < report.total:
            self.stdout.write(f"  … and {report.total - len(report.examples)} more")
        if report.fixed:
            self.stdout.write(self.style.SUCCESS(f"Fixed {report.total} counters."))
            return
        raise CommandError(f"{report.total} counters differ from a recount; run with --fix to correct them.")

    def _dashboard_totals(self, *, fix: bool) -> int:
        """The dashboard's totals per project (annotation/services/activity_totals.py); how many
        projects differ. A fix rebuilds a project's under its row lock (writers of it wait)."""
        wrong = 0
        for project_id in Project.objects.order_by("pk").values_list("pk", flat=True).iterator():
            found = activity_differences(project_id)
            if not found:
                continue
            wrong += 1
            for line in found[:10]:
                self.stdout.write(f"  dashboard totals: {line}")
            if fix:
                with transaction.atomic():
                    Project.objects.select_for_update().filter(pk=project_id).first()
                    activity_fix(project_id)
                self.stdout.write(
                    self.style.SUCCESS(f"Rebuilt the dashboard totals of project {project_id}.")
                )
        return wrong

"""Compare every task and project counter with a recount of the rows; ``--fix`` sets them to the recount.

Exits non-zero when it finds a difference and was not asked to fix it, so that a cron job or a
release check can alert on it.
"""

from django.core.management.base import BaseCommand, CommandError

from annotation.services.counters import counters_check


class Command(BaseCommand):
    help = "Check task and project counters against a recount of their rows (--fix to correct them)."

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Set every wrong counter to its recount.")

    def handle(self, *args, fix: bool, **options):
        report = counters_check(fix=fix)
        if not report.total:
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

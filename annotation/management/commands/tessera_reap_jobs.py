"""Run the job reaper once: what Celery beat runs every minute (annotation.tasks.reap_import_jobs)."""

from django.core.management.base import BaseCommand

from annotation.services.import_jobs import import_jobs_reap


class Command(BaseCommand):
    help = "Re-queue or fail import jobs whose worker's lease ran out; remove orphaned uploads."

    def handle(self, *args, **options):
        report = import_jobs_reap()
        self.stdout.write(
            f"requeued: {len(report.requeued)} {report.requeued}; failed: {len(report.failed)} {report.failed}; "
            f"removed uploads: {len(report.removed_uploads)}"
        )
        # Pre-labeling jobs are leased the same way (training/services/prelabel_jobs.py).
        from training.services.prelabel_jobs import prelabel_jobs_reap

        prelabels = prelabel_jobs_reap()
        self.stdout.write(
            f"pre-labeling jobs requeued: {len(prelabels.requeued)} {prelabels.requeued}; "
            f"failed: {len(prelabels.failed)} {prelabels.failed}; cancelled: {len(prelabels.cancelled)}"
        )

"""Celery entry points for the annotation app: thin adapters that call services with a job row's id."""

from functools import partial

from celery import shared_task
from django.db import DatabaseError

from annotation.services.import_jobs import import_job_fail, import_job_run, import_jobs_reap
from annotation.services.search_index import search_index_send_once, task_search_index, task_search_sweep
from tessera.job_tasks import JOB_RETRY_OPTIONS, job_task_run


@shared_task(
    bind=True,
    name="annotation.tasks.run_import_job",
    **JOB_RETRY_OPTIONS,
)
def run_import_job(self, job_id: int) -> None:
    job_task_run(
        self,
        run=partial(import_job_run, job_id=job_id),
        fail=partial(import_job_fail, job_id=job_id),
        # Raised in the middle of the work: the import's transaction rolled back, nothing was written.
        time_limit_message="The import ran longer than its time limit ({limit} s) and was stopped; "
        "nothing was written.",
    )


@shared_task(name="annotation.tasks.reap_import_jobs", soft_time_limit=50, time_limit=60)
def reap_import_jobs() -> dict:
    report = import_jobs_reap()
    return {
        "requeued": report.requeued,
        "failed": report.failed,
        "removed_uploads": len(report.removed_uploads),
    }


@shared_task(
    name="annotation.tasks.index_task_search",
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=5,
)
def index_task_search(project_id: int) -> dict:
    """Search rows of the project's tasks above its watermark (after an import commits); safe to run twice."""
    report = task_search_index(project_id=project_id)
    if report.more:
        # Behind whatever was queued meanwhile (an import job), not before it.
        search_index_send_once(project_id)
    return {"indexed": report.indexed, "through_id": report.through_id, "complete": report.complete,
            "more": report.more}  # fmt: skip


@shared_task(name="annotation.tasks.sweep_task_search", soft_time_limit=50, time_limit=60)
def sweep_task_search() -> dict:
    """Queue indexing for projects left behind (a lost message, a run that met an import in flight)."""
    return {"queued": len(task_search_sweep().queued)}

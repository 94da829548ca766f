"""A background import on a real worker queues the search indexing job on its commit, and the worker
runs it: the project's search rows are written and its watermark reaches the last task (PostgreSQL:
SQLite keeps no search rows)."""

import pytest
from django.db import connection

from annotation.models import ImportJob, JobState, Project, Task, TaskSearchText
from tests.conftest import post_json
from tests.integration.conftest import wait_for

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL: search rows are written there only"
    ),
]


def test_the_worker_indexes_a_background_import_after_it_commits(start_worker, api, make_project):
    project = make_project()
    worker = start_worker()
    tasks = [{"text": f"Headline {i}: 東京の市場は動いた"} for i in range(1500)]

    response = post_json(api("manager"), f"/api/projects/{project.pk}/import", tasks)
    assert response.status_code == 201, response.content
    job_id = response.json()["import"]

    def indexed():
        job = ImportJob.objects.get(pk=job_id)
        if job.state == JobState.FAILED:
            pytest.fail(f"the import failed: {job.error}")
        last = Task.objects.filter(project=project).order_by("-id").values_list("id", flat=True).first()
        through = (
            Project.objects.filter(pk=project.pk).values_list("search_indexed_through_id", flat=True).get()
        )
        return job.state == JobState.COMPLETED and last is not None and through == last

    wait_for(indexed, timeout=90, what="the search indexing job", worker=worker)
    assert TaskSearchText.objects.filter(project=project).count() == 1500
    assert "annotation.tasks.index_task_search" in worker.log()

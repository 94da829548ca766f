"""An import writes its rows without holding the project's row: submits in the project go on meanwhile."""

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from annotation.importing.parsers import to_task_item
from annotation.models import Project, Task
from annotation.services.annotations import annotation_create
from annotation.services.imports import tasks_import
from tests.conftest import choice


@pytest.mark.django_db(transaction=True)
def test_a_submit_goes_on_while_an_import_writes(cast, make_project):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; only PostgreSQL writes concurrently")
    project = make_project(tasks=[{"text": "First"}, {"text": "Second"}])
    blocker_ready, release_blocker = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def block_the_next_inner_id() -> None:
        # An uncommitted row at inner_id 3 makes the import's COPY wait on the unique index, so the
        # import stays in its write phase for as long as this transaction lasts.
        try:
            with transaction.atomic():
                now = timezone.now()
                Task.objects.create(
                    project_id=project.pk, data={"text": "blocker"}, inner_id=3, created_at=now
                )
                blocker_ready.set()
                release_blocker.wait(10)
                transaction.set_rollback(True)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    def import_tasks() -> None:
        try:
            items = [to_task_item({"text": f"Imported {i}"}, i) for i in range(5)]
            tasks_import(project=Project.objects.get(pk=project.pk), user=cast.users["owner"], items=items)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    blocker = threading.Thread(target=block_the_next_inner_id)
    blocker.start()
    assert blocker_ready.wait(10)
    importer = threading.Thread(target=import_tasks)
    importer.start()
    try:
        _wait_for_a_lock_wait()
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")
        started = time.monotonic()
        task = Task.objects.select_related("project").get(project=project, inner_id=1)
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
        assert time.monotonic() - started < 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
        release_blocker.set()
        blocker.join()
        importer.join()
    assert errors == []
    project.refresh_from_db()
    assert (project.task_count, project.task_counter, project.annotation_total) == (7, 7, 1)
    assert Task.objects.filter(project=project).count() == 7


def _wait_for_a_lock_wait() -> None:
    """Until the importer's COPY waits on the blocker's row (or ten seconds pass)."""
    deadline = time.monotonic() + 10
    with connections["default"].cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the import never reached its write phase")

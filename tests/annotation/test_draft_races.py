"""Autosaves that race (two tabs, a retry) leave one draft per user and task, not duplicates."""

import threading

import pytest
from django.db import connection

from annotation.models import Draft
from annotation.services.annotations import draft_save
from tests.conftest import choice


@pytest.mark.django_db(transaction=True)
def test_concurrent_autosaves_of_one_user_keep_a_single_draft(make_project, cast):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL's concurrent transactions")
    project = make_project(tasks=[{"text": "a headline"}])
    task = project.tasks.get()
    user = cast.users["annotator"]
    savers = 6
    errors: list[BaseException] = []

    for _ in range(10):
        Draft.objects.all().delete()
        barrier = threading.Barrier(savers)

        def save(value: str, barrier: threading.Barrier = barrier) -> None:
            try:
                barrier.wait()
                draft_save(task=task, user=user, result=choice(value))
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=save, args=(v,)) for v in ["Positive", "Negative", "Neutral"] * 2]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        assert Draft.objects.filter(task=task, user=user).count() == 1

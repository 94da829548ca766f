"""Concurrent submits on different tasks of one project keep the project's agreement statistics exact,
and do not queue behind one row: each locks only its task's shard (ProjectQualityShard).

Real threads, one connection each (see test_counter_races.py). On PostgreSQL the transactions truly
overlap; SQLite runs one writer at a time, so there only the sums are checked."""

import threading
from functools import partial

import pytest
from django.db import connection, transaction

from annotation.models import ProjectQualityShard
from annotation.services.annotations import annotation_create
from annotation.services.quality import (
    _shard_locked,
    project_quality,
    project_quality_recompute,
    quality_shard,
)
from tests.annotation.test_counter_races import ROUNDS, annotators, assert_counters_exact, codes, race  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
  <Labels name="label" toName="text"><Label value="ORG"/><Label value="PER"/></Labels>
</View>"""
TEXT = "Acme Bank hired Jane Doe."
CHOICES = ["Positive", "Negative", "Neutral"]


def answer(index: int) -> list[dict]:
    span = (0, 9, "ORG") if index % 2 else (16, 24, "PER")
    return [
        {"from_name": "sentiment", "to_name": "text", "type": "choices",
         "value": {"choices": [CHOICES[index % 3]]}},
        {"from_name": "label", "to_name": "text", "type": "labels",
         "value": {"start": span[0], "end": span[1], "labels": [span[2]]}},
    ]  # fmt: skip


def _figures(project) -> tuple:
    quality = project_quality(project.pk)
    return quality.stats, quality.tasks, quality.annotations


def test_concurrent_submits_on_different_tasks_end_equal_to_a_full_recompute(make_project, annotators):  # noqa: F811
    for round_number in range(ROUNDS):
        project = make_project(CONFIG, maximum_annotations=3, tasks=[{"text": TEXT} for _ in range(8)])
        tasks = list(project.tasks.order_by("id"))
        for index, task in enumerate(tasks):
            annotation_create(task=task, user=annotators[0], result=answer(index + round_number))
        # Every submit below is a task's second or third answer: each refreshes the project's figures.
        calls = [
            partial(annotation_create, task=task, user=user, result=answer(index * 7 + offset + round_number))
            for index, task in enumerate(tasks)
            for offset, user in enumerate(annotators[1:3])
        ]
        outcomes = race(*calls)
        assert codes(outcomes) == ["ok"] * len(calls)
        incremental = _figures(project)
        assert incremental[1] == 8 and incremental[2] == 24
        assert ProjectQualityShard.objects.filter(project=project).count() == len(
            {quality_shard([task.pk]) for task in tasks}
        )
        project_quality_recompute(project=project)
        assert _figures(project) == incremental
        assert_counters_exact()


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="SQLite runs one writer at a time.")
def test_a_submit_does_not_wait_for_a_write_holding_another_tasks_shard(make_project, annotators):  # noqa: F811
    project = make_project(CONFIG, maximum_annotations=3, tasks=[{"text": TEXT} for _ in range(2)])
    first, second = project.tasks.order_by("id")
    assert quality_shard([first.pk]) != quality_shard([second.pk])
    for task in (first, second):
        annotation_create(task=task, user=annotators[0], result=answer(0))
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold_first_tasks_shard() -> None:
        try:
            with transaction.atomic():
                _shard_locked(project.pk, quality_shard([first.pk]))
                holding.set()
                release.wait(30)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            holding.set()
            connection.close()

    def submit_on_second_task() -> None:
        try:
            annotation_create(task=second, user=annotators[1], result=answer(1))
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_first_tasks_shard)
    holder.start()
    assert holding.wait(30)
    submitter = threading.Thread(target=submit_on_second_task)
    submitter.start()
    submitter.join(20)
    finished_while_held = not submitter.is_alive()
    release.set()
    holder.join(30)
    submitter.join(30)
    assert not errors, errors
    assert finished_while_held
    assert _figures(project)[1] == 1

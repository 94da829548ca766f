"""A full recompute split over worker processes (annotation/quality/fanout.py) writes exactly the rows
and sums of the recompute in one process, and a worker that fails or dies fails the recompute and
leaves the previous figures in place.

The workers read over connections of their own, so they see committed rows only: these tests commit
(transaction=True) and run on PostgreSQL, the one database the split is used on."""

import os
import random

import pytest
from django.db import connection

from annotation.models import AnnotatorDay, Project, TaskQuality
from annotation.quality.fanout import Fanout, WorkerFailed
from annotation.services import quality as quality_services
from annotation.services.activity_totals import activity_differences
from annotation.services.annotations import annotation_create
from annotation.services.quality import project_quality_recompute
from tests.annotation.test_agreement_full_path import AUTHORS, CONFIG, _db_result, _state

pytestmark = pytest.mark.django_db(transaction=True)

TEXT = "Acme Bank and 山田太郎 in Tokyo, 2026; Globex Corp. bought Initech for 40 million."


@pytest.fixture
def needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("The worker processes' split needs PostgreSQL (SQLite recomputes in one process).")


def _answered_project(make_project, cast, *, tasks: int, seed: int):
    rng = random.Random(seed)
    project = make_project(CONFIG, maximum_annotations=3, tasks=[{"text": TEXT} for _ in range(tasks)])
    for task in project.tasks.order_by("inner_id"):
        for role in rng.sample(AUTHORS, rng.randint(1, 3)):
            annotation_create(task=task, user=cast.users[role], result=_db_result(rng),
                              ground_truth=rng.random() < 0.05)  # fmt: skip
    return project


def _rows_as_text(project) -> list[tuple]:
    return list(
        TaskQuality.objects.filter(project_id=project.pk)
        .order_by("task_id")
        .values_list("task_id", "stats", "controls", "consensus", "tie", "agreement", "annotations")
    )


def test_the_recompute_in_worker_processes_writes_what_one_process_writes(
    needs_postgres, cast, make_project, settings, monkeypatch
):
    # Small fetches, so that tasks straddle fetch batches inside each worker's range too.
    monkeypatch.setattr(quality_services, "RECOMPUTE_FETCH", 7)
    project = _answered_project(make_project, cast, tasks=40, seed=11)
    settings.TESSERA_QUALITY_RECOMPUTE_PROCESSES = 1
    assert quality_services._recompute_ranges(project.pk) == []
    alone = project_quality_recompute(project=project)
    rows, state = _rows_as_text(project), _state(project)
    assert alone.tasks > 15
    TaskQuality.objects.filter(project_id=project.pk).update(stats="{}", agreement=None)

    settings.TESSERA_QUALITY_RECOMPUTE_PROCESSES = 3
    settings.TESSERA_QUALITY_RECOMPUTE_PROCESS_MIN_TASKS = 10
    ranges = quality_services._recompute_ranges(project.pk)
    assert len(ranges) == 3
    task_ids = list(project.tasks.values_list("id", flat=True))
    # Every task falls in exactly one range, and each range holds some.
    assert all(sum(first <= task_id < end for first, end in ranges) == 1 for task_id in task_ids)
    assert all(any(first <= task_id < end for task_id in task_ids) for first, end in ranges)
    split = project_quality_recompute(project=project)
    # Byte for byte: the same stats text, consensus and agreement per task, and the same sums.
    assert _rows_as_text(project) == rows
    assert _state(project) == state
    assert (split.stats, split.tasks, split.annotations) == (alone.stats, alone.tasks, alone.annotations)


def _totals(project) -> tuple[list, dict]:
    days = AnnotatorDay.objects.filter(project_id=project.pk).order_by("user_id", "day")
    columns = ("tasks_in_progress", "tasks_labeled", "tasks_in_review", "tasks_done", "answers_to_review")
    return list(days.values()), Project.objects.filter(pk=project.pk).values(*columns).get()


@pytest.mark.parametrize("processes", [1, 3])
def test_the_recompute_with_activity_rebuilds_the_dashboard_totals_too(
    needs_postgres, cast, make_project, settings, processes
):
    """With worker processes the totals' recount runs beside them in a thread, over its own
    connection; alone, after the recompute. Either way the totals come out as the writes left them."""
    project = _answered_project(make_project, cast, tasks=30, seed=17)
    right = _totals(project)
    AnnotatorDay.objects.filter(project_id=project.pk).update(submitted=99, lead_times={"7": 2})
    Project.objects.filter(pk=project.pk).update(tasks_labeled=0, answers_to_review=41)
    assert activity_differences(project.pk)
    settings.TESSERA_QUALITY_RECOMPUTE_PROCESSES = processes
    settings.TESSERA_QUALITY_RECOMPUTE_PROCESS_MIN_TASKS = 10
    assert len(quality_services._recompute_ranges(project.pk)) == (processes if processes > 1 else 0)
    project_quality_recompute(project=project, with_activity=True)
    assert activity_differences(project.pk) == []
    days, columns = _totals(project)
    assert ([{**day, "id": None} for day in days], columns) == (
        [{**day, "id": None} for day in right[0]],
        right[1],
    )


def test_a_project_under_the_threshold_is_recomputed_in_one_process(
    needs_postgres, cast, make_project, settings
):
    project = _answered_project(make_project, cast, tasks=12, seed=5)
    settings.TESSERA_QUALITY_RECOMPUTE_PROCESSES = 4
    settings.TESSERA_QUALITY_RECOMPUTE_PROCESS_MIN_TASKS = 13
    assert quality_services._recompute_ranges(project.pk) == []
    settings.TESSERA_QUALITY_RECOMPUTE_PROCESS_MIN_TASKS = 12
    assert len(quality_services._recompute_ranges(project.pk)) == 4


def _fails_in_the_second_part(part, send):
    send(b"some output\n")
    if part == 1:
        raise ValueError("the second part could not be computed")
    return part * 10


def _dies_in_the_second_part(part, send):
    if part == 1:
        os._exit(3)  # a worker killed (out of memory, a signal): no result, no traceback
    return part


def _sends(part, send):
    for index in range(3):
        send(f"{part}:{index}\n".encode())
    return {"part": part}


def test_the_fanout_streams_every_part_and_returns_each_result_in_part_order():
    with Fanout(_sends, [0, 1, 2]) as fanout:
        chunks = list(fanout.chunks())
    assert sorted(chunks) == sorted(f"{part}:{index}\n".encode() for part in range(3) for index in range(3))
    assert fanout.results == [{"part": 0}, {"part": 1}, {"part": 2}]


def _fanout_in(queue):
    with Fanout(_sends, [0, 1]) as fanout:
        list(fanout.chunks())
    queue.put(fanout.results)


def test_the_fanout_runs_inside_a_daemonic_process():
    """A Celery pool process is daemonic, and multiprocessing refuses to start children from one (the
    first dataset build in parts on a worker failed with that)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=_fanout_in, args=(queue,), daemon=True)
    process.start()
    try:
        assert queue.get(timeout=60) == [{"part": 0}, {"part": 1}]
    finally:
        process.join(30)
    assert process.exitcode == 0


@pytest.mark.parametrize("work", [_fails_in_the_second_part, _dies_in_the_second_part])
def test_a_worker_that_fails_or_dies_fails_the_fanout(work):
    with pytest.raises(WorkerFailed) as failed, Fanout(work, [0, 1, 2]) as fanout:
        list(fanout.chunks())
    if work is _fails_in_the_second_part:
        assert "the second part could not be computed" in str(failed.value)
    else:
        assert "ended without its result" in str(failed.value)


def test_a_failed_worker_leaves_the_previous_figures_in_place(
    needs_postgres, cast, make_project, settings, monkeypatch
):
    project = _answered_project(make_project, cast, tasks=20, seed=3)
    project_quality_recompute(project=project)
    rows, state = _rows_as_text(project), _state(project)
    settings.TESSERA_QUALITY_RECOMPUTE_PROCESSES = 2
    settings.TESSERA_QUALITY_RECOMPUTE_PROCESS_MIN_TASKS = 2
    computed = quality_services._recompute_part

    def second_part_fails(part, send):
        if part.first_task_id > 0:
            raise RuntimeError("a worker failed")
        return computed(part, send)

    monkeypatch.setattr(quality_services, "_recompute_part", second_part_fails)
    with pytest.raises(WorkerFailed, match="a worker failed"):
        project_quality_recompute(project=project)
    assert _rows_as_text(project) == rows
    assert _state(project) == state

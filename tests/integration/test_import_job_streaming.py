"""A background import reads its upload as a stream and writes it in batches, all or nothing.

Batches and the size of what is kept between the two passes are made tiny here, so that a
few dozen rows cross many batches and take the path of a multi-gigabyte upload (spooled to disk).
"""

import json
from pathlib import Path

import pytest

from annotation.models import Annotation, ImportJob, JobState, Prediction, Task
from annotation.services import import_jobs, imports
from annotation.services.import_jobs import import_job_create, import_job_run, import_path
from tests.conftest import choice
from tests.integration.conftest import publishing_to

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["kept", "spooled"])
def tiny_batches(request, monkeypatch):
    monkeypatch.setattr(imports, "STREAM_BATCH_ROWS", 7)
    if request.param == "spooled":
        monkeypatch.setattr(imports, "STREAM_KEEP_CHARS", 100)
    return request.param


def _labeled(count: int) -> list[dict]:
    rows = []
    for i in range(count):
        row = {"data": {"text": f"Headline {i}"}, "meta": {"n": i}}
        if i % 3 == 0:
            row["annotations"] = [{"result": choice("Positive" if i % 2 else "Negative"), "lead_time": i}]
        if i % 4 == 0:
            row["predictions"] = [{"result": choice("Neutral"), "score": i / 100, "model_version": f"v{i}"}]
        rows.append(row)
    return rows


def _run(project, user, body: bytes, file_format: str) -> ImportJob:
    with publishing_to("memory://"):
        job = import_job_create(project=project, user=user, chunks=[body], file_format=file_format,
                                original_name=f"upload.{file_format}")  # fmt: skip
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.parametrize("file_format", ["json", "jsonl"])
def test_labeled_rows_across_batches_land_on_their_tasks(tiny_batches, make_project, cast, file_format):
    project = make_project()
    rows = _labeled(50)
    body = json.dumps(rows) if file_format == "json" else "\n".join(json.dumps(row) for row in rows)

    job = _run(project, cast.users["manager"], body.encode(), file_format)

    assert (job.state, job.task_count, job.annotation_count, job.prediction_count) == (
        JobState.COMPLETED, 50, 17, 13
    ), job.error  # fmt: skip
    assert job.first_inner_id == 1 and job.lease_expires_at is None
    tasks = list(Task.objects.filter(project=project).order_by("inner_id"))
    assert [(t.inner_id, t.data, t.meta) for t in tasks] == [
        (i + 1, r["data"], r["meta"]) for i, r in enumerate(rows)
    ]
    annotations = {a.task.data["text"]: (a.result, a.lead_time, a.import_job_id)
                   for a in Annotation.objects.filter(project=project).select_related("task")}  # fmt: skip
    assert annotations == {
        f"Headline {i}": (rows[i]["annotations"][0]["result"], float(i), job.pk) for i in range(0, 50, 3)
    }
    predictions = {p.task.data["text"]: (p.model_version, p.score)
                   for p in Prediction.objects.filter(project=project).select_related("task")}  # fmt: skip
    assert predictions == {f"Headline {i}": (f"v{i}", i / 100) for i in range(0, 50, 4)}
    assert [(t.total_annotations, t.total_predictions, t.is_labeled) for t in tasks] == [
        (int(i % 3 == 0), int(i % 4 == 0), i % 3 == 0) for i in range(50)
    ]
    project.refresh_from_db()
    assert (project.task_count, project.task_counter, project.annotation_total, project.prediction_total) == (
        50, 50, 17, 13
    )  # fmt: skip
    assert not import_path(job).exists()


def test_csv_is_read_as_a_stream(tiny_batches, make_project, cast):
    project = make_project()
    body = "text,company\n" + "".join(f'"Headline {i}, with a comma",Acme {i}\n' for i in range(30))

    job = _run(project, cast.users["manager"], body.encode(), "csv")

    assert (job.state, job.task_count) == (JobState.COMPLETED, 30), job.error
    assert Task.objects.get(project=project, inner_id=30).data == {"text": "Headline 29, with a comma",
                                                                   "company": "Acme 29"}  # fmt: skip


def test_a_bad_row_in_the_last_batch_fails_the_job_and_writes_nothing(tiny_batches, make_project, cast):
    project = make_project()
    rows = _labeled(40)
    rows[38]["annotations"] = [{"result": choice("Bullish")}]

    job = _run(project, cast.users["manager"], json.dumps(rows).encode(), "json")

    assert job.state == JobState.FAILED
    assert job.error["field"].startswith("tasks[38].annotations[0]"), job.error
    assert job.lease_expires_at is None
    assert not Task.objects.filter(project=project).exists()
    assert not Annotation.objects.filter(project=project).exists()
    project.refresh_from_db()
    assert (project.task_count, project.task_counter, project.annotation_total) == (0, 0, 0)
    assert not import_path(job).exists()


def test_a_second_import_continues_the_inner_ids(tiny_batches, make_project, cast):
    project = make_project()
    first = _run(project, cast.users["manager"], json.dumps(_labeled(10)).encode(), "json")
    second = _run(project, cast.users["manager"], json.dumps(_labeled(12)).encode(), "json")

    assert (first.first_inner_id, second.first_inner_id) == (1, 11)
    assert list(
        Task.objects.filter(project=project).order_by("inner_id").values_list("inner_id", flat=True)
    ) == list(range(1, 23))


def test_the_upload_is_read_once_and_leaves_no_file_behind(
    tiny_batches, make_project, cast, monkeypatch, settings
):
    """Past STREAM_KEEP_CHARS the checked rows go to a temporary file, not back to the upload."""
    reads = []
    read = import_jobs.iter_items
    monkeypatch.setattr(
        import_jobs, "iter_items", lambda *args, **kwargs: reads.append(1) or read(*args, **kwargs)
    )
    project = make_project()
    directory = Path(settings.TESSERA_IMPORT_DIR)
    before = set(directory.iterdir()) if directory.exists() else set()

    job = _run(project, cast.users["manager"], json.dumps(_labeled(30)).encode(), "json")

    assert (job.state, job.task_count, len(reads)) == (JobState.COMPLETED, 30, 1), job.error
    assert set(directory.iterdir()) == before

"""A large synchronous import checks its next batch in a thread while the database writes the last one
(annotation/importing/read_ahead.py): the rows, the errors and their language are those of checking
first and writing after."""

import json
import threading

import pytest
from django.utils import translation

from annotation.importing.read_ahead import read_ahead
from annotation.models import Annotation, Task
from annotation.services import imports
from tests.conftest import choice, post_json


def _threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "tessera-read-ahead"]


def test_items_come_in_order_and_an_error_at_the_item_it_happened():
    def items():
        yield from (1, 2, 3)
        raise ValueError("bad fourth item")

    seen = []
    with pytest.raises(ValueError, match="bad fourth item"):
        for item in read_ahead(items()):
            seen.append(item)
    assert seen == [1, 2, 3]
    assert _threads() == []


def test_the_thread_works_in_the_caller_s_language():
    def languages():
        for _ in range(3):
            yield translation.get_language()

    with translation.override("ja"):
        assert list(read_ahead(languages())) == ["ja", "ja", "ja"]


def test_closing_early_stops_the_thread():
    produced = []

    def endless():
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    ahead = read_ahead(endless(), depth=2)
    assert [next(ahead), next(ahead)] == [0, 1]
    ahead.close()
    assert _threads() == []
    assert len(produced) <= 5  # two taken, at most depth more made, one waiting to be put


@pytest.fixture
def three_a_batch(monkeypatch):
    monkeypatch.setattr(imports, "IMPORT_WRITE_BATCH_ROWS", 3)


def _rows(count: int) -> list[dict]:
    return [
        {"data": {"text": f"Headline {i}"}, "annotations": [{"result": choice("Positive")}]} if i % 2 else
        {"data": {"text": f"Headline {i}"}}
        for i in range(count)
    ]  # fmt: skip


@pytest.mark.django_db
def test_rows_across_batches_land_on_their_tasks(three_a_batch, api, make_project):
    project = make_project()
    response = post_json(api("manager"), f"/api/projects/{project.pk}/import", _rows(10))

    assert response.status_code == 201, response.content
    assert response.json()["task_count"] == 10
    assert list(
        Task.objects.filter(project=project).order_by("inner_id").values_list("inner_id", "data")
    ) == [(i + 1, {"text": f"Headline {i}"}) for i in range(10)]
    assert sorted(Annotation.objects.filter(project=project).values_list("task__inner_id", flat=True)) == [
        2, 4, 6, 8, 10
    ]  # fmt: skip
    project.refresh_from_db()
    assert (project.task_count, project.task_counter, project.annotation_total) == (10, 10, 5)
    assert _threads() == []


@pytest.mark.django_db
@pytest.mark.parametrize("bad_row", [1, 8])
def test_a_bad_row_in_any_batch_writes_nothing_and_speaks_the_caller_s_language(
    three_a_batch, api, make_project, bad_row
):
    """A bad row of the first batch fails before the inner_id range is reserved; one of a later batch
    rolls back what was written and gives the range back."""
    project = make_project()
    rows = _rows(10)
    rows[bad_row]["annotations"] = ["not an object"]

    response = api("manager").post(
        f"/api/projects/{project.pk}/import", data=json.dumps(rows), content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="ja",
    )  # fmt: skip

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["field"] == f"tasks[{bad_row}].annotations[0]"
    assert error["message"] == "各アノテーションは JSON オブジェクトにしてください。"
    assert not Task.objects.filter(project=project).exists()
    assert not Annotation.objects.filter(project=project).exists()
    project.refresh_from_db()
    assert (project.task_count, project.annotation_total, project.task_counter) == (0, 0, 0)
    assert _threads() == []


@pytest.mark.django_db
def test_a_range_is_given_back_only_while_no_import_has_reserved_after_it(make_project):
    project = make_project()
    first = imports._reserve_inner_ids(project.pk, 10)
    second = imports._reserve_inner_ids(project.pk, 5)

    imports._release_inner_ids(project.pk, first, 10)  # the second range is above it: a gap stays
    project.refresh_from_db()
    assert (first, second, project.task_counter) == (1, 11, 15)
    imports._release_inner_ids(project.pk, second, 5)
    project.refresh_from_db()
    assert project.task_counter == 10


@pytest.mark.django_db
def test_the_caller_s_transaction_keeps_its_keys_deferred(three_a_batch, make_project, cast):
    """The import checks its own keys per COPY, then defers them again: a caller's later statements in
    the same transaction may still write a row before the row it points at."""
    from django.db import transaction

    from annotation.importing.parsers import to_task_item

    project = make_project()
    with transaction.atomic():
        imports.tasks_import(project=project, user=cast.users["owner"],
                             items=[to_task_item(row, n) for n, row in enumerate(_rows(7))])  # fmt: skip
        missing = Task.objects.order_by("-id").values_list("id", flat=True).first() + 1000
        early = Annotation.objects.create(task_id=missing, project_id=project.pk, result=[])  # no error yet
        Annotation.objects.filter(pk=early.pk).delete()
    assert Task.objects.filter(project=project).count() == 7

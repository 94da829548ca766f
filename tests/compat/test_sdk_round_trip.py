"""label-studio-sdk's own client against a live Tessera: the loop a Label Studio user's script runs.

Each call goes through the SDK (paths, methods, query parameters and the
pydantic types it parses answers into); where the SDK would accept a shape
without looking, ``strictly`` validates the raw body against its type.
"""

import csv
import io
import json

import pytest
from label_studio_sdk import types as sdk_types
from label_studio_sdk.core.api_error import ApiError
from label_studio_sdk.projects.types import ImportTasksProjectsResponse

from annotation.models import Annotation, Prediction, Project, Task
from annotation.services.annotations import prediction_create
from tests.compat.conftest import ENTERPRISE_PROJECT_FIELDS, raw_get, strictly
from tests.conftest import SENTIMENT_CONFIG, choice

pytestmark = pytest.mark.compat

HEADLINES = [
    "Shares of Nordwind Energy rose 12% after record quarterly profit.",
    "Harbor Bank cut its dividend as loan losses mounted.",
    "The central bank left rates unchanged, as expected.",
    "Vela Motors recalled 40,000 cars over a brake defect.",
    "Quarterly revenue at Linden Foods beat estimates by 3%.",
]


def _tasks(count: int) -> list[dict]:
    return [{"data": {"text": f"{HEADLINES[i % len(HEADLINES)]} (#{i})"}, "meta": {"source": "wire", "n": i}}
            for i in range(count)]  # fmt: skip


def test_sdk_runs_the_full_labeling_loop(sdk, cast):
    ls = sdk("manager")

    # Label config: validate, then create a project with it.
    project = ls.projects.create(
        title="FinGPT sentiment", label_config=SENTIMENT_CONFIG, maximum_annotations=1
    )
    assert project.id and project.title == "FinGPT sentiment"
    assert project.parsed_label_config["sentiment"]["labels"] == ["Positive", "Negative", "Neutral"]
    checked = ls.projects.validate_label_config(project.id, label_config=SENTIMENT_CONFIG)
    assert checked.label_config == SENTIMENT_CONFIG
    strictly(sdk_types.ProjectLabelConfig, ls.projects.with_raw_response.validate_label_config(
        project.id, label_config=SENTIMENT_CONFIG).response.json())  # fmt: skip

    # Import: 25 tasks, one of them already labeled and one with a prediction.
    tasks = _tasks(25)
    tasks[0]["annotations"] = [{"result": choice("Positive"), "completed_by": cast.users["annotator"].pk}]
    tasks[1]["predictions"] = [{"result": choice("Negative"), "model_version": "finbert-1", "score": 0.91}]
    imported = ls.projects.import_tasks(project.id, request=tasks, return_task_ids=True)
    assert (imported.task_count, imported.annotation_count, imported.predictions_count) == (25, 1, 1)
    assert Task.objects.filter(project_id=project.id).count() == 25

    # Page through every task, three pages of ten as the SDK's pager asks for them.
    pager = ls.tasks.list(project=project.id, page_size=10)
    listed = list(pager)
    assert len(listed) == 25
    assert [t.data["text"] for t in listed] == [t["data"]["text"] for t in tasks]
    assert len({t.id for t in listed}) == 25
    first_page = raw_get(ls, "api/tasks/", project=project.id, page_size=10, fields="all")
    page = strictly(sdk_types.PaginatedRoleBasedTaskList, first_page)
    assert (page.total, page.total_annotations, page.total_predictions) == (25, 1, 1)
    assert listed[0].annotations[0]["result"] == choice("Positive")
    assert listed[1].predictions[0].model_version == "finbert-1"

    # One task, with its annotations and predictions.
    task_id = listed[2].id
    task = ls.tasks.get(task_id)
    assert task.id == task_id and task.data == tasks[2]["data"] and task.meta == tasks[2]["meta"]
    assert task.annotations == [] and task.project == project.id
    strictly(sdk_types.LseTask, ls.tasks.with_raw_response.get(task_id).response.json())

    # Annotate, change our mind, and delete a second annotation.
    annotator = sdk("annotator")
    created = annotator.annotations.create(task_id, result=choice("Neutral"), lead_time=4.2)
    assert created.id and created.task == task_id and created.completed_by == cast.users["annotator"].pk
    assert created.result == choice("Neutral") and created.was_cancelled is False
    updated = annotator.annotations.update(created.id, result=choice("Negative"))
    assert updated.id == created.id and updated.result == choice("Negative")
    assert Annotation.objects.get(pk=created.id).result == choice("Negative")
    strictly(sdk_types.Annotation, annotator.annotations.with_raw_response.get(created.id).response.json())
    assert [a.id for a in annotator.annotations.list(task_id)] == [created.id]
    second = sdk("annotator2").annotations.create(listed[3].id, result=choice("Positive"))
    ls.annotations.delete(second.id)
    assert not Annotation.objects.filter(pk=second.id).exists()
    assert Task.objects.get(pk=listed[3].id).total_annotations == 0

    # Predictions: create two, list them by task.
    for task_ref, label, score in ((listed[4], "Positive", 0.8), (listed[5], "Negative", 0.6)):
        made = ls.predictions.create(
            task=task_ref.id, result=choice(label), model_version="finbert-2", score=score
        )
        assert made.id and made.task == task_ref.id and made.result == choice(label) and made.score == score
        strictly(sdk_types.Prediction, ls.predictions.with_raw_response.get(made.id).response.json())
    by_task = ls.predictions.list(task=listed[4].id)
    assert [(p.model_version, p.score) for p in by_task] == [("finbert-2", 0.8)]
    assert Prediction.objects.filter(project_id=project.id).count() == 3

    # Project: get, update, list.
    fetched = ls.projects.get(project.id)
    assert fetched.id == project.id and fetched.task_number == 25 and fetched.label_config == SENTIMENT_CONFIG
    assert fetched.get_label_interface().get_control("sentiment").labels == [
        "Positive",
        "Negative",
        "Neutral",
    ]
    assert fetched.created_by.email == "manager@acme.test"
    strictly(
        sdk_types.LseProjectResponse,
        ls.projects.with_raw_response.get(project.id).response.json(),
        enterprise_only=ENTERPRISE_PROJECT_FIELDS,
    )
    changed = ls.projects.update(project.id, title="FinGPT sentiment v2", maximum_annotations=2)
    assert (changed.title, changed.maximum_annotations) == ("FinGPT sentiment v2", 2)
    assert Project.objects.get(pk=project.id).title == "FinGPT sentiment v2"
    assert [p.title for p in ls.projects.list()] == ["FinGPT sentiment v2"]
    listing = raw_get(ls, "api/projects/", page=1)
    strictly(sdk_types.PaginatedAllRolesProjectListList, {**listing, "results": []})
    strictly(sdk_types.AllRolesProjectList, listing["results"][0], enterprise_only=ENTERPRISE_PROJECT_FIELDS)

    # Export: every format the issue names, through the SDK's synchronous download.
    exported = json.loads(b"".join(ls.projects.exports.download_sync(project.id, export_type="JSON")))
    by_id = {t["id"]: t for t in exported}
    assert set(by_id) == {listed[0].id, task_id}
    assert by_id[task_id]["annotations"][0]["result"] == choice("Negative")
    assert by_id[task_id]["data"] == tasks[2]["data"]
    everything = json.loads(b"".join(ls.projects.exports.download_sync(
        project.id, export_type="JSON", download_all_tasks=True)))  # fmt: skip
    assert len(everything) == 25
    assert {p["model_version"] for t in everything for p in t["predictions"]} == {"finbert-1", "finbert-2"}
    minimal = json.loads(b"".join(ls.projects.exports.download_sync(project.id, export_type="JSON_MIN")))
    assert sorted((r["id"], r["sentiment"]) for r in minimal) == sorted(
        [(listed[0].id, "Positive"), (task_id, "Negative")]
    )
    table = b"".join(ls.projects.exports.download_sync(project.id, export_type="CSV")).decode()
    rows = list(csv.DictReader(io.StringIO(table)))
    assert sorted((int(r["id"]), r["text"], r["sentiment"]) for r in rows) == sorted(
        [
            (listed[0].id, tasks[0]["data"]["text"], "Positive"),
            (task_id, tasks[2]["data"]["text"], "Negative"),
        ]
    )


def test_sdk_import_answers_in_the_sdk_shape(sdk, make_project):
    project = make_project()
    raw = sdk("manager").projects.with_raw_response.import_tasks(project.pk, request=_tasks(3))
    body = raw.response.json()
    parsed = strictly(ImportTasksProjectsResponse, body)
    assert (parsed.task_count, parsed.annotation_count, parsed.predictions_count) == (3, 0, 0)


def test_sdk_reads_a_background_import_in_the_sdk_shape(sdk, make_project, settings):
    # The import job runs on a worker (tests/integration); here only its row's shape matters.
    settings.TESSERA_SYNC_IMPORT_MAX_BYTES = 10
    project = make_project()
    ls = sdk("manager")
    queued = ls.projects.import_tasks(project.pk, request=_tasks(3))
    assert queued.import_
    job = ls.tasks.create_many_status(project.pk, queued.import_)
    assert job.id == queued.import_ and job.status in ("created", "in_progress", "completed")
    strictly(
        sdk_types.ProjectImport,
        ls.tasks.with_raw_response.create_many_status(project.pk, queued.import_).response.json(),
    )


def test_sdk_raises_on_an_import_with_a_bad_row_and_nothing_is_written(sdk, make_project):
    project = make_project()
    tasks = _tasks(3)
    tasks[1] = {"data": {"headline": "no text variable"}}
    with pytest.raises(ApiError) as raised:
        sdk("manager").projects.import_tasks(project.pk, request=tasks)
    assert raised.value.status_code == 400
    assert raised.value.body["error"]["field"].startswith("tasks[1]")
    assert not Task.objects.filter(project=project).exists()


def test_sdk_raises_on_a_bad_label_config(sdk, make_project):
    project = make_project()
    bad = '<View><Text name="text" value="$text"/><Choices name="c" toName="nope"><Choice value="A"/></Choices></View>'
    with pytest.raises(ApiError) as raised:
        sdk("manager").projects.validate_label_config(project.pk, label_config=bad)
    assert raised.value.status_code == 400
    assert "nope" in raised.value.body["error"]["message"]


def test_sdk_with_a_wrong_token_raises_401(live_server, cast, make_project):
    from label_studio_sdk.client import LabelStudio

    project = make_project()
    ls = LabelStudio(base_url=live_server.url, api_key="not-a-token-of-ours", max_retries=0)
    with pytest.raises(ApiError) as raised:
        ls.projects.get(project.pk)
    assert raised.value.status_code == 401
    with pytest.raises(ApiError) as raised:
        list(ls.projects.list())
    assert raised.value.status_code == 401


def test_sdk_sees_another_organizations_objects_as_missing(sdk, make_project, cast):
    theirs = make_project(org=cast.other_org, tasks=[{"text": "Their headline."}])
    their_task = Task.objects.get(project=theirs)
    their_prediction = prediction_create(
        task=their_task, user=cast.users["outsider"], result=choice("Negative")
    )
    ls = sdk("manager")
    calls = {
        "projects.get": lambda: ls.projects.get(theirs.pk),
        "projects.update": lambda: ls.projects.update(theirs.pk, title="mine now"),
        "projects.delete": lambda: ls.projects.delete(theirs.pk),
        "projects.import_tasks": lambda: ls.projects.import_tasks(theirs.pk, request=_tasks(1)),
        "projects.validate_label_config": lambda: ls.projects.validate_label_config(
            theirs.pk, label_config=SENTIMENT_CONFIG
        ),
        "tasks.list": lambda: list(ls.tasks.list(project=theirs.pk)),
        "tasks.get": lambda: ls.tasks.get(their_task.pk),
        "annotations.list": lambda: ls.annotations.list(their_task.pk),
        "annotations.create": lambda: ls.annotations.create(their_task.pk, result=choice("Positive")),
        "predictions.create": lambda: ls.predictions.create(task=their_task.pk, result=choice("Positive")),
        "predictions.get": lambda: ls.predictions.get(their_prediction.pk),
        "exports.download_sync": lambda: b"".join(
            ls.projects.exports.download_sync(theirs.pk, export_type="JSON")
        ),
    }
    for name, call in calls.items():
        with pytest.raises(ApiError) as raised:
            call()
        assert raised.value.status_code == 404, name
    theirs.refresh_from_db()
    assert theirs.title == "Sentiment"
    assert Task.objects.filter(project=theirs).count() == 1
    assert not Annotation.objects.filter(task=their_task).exists()
    assert list(Prediction.objects.filter(task=their_task)) == [their_prediction]
    # Listing predictions by another organization's task finds none rather than theirs.
    assert ls.predictions.list(task=their_task.pk) == []


def test_sdk_creates_updates_and_deletes_single_tasks(sdk, make_project):
    project = make_project()
    ls = sdk("manager")

    created = ls.tasks.create(
        project=project.pk, data={"text": "Tin prices hit a record."}, meta={"src": "x"}
    )
    assert (
        created.id and created.project == project.pk and created.data == {"text": "Tin prices hit a record."}
    )
    sdk_types.LseTask.model_validate(created.model_dump())
    updated = ls.tasks.update(str(created.id), data={"text": "Tin prices hit a two-year high."})
    assert updated.data == {"text": "Tin prices hit a two-year high."}
    assert Task.objects.get(pk=created.id).data == {"text": "Tin prices hit a two-year high."}
    ls.tasks.delete(str(created.id))
    assert not Task.objects.filter(pk=created.id).exists()
    assert ls.projects.get(project.pk).task_number == 0


def test_sdk_lists_every_prediction_of_a_project_unpaged(sdk, make_project):
    # The SDK's predictions.list sends no page: Label Studio answers every match, so must we.
    tasks = [{"data": {"text": f"Headline {i}"}, "predictions": [{"result": choice("Neutral"), "score": 0.5}]}
             for i in range(230)]  # fmt: skip
    project = make_project(tasks=tasks)
    predictions = sdk("manager").predictions.list(project=project.pk)
    assert len(predictions) == 230
    assert len({p.id for p in predictions}) == 230
    assert all(p.result == choice("Neutral") and p.task for p in predictions)
    assert len(sdk("manager").predictions.list(task_project=project.pk)) == 230


def test_sdk_export_helpers_read_the_edition_and_download(sdk, make_project):
    project = make_project(tasks=[{"text": "Copper rallied."}, {"text": "Oil slipped."}])
    ls = sdk("reviewer")
    version = ls.versions.get()
    assert version.edition == "Community"
    strictly(sdk_types.VersionResponse, raw_get(ls, "api/version"))

    exported = ls.projects.exports.as_json(project.pk)
    assert sorted(task["data"]["text"] for task in exported) == ["Copper rallied.", "Oil slipped."]
    frame = ls.projects.exports.as_pandas(project.pk)
    assert sorted(frame["text"]) == ["Copper rallied.", "Oil slipped."]


def test_sdk_exports_only_the_tasks_it_names(sdk, make_project):
    project = make_project(tasks=[{"text": f"Headline {i}"} for i in range(6)])
    ids = list(Task.objects.filter(project=project).order_by("inner_id").values_list("id", flat=True))
    ls = sdk("manager")

    def export(**params) -> list[dict]:
        return json.loads(
            b"".join(ls.projects.exports.download_sync(project.pk, download_all_tasks=True, **params))
        )

    assert [t["id"] for t in export(ids=[str(ids[1]), str(ids[4])])] == [ids[1], ids[4]]
    assert [t["id"] for t in export(ids=f"{ids[0]},{ids[5]}")] == [ids[0], ids[5]]
    assert len(export()) == 6
    with pytest.raises(ApiError) as raised:
        export(ids="3,x")
    assert raised.value.status_code == 400 and raised.value.body["error"]["field"] == "ids"


def test_sdk_skips_a_task_and_deletes_a_project(sdk, make_project):
    project = make_project(tasks=[{"text": "Gold steadied."}])
    task = Task.objects.get(project=project)
    annotator = sdk("annotator")

    skipped = annotator.annotations.create(task.pk, result=[], was_cancelled=True)
    assert skipped.was_cancelled is True
    task.refresh_from_db()
    assert (task.total_annotations, task.cancelled_annotations, task.is_labeled) == (0, 1, False)
    with pytest.raises(ApiError) as raised:
        annotator.projects.delete(project.pk)
    assert raised.value.status_code == 403
    sdk("manager").projects.delete(project.pk)
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not Task.objects.filter(pk=task.pk).exists()


def test_sdk_updates_a_prediction(sdk, make_project):
    project = make_project(
        tasks=[{"data": {"text": "Zinc fell."}, "predictions": [{"result": choice("Positive")}]}]
    )
    prediction = Prediction.objects.get(project=project)
    ls = sdk("manager")

    updated = ls.predictions.update(prediction.pk, result=choice("Negative"), score=0.35, model_version="v2")
    assert (updated.result, updated.score, updated.model_version) == (choice("Negative"), 0.35, "v2")
    prediction.refresh_from_db()
    assert (prediction.result, prediction.score, prediction.model_version) == (choice("Negative"), 0.35, "v2")
    for client, fields, status in (
        (ls, {"score": 3.0}, 400),
        (ls, {"result": choice("Bullish")}, 400),
        (sdk("annotator"), {"score": 0.9}, 403),
        (sdk("outsider"), {"score": 0.9}, 404),
    ):
        with pytest.raises(ApiError) as raised:
            client.predictions.update(prediction.pk, **fields)
        assert raised.value.status_code == status, fields
    prediction.refresh_from_db()
    assert (prediction.result, prediction.score) == (choice("Negative"), 0.35)


def test_sdk_deletes_all_tasks_of_a_project(sdk, make_project, cast):
    tasks = [
        {"data": {"text": f"Headline {i}"}, "predictions": [{"result": choice("Neutral")}]} for i in range(5)
    ]
    project = make_project(tasks=tasks)
    first = Task.objects.filter(project=project).order_by("inner_id").first()
    sdk("annotator").annotations.create(first.pk, result=choice("Positive"))
    for key, status in (("annotator", 403), ("outsider", 404)):
        with pytest.raises(ApiError) as raised:
            sdk(key).tasks.delete_all_tasks(project.pk)
        assert raised.value.status_code == status
    assert Task.objects.filter(project=project).count() == 5

    ls = sdk("manager")
    ls.tasks.delete_all_tasks(project.pk)

    assert not Task.objects.filter(project=project).exists()
    assert not Annotation.objects.filter(project=project).exists()
    assert not Prediction.objects.filter(project=project).exists()
    assert ls.projects.get(project.pk).task_number == 0
    ls.projects.import_tasks(project.pk, request=_tasks(2))
    # Inner ids go on from the deleted ones: a task's position is never handed out twice.
    assert list(
        Task.objects.filter(project=project).order_by("inner_id").values_list("inner_id", flat=True)
    ) == [6, 7]
    assert [t.data for t in ls.tasks.list(project=project.pk)] == [t["data"] for t in _tasks(2)]


def test_sdk_imports_predictions_for_existing_tasks(sdk, make_project, cast):
    project = make_project(tasks=[{"text": f"Headline {i}"} for i in range(4)])
    ids = list(Task.objects.filter(project=project).order_by("inner_id").values_list("id", flat=True))
    ls = sdk("manager")
    predictions = [{"task": task_id, "result": choice("Positive"), "score": 0.6, "model_version": "bulk-1"}
                   for task_id in ids] + [{"task": ids[0], "result": choice("Negative"), "model_version": "bulk-2"}]  # fmt: skip

    answer = ls.projects.import_predictions(project.pk, request=predictions)

    assert answer.created == 5
    assert Prediction.objects.filter(project=project).count() == 5
    counts = dict(Task.objects.filter(project=project).values_list("id", "total_predictions"))
    assert counts == {ids[0]: 2, ids[1]: 1, ids[2]: 1, ids[3]: 1}
    assert sorted(p.model_version for p in ls.predictions.list(task=ids[0])) == ["bulk-1", "bulk-2"]

    theirs = make_project(org=cast.other_org, tasks=[{"text": "Their task."}])
    their_task = Task.objects.get(project=theirs).pk
    for bad, field in (
        ([{"task": ids[1], "result": choice("Bullish")}], "predictions[0].result"),
        (
            [{"task": ids[1], "result": choice("Neutral")}, {"task": their_task, "result": []}],
            "predictions[1].task",
        ),
        ([{"result": []}], "predictions[0].task"),
    ):
        with pytest.raises(ApiError) as raised:
            ls.projects.import_predictions(project.pk, request=bad)
        assert raised.value.status_code == 400
        assert raised.value.body["error"]["field"].startswith(field), raised.value.body
    assert Prediction.objects.filter(project=project).count() == 5
    assert not Prediction.objects.filter(task_id=their_task).exists()
    with pytest.raises(ApiError) as raised:
        sdk("annotator").projects.import_predictions(project.pk, request=predictions[:1])
    assert raised.value.status_code == 403


def test_sdk_whoami_names_the_caller(sdk, cast):
    ls = sdk("reviewer")
    me = ls.users.whoami()
    assert (me.id, me.email, me.active_organization) == (
        cast.users["reviewer"].pk,
        "reviewer@acme.test",
        cast.org.pk,
    )
    strictly(sdk_types.WhoAmIUser, raw_get(ls, "api/current-user/whoami"))

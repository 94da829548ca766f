"""GET /api/projects/{id}/export?exportType=…: Label Studio's JSON, JSON_MIN, CSV and TSV, streamed."""

import csv
import io
import json

import pytest
from label_studio_sdk.converter import Converter

from annotation.services.annotations import annotation_create, prediction_create
from tests.conftest import NER_CONFIG, choice, span

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(make_project, cast):
    """Three tasks: one labeled by two annotators with a prediction, one skipped, one untouched."""
    project = make_project(
        tasks=[{"text": "日本銀行が利上げ"}, {"text": "Rates fall."}, {"text": "No one looked."}],
        maximum_annotations=2,
    )
    first, second, _ = project.tasks.order_by("inner_id")
    prediction = prediction_create(
        task=first,
        user=cast.users["manager"],
        result=choice("Positive"),
        score=0.9,
        model_version="finbert-1",
    )
    annotation_create(
        task=first, user=cast.users["annotator"], result=choice("Positive"), lead_time=2.5,
        parent_prediction_id=prediction.pk,
    )  # fmt: skip
    annotation_create(task=first, user=cast.users["annotator2"], result=choice("Neutral"))
    annotation_create(task=second, user=cast.users["annotator"], result=[], was_cancelled=True)
    return project


def export(api, project, query: str = "", role: str = "reviewer"):
    return api(role).get(f"/api/projects/{project.pk}/export{query}")


def content(response) -> str:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content).decode()


def test_json_export_has_label_studios_task_shape(api, project, cast):
    response = export(api, project, "?exportType=JSON")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="project-{project.pk}-JSON.json"'
    tasks = json.loads(content(response))
    assert [t["data"]["text"] for t in tasks] == ["日本銀行が利上げ", "Rates fall."]
    first = tasks[0]
    assert {"id", "data", "meta", "annotations", "predictions", "inner_id", "total_annotations",
            "cancelled_annotations", "total_predictions", "project", "created_at", "updated_at"} <= set(first)  # fmt: skip
    assert (first["project"], first["total_annotations"], first["total_predictions"]) == (project.pk, 2, 1)
    assert [(a["completed_by"], a["result"]) for a in first["annotations"]] == [
        (cast.users["annotator"].pk, choice("Positive")), (cast.users["annotator2"].pk, choice("Neutral")),
    ]  # fmt: skip
    annotation = first["annotations"][0]
    assert {"id", "result", "was_cancelled", "ground_truth", "lead_time", "task", "project", "created_at",
            "updated_at", "parent_prediction"} <= set(annotation)  # fmt: skip
    assert (annotation["lead_time"], annotation["task"], annotation["was_cancelled"]) == (
        2.5,
        first["id"],
        False,
    )
    assert annotation["parent_prediction"] == first["predictions"][0]["id"]
    prediction = first["predictions"][0]
    assert (prediction["model_version"], prediction["score"], prediction["result"]) == (
        "finbert-1", 0.9, choice("Positive"),
    )  # fmt: skip
    assert tasks[1]["annotations"][0]["was_cancelled"] is True


def test_json_export_carries_review_states_and_the_stored_consensus(api, make_project, cast):
    project = make_project(
        tasks=[{"text": "agreed"}, {"text": "tied"}, {"text": "half"}], maximum_annotations=2
    )
    agreed, tied, half = project.tasks.order_by("inner_id")
    for task, second in ((agreed, "Positive"), (tied, "Negative")):
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
        annotation_create(task=task, user=cast.users["annotator2"], result=choice(second))
    annotation_create(task=half, user=cast.users["annotator"], result=choice("Positive"))
    tasks = {t["data"]["text"]: t for t in json.loads(content(export(api, project, "?exportType=JSON")))}
    consensus = tasks["agreed"]["consensus"]
    assert (consensus["tie"], consensus["agreement"]) == (False, 1.0)
    assert [region["value"] for region in consensus["result"]] == [{"choices": ["Positive"]}]
    assert tasks["tied"]["consensus"]["tie"] is True
    assert tasks["half"]["consensus"] is None
    assert {a["review_state"] for t in tasks.values() for a in t["annotations"]} == {"submitted"}


def test_json_is_the_default_export_type(api, project):
    assert len(json.loads(content(export(api, project)))) == 2


def test_download_all_tasks_includes_tasks_without_annotations(api, project):
    tasks = json.loads(content(export(api, project, "?exportType=JSON&download_all_tasks=true")))
    assert [t["data"]["text"] for t in tasks] == ["日本銀行が利上げ", "Rates fall.", "No one looked."]
    assert tasks[2]["annotations"] == [] and tasks[2]["predictions"] == []


def test_export_of_a_project_without_tasks_is_an_empty_list(api, make_project):
    assert json.loads(content(export(api, make_project(), "?exportType=JSON"))) == []
    assert json.loads(content(export(api, make_project(), "?exportType=JSON_MIN"))) == []


def label_studio_conversion(project, json_export: str, export_type: str, tmp_path):
    """What Label Studio's own converter (label_studio_sdk.converter) makes of our JSON export."""
    source = tmp_path / "export.json"
    source.write_text(json_export)
    converter = Converter(project.label_config, project_dir=str(tmp_path), download_resources=False)
    out = tmp_path / export_type
    converter.convert(str(source), str(out), export_type, is_dir=False)
    return (out / ("result.json" if export_type == "JSON_MIN" else "result.csv")).read_text()


def table(text: str, delimiter: str = ",") -> list[dict]:
    """Rows of a CSV, with JSON cells decoded: Label Studio's converter writes them with ujson's spacing."""

    def cell(value: str):
        if value[:1] in ("[", "{"):
            return json.loads(value)
        return value

    return [
        {key: cell(value) for key, value in row.items()}
        for row in csv.DictReader(io.StringIO(text), delimiter=delimiter)
    ]


@pytest.fixture
def rich_project(make_project, cast):
    """Every kind of control Label Studio flattens differently, extra data fields, one named like a control,
    an ``id`` in the data, skips, and annotations made in an order that is not their id order."""
    config = """<View>
      <Text name="text" value="$text"/>
      <Choices name="sentiment" toName="text" choice="multiple">
        <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
      </Choices>
      <Labels name="label" toName="text"><Label value="ORG"/><Label value="PER"/></Labels>
      <Rating name="quality" toName="text" maxRating="5"/>
      <TextArea name="answer" toName="text"/>
    </View>"""
    project = make_project(
        config,
        tasks=[
            {"text": "日本銀行が利上げ", "source": "nikkei", "id": "ext-1", "quality": "raw"},
            {"text": "Rates fall.", "source": "wire", "tags": ["a", "b"]},
            {"text": "Only skipped."},
            {"text": "No one looked.", "meta_note": {"k": 1}},
        ],
        maximum_annotations=2,
    )
    first, second, third, _ = project.tasks.order_by("inner_id")
    full = [
        {
            "from_name": "sentiment",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": ["Positive", "Neutral"]},
        },
        span(0, 4, "ORG", "日本銀行"),
        span(5, 8, "PER"),
        {"from_name": "quality", "to_name": "text", "type": "rating", "value": {"rating": 4}},
        {
            "from_name": "answer",
            "to_name": "text",
            "type": "textarea",
            "value": {"text": ["Rates up, yen up."]},
        },
    ]
    annotation_create(task=first, user=cast.users["annotator"], result=full, lead_time=12.5)
    annotation_create(task=first, user=cast.users["annotator2"], result=choice("Negative"))
    annotation_create(task=first, user=cast.users["reviewer"], result=[], was_cancelled=True)
    annotation_create(task=second, user=cast.users["annotator"], result=[
        {"from_name": "answer", "to_name": "text", "type": "textarea", "value": {"text": ["one", "two"]}},
    ])  # fmt: skip
    annotation_create(task=third, user=cast.users["annotator"], result=[], was_cancelled=True)
    return project


@pytest.mark.parametrize("download_all_tasks", ["false", "true"])
def test_json_min_is_what_label_studios_converter_makes_of_the_json_export(
    api, rich_project, tmp_path, download_all_tasks
):
    query = f"&download_all_tasks={download_all_tasks}"
    ours = json.loads(content(export(api, rich_project, "?exportType=JSON_MIN" + query)))
    theirs = json.loads(
        label_studio_conversion(rich_project, content(export(api, rich_project, "?exportType=JSON" + query)), "JSON_MIN",
                                tmp_path)
    )  # fmt: skip
    assert ours == theirs
    assert len(ours) == (4 if download_all_tasks == "true" else 3)


@pytest.mark.parametrize("export_type", ["CSV", "TSV"])
@pytest.mark.parametrize("download_all_tasks", ["false", "true"])
def test_csv_and_tsv_are_what_label_studios_converter_makes_of_the_json_export(
    api, rich_project, tmp_path, export_type, download_all_tasks
):
    query = f"&download_all_tasks={download_all_tasks}"
    delimiter = "\t" if export_type == "TSV" else ","
    ours_text = content(export(api, rich_project, f"?exportType={export_type}" + query))
    theirs_text = label_studio_conversion(
        rich_project, content(export(api, rich_project, "?exportType=JSON" + query)), export_type, tmp_path
    )
    ours, theirs = table(ours_text, delimiter), table(theirs_text, delimiter)
    assert ours_text.splitlines()[0].split(delimiter) == sorted(ours[0])
    assert set(ours[0]) == set(theirs[0])
    # Label Studio lets a data field named "id" overwrite the task id in CSV (not in JSON_MIN); Tessera keeps
    # the task id in both, so that rows can always be joined back to tasks.
    for row in theirs:
        row["id"] = str(rich_project.tasks.get(data__text=row["text"]).pk)
    assert ours == theirs


def test_json_min_record_shapes(api, rich_project, cast):
    records = json.loads(content(export(api, rich_project, "?exportType=JSON_MIN")))
    first_task = rich_project.tasks.get(inner_id=1)
    newest, oldest = records[0], records[1]
    assert (newest["id"], newest["annotator"], newest["sentiment"]) == (first_task.pk, cast.users["annotator2"].pk,
                                                                       "Negative")  # fmt: skip
    assert oldest["sentiment"] == {"choices": ["Positive", "Neutral"]}
    assert oldest["label"] == [{"start": 0, "end": 4, "labels": ["ORG"], "text": "日本銀行"},
                               {"start": 5, "end": 8, "labels": ["PER"]}]  # fmt: skip
    assert oldest["quality"] == [{"rating": 4}]
    assert oldest["answer"] == "Rates up, yen up."
    assert (oldest["source"], oldest["lead_time"]) == ("nikkei", 12.5)
    assert records[2]["answer"] == {"text": ["one", "two"]}
    assert all(r["text"] != "Only skipped." for r in records)


def test_csv_export_headers_and_files(api, project):
    response = export(api, project, "?exportType=CSV")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="project-{project.pk}-CSV.csv"'
    header = content(response).splitlines()[0]
    assert header == "annotation_id,annotator,created_at,id,lead_time,sentiment,text,updated_at"


def test_tsv_export_headers_and_files(api, project):
    response = export(api, project, "?exportType=TSV")
    assert response["Content-Type"] == "text/tab-separated-values; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="project-{project.pk}-TSV.tsv"'
    assert content(response).splitlines()[0].split("\t")[:3] == ["annotation_id", "annotator", "created_at"]


def test_csv_cells_with_commas_quotes_and_newlines_survive(api, make_project, cast):
    text = 'Bank, "central",\n日本'
    project = make_project(NER_CONFIG, tasks=[{"text": text}])
    annotation_create(task=project.tasks.get(), user=cast.users["annotator"], result=[span(0, 4, "ORG")])
    (row,) = table(content(export(api, project, "?exportType=CSV")))
    assert row["text"] == text
    assert row["label"] == [{"start": 0, "end": 4, "labels": ["ORG"]}]


def test_csv_export_of_a_large_project_streams_in_several_chunks(api, make_project, cast):
    project = make_project(tasks=[{"text": f"t{i}"} for i in range(2500)])
    response = export(api, project, "?exportType=CSV&download_all_tasks=true")
    chunks = list(response.streaming_content)
    assert len(chunks) > 2
    assert len(b"".join(chunks).decode().splitlines()) == 2501


@pytest.mark.parametrize("export_type", ["json", "csv", "Json_Min"])
def test_export_type_is_read_case_insensitively(api, project, export_type):
    assert export(api, project, f"?exportType={export_type}").status_code == 200


@pytest.mark.parametrize("export_type", ["XML", "", "COCO%00"])
def test_unknown_export_type_answers_400_naming_export_type(api, project, export_type):
    response = export(api, project, f"?exportType={export_type}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["field"], error["code"]) == ("exportType", "unsupported_format")
    assert "JSON_MIN" in error["message"]


def test_annotators_cannot_export(api, project):
    response = export(api, project, role="annotator")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "role_too_low"


@pytest.mark.parametrize("role", ["reviewer", "manager", "admin", "owner"])
def test_reviewers_and_above_can_export(api, project, role):
    assert len(json.loads(content(export(api, project, role=role)))) == 2


def test_outsider_gets_404(api, project):
    assert export(api, project, role="outsider").status_code == 404


def test_each_export_is_recorded_in_the_audit_log(api, make_project, cast):
    from tessera.models import AuditEvent

    project = make_project(tasks=[{"text": "a"}])
    response = api("reviewer").get(
        f"/api/projects/{project.pk}/export?exportType=CSV&download_all_tasks=true"
    )
    assert response.status_code == 200
    b"".join(response.streaming_content)
    event = AuditEvent.objects.get(action="project.export")
    assert (event.actor, event.object_id, event.organization_id) == (
        cast.users["reviewer"],
        project.pk,
        cast.org.pk,
    )
    assert event.details == {"export_type": "CSV", "download_all_tasks": True, "task_ids": None}

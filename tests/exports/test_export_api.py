"""GET /api/projects/{id}/export?exportType=…: Label Studio's JSON, JSON_MIN, CSV and TSV, streamed."""

import csv
import io
import json

import pytest

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


def test_json_is_the_default_export_type(api, project):
    assert len(json.loads(content(export(api, project)))) == 2


def test_download_all_tasks_includes_tasks_without_annotations(api, project):
    tasks = json.loads(content(export(api, project, "?exportType=JSON&download_all_tasks=true")))
    assert [t["data"]["text"] for t in tasks] == ["日本銀行が利上げ", "Rates fall.", "No one looked."]
    assert tasks[2]["annotations"] == [] and tasks[2]["predictions"] == []


def test_export_of_a_project_without_tasks_is_an_empty_list(api, make_project):
    assert json.loads(content(export(api, make_project(), "?exportType=JSON"))) == []
    assert json.loads(content(export(api, make_project(), "?exportType=JSON_MIN"))) == []


def test_json_min_has_one_flat_record_per_annotation(api, project, cast):
    response = export(api, project, "?exportType=JSON_MIN")
    assert response["Content-Disposition"] == f'attachment; filename="project-{project.pk}-JSON_MIN.json"'
    records = json.loads(content(response))
    first_task = project.tasks.get(inner_id=1)
    assert [(r["id"], r["text"], r.get("sentiment"), r.get("annotator")) for r in records] == [
        (first_task.pk, "日本銀行が利上げ", "Positive", cast.users["annotator"].pk),
        (first_task.pk, "日本銀行が利上げ", "Neutral", cast.users["annotator2"].pk),
        (project.tasks.get(inner_id=2).pk, "Rates fall.", None, cast.users["annotator"].pk),
    ]
    assert records[0]["lead_time"] == 2.5
    assert {"annotation_id", "created_at", "updated_at"} <= set(records[0])


def test_json_min_of_spans_lists_each_span(api, make_project, cast):
    project = make_project(NER_CONFIG, tasks=[{"text": "日本銀行が利上げ"}])
    result = [span(0, 4, "ORG", "日本銀行")]
    annotation_create(task=project.tasks.get(), user=cast.users["annotator"], result=result)
    (record,) = json.loads(content(export(api, project, "?exportType=JSON_MIN")))
    assert record["label"] == [{"start": 0, "end": 4, "labels": ["ORG"], "text": "日本銀行"}]


def test_csv_export_is_a_table_of_the_json_min_records(api, project, cast):
    response = export(api, project, "?exportType=CSV")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="project-{project.pk}-CSV.csv"'
    rows = list(csv.DictReader(io.StringIO(content(response))))
    assert list(rows[0])[:3] == ["id", "text", "sentiment"]
    assert {"annotator", "annotation_id", "created_at", "updated_at", "lead_time"} <= set(rows[0])
    assert [(r["text"], r["sentiment"], r["annotator"]) for r in rows] == [
        ("日本銀行が利上げ", "Positive", str(cast.users["annotator"].pk)),
        ("日本銀行が利上げ", "Neutral", str(cast.users["annotator2"].pk)),
        ("Rates fall.", "", str(cast.users["annotator"].pk)),
    ]
    assert rows[0]["lead_time"] == "2.5" and rows[1]["lead_time"] == ""


def test_tsv_export_separates_with_tabs(api, project):
    response = export(api, project, "?exportType=TSV")
    assert response["Content-Type"] == "text/tab-separated-values; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="project-{project.pk}-TSV.tsv"'
    lines = content(response).splitlines()
    assert lines[0].split("\t")[:3] == ["id", "text", "sentiment"]
    assert len(lines) == 4
    rows = list(csv.DictReader(io.StringIO("\n".join(lines)), delimiter="\t"))
    assert [r["sentiment"] for r in rows] == ["Positive", "Neutral", ""]


def test_csv_cells_holding_lists_are_json_and_commas_and_quotes_survive(api, make_project, cast):
    text = 'Bank, "central", 日本'
    project = make_project(NER_CONFIG, tasks=[{"text": text}])
    annotation_create(task=project.tasks.get(), user=cast.users["annotator"], result=[span(0, 4, "ORG")])
    (row,) = csv.DictReader(io.StringIO(content(export(api, project, "?exportType=CSV"))))
    assert row["text"] == text
    assert json.loads(row["label"]) == [{"start": 0, "end": 4, "labels": ["ORG"]}]


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

"""POST /api/projects/{id}/import: every format, body or files; every bad input is a clear 4xx that writes nothing."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import Annotation, ImportJob, Prediction, Task
from tests.conftest import NER_CONFIG, choice, span

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(make_project):
    return make_project()


@pytest.fixture
def ner_project(make_project):
    return make_project(NER_CONFIG)


@pytest.fixture
def upload(api):
    """``upload(project, body, content_type)`` posts a raw body as the manager."""

    def post(project, body, content_type="application/json", *, role="manager", query=""):
        raw = (
            body
            if isinstance(body, bytes)
            else (body if isinstance(body, str) else json.dumps(body)).encode()
        )
        return api(role).post(
            f"/api/projects/{project.pk}/import{query}", data=raw, content_type=content_type
        )

    return post


@pytest.fixture
def upload_files(api):
    def post(project, *files: tuple[str, bytes]):
        body = {f"file{index}": SimpleUploadedFile(name, raw) for index, (name, raw) in enumerate(files)}
        return api("manager").post(f"/api/projects/{project.pk}/import", data=body, format="multipart")

    return post


def texts(project) -> list[str]:
    return [task.data["text"] for task in project.tasks.order_by("inner_id")]


@pytest.fixture
def refused(snapshot):
    """``with refused() as check: response = …; check(response, status, field, *words)``: the call wrote nothing."""

    class Refusal:
        def __enter__(self):
            self.before = snapshot()
            return self.check

        def check(self, response, status: int, field: str | None, *words: str, code: str | None = None):
            self.response = response
            assert response.status_code == status, response.content
            error = response.json()["error"]
            assert error["field"] == field, error
            for word in words:
                assert word in error["message"], error
            if code is not None:
                assert error["code"] == code, error

        def __exit__(self, *exc):
            if exc[0] is None:
                assert snapshot() == self.before, "a refused import wrote something"

    return Refusal


# --- formats -------------------------------------------------------------------------------------------------


def test_json_array_body_imports_each_task(project, upload):
    response = upload(project, [{"text": "one"}, {"text": "two"}])
    assert response.status_code == 201
    assert response.json()["task_count"] == 2
    assert texts(project) == ["one", "two"]
    assert [t.inner_id for t in project.tasks.order_by("inner_id")] == [1, 2]
    project.refresh_from_db()
    assert project.task_count == 2


def test_single_json_object_body_is_one_task(project, upload):
    response = upload(project, {"text": "alone"})
    assert response.status_code == 201
    assert texts(project) == ["alone"]


def test_json_lines_body_imports_each_line(project, upload):
    body = '{"text": "one"}\n\n{"data": {"text": "two"}}\n'
    assert upload(project, body, "application/x-ndjson").status_code == 201
    assert texts(project) == ["one", "two"]


def test_csv_body_maps_columns_to_data_fields(project, upload):
    body = 'text,source\n"Rates, they rise",wire\n日本銀行が利上げ,nikkei\n'
    response = upload(project, body, "text/csv")
    assert response.status_code == 201
    assert [t.data for t in project.tasks.order_by("inner_id")] == [
        {"text": "Rates, they rise", "source": "wire"},
        {"text": "日本銀行が利上げ", "source": "nikkei"},
    ]


def test_tsv_body_maps_columns_to_data_fields(project, upload):
    response = upload(project, "text\tsource\nRates rise\twire\n", "text/tab-separated-values")
    assert response.status_code == 201
    assert project.tasks.get().data == {"text": "Rates rise", "source": "wire"}


def test_csv_with_a_byte_order_mark_reads_its_first_column_name(project, upload):
    assert upload(project, "\ufefftext\nhello\n".encode(), "text/csv").status_code == 201
    assert texts(project) == ["hello"]


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("tasks.json", b'[{"text": "one"}, {"text": "two"}]'),
        ("tasks.jsonl", b'{"text": "one"}\n{"text": "two"}\n'),
        ("tasks.ndjson", b'{"text": "one"}\n{"text": "two"}\n'),
        ("tasks.csv", b"text\none\ntwo\n"),
        ("tasks.tsv", b"text\tn\none\t1\ntwo\t2\n"),
    ],
)
def test_multipart_file_of_each_format_imports(project, upload_files, name, raw):
    response = upload_files(project, (name, raw))
    assert response.status_code == 201, response.content
    assert texts(project) == ["one", "two"]


def test_several_multipart_files_import_together(project, upload_files):
    response = upload_files(project, ("a.json", b'[{"text": "one"}]'), ("b.csv", b"text\ntwo\nthree\n"))
    assert response.status_code == 201
    assert sorted(texts(project)) == ["one", "three", "two"]


def test_label_studio_task_format_brings_annotations_and_predictions(project, upload, cast):
    body = [
        {
            "data": {"text": "Rates rise."},
            "meta": {"source": "wire"},
            "annotations": [
                {"result": choice("Positive"), "completed_by": cast.users["annotator"].pk, "lead_time": 3.5},
                {"result": [], "was_cancelled": True, "completed_by": "annotator2@acme.test"},
            ],
            "predictions": [{"result": choice("Negative"), "score": 0.75, "model_version": "finbert-1"}],
        },
        {"data": {"text": "No labels yet."}},
    ]
    response = upload(project, body, query="?return_task_ids=true")
    assert response.status_code == 201
    assert {k: response.json()[k] for k in ("task_count", "annotation_count", "prediction_count")} == {
        "task_count": 2, "annotation_count": 2, "prediction_count": 1,
    }  # fmt: skip
    first, second = project.tasks.order_by("inner_id")
    assert response.json()["task_ids"] == [first.pk, second.pk]
    assert first.meta == {"source": "wire"}
    assert (first.total_annotations, first.cancelled_annotations, first.total_predictions) == (1, 1, 1)
    assert first.is_labeled and not second.is_labeled
    submitted = first.annotations.get(was_cancelled=False)
    assert submitted.completed_by == cast.users["annotator"]
    assert submitted.result == choice("Positive")
    assert submitted.lead_time == 3.5
    assert first.annotations.get(was_cancelled=True).completed_by == cast.users["annotator2"]
    prediction = first.predictions.get()
    assert (prediction.model_version, prediction.score, prediction.result) == (
        "finbert-1",
        0.75,
        choice("Negative"),
    )


def test_imported_annotation_without_completed_by_belongs_to_the_importer(project, upload, cast):
    upload(project, [{"data": {"text": "a"}, "annotations": [{"result": choice("Neutral")}]}])
    assert Annotation.objects.get().completed_by == cast.users["manager"]


def test_japanese_span_offsets_count_characters_not_bytes(ner_project, upload):
    text = "日本銀行が利上げを決定"  # 11 characters, 33 bytes in UTF-8
    body = [
        {
            "data": {"text": text},
            "annotations": [{"result": [span(0, 4, "ORG", "日本銀行"), span(5, 11, "PER")]}],
        }
    ]
    assert upload(ner_project, body).status_code == 201
    assert Annotation.objects.get().result[0]["value"]["text"] == "日本銀行"


def test_a_second_import_continues_the_inner_ids(project, upload):
    upload(project, [{"text": "one"}])
    upload(project, "text\ntwo\n", "text/csv")
    assert [t.inner_id for t in project.tasks.order_by("inner_id")] == [1, 2]


# --- bad input: a clear 4xx naming the place and the reason, and nothing written -------------------------------


def test_malformed_json_names_line_and_column(project, upload, refused):
    with refused() as check:
        check(
            upload(project, '[{"text": "one"},\n {"text": }]'),
            400,
            "file",
            "line 2",
            "column",
            code="parse_error",
        )


@pytest.mark.parametrize(
    "body", ['[{"text": NaN}]', '{"text": "a", "n": Infinity}', "[" * 20000 + "]" * 20000]
)
def test_json_that_python_would_accept_but_json_forbids_is_refused(project, upload, refused, body):
    with refused() as check:
        check(upload(project, body), 400, "file", "Malformed JSON", code="parse_error")


def test_malformed_json_line_names_the_line(project, upload, refused):
    with refused() as check:
        check(upload(project, '{"text": "a"}\n{"text": \n', "application/x-ndjson"), 400, "line 2", "line 2")


def test_ragged_csv_row_names_the_line_and_the_cell_counts(project, upload, refused):
    with refused() as check:
        response = upload(project, "text,source\none,wire\ntwo\n", "text/csv")
        check(response, 400, "line 3", "Line 3 has 1 cell;", "header has 2", code="parse_error")


@pytest.mark.parametrize("body", ["text,text\na,b\n", "text,\na,b\n"])
def test_csv_header_with_empty_or_repeated_names_is_refused(project, upload, refused, body):
    with refused() as check:
        check(upload(project, body, "text/csv"), 400, "file", "header")


def test_csv_with_an_unclosed_quote_is_refused(project, upload, refused):
    with refused() as check:
        check(upload(project, 'text\n"never closed\n', "text/csv"), 400, "file", "Malformed CSV")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/octet-stream"])
def test_unsupported_content_type_answers_415(project, upload, refused, content_type):
    with refused() as check:
        check(upload(project, b'[{"text": "a"}]', content_type), 415, "file", code="unsupported_media_type")


def test_multipart_file_of_unknown_type_is_refused(project, upload_files, refused):
    with refused() as check:
        check(
            upload_files(project, ("tasks.xlsx", b"PK\x03\x04")),
            400,
            "file",
            "tasks.xlsx",
            code="unsupported_format",
        )


def test_multipart_body_without_a_file_is_refused(project, api, refused):
    with refused() as check:
        response = api("manager").post(
            f"/api/projects/{project.pk}/import", data={"x": "1"}, format="multipart"
        )
        check(response, 400, "file", code="required")


@pytest.mark.parametrize(("body", "content_type"), [(b"", "application/json"), (b"  \n ", "text/csv"), (b"[]", "application/json"),
                                                     (b"text\n", "text/csv"), (b"\n\n", "application/x-ndjson")])  # fmt: skip
def test_empty_import_is_refused(project, upload, refused, body, content_type):
    with refused() as check:
        check(upload(project, body, content_type), 400, "file", code="empty")


def test_body_over_the_upload_limit_answers_413(project, upload, refused, settings):
    settings.TESSERA_MAX_UPLOAD_BYTES = 64
    with refused() as check:
        check(upload(project, [{"text": "x" * 100}]), 413, "file", "limit is 64", code="too_large")


def test_file_over_the_upload_limit_answers_413(project, upload_files, refused, settings):
    settings.TESSERA_MAX_UPLOAD_BYTES = 64
    with refused() as check:
        check(
            upload_files(project, ("big.csv", b"text\n" + b"x" * 100 + b"\n")), 413, "file", code="too_large"
        )


def test_more_tasks_than_the_limit_are_refused(project, upload, refused, settings):
    settings.TESSERA_MAX_TASKS_PER_IMPORT = 3
    with refused() as check:
        check(
            upload(project, [{"text": str(i)} for i in range(4)]),
            400,
            "file",
            "4 tasks",
            "3",
            code="too_many_tasks",
        )


def test_not_utf8_is_refused(project, upload, refused):
    with refused() as check:
        check(
            upload(project, "text\ncafé\n".encode("latin-1"), "text/csv"),
            400,
            "file",
            "UTF-8",
            code="bad_encoding",
        )


@pytest.mark.parametrize("body", [[1, 2], ["text"], [[{"text": "a"}]], 42, '"text"'])
def test_tasks_that_are_not_objects_are_refused(project, upload, refused, body):
    with refused():
        response = upload(project, body)
        assert response.status_code == 400
        assert response.json()["error"]["field"] in ("tasks[0]", "file")


def test_task_missing_a_config_variable_names_the_task_and_the_variable(project, upload, refused):
    with refused() as check:
        check(
            upload(project, [{"text": "ok"}, {"body": "no text"}]),
            400,
            "tasks[1].data.text",
            "'text'",
            code="missing_variable",
        )


@pytest.mark.parametrize("data", [[], "text", None, 5])
def test_task_data_that_is_not_an_object_is_refused(project, upload, refused, data):
    with refused() as check:
        check(upload(project, [{"data": data}]), 400, "tasks[0].data")


def test_annotation_with_an_unknown_label_is_refused(project, upload, refused):
    body = [{"data": {"text": "a"}, "annotations": [{"result": choice("Bullish")}]}]
    with refused() as check:
        check(
            upload(project, body), 400, "tasks[0].annotations[0].result[0]", "Bullish", code="invalid_result"
        )


def test_prediction_with_an_unknown_label_is_refused(project, upload, refused):
    body = [{"data": {"text": "a"}, "predictions": [{"result": choice("Bullish")}]}]
    with refused() as check:
        check(
            upload(project, body), 400, "tasks[0].predictions[0].result[0]", "Bullish", code="invalid_result"
        )


def test_annotation_with_an_unknown_from_name_is_refused(project, upload, refused):
    region = {**choice("Positive")[0], "from_name": "mood"}
    body = [{"data": {"text": "a"}, "annotations": [{"result": [region]}]}]
    with refused() as check:
        check(upload(project, body), 400, "tasks[0].annotations[0].result[0]", "mood", code="invalid_result")


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("Rates rise.", 0, 12),
        ("Rates rise.", -1, 3),
        ("Rates rise.", 4, 4),
        ("Rates rise.", 5, 2),
        ("日本銀行が利上げ", 0, 9),  # 8 characters; 24 bytes in UTF-8 would have let 9 through
        ("利上げ😀", 0, 5),  # 4 code points; the emoji is 2 UTF-16 units, which would have let 5 through
    ],
)
def test_span_outside_the_text_is_refused(ner_project, upload, refused, text, start, end):
    body = [{"data": {"text": text}, "annotations": [{"result": [span(start, end, "ORG")]}]}]
    with refused() as check:
        check(
            upload(ner_project, body),
            400,
            "tasks[0].annotations[0].result[0].value",
            code="span_out_of_range",
        )


@pytest.mark.parametrize(("start", "end"), [("0", "3"), (0.5, 3), (True, 3), (0, False), (None, 3)])
def test_span_offsets_that_are_not_integers_are_refused(ner_project, upload, refused, start, end):
    body = [{"data": {"text": "Rates rise."}, "annotations": [{"result": [span(start, end, "ORG")]}]}]
    with refused():
        response = upload(ner_project, body)
        assert response.status_code == 400, response.content
        assert response.json()["error"]["field"].startswith("tasks[0].annotations[0].result[0]")


def test_completed_by_naming_a_non_member_is_refused(project, upload, refused, cast):
    for completed_by in (
        cast.users["outsider"].pk,
        "owner@other.test",
        999_999,
        {"email": "nobody@acme.test"},
    ):
        body = [{"data": {"text": "a"}, "annotations": [{"result": [], "completed_by": completed_by}]}]
        with refused() as check:
            check(
                upload(project, body),
                400,
                "tasks[0].annotations[0].completed_by",
                "not a member",
                code="unknown_user",
            )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([{"text": "a\u0000b"}], "tasks[0].data.text"),
        ([{"data": {"text": "a"}, "meta": {"note": "\u0000"}}], "tasks[0].meta.note"),
        ([{"data": {"text": "a"}, "annotations": [{"result": [], "lead_time": 1, "x": 1,
          "completed_by": None}], "predictions": [{"result": [], "model_version": "v\u0000"}]}],
         "tasks[0].predictions[0].model_version"),
    ],
)  # fmt: skip
def test_nul_character_is_refused_wherever_it_hides(project, upload, refused, body, field):
    with refused() as check:
        check(upload(project, body), 400, field, "NUL", code="nul_character")


def test_nul_character_in_a_csv_cell_is_refused(project, upload, refused):
    with refused() as check:
        check(
            upload(project, b"text\na\x00b\n", "text/csv"),
            400,
            "tasks[0].data.text",
            "NUL",
            code="nul_character",
        )


@pytest.mark.parametrize(
    ("prediction", "field"),
    [({"result": [], "score": 1.5}, "score"), ({"result": [], "score": -0.1}, "score"), ({"result": [], "score": "high"}, "score"),
     ({"result": [], "model_version": 7}, "model_version"), ({"result": [], "model_version": "v" * 201}, "model_version"),
     ({"result": "Positive"}, "result")],
)  # fmt: skip
def test_bad_prediction_fields_are_refused_naming_the_field(project, upload, refused, prediction, field):
    with refused() as check:
        check(
            upload(project, [{"data": {"text": "a"}, "predictions": [prediction]}]),
            400,
            f"tasks[0].predictions[0].{field}",
        )


@pytest.mark.parametrize(
    ("annotation", "field"),
    [({"result": [], "lead_time": -1}, "lead_time"), ({"result": [], "lead_time": "slow"}, "lead_time"),
     ({"result": [], "was_cancelled": "yes"}, "was_cancelled"), ({"result": [], "ground_truth": 1}, "ground_truth"),
     ({"result": {"choices": ["Positive"]}}, "result"), ({"result": [], "lead_time": 86400.5}, "lead_time"),
     ({"result": [], "lead_time": True}, "lead_time"), ({"result": [], "completed_by": 10**9}, "completed_by"),
     # Several faults in one annotation: the first in the order the fields are checked is named.
     ({"result": [], "was_cancelled": "yes", "ground_truth": 1, "lead_time": -1}, "was_cancelled"),
     ({"result": [], "completed_by": "nobody@x.test", "ground_truth": 1}, "completed_by"),
     ({"result": [], "ground_truth": 1, "lead_time": -1}, "ground_truth")],
)  # fmt: skip
def test_bad_annotation_fields_are_refused_naming_the_field(project, upload, refused, annotation, field):
    with refused() as check:
        check(
            upload(project, [{"data": {"text": "a"}, "annotations": [annotation]}]),
            400,
            f"tasks[0].annotations[0].{field}",
        )


@pytest.mark.parametrize("name", ["annotations", "predictions", "meta"])
def test_annotations_predictions_and_meta_of_the_wrong_type_are_refused(project, upload, refused, name):
    with refused() as check:
        check(upload(project, [{"data": {"text": "a"}, name: "oops"}]), 400, f"tasks[0].{name}")


def test_bad_json_row_at_the_end_of_a_large_import_writes_nothing(project, upload, refused):
    body = [{"data": {"text": f"row {i}"}, "annotations": [{"result": choice("Positive")}],
             "predictions": [{"result": choice("Negative"), "score": 0.5}]} for i in range(5000)]  # fmt: skip
    body.append({"data": {"text": "last"}, "annotations": [{"result": choice("Bullish")}]})
    with refused() as check:
        check(upload(project, body), 400, "tasks[5000].annotations[0].result[0]", "Bullish")
    assert not Task.objects.exists() and not Annotation.objects.exists() and not Prediction.objects.exists()


def test_ragged_csv_row_at_the_end_of_a_large_import_writes_nothing(project, upload, refused):
    body = "text,source\n" + "".join(f"row {i},wire\n" for i in range(5000)) + "last\n"
    with refused() as check:
        check(upload(project, body, "text/csv"), 400, "line 5002", "Line 5002")
    assert not Task.objects.exists()


def test_missing_variable_in_the_last_jsonl_line_of_a_large_import_writes_nothing(project, upload, refused):
    body = "".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(5000)) + '{"title": "no text"}\n'
    with refused() as check:
        check(upload(project, body, "application/x-ndjson"), 400, "tasks[5000].data.text")


def test_annotator_and_reviewer_cannot_import(project, upload, refused):
    for role in ("annotator", "reviewer"):
        with refused() as check:
            check(upload(project, [{"text": "a"}], role=role), 403, None, code="role_too_low")


# --- large imports go to the background -----------------------------------------------------------------------


def test_import_over_the_sync_limit_answers_with_an_import_job(
    project, upload, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.TESSERA_SYNC_IMPORT_MAX_BYTES = 10
    settings.TESSERA_IMPORT_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = upload(project, [{"text": "one"}, {"text": "two"}])
    assert response.status_code == 201
    job = ImportJob.objects.get(pk=response.json()["import"])
    assert (job.project, job.state, job.file_format) == (project, "created", "json")
    assert (tmp_path / job.file_name).read_bytes() == json.dumps([{"text": "one"}, {"text": "two"}]).encode()
    assert len(callbacks) == 1
    assert not Task.objects.exists()


def test_large_file_upload_answers_with_an_import_job(
    project, upload_files, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.TESSERA_SYNC_IMPORT_MAX_BYTES = 10
    settings.TESSERA_IMPORT_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=False):
        response = upload_files(project, ("tasks.csv", b"text\none\ntwo\n"))
    assert response.status_code == 201
    job = ImportJob.objects.get(pk=response.json()["import"])
    assert (job.original_name, job.file_format, job.size_bytes) == ("tasks.csv", "csv", 13)
    assert not Task.objects.exists()


def test_import_job_state_can_be_read_by_any_member(
    project, upload, api, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.TESSERA_SYNC_IMPORT_MAX_BYTES = 10
    settings.TESSERA_IMPORT_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=False):
        job_id = upload(project, [{"text": "one"}, {"text": "two"}]).json()["import"]
    response = api("annotator").get(f"/api/projects/{project.pk}/imports/{job_id}/")
    assert response.status_code == 200
    assert response.json()["status"] == "created"


def test_import_job_of_another_project_answers_404(project, make_project, upload, api, settings, tmp_path,
                                                   django_capture_on_commit_callbacks):  # fmt: skip
    settings.TESSERA_SYNC_IMPORT_MAX_BYTES = 10
    settings.TESSERA_IMPORT_DIR = tmp_path
    with django_capture_on_commit_callbacks(execute=False):
        job_id = upload(project, [{"text": "one"}, {"text": "two"}]).json()["import"]
    other = make_project()
    assert api("manager").get(f"/api/projects/{other.pk}/imports/{job_id}/").status_code == 404


def test_a_content_length_that_is_not_a_number_is_refused(project, api, refused):
    with refused() as check:
        response = api("manager").post(
            f"/api/projects/{project.pk}/import", data=b'[{"text": "a"}]', content_type="application/json",
            CONTENT_LENGTH="abc",
        )  # fmt: skip
        check(response, 400, "file", "Content-Length", code="invalid_header")


def test_multipart_body_without_a_boundary_is_refused(project, api, refused):
    body = b'--xyz\r\nContent-Disposition: form-data; name="f"; filename="a.json"\r\n\r\n[]\r\n--xyz--\r\n'
    with refused() as check:
        response = api("manager").post(
            f"/api/projects/{project.pk}/import", data=body, content_type="multipart/form-data"
        )
        check(response, 400, "file", "multipart", code="parse_error")


def test_tabs_newlines_and_backslashes_are_stored_as_sent(ner_project, upload):
    # Each would mean something else in COPY's text format if a row were formatted without escaping.
    text = 'Acme\tCorp\nsaid "C:\\dir"\r\nok \\N'
    body = [
        {
            "data": {"text": text, "note": "a\\tb\\"},
            "meta": {"path": "C:\\x\ty"},
            "annotations": [
                {"result": [span(0, 4, "ORG", "Acme")], "ground_truth": True, "lead_time": 7},
                {"result": [span(5, 9, "ORG", text[5:9]), span(len(text) - 2, len(text), "PER", "\\N")],
                 "lead_time": None},
            ],
        }
    ]  # fmt: skip
    assert upload(ner_project, body).status_code == 201
    task = Task.objects.get(project=ner_project)
    assert (task.data, task.meta) == (body[0]["data"], body[0]["meta"])
    first, second = task.annotations.order_by("id")
    assert (first.result, first.ground_truth, first.lead_time) == ([span(0, 4, "ORG", "Acme")], True, 7.0)
    assert (second.result, second.ground_truth, second.lead_time) == (
        body[0]["annotations"][1]["result"],
        False,
        None,
    )
    assert (task.total_annotations, task.cancelled_annotations, task.is_labeled) == (2, 0, True)


def test_a_backslash_before_u0000_in_text_is_not_a_nul(project, upload):
    response = upload(project, [{"text": "C:\\u0000dir", "meta": "\\\\\\u0000"}])
    assert response.status_code == 201
    assert project.tasks.get().data == {"text": "C:\\u0000dir", "meta": "\\\\\\u0000"}


def test_a_json_export_imports_into_another_project_as_it_was(world, api, make_project, upload):
    exported = b"".join(
        api("manager")
        .get(f"/api/projects/{world['project'].pk}/export?exportType=JSON&download_all_tasks=true")
        .streaming_content
    )
    target = make_project()
    response = upload(target, exported)
    assert response.status_code == 201, response.content
    assert (
        response.json()["task_count"],
        response.json()["annotation_count"],
        response.json()["prediction_count"],
    ) == (2, 1, 1)
    source_tasks = list(world["project"].tasks.order_by("inner_id"))
    copied_tasks = list(target.tasks.order_by("inner_id"))
    assert [t.data for t in copied_tasks] == [t.data for t in source_tasks]
    copied = copied_tasks[0].annotations.get()
    assert (copied.result, copied.completed_by) == (
        world["annotation"].result,
        world["annotation"].completed_by,
    )
    assert copied_tasks[0].predictions.get().score == world["prediction"].score
    assert [t.is_labeled for t in copied_tasks] == [t.is_labeled for t in source_tasks]


# --- column_map: file columns renamed to the config's $variables ------------------------------------------------

SENTENCE_MAP = "?column_map=" + json.dumps({"sentence": "text"})


def test_csv_columns_are_renamed_by_the_column_map(project, upload):
    response = upload(project, "sentence,source\nShares rose,wire\n", "text/csv", query=SENTENCE_MAP)
    assert response.status_code == 201, response.content
    assert [task.data for task in project.tasks.all()] == [{"text": "Shares rose", "source": "wire"}]


def test_tsv_columns_are_renamed_by_the_column_map(project, upload):
    response = upload(project, "sentence\tsource\nShares fell\twire\n", "text/tab-separated-values",
                      query=SENTENCE_MAP)  # fmt: skip
    assert response.status_code == 201, response.content
    assert texts(project) == ["Shares fell"]


def test_json_lines_data_keys_are_renamed_by_the_column_map(project, upload):
    body = '{"sentence": "a"}\n{"data": {"sentence": "b"}, "meta": {"n": 2}}\n'
    assert upload(project, body, "application/x-ndjson", query=SENTENCE_MAP).status_code == 201
    assert texts(project) == ["a", "b"]


def test_json_tasks_are_renamed_by_the_column_map_and_their_annotations_kept(project, upload):
    body = [
        {"data": {"sentence": "Up"}, "annotations": [{"result": choice("Positive")}]},
        {"sentence": "Down"},
    ]
    assert upload(project, body, query=SENTENCE_MAP).status_code == 201
    assert texts(project) == ["Up", "Down"]
    assert Annotation.objects.filter(task__project=project).count() == 1


def test_a_column_map_as_a_form_field_applies_to_every_file_that_has_the_column(project, api):
    files = {
        "file0": SimpleUploadedFile("sentences.csv", b"sentence\nOne\nTwo\n"),
        "file1": SimpleUploadedFile("texts.jsonl", b'{"text": "Three"}\n'),
        "column_map": json.dumps({"sentence": "text"}),
    }
    response = api("manager").post(f"/api/projects/{project.pk}/import", data=files, format="multipart")
    assert response.status_code == 201, response.content
    assert texts(project) == ["One", "Two", "Three"]


def test_an_identity_or_empty_column_map_changes_nothing(project, upload):
    for column_map in ({}, {"text": "text"}):
        query = "?column_map=" + json.dumps(column_map)
        assert upload(project, "text\nSame\n", "text/csv", query=query).status_code == 201
    assert texts(project) == ["Same", "Same"]


@pytest.mark.parametrize(
    ("column_map", "code", "words"),
    [
        ({"sentence": "title"}, "unknown_target", ["'title'", "$text"]),
        ({"sentence": "text", "headline": "text"}, "duplicate_target", ["'sentence'", "'headline'"]),
        (["sentence", "text"], "invalid", ["JSON object"]),
        ({"sentence": 3}, "invalid", ["non-empty"]),
        ({" ": "text"}, "invalid", ["non-empty"]),
    ],
)
def test_a_bad_column_map_is_refused_naming_column_map(project, upload, refused, column_map, code, words):
    query = "?column_map=" + json.dumps(column_map)
    with refused() as check:
        check(upload(project, "sentence\nx\n", "text/csv", query=query), 400, "column_map", *words, code=code)


def test_a_column_map_that_is_not_json_is_refused(project, upload, refused):
    with refused() as check:
        check(upload(project, "sentence\nx\n", "text/csv", query="?column_map={sentence"), 400, "column_map",
              "not valid JSON")  # fmt: skip


def test_a_column_map_sent_twice_is_refused(project, api, refused):
    body = {
        "file": SimpleUploadedFile("a.csv", b"sentence\nx\n"),
        "column_map": json.dumps({"sentence": "text"}),
    }
    with refused() as check:
        response = api("manager").post(
            f"/api/projects/{project.pk}/import{SENTENCE_MAP}", data=body, format="multipart"
        )
        check(response, 400, "column_map", "once")


def test_a_csv_column_renamed_onto_another_column_is_refused(project, upload, refused):
    with refused() as check:
        response = upload(project, "sentence,text\na,b\n", "text/csv", query=SENTENCE_MAP)
        check(response, 400, "column_map", "'text'", code="column_conflict")


def test_a_json_task_renamed_onto_a_key_it_has_is_refused_naming_the_task(project, upload, refused):
    body = [{"sentence": "a"}, {"sentence": "b", "text": "c"}]
    with refused() as check:
        check(
            upload(project, body, query=SENTENCE_MAP), 400, "tasks[1].data", "'text'", code="column_conflict"
        )


def test_an_error_in_one_of_several_files_names_the_file(project, upload_files, refused):
    with refused() as check:
        response = upload_files(
            project, ("good.csv", b"text\nfine\n"), ("bad.jsonl", b'{"text": "ok"}\n{oops\n')
        )
        check(response, 400, "line 2", "bad.jsonl: ", "line 2")


def test_a_background_import_keeps_its_column_map_and_applies_it(
    project, upload, api, settings, tmp_path, django_capture_on_commit_callbacks
):
    from annotation.services.import_jobs import import_job_run

    settings.TESSERA_SYNC_IMPORT_MAX_BYTES = 10
    settings.TESSERA_IMPORT_DIR = tmp_path
    body = "sentence\n" + "".join(f"row {i}\n" for i in range(30))
    with django_capture_on_commit_callbacks(execute=False):
        response = upload(project, body, "text/csv", query=SENTENCE_MAP)
    assert response.status_code == 201, response.content
    assert response.json()["column_map"] == {"sentence": "text"}
    job = ImportJob.objects.get(pk=response.json()["import"])
    assert job.column_map == {"sentence": "text"}

    import_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.state, job.task_count) == ("completed", 30)
    assert texts(project) == [f"row {i}" for i in range(30)]


def test_a_background_json_lines_import_applies_its_column_map_to_each_task(
    project, cast, settings, tmp_path
):
    from annotation.services.import_jobs import import_job_create, import_job_run

    settings.TESSERA_IMPORT_DIR = tmp_path
    body = b"".join(b'{"sentence": "line %d"}\n' % i for i in range(5))
    job = import_job_create(project=project, user=cast.users["manager"], chunks=[body], file_format="jsonl",
                            original_name="lines.jsonl", column_map={"sentence": "text"})  # fmt: skip
    import_job_run(job_id=job.pk)
    assert texts(project) == [f"line {i}" for i in range(5)]


def test_a_background_import_whose_column_map_collides_fails_and_writes_nothing(
    project, cast, settings, tmp_path
):
    from annotation.services.import_jobs import import_job_create, import_job_run

    settings.TESSERA_IMPORT_DIR = tmp_path
    job = import_job_create(project=project, user=cast.users["manager"], chunks=[b"sentence,text\na,b\n"],
                            file_format="csv", original_name="x.csv", column_map={"sentence": "text"})  # fmt: skip
    import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == "failed"
    assert (job.error["field"], job.error["code"]) == ("column_map", "column_conflict")
    assert not Task.objects.filter(project=project).exists()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"text\nFrom a form\n", "text/csv"), (b'[{"text": "From a form"}]', "application/json"),
     (b'{"text": "From a form"}\n', "application/x-ndjson"), (b"text\nFrom a form\n", "text/tab-separated-values")],
)  # fmt: skip
def test_a_browser_session_imports_a_body_of_every_format(project, cast, body, content_type):
    from django.middleware.csrf import _get_new_csrf_string
    from rest_framework.test import APIClient

    # The session's CSRF check reads the form: it must not refuse these bodies or consume them.
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(cast.users["manager"])
    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    response = client.post(f"/api/projects/{project.pk}/import", data=body, content_type=content_type,
                           HTTP_X_CSRFTOKEN=token)  # fmt: skip
    assert response.status_code == 201, response.content
    assert texts(project) == ["From a form"]


def test_a_browser_session_without_the_csrf_token_cannot_import(project, cast):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(cast.users["manager"])
    response = client.post(f"/api/projects/{project.pk}/import", data=b"text\nx\n", content_type="text/csv")
    assert response.status_code == 403
    assert not project.tasks.exists()

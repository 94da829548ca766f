"""Property-based fuzzing of the whole API: whatever the body or the query string, no response is a 5xx.

Hypothesis builds bodies of arbitrary JSON (lone surrogates, NUL, integers of hundreds of digits, deep
nesting, odd types, valid bodies with fields swapped for any of those), raw bytes under several content
types, and odd query strings (any bytes, percent-encoded), and sends them to every write endpoint and
every query parameter, as each role. Derandomized with a fixed number of examples, so a run is the same
every time and takes under a minute per database on an idle machine; each example runs in a savepoint
rolled back after it, so that every example meets the same world. Streamed responses are read to the end: a failure in
the middle of a stream is a failure too. Run on PostgreSQL and on SQLite.
"""

import json
import sys
from urllib.parse import quote_from_bytes

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from annotation.services.comments import comment_create
from exports.dataset_services import dataset_version_create, snapshot_create
from tessera.invitations import invitation_create
from tessera.models import ApiToken, Membership
from tests.annotation.conftest import fill_ids
from tests.conftest import SENTIMENT_CONFIG
from tests.training.loopback_servers import closed_port
from training.models import ModelVersion, Prelabeler, PrelabelJob, TrainingJob
from training.services.base_models import base_model_defaults_register
from training.services.ml_backends import ml_backend_create

pytestmark = pytest.mark.django_db

EXAMPLES_PER_ENDPOINT = 60
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_ENDPOINT,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

ROLES = ["owner", "manager", "reviewer", "annotator"]
FIELD_NAMES = [
    "result", "task", "project", "data", "meta", "score", "model_version", "lead_time", "was_cancelled",
    "ground_truth", "parent_prediction", "annotation", "completed_by", "title", "label_config", "description",
    "expert_instruction", "maximum_annotations", "sampling", "color", "show_skip_button", "reason",
    "organization", "email", "role", "send_email", "user", "members_only", "verdict", "comment", "review_policy", "review_sample_percent", "gold_ratio", "from_name", "to_name", "type", "value", "choices", "labels", "start", "end", "text", "id",
    "predictions", "annotations", "parent", "is_resolved",
]  # fmt: skip

# --- values ---------------------------------------------------------------------------------------------

ODD_TEXT = ["\ud800", "\udfff", "a\ud83d", "\x00", "a\x00b", "", " ", "日本語", "\u2028", "$text", "<View/>",
            "Positive", "sentiment", "choices", "1", "-1", "1e999", "NaN", "9" * 400, "x" * 300]  # fmt: skip
ODD_INTEGERS = [0, 1, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**30, 10**307, 10**308,
                10**400, -(10**400)]  # fmt: skip

texts = st.one_of(
    st.sampled_from(ODD_TEXT),
    st.text(alphabet=st.characters(exclude_categories=()) | st.sampled_from(["\ud800", "\x00"]), max_size=12),
)
numbers = st.one_of(
    st.sampled_from(ODD_INTEGERS),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.5, -0.0, 1e308, 5e-324, 86400.0, 86400.5]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | texts, children, max_size=4)
    ),
    max_leaves=16,
)


def _nest(levels: int, kind: str):
    value: object = "leaf"
    for _ in range(levels):
        value = [value] if kind == "list" else {"value": value}
    return value


deep_values = st.builds(
    _nest, st.sampled_from([99, 100, 101, 317, 500, 940, 2000]), st.sampled_from(["list", "dict"])
)
# The values that broke endpoints before, drawn often: Hypothesis picks each branch of one_of alike.
NASTY = ["\ud800", "a\udfff", "a\x00b", 10**400, -(10**400), 2**63, 2**64, 1e308, -1, 86401, "9" * 400, [], {}, None,
         True, "", [None], {"": None}]  # fmt: skip
nasty_values = st.sampled_from(NASTY) | deep_values
any_value = st.one_of(nasty_values, nasty_values, json_values, deep_values)
region = st.fixed_dictionaries(
    {"from_name": st.sampled_from(["sentiment", "label"]) | texts, "to_name": st.just("text") | texts,
     "type": st.sampled_from(["choices", "labels"]) | texts, "value": any_value},
    optional={"id": texts | numbers, "origin": texts, "meta": any_value},
)  # fmt: skip
results = st.lists(region, max_size=3) | any_value


@st.composite
def json_bodies(draw, template):
    """A valid body with some fields replaced, a loose object of known field names, or any JSON value."""
    kind = draw(st.sampled_from(["template", "fields", "any"]))
    if kind == "template" and isinstance(template, dict):
        body = dict(template)
        for name in draw(st.lists(st.sampled_from([*body, *FIELD_NAMES]), min_size=1, max_size=3)):
            body[name] = draw(results if name == "result" else any_value)
        return body
    if kind == "template" and isinstance(template, list):
        return [draw(json_bodies({**template[0]} if template and isinstance(template[0], dict) else {}))]
    if kind == "fields" or kind == "template":
        names = draw(st.lists(st.sampled_from(FIELD_NAMES), min_size=1, max_size=5))
        return {name: draw(results if name == "result" else any_value) for name in names}
    return draw(any_value)


def _dumps(value) -> bytes:
    """json.dumps with room for the deep values: the client may send what the server must refuse."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        return json.dumps(value).encode()
    finally:
        sys.setrecursionlimit(limit)


@st.composite
def requests_for(draw, template):
    """(content_type, raw body bytes): JSON mostly, sometimes raw bytes under another content type."""
    if draw(st.integers(0, 9)) < 8:
        return "application/json", _dumps(draw(json_bodies(template)))
    content_type = draw(st.sampled_from(
        ["application/json", "text/csv", "text/tab-separated-values", "application/x-ndjson",
         "application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "text/plain", ""]
    ))  # fmt: skip
    raw = draw(st.one_of(
        st.binary(max_size=200),
        st.sampled_from([b"text\na\x00b\n", b"\xed\xa0\x80", b'{"a": "\\ud800"}', b"[" * 3000 + b"]" * 3000,
                         b"a=\xed\xa0\x80&b=%00", b"--xyz\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n--xyz--",
                         b'[{"text": 1' + b"0" * 400 + b"}]", b"\xef\xbb\xbf[]"]),
    ))  # fmt: skip
    return content_type, raw


# Every endpoint that reads a body, with a valid body to start from; paths name the world's objects.
WRITES = [
    ("post", "/api/projects/", {"title": "Fuzzed", "label_config": SENTIMENT_CONFIG}),
    ("patch", "/api/projects/{project}/", {"title": "Fuzzed", "maximum_annotations": 2, "review_policy": "sample",
                                          "review_sample_percent": 50, "gold_score_floor": 0.5}),
    ("post", "/api/projects/validate", {"label_config": SENTIMENT_CONFIG}),
    ("post", "/api/projects/{project}/validate", {"label_config": SENTIMENT_CONFIG}),
    ("post", "/api/projects/{project}/import", [{"data": {"text": "x"}, "annotations": [{"result": []}],
                                                 "predictions": [{"result": [], "score": 0.5}]}]),
    ("post", "/api/projects/{project}/import/predictions", [{"task": "{task}", "result": [], "score": 0.5}]),
    ("post", "/api/tasks/", {"project": "{project}", "data": {"text": "x"}, "meta": {}}),
    ("patch", "/api/tasks/{task}/", {"data": {"text": "x"}, "meta": {}}),
    ("post", "/api/tasks/{free_task}/annotations/", {"result": [], "was_cancelled": True, "lead_time": 1,
                                                     "ground_truth": False, "parent_prediction": "{prediction}"}),
    ("patch", "/api/annotations/{annotation}/", {"result": [], "lead_time": 1, "was_cancelled": False}),
    ("post", "/api/predictions/", {"task": "{task}", "result": [], "score": 0.5, "model_version": "v1"}),
    ("patch", "/api/predictions/{prediction}/", {"score": 0.5, "model_version": "v2", "result": []}),
    ("post", "/api/tasks/{free_task}/drafts", {"result": [], "lead_time": 1, "annotation": "{annotation}"}),
    ("patch", "/api/drafts/{draft}/", {"result": [], "lead_time": 1}),
    ("post", "/api/tasks/{free_task}/skip", {"reason": "unclear", "lead_time": 1}),
    ("post", "/api/tasks/{free_task}/lock", {}),
    ("delete", "/api/tasks/{free_task}/lock", {}),
    ("delete", "/api/drafts/{draft}/", {}),
    ("post", "/api/projects/{project}/next", {}),
    ("post", "/api/labeling/projects/{project}/next", {}),
    ("post", "/api/tokens/", {"name": "fuzzed", "expires_in_days": 30}),
    ("post", "/api/ml/", {"url": "http://127.0.0.1:9", "project": "{project}", "title": "Fuzzed",
                          "auth_method": "BASIC_AUTH", "basic_auth_user": "u", "basic_auth_pass": "p",
                          "timeout": 5, "extra_params": {"a": 1}, "is_interactive": False}),
    ("patch", "/api/ml/{ml_backend}/", {"url": "http://10.0.0.1:9090", "title": "Fuzzed", "timeout": 5,
                                        "model_version": "v1", "auto_update": False, "project": "{project}"}),
    ("delete", "/api/ml/{ml_backend}/", {}),
    ("delete", "/api/tokens/{token}/", {}),
    ("post", "/api/current-user/reset-token/", {}),
    ("post", "/api/projects/{project}/tasks/actions/", {"action": "delete_predictions", "selectedItems": {
        "all": False, "included": ["{task}"]}, "filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:data.text", "operator": "search", "type": "String", "value": "x"}]}}),
    ("post", "/api/dm/actions?id=delete_tasks_annotations&project={project}", {"selectedItems": {
        "all": True, "excluded": ["{task}"]}, "filters": {"conjunction": "or", "items": [
        {"filter": "filter:tasks:labels", "operator": "contains", "type": "String", "value": "Positive"}]}}),
    ("delete", "/api/annotations/{annotation}/", {}),
    ("delete", "/api/predictions/{prediction}/", {}),
    ("delete", "/api/tasks/{task}/", {}),
    ("delete", "/api/projects/{project}/tasks", {}),
    ("delete", "/api/projects/{project}/", {}),
    ("post", "/api/organizations/switch", {"organization": "{org}"}),
    ("post", "/api/organizations/{org}/memberships/", {"email": "annotator2@acme.test", "role": "reviewer"}),
    ("patch", "/api/organizations/{org}/memberships/{member}/", {"role": "reviewer"}),
    ("delete", "/api/organizations/{org}/memberships/{member}/", {}),
    ("post", "/api/organizations/{org}/invites/", {"email": "new@acme.test", "role": "annotator", "send_email": True}),
    ("delete", "/api/organizations/{org}/invites/{invite}/", {}),
    ("post", "/api/projects/{project}/members/", {"user": "{member}", "email": "annotator@acme.test"}),
    ("delete", "/api/projects/{project}/members/", {"user": "{member}"}),
    ("delete", "/api/projects/{project}/members/{member}/", {}),
    ("post", "/api/projects/{project}/annotators/{member}/resume", {}),
    ("post", "/api/tasks/{task}/comments/", {"text": "see @annotator@acme.test <b>x</b>", "parent": "{comment}",
                                             "annotation": "{annotation}"}),
    ("patch", "/api/comments/{comment}/", {"text": "changed", "is_resolved": True}),
    ("delete", "/api/comments/{comment}/", {}),
    ("post", "/api/projects/{project}/review/next", {}),
    ("post", "/api/tasks/{task}/consensus/", {"annotation": "{annotation}"}),
    ("post", "/api/annotations/{annotation}/reviews/", {"verdict": "fix", "comment": "x", "result": []}),
    ("post", "/api/projects/{project}/reviews/bulk", {"verdict": "accept", "comment": "x", "selectedItems": {
        "all": True, "excluded": ["{task}"]}, "filters": {"conjunction": "and", "items": [
        {"filter": "filter:tasks:total_annotations", "operator": "greater", "type": "Number", "value": 0}]}}),
    ("post", "/api/projects/{project}/prelabelers/", {"backend": "span_rules", "title": "x", "run_on_import": False,
                                                      "settings": {"rules": {}, "case_sensitive": False}}),
    ("patch", "/api/prelabelers/{prelabeler}/", {"title": "x", "settings": {}, "is_active": True,
                                                 "run_on_import": False}),
    ("post", "/api/prelabelers/{prelabeler}/test/", {"task": "{task}"}),
    ("post", "/api/prelabelers/{prelabeler}/jobs/", {"tasks": ["{task}"], "refit": False}),
    ("post", "/api/prelabel-jobs/{prelabel_job}/cancel/", {}),
    ("delete", "/api/prelabelers/{prelabeler}/", {}),
    ("post", "/api/projects/{project}/datasets/", {"name": "fuzzed", "tasks": {"filters": {"conjunction": "and",
        "items": []}}, "review": ["accepted"], "min_agreement": 0.5, "gold": "exclude", "result": "consensus",
        "splits": {"train": 0.8, "test": 0.2}, "seed": 1, "stratify": True, "group_by": "text",
        "dedup": {"exact": True, "near_threshold": 0.9}, "redact": ["email", {"pattern": "[0-9]+"}],
        "formats": ["jsonl", "parquet", "CONLL2003"]}),
    ("post", "/api/projects/{project}/datasets/preview", {"splits": {"train": 0.5, "test": 0.5}, "stratify": True,
                                                         "group_by": "text", "result": "latest"}),
    ("delete", "/api/datasets/{dataset}/", {}),
    ("post", "/api/projects/{project}/exports/", {"title": "fuzzed", "serialization_options": {},
        "task_filter_options": {"only_with_annotations": True}, "annotation_filter_options": {"usual": True}}),
    ("delete", "/api/projects/{project}/exports/{snapshot}/", {}),
    ("post", "/api/base-models/", {"name": "fuzzed", "path": "/nowhere/model"}),
    ("delete", "/api/base-models/{base_model}/", {}),
    ("post", "/api/training-jobs/estimate", {"recipe": "text_classification", "base_model": "{base_model}",
        "params": {"epochs": 1}, "resources": {"gpus": 1, "gpu_type": "H100"}, "tokens": 1000}),
    ("post", "/api/models/{model}/promote", {"project": "{project}"}),
    ("post", "/api/models/{model}/evaluation-project", {}),
    ("delete", "/api/models/{model}/", {}),
    ("post", "/api/training-jobs/", {"dataset": "{dataset}", "recipe": "text_classification",
        "base_model": "{base_model}", "params": {"max_steps": 2}, "resources": {"gpus": 1}, "name": "fuzzed"}),
    ("post", "/api/training-jobs/{training_job}/cancel", {}),
    ("post", "/api/training-jobs/estimate", {"recipe": "text_classification", "base_model": "{base_model}",
        "dataset": "{dataset}", "params": {"max_length": 64}, "resources": {"gpu_type": "CPU"}}),
]  # fmt: skip

# Every query parameter, on the endpoints that read one.
QUERIES = [
    ("/api/projects/", ["page", "page_size"]),
    ("/api/tasks/", ["project", "page", "page_size", "filters", "ordering", "query", "selectedItems"]),
    ("/api/tasks/?project={project}", ["filters", "ordering", "query", "selectedItems", "page"]),
    ("/api/tasks/{task}/history/", ["page"]),
    ("/api/predictions/", ["task", "project", "task__project", "page", "page_size"]),
    (
        "/api/projects/{project}/export",
        ["exportType", "export_type", "download_all_tasks", "ids", "ids[]", "filters"],
    ),
    ("/api/labeling/projects/{project}/recent", ["limit"]),
    ("/api/projects/{project}/next", ["page"]),
    ("/api/labeling/projects", ["page"]),
    ("/api/projects/{project}/imports/{import_job}/", ["page"]),
    ("/api/organizations/{org}/memberships/", ["role", "search", "include_inactive", "page", "page_size"]),
    ("/api/organizations/{org}/invites/", ["state", "page", "page_size"]),
    ("/api/projects/{project}/members/", ["page"]),
    ("/api/projects/{project}/annotators/", ["by", "page"]),
    ("/api/projects/{project}/timeline/", ["page"]),
    ("/api/projects/{project}/gold/", ["page"]),
    ("/api/projects/{project}/agreement/", ["by", "page", "page_size"]),
    ("/api/projects/{project}/agreement/?by=task", ["page", "page_size"]),
    ("/api/projects/{project}/agreement/confusion", ["control", "a", "b"]),
    ("/api/projects/{project}/agreement/confusion?control=sentiment", ["a", "b"]),
    ("/api/tasks/{task}/comments/", ["page"]),
    ("/api/projects/{project}/comments/", ["open", "page", "page_size"]),
    ("/api/ml/", ["project", "is_interactive"]),
    ("/api/projects/{project}/review/next", ["page"]),
    ("/api/projects/{project}/review/backlog", ["page"]),
    ("/api/annotations/{annotation}/reviews/", ["page"]),
    ("/api/projects/{project}/prelabelers/", ["page"]),
    ("/api/prelabelers/{prelabeler}/", ["page"]),
    ("/api/prelabel-jobs/{prelabel_job}/", ["page"]),
    ("/api/projects/{project}/prelabel-jobs/", ["page"]),
    ("/api/projects/{project}/datasets/", ["page"]),
    ("/api/datasets/{dataset}/download", ["format", "split"]),
    ("/api/datasets/{dataset}/diff", ["other"]),
    ("/api/projects/{project}/exports/", ["page"]),
    ("/api/projects/{project}/exports/{snapshot}/download", ["exportType", "download_resources"]),
    ("/api/base-models/", ["page"]),
    ("/api/models/", ["project", "page", "page_size"]),
    ("/api/models/?project={project}", ["page", "page_size"]),
    ("/api/models/{model}/", ["page"]),
    ("/api/training-jobs/", ["project", "page", "page_size"]),
    ("/api/training-jobs/{training_job}/", ["page"]),
    ("/api/training-jobs/{training_job}/metrics/", ["after"]),
    ("/api/training-jobs/{training_job}/logs", ["page"]),
]
ODD_QUERY_VALUES = ["", "0", "-1", "1", "2", " 1", "1 ", "+1", "1.0", "1e3", "١٢", "true", "True", "nan",
                    str(2**63), str(2**64), "9" * 400, "9" * 5000, "1,2,,3", "JSON", "CSV", "TSV", "JSON_MIN",
                    "CONLL2003", "COCO", "%00", "\x00", "jsonl", "parquet", "train", "test", "hf"]  # fmt: skip
query_values = st.one_of(
    st.sampled_from(ODD_QUERY_VALUES).map(lambda text: quote_from_bytes(text.encode())),
    st.binary(max_size=12).map(quote_from_bytes),
    st.integers().map(str),
)


def assert_not_a_server_error(response, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, getattr(response, "content", b"")[:300])
    if getattr(response, "streaming", False):
        # A failure mid-stream cannot change the status any more; reading it all raises it here.
        b"".join(response.streaming_content)


@pytest.fixture
def fuzz_world(world, cast, settings, tmp_path):
    ids = {name: obj.pk for name, obj in world.items()}
    # An ML backend on a loopback port nothing listens on: each call is refused at once (state ER).
    settings.TESSERA_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    ids["ml_backend"] = ml_backend_create(
        project=world["project"],
        user=cast.users["owner"],
        fields={"url": f"http://127.0.0.1:{closed_port()}"},
    ).pk
    ids["org"] = cast.org.pk
    ids["token"] = ApiToken.objects.filter(user=cast.users["owner"]).values_list("pk", flat=True).first()
    ids["member"] = cast.users["annotator"].pk
    owner = Membership.objects.get(user=cast.users["owner"], organization=cast.org)
    ids["invite"] = invitation_create(actor=owner, email="invited@acme.test")[0].pk
    annotator = Membership.objects.get(user=cast.users["annotator"], organization=cast.org)
    ids["comment"] = comment_create(
        task=world["task"], user=cast.users["annotator"], membership=annotator, text="A first thread."
    ).pk
    # A pre-labeler of the sentiment project (span rules, which that config does not fit) and a waiting job.
    prelabeler = Prelabeler.objects.create(project=world["project"], backend="span_rules", title="Rules")
    ids["prelabeler"] = prelabeler.pk
    ids["prelabel_job"] = PrelabelJob.objects.create(
        project=world["project"], prelabeler=prelabeler, scope={"tasks": "all", "refit": False}
    ).pk
    # A dataset version and a Label Studio snapshot, queued (never built: no worker runs here), and the
    # default base model.
    settings.TESSERA_DATASETS_DIR = tmp_path / "datasets"
    manager = cast.users["manager"]
    ids["dataset"] = dataset_version_create(
        project=world["project"], user=manager, body={"formats": ["jsonl"]}
    ).pk
    ids["snapshot"] = snapshot_create(project=world["project"], user=manager, body={"title": "snap"}).pk
    base_model = base_model_defaults_register(organization=cast.org)
    assert base_model is not None
    ids["base_model"] = base_model.pk
    # A model version whose registry folder was never written (promoting it is a 400) and whose job is gone.
    ids["model"] = ModelVersion.objects.create(
        organization=cast.org,
        project=world["project"],
        name=f"project-{world['project'].pk}-text_classification",
        version="v1",
        recipe="text_classification",
        task_kind="sequence_classification",
    ).pk
    # A queued training job (no worker runs here) on that version and model.
    ids["training_job"] = TrainingJob.objects.create(
        organization=cast.org, project=world["project"], dataset_id=ids["dataset"], recipe="text_classification",
        base_model=base_model, params={"max_steps": 2}, resources={"gpus": 1, "gpu_type": "H100"},
    ).pk  # fmt: skip
    return ids


@pytest.fixture
def in_savepoint():
    """Run one example and roll back what it wrote, so the next one meets the same world."""

    def run(send):
        with transaction.atomic():
            response = send()
            if getattr(response, "streaming", False):
                response = _read_stream(response)
            transaction.set_rollback(True)
        return response

    return run


class _Read:
    def __init__(self, status_code: int, content: bytes):
        self.status_code = status_code
        self.content = content
        self.streaming = False


def _read_stream(response):
    return _Read(response.status_code, b"".join(response.streaming_content))


@pytest.mark.parametrize(("method", "path", "template"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
@FUZZ_SETTINGS
@given(request=st.data())
def test_no_body_sent_to_a_write_endpoint_gets_a_5xx(
    fuzz_world, api, in_savepoint, method, path, template, request
):
    role = request.draw(st.sampled_from(ROLES))
    content_type, raw = request.draw(requests_for(fill_ids(template, fuzz_world)))
    url = fill_ids(path, fuzz_world)
    # Writes read query parameters too (return_task_ids on imports).
    pairs = request.draw(
        st.lists(st.tuples(st.sampled_from(["return_task_ids", "column_map", "x"]), query_values), max_size=2)
    )
    if pairs:
        url += ("&" if "?" in url else "?") + "&".join(f"{name}={value}" for name, value in pairs)
    response = in_savepoint(
        lambda: api(role).generic(method.upper(), url, data=raw, content_type=content_type)
    )
    assert_not_a_server_error(response, f"{role} {method} {url} {content_type} {raw[:200]!r}")


@pytest.mark.parametrize(("path", "names"), QUERIES, ids=[path for path, _ in QUERIES])
@FUZZ_SETTINGS
@given(request=st.data())
def test_no_query_string_gets_a_5xx(fuzz_world, api, in_savepoint, path, names, request):
    role = request.draw(st.sampled_from(ROLES))
    pairs = request.draw(
        st.lists(st.tuples(st.sampled_from([*names, "x"]), query_values), min_size=1, max_size=4)
    )
    url = (
        fill_ids(path, fuzz_world)
        + ("&" if "?" in path else "?")
        + "&".join(f"{quote_from_bytes(name.encode())}={value}" for name, value in pairs)
    )
    response = in_savepoint(lambda: api(role).get(url))
    assert_not_a_server_error(response, f"{role} GET {url}")


def test_every_api_endpoint_is_fuzzed():
    """A new view, or a new method on one, must join WRITES or QUERIES above."""
    from django.urls import URLPattern, URLResolver, get_resolver, resolve
    from rest_framework.views import APIView

    def views(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from views(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "view_class"):
                yield pattern.callback.view_class

    ids = {
        name: 1
        for name in (
            "project",
            "task",
            "free_task",
            "annotation",
            "prediction",
            "draft",
            "import_job",
            "token",
            "org",
            "member",
            "invite",
            "comment",
            "ml_backend",
            "prelabeler",
            "prelabel_job",
            "dataset",
            "snapshot",
            "base_model",
            "model",
            "training_job",
        )
    }
    fuzzed = {
        (resolve(fill_ids(path, ids).split("?")[0]).func.view_class, method) for method, path, _ in WRITES
    }
    fuzzed |= {(resolve(fill_ids(path, ids).split("?")[0]).func.view_class, "get") for path, _ in QUERIES}
    api_views = {view for view in views(get_resolver().url_patterns) if issubclass(view, APIView)}
    missing = sorted(
        f"{view.__module__}.{view.__name__}.{method}"
        for view in api_views
        for method in ("post", "patch", "put", "delete")
        if hasattr(view, method) and (view, method) not in fuzzed
    )
    assert missing == []

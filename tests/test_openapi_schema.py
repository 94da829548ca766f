"""The OpenAPI schema at /api/schema/ describes what the endpoints really take and answer.

The views build their bodies as plain dicts and the schema comes from schema-only serializers
(``*/api/schemas.py``), so nothing ties the two together but this test: it drives every endpoint
through its documented answers and validates each real answer against the generated schema, with
objects closed (a key the schema does not name fails), and an answer whose status the operation does
not document fails too.
"""

import json
import re
from io import StringIO
from urllib.parse import quote

import jsonschema
import pytest
from django.core.management import call_command
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from annotation.api.views import LabelConfigValidateThrottle
from annotation.models import ImportJob, Project
from tessera.services import user_upsert
from tests.conftest import NER_CONFIG, SENTIMENT_CONFIG, choice
from tests.exports.schema_walk import walk_datasets
from tests.exports.schema_walk_formats import walk_dataset_formats
from tests.training.schema_calls import ml_api_answers
from tests.training.schema_walk import walk_prelabeling
from tests.training.schema_walk_models import walk_models
from tests.training.schema_walk_training import walk_training
from tests.training.schema_walk_training_jobs import walk_training_jobs

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


def test_schema_generates_with_no_warning_and_validates():
    # --fail-on-warn turns drf-spectacular's warnings (operationId collisions, unresolvable
    # serializers, free-form guesses) into a failure, and --validate checks it against OpenAPI 3.
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out)
    assert out.getvalue().startswith("openapi: 3")


def test_the_served_schema_is_the_generated_one(api, openapi):
    response = api("annotator").get("/api/schema/?format=json")
    assert response.status_code == 200
    served = json.loads(response.content)
    assert served["paths"].keys() == openapi["paths"].keys()
    assert served["components"]["schemas"]["NextTaskOut"]["properties"]["drafts"]["type"] == "array"


def test_operation_ids_are_unique_and_no_operation_is_a_free_form_object(openapi):
    ids = [op["operationId"] for item in openapi["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            bodies = [operation.get("requestBody", {})] + list(operation["responses"].values())
            for body in bodies:
                for media, content in body.get("content", {}).items():
                    schema = content.get("schema", {})
                    # What every body was before: {"type": "object", "additionalProperties": {}}.
                    assert not (schema.get("type") == "object" and "properties" not in schema), (
                        f"{method.upper()} {path} ({media}) is a free-form object"
                    )


def test_put_is_not_offered_patch_changes_what_is_sent(openapi, api, make_project, cast):
    # PUT only repeated PATCH (no replace semantics), and label-studio-sdk never sends it.
    assert not [path for path, item in openapi["paths"].items() if "put" in item]
    project = make_project(tasks=[{"text": "one"}])
    for url in (f"/api/projects/{project.pk}/", "/api/annotations/1/", "/api/predictions/1/"):
        response = api("owner").put(
            url, data=json.dumps({"title": "Replaced"}), content_type="application/json"
        )
        assert response.status_code == 405
    assert Project.objects.get(pk=project.pk).title == "Sentiment"


# ---- the schema as JSON Schema --------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _as_json_schema(node):
    """OpenAPI 3.0's dialect to JSON Schema: ``nullable`` becomes a null alternative, and objects
    with named properties are closed so that an undocumented key in an answer fails."""
    if isinstance(node, list):
        return [_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _as_json_schema(value) for key, value in node.items()}
    if "properties" in node and "additionalProperties" not in node:
        node["additionalProperties"] = False
    if node.pop("nullable", False):
        node = {"anyOf": [node, {"type": "null"}]}
    return node


class Responses:
    """Finds the operation a request went to, validates the answer, and records what was covered."""

    def __init__(self, openapi: dict):
        self.components = _as_json_schema(openapi["components"])
        self.routes = []
        for template, item in openapi["paths"].items():
            pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template.rstrip("/")))
            self.routes.append((re.compile(f"^{pattern}/?$"), template, item))
        self.covered: set[tuple[str, str, str]] = set()

    def operation(self, method: str, path: str) -> tuple[str, dict]:
        matches = [(template, item) for regex, template, item in self.routes if regex.match(path)]
        # A literal segment wins over a parameter (/projects/validate/ over /projects/{id}/).
        matches.sort(key=lambda match: match[0].count("{"))
        assert matches, f"{path} is not in the schema"
        template, item = matches[0]
        assert method in item, f"{method.upper()} {template} is not in the schema"
        return template, item[method]

    def check(self, method: str, url: str, status_code: int, content: bytes) -> None:
        path = url.split("?")[0]
        template, operation = self.operation(method, path)
        status = str(status_code)
        documented = operation["responses"]
        assert status in documented, (
            f"{method.upper()} {template} answered {status}, which the schema does not document "
            f"(it documents {sorted(documented)}): {content[:300]!r}"
        )
        self.covered.add((template, method, status))
        media = documented[status].get("content")
        if media is None:
            assert not content
            return
        schema = media.get("application/json", {}).get("schema")
        if schema is None or schema.get("format") == "binary":
            return
        body = json.loads(content)
        document = {**_as_json_schema(schema), "components": self.components}
        try:
            jsonschema.validate(body, document)
        except jsonschema.ValidationError as exc:
            pytest.fail(f"{method.upper()} {template} {status}: {exc.message} at {list(exc.absolute_path)}")


@pytest.fixture
def responses(openapi) -> Responses:
    return Responses(openapi)


class Caller:
    def __init__(self, client, responses: Responses):
        self.client = client
        self.responses = responses

    def __call__(self, method: str, url: str, body=None, *, expect: int, content_type="application/json"):
        kwargs = {}
        if body is not None:
            kwargs = {
                "data": body if isinstance(body, (bytes, str)) else json.dumps(body),
                "content_type": content_type,
            }
        response = getattr(self.client, method)(url, **kwargs)
        # A stream is read once, here, so that the check and the caller both see the body.
        content = b"".join(response.streaming_content) if response.streaming else response.content
        assert response.status_code == expect, (method, url, response.status_code, content[:300])
        self.responses.check(method, url, response.status_code, content)
        is_json = response.get("Content-Type", "").startswith("application/json")
        return json.loads(content) if content and is_json else None


@pytest.fixture
def call(api, responses):
    def make(role: str | None) -> Caller:
        return Caller(api(role), responses)

    return make


# ---- every endpoint, through its documented answers ------------------------------------------------


def test_every_answer_matches_the_schema(
    call, responses, cast, make_project, settings, monkeypatch, tmp_path
):
    owner, manager, annotator = call("owner"), call("manager"), call("annotator")
    outsider = call("outsider")

    # The caller and their organizations.
    owner("get", "/api/current-user/whoami", expect=200)
    owner("get", "/api/organizations/", expect=200)
    owner("get", "/api/version", expect=200)
    owner("post", "/api/organizations/switch", {"organization": cast.org.pk}, expect=200)
    owner("post", "/api/organizations/switch", {"organization": "x"}, expect=400)
    owner("post", "/api/organizations/switch", {"organization": cast.other_org.pk}, expect=404)

    # API tokens: list, make, the current one, reset, revoke.
    owner("get", "/api/tokens/", expect=200)
    made = owner("post", "/api/tokens/", {"name": "ci", "expires_in_days": 30}, expect=201)
    owner("post", "/api/tokens/", {"expires_in_days": "soon"}, expect=400)
    owner("get", "/api/current-user/token", expect=200)
    outsider("delete", f"/api/tokens/{made['id']}/", expect=404)
    owner("delete", f"/api/tokens/{made['id']}/", expect=204)
    browser = APIClient()
    browser.force_login(cast.users["owner"])
    # A session holds no key to show: only a token-signed request gets its own key back.
    Caller(browser, responses)("get", "/api/current-user/token", expect=409)

    # Projects.
    created = manager(
        "post", "/api/projects/", {"title": "Schema", "label_config": SENTIMENT_CONFIG}, expect=201
    )
    manager("post", "/api/projects/", {"maximum_annotations": 0}, expect=400)
    annotator("post", "/api/projects/", {"title": "No"}, expect=403)
    project_url = f"/api/projects/{created['id']}/"
    owner("get", "/api/projects/", expect=200)
    owner("get", "/api/projects/?page=0", expect=400)
    owner("get", project_url, expect=200)
    outsider("get", project_url, expect=404)
    manager("patch", project_url, {"title": "Schema 2", "maximum_annotations": 2}, expect=200)
    manager("patch", project_url, {"title": ""}, expect=400)
    annotator("patch", project_url, {"title": "No"}, expect=403)
    outsider("patch", project_url, {"title": "No"}, expect=404)
    annotator("post", "/api/projects/validate/", {"label_config": NER_CONFIG}, expect=200)
    annotator("post", "/api/projects/validate/", {"label_config": "<View>"}, expect=400)
    annotator("post", f"{project_url}validate/", {"label_config": SENTIMENT_CONFIG}, expect=200)
    annotator("post", f"{project_url}validate/", {"label_config": ""}, expect=400)
    outsider("post", f"{project_url}validate/", {"label_config": SENTIMENT_CONFIG}, expect=404)
    # Checks are throttled per user: past the rate, 429 in the one error shape, on both paths.
    monkeypatch.setattr(LabelConfigValidateThrottle, "THROTTLE_RATES", {"label_config_validate": "2/min"})
    reviewer = call("reviewer")
    for _ in range(2):
        reviewer("post", "/api/projects/validate/", {"label_config": SENTIMENT_CONFIG}, expect=200)
    reviewer("post", "/api/projects/validate/", {"label_config": SENTIMENT_CONFIG}, expect=429)
    reviewer("post", f"{project_url}validate/", {"label_config": SENTIMENT_CONFIG}, expect=429)
    monkeypatch.undo()

    ml_api_answers(call, created["id"], settings)  # Label Studio's /api/ml/, against an ML server on loopback

    # Import: a synchronous answer, a background one, and the job's state.
    tasks = [
        {"data": {"text": "Shares rose"}, "annotations": [{"result": choice("Positive")}],
         "predictions": [{"result": choice("Positive"), "score": 0.9, "model_version": "m1"}]},
        {"text": "Shares fell"},
        {"text": "Flat"},
    ]  # fmt: skip
    imported = manager("post", f"{project_url}import?return_task_ids=true", tasks, expect=201)
    task_ids = imported["task_ids"]
    manager("post", f"{project_url}import", [{"nope": 1}], expect=400)
    manager("post", f"{project_url}import?column_map=%7B%22headline%22%3A%22text%22%7D", [{"headline": "Up"}],
            expect=201)  # fmt: skip
    manager("post", f"{project_url}import?column_map=%7B%22headline%22%3A%22nope%22%7D", tasks, expect=400)
    manager("post", f"{project_url}import", "text", content_type="text/plain", expect=415)
    annotator("post", f"{project_url}import", tasks, expect=403)
    outsider("post", f"{project_url}import", tasks, expect=404)
    settings.TESSERA_SYNC_IMPORT_MAX_BYTES = 10
    started = manager("post", f"{project_url}import?column_map=%7B%22line%22%3A%22text%22%7D",
                      [{"line": "later"}], expect=201)  # fmt: skip
    settings.TESSERA_SYNC_IMPORT_MAX_BYTES = 1024 * 1024
    assert ImportJob.objects.filter(pk=started["import"]).exists()
    manager("get", f"{project_url}imports/{started['import']}/", expect=200)
    manager("get", f"{project_url}imports/999999/", expect=404)
    settings.TESSERA_MAX_UPLOAD_BYTES = 10
    manager("post", f"{project_url}import", [{"text": "too large for the limit"}], expect=413)
    settings.TESSERA_MAX_UPLOAD_BYTES = 1024 * 1024

    first, second, third = task_ids
    predictions = [{"task": second, "result": choice("Negative"), "score": 0.4}]
    manager("post", f"{project_url}import/predictions", predictions, expect=201)
    manager("post", f"{project_url}import/predictions", [{"task": second, "result": "x"}], expect=400)
    annotator("post", f"{project_url}import/predictions", predictions, expect=403)
    outsider("post", f"{project_url}import/predictions", predictions, expect=404)

    # Tasks.
    owner("get", f"/api/tasks/?project={created['id']}", expect=200)
    owner("get", "/api/tasks/", expect=400)
    outsider("get", f"/api/tasks/?project={created['id']}", expect=404)
    new_task = manager(
        "post", "/api/tasks/", {"project": created["id"], "data": {"text": "one more"}}, expect=201
    )
    manager("post", "/api/tasks/", {"project": created["id"], "data": {"other": 1}}, expect=400)
    annotator("post", "/api/tasks/", {"project": created["id"], "data": {"text": "no"}}, expect=403)
    outsider("post", "/api/tasks/", {"project": created["id"], "data": {"text": "no"}}, expect=404)
    task_url = f"/api/tasks/{first}/"
    annotator("get", task_url, expect=200)
    outsider("get", task_url, expect=404)
    manager("patch", task_url, {"meta": {"source": "wire"}}, expect=200)
    manager("patch", task_url, {"meta": "x"}, expect=400)
    annotator("patch", task_url, {"meta": {}}, expect=403)
    outsider("patch", task_url, {"meta": {}}, expect=404)

    # The queue, as a token client and as the labeling page.
    taken = annotator("post", f"{project_url}next", expect=200)
    annotator("get", f"{project_url}next", expect=200)
    outsider("post", f"{project_url}next", expect=404)
    outsider("get", f"{project_url}next", expect=404)
    page = Client()
    page.force_login(cast.users["reviewer"])
    Caller(page, responses)("get", f"{project_url}next", expect=409)

    # Locks, drafts, annotations, skips.
    lock_url = f"/api/tasks/{taken['id']}/lock/"
    annotator("post", lock_url, expect=200)
    outsider("post", lock_url, expect=404)
    draft = annotator("post", f"/api/tasks/{taken['id']}/drafts/", {"result": choice("Neutral")}, expect=201)
    annotator("post", f"/api/tasks/{taken['id']}/drafts/", {"result": "x"}, expect=400)
    annotator("get", f"/api/tasks/{taken['id']}/drafts/", expect=200)
    outsider("get", f"/api/tasks/{taken['id']}/drafts/", expect=404)
    annotator("get", f"/api/drafts/{draft['id']}/", expect=200)
    annotator("patch", f"/api/drafts/{draft['id']}/", {"result": choice("Positive")}, expect=200)
    annotator("patch", f"/api/drafts/{draft['id']}/", {"result": "x"}, expect=400)
    call("annotator2")("get", f"/api/drafts/{draft['id']}/", expect=404)
    call("annotator2")("patch", f"/api/drafts/{draft['id']}/", {"result": []}, expect=404)
    outsider("post", f"/api/tasks/{taken['id']}/drafts/", {"result": []}, expect=404)
    annotator("delete", f"/api/drafts/{draft['id']}/", expect=204)
    annotator("delete", f"/api/drafts/{draft['id']}/", expect=404)
    annotator("delete", lock_url, expect=204)
    outsider("delete", lock_url, expect=404)

    annotations_url = f"/api/tasks/{second}/annotations/"
    annotation = annotator(
        "post",
        annotations_url,
        {"result": choice("Negative"), "lead_time": 3.5, "parent_prediction": None},
        expect=201,
    )
    annotator("post", annotations_url, {"result": [{"from_name": "nope"}]}, expect=400)
    annotator("post", annotations_url, {"result": choice("Negative"), "completed_by": cast.users["owner"].pk},
              expect=403)  # fmt: skip
    outsider("post", annotations_url, {"result": choice("Negative")}, expect=404)
    annotator("get", annotations_url, expect=200)
    outsider("get", annotations_url, expect=404)
    annotation_url = f"/api/annotations/{annotation['id']}/"
    annotator("get", annotation_url, expect=200)
    outsider("get", annotation_url, expect=404)
    annotator("patch", annotation_url, {"result": choice("Neutral")}, expect=200)
    annotator("patch", annotation_url, {"result": "x"}, expect=400)
    call("reviewer")("patch", annotation_url, {"result": choice("Positive")}, expect=403)
    call("reviewer")("delete", annotation_url, expect=403)
    outsider("patch", annotation_url, {"result": choice("Positive")}, expect=404)
    annotator("post", f"/api/tasks/{third}/skip/", {"reason": "unclear"}, expect=201)
    annotator("post", f"/api/tasks/{third}/skip/", {"reason": 5}, expect=400)
    outsider("post", f"/api/tasks/{third}/skip/", {}, expect=404)

    # Predictions: one page, the whole list streamed, and one prediction.
    annotator("get", f"/api/predictions/?task={first}", expect=200)
    annotator("get", f"/api/predictions/?project={created['id']}&page=1&page_size=10", expect=200)
    annotator("get", "/api/predictions/?task=x", expect=400)
    prediction = manager("post", "/api/predictions/", {"task": third, "result": choice("Neutral"), "score": 0.5},
                         expect=201)  # fmt: skip
    manager("post", "/api/predictions/", {"task": third, "result": "x"}, expect=400)
    annotator("post", "/api/predictions/", {"task": third, "result": choice("Neutral")}, expect=403)
    outsider("post", "/api/predictions/", {"task": third, "result": choice("Neutral")}, expect=404)
    prediction_url = f"/api/predictions/{prediction['id']}/"
    annotator("get", prediction_url, expect=200)
    outsider("get", prediction_url, expect=404)
    manager("patch", prediction_url, {"score": 0.75, "model_version": "m2"}, expect=200)
    manager("patch", prediction_url, {"result": "x"}, expect=400)
    annotator("patch", prediction_url, {"score": 0.1}, expect=403)
    outsider("patch", prediction_url, {"score": 0.1}, expect=404)

    # The labeling page's own reads.
    annotator("get", "/api/labeling/projects/", expect=200)
    annotator("get", f"/api/labeling/projects/{created['id']}/", expect=200)
    outsider("get", f"/api/labeling/projects/{created['id']}/", expect=404)
    annotator("get", f"/api/labeling/projects/{created['id']}/recent?limit=5", expect=200)
    annotator("get", f"/api/labeling/projects/{created['id']}/recent?limit=0", expect=400)
    outsider("get", f"/api/labeling/projects/{created['id']}/recent", expect=404)
    # The page's queue: the annotator gets back the task it already holds (taken above).
    assert (
        annotator("post", f"/api/labeling/projects/{created['id']}/next", expect=200)["task"]["id"]
        == taken["id"]
    )
    outsider("post", f"/api/labeling/projects/{created['id']}/next", expect=404)

    # Members of the organization: list, add, reactivate, change role, deactivate.
    admin, reviewer = call("admin"), call("reviewer")
    newcomer, _ = user_upsert(email="new@other.test", organization=cast.other_org, role="annotator")
    org_url = f"/api/organizations/{cast.org.pk}"
    members_url = f"{org_url}/memberships/"
    member_url = f"{members_url}{newcomer.pk}/"
    owner_url = f"{members_url}{cast.users['owner'].pk}/"
    manager("get", f"{members_url}?role=annotator&search=acme&include_inactive=true", expect=200)
    manager("get", f"{members_url}?role=boss", expect=400)
    annotator("get", members_url, expect=403)
    outsider("get", members_url, expect=404)
    admin("post", members_url, {"email": "new@other.test", "role": "annotator"}, expect=201)
    admin("post", members_url, {"email": "new@other.test"}, expect=409)
    admin("post", members_url, {"email": "nobody@acme.test"}, expect=400)
    manager("post", members_url, {"email": "new@other.test"}, expect=403)
    outsider("post", members_url, {"email": "new@other.test"}, expect=404)
    admin("patch", member_url, {"role": "reviewer"}, expect=200)
    admin("patch", member_url, {"role": "boss"}, expect=400)
    admin("patch", owner_url, {"role": "admin"}, expect=403)
    owner("patch", owner_url, {"role": "admin"}, expect=409)
    outsider("patch", member_url, {"role": "annotator"}, expect=404)
    manager("delete", member_url, expect=403)
    outsider("delete", member_url, expect=404)
    owner("delete", owner_url, expect=409)
    admin("delete", member_url, expect=204)
    admin("post", members_url, {"email": "new@other.test", "role": "annotator"}, expect=200)

    # Invitations: make (the link once), list, revoke.
    invites_url = f"{org_url}/invites/"
    invited = admin("post", invites_url, {"email": "invitee@acme.test", "send_email": False}, expect=201)
    admin("post", invites_url, {"email": "not an address"}, expect=400)
    admin("post", invites_url, {"email": "annotator@acme.test"}, expect=409)
    manager("post", invites_url, {"email": "boss@acme.test", "role": "admin"}, expect=403)
    annotator("post", invites_url, {"email": "second@acme.test"}, expect=403)
    by_manager = manager("post", invites_url, {"email": "second@acme.test", "send_email": False}, expect=201)
    outsider("post", invites_url, {"email": "invitee@acme.test"}, expect=404)
    manager("get", invites_url, expect=200)
    manager("get", f"{invites_url}?state=all&page=1", expect=200)
    manager("get", f"{invites_url}?state=later", expect=400)
    annotator("get", invites_url, expect=403)
    outsider("get", invites_url, expect=404)
    outsider("delete", f"{invites_url}{invited['id']}/", expect=404)
    annotator("delete", f"{invites_url}{invited['id']}/", expect=403)
    admin("delete", f"{invites_url}{invited['id']}/", expect=204)
    admin("delete", f"{invites_url}{invited['id']}/", expect=409)
    manager("delete", f"{invites_url}{by_manager['id']}/", expect=204)
    for_admin = admin(
        "post", invites_url, {"email": "third@acme.test", "role": "admin", "send_email": False}, expect=201
    )
    manager("delete", f"{invites_url}{for_admin['id']}/", expect=403)

    # Project members, and what a members-only project refuses to others.
    members_of_project = f"{project_url}members/"
    annotator_id = cast.users["annotator"].pk
    manager("patch", project_url, {"members_only": True}, expect=200)
    annotator("post", f"{project_url}next", expect=403)
    annotator("get", f"{project_url}next", expect=403)
    annotator("get", f"/api/labeling/projects/{created['id']}/", expect=403)
    annotator("post", f"/api/labeling/projects/{created['id']}/next", expect=403)
    annotator("post", f"/api/tasks/{first}/skip/", {}, expect=403)
    # Comments: a members-only project takes them from its members only.
    comments_url = f"/api/tasks/{first}/comments/"
    threads_url = f"{project_url}comments/"
    annotator("get", comments_url, expect=403)
    annotator("post", comments_url, {"text": "May I?"}, expect=403)
    annotator("get", threads_url, expect=403)
    thread = manager("post", comments_url, {"text": "Check @reviewer@acme.test <b>this</b>"}, expect=201)
    reply = owner("post", comments_url, {"text": "On it", "parent": thread["id"]}, expect=201)
    manager("post", comments_url, {"text": ""}, expect=400)
    outsider("post", comments_url, {"text": "x"}, expect=404)
    manager("get", comments_url, expect=200)
    outsider("get", comments_url, expect=404)
    manager("get", f"{threads_url}?open=1", expect=200)
    manager("get", f"{threads_url}?open=x", expect=400)
    outsider("get", threads_url, expect=404)
    comment_url = f"/api/comments/{thread['id']}/"
    owner("patch", comment_url, {"is_resolved": True}, expect=200)
    owner("patch", comment_url, {"text": "Not mine"}, expect=403)
    manager("patch", comment_url, {"text": "Check again"}, expect=200)
    manager("patch", f"/api/comments/{reply['id']}/", {"is_resolved": True}, expect=400)
    outsider("patch", comment_url, {"is_resolved": False}, expect=404)
    annotator("delete", comment_url, expect=403)
    outsider("delete", comment_url, expect=404)
    manager("delete", comment_url, expect=204)
    manager("post", members_of_project, {"user": annotator_id}, expect=201)
    manager("post", members_of_project, {"email": "annotator@acme.test"}, expect=200)
    manager("post", members_of_project, {"user": cast.users["outsider"].pk}, expect=400)
    annotator("post", members_of_project, {"user": annotator_id}, expect=403)
    outsider("post", members_of_project, {"user": annotator_id}, expect=404)
    reviewer("get", members_of_project, expect=200)
    annotator("get", members_of_project, expect=403)
    outsider("get", members_of_project, expect=404)
    manager("delete", members_of_project, {"user": "x"}, expect=400)
    annotator("delete", members_of_project, {"user": annotator_id}, expect=403)
    outsider("delete", members_of_project, {"user": annotator_id}, expect=404)
    manager("delete", members_of_project, {"user": annotator_id}, expect=204)
    manager("post", members_of_project, {"user": annotator_id}, expect=201)
    annotator("delete", f"{members_of_project}{annotator_id}/", expect=403)
    outsider("delete", f"{members_of_project}{annotator_id}/", expect=404)
    manager("delete", f"{members_of_project}{annotator_id}/", expect=204)
    manager("delete", f"{members_of_project}{annotator_id}/", expect=404)
    manager("patch", project_url, {"members_only": False}, expect=200)

    # Annotator metrics, the timeline, gold scores, pre-labels by model version, resuming a paused annotator.
    for path in ("annotators/", "annotators/?by=day", "timeline/", "gold/", "prelabel-stats/"):
        reviewer("get", f"{project_url}{path}", expect=200)
        annotator("get", f"{project_url}{path}", expect=403)
        outsider("get", f"{project_url}{path}", expect=404)
    reviewer("get", f"{project_url}annotators/?by=week", expect=400)
    resume_url = f"{project_url}annotators/{annotator_id}/resume/"
    manager("post", resume_url, expect=200)
    manager("post", f"{project_url}annotators/{cast.users['outsider'].pk}/resume/", expect=404)
    reviewer("post", resume_url, expect=403)
    outsider("post", resume_url, expect=404)

    # The export (its bodies are files; tests/exports compares them with Label Studio's converter).
    call("reviewer")("get", f"{project_url}export?exportType=CSV", expect=200)
    call("reviewer")("get", f"{project_url}export?exportType=XML", expect=400)
    # A converter format that does not fit the config (a text project) is a 400 naming exportType.
    call("reviewer")("get", f"{project_url}export?exportType=COCO", expect=400)
    annotator("get", f"{project_url}export", expect=403)
    outsider("get", f"{project_url}export", expect=404)

    # The data table: filters and ordering, bulk actions on a selection, a task's history.
    labeled_filter = quote(json.dumps({"conjunction": "and", "items": [
        {"filter": "filter:tasks:data.text", "operator": "search", "type": "String", "value": "Shares"}]}))  # fmt: skip
    owner(
        "get",
        f"/api/tasks/?project={created['id']}&filters={labeled_filter}&ordering=-total_annotations",
        expect=200,
    )
    owner("get", f"/api/tasks/?project={created['id']}&ordering=-total_annotations", expect=200)
    owner("get", f"/api/tasks/?project={created['id']}&filters=%7B", expect=400)
    call("reviewer")("get", f"{project_url}export?exportType=JSON&filters={labeled_filter}", expect=200)
    selection = {"selectedItems": {"all": False, "included": [new_task["id"]]}}
    actions_url = f"{project_url}tasks/actions/"
    manager("post", actions_url, {"action": "delete_predictions", **selection}, expect=200)
    manager("post", actions_url, {"action": "archive", **selection}, expect=400)
    annotator("post", actions_url, {"action": "delete_predictions", **selection}, expect=403)
    outsider("post", actions_url, {"action": "delete_predictions", **selection}, expect=404)
    dm_url = f"/api/dm/actions?id=delete_tasks_predictions&project={created['id']}"
    manager("post", dm_url, selection, expect=200)
    manager("post", dm_url, {"selectedItems": "all"}, expect=400)
    annotator("post", dm_url, selection, expect=403)
    outsider("post", dm_url, selection, expect=404)
    call("reviewer")("get", f"/api/tasks/{first}/history/", expect=200)
    annotator("get", f"/api/tasks/{first}/history/", expect=403)
    outsider("get", f"/api/tasks/{first}/history/", expect=404)

    # Agreement: per control, by annotator pair, by task, a confusion matrix.
    reviewer = call("reviewer")
    reviewer("get", f"{project_url}agreement/", expect=200)
    reviewer("get", f"{project_url}agreement/?by=annotator_pair", expect=200)
    reviewer("get", f"{project_url}agreement/?by=task&page_size=10", expect=200)
    reviewer("get", f"{project_url}agreement/?by=nope", expect=400)
    annotator("get", f"{project_url}agreement/", expect=403)
    outsider("get", f"{project_url}agreement/", expect=404)
    confusion_url = f"{project_url}agreement/confusion"
    reviewer(
        "get", f"{confusion_url}?control=sentiment&a={cast.users['annotator'].pk}&b=consensus", expect=200
    )
    reviewer("get", f"{confusion_url}?control=nope&a=1&b=2", expect=400)
    annotator("get", f"{confusion_url}?control=sentiment&a=1&b=2", expect=403)
    outsider("get", f"{confusion_url}?control=sentiment&a=1&b=2", expect=404)
    # A reviewer's pick of the best free-text answer: a task with two answers (managers and admins may
    # add them to any task) has a consensus to choose for; with one it has none (409).
    consensus_url = f"/api/tasks/{new_task['id']}/consensus/"
    manager("post", f"/api/tasks/{new_task['id']}/annotations/", {"result": choice("Positive")}, expect=201)
    reviewer("post", consensus_url, {"annotation": None}, expect=409)
    call("admin")(
        "post", f"/api/tasks/{new_task['id']}/annotations/", {"result": choice("Positive")}, expect=201
    )
    reviewer("post", consensus_url, {"annotation": None}, expect=200)
    reviewer("post", consensus_url, {}, expect=400)
    annotator("post", consensus_url, {"annotation": None}, expect=403)
    outsider("post", consensus_url, {"annotation": None}, expect=404)
    # Review: the queue, verdicts, bulk accept of a selection, the backlog.
    manager("patch", project_url, {"maximum_annotations": 1}, expect=200)  # answered tasks go to review
    reviewer = call("reviewer")
    review_next = f"{project_url}review/next"
    handed = reviewer("post", review_next, expect=200)
    reviewer("get", review_next, expect=200)
    for who, status in ((annotator, 403), (outsider, 404)):
        who("post", review_next, expect=status)
        who("get", review_next, expect=status)
    reviews_url = f"/api/annotations/{handed['annotation']['id']}/reviews/"
    reviewer("post", reviews_url, {"verdict": "maybe"}, expect=400)
    annotator("post", reviews_url, {"verdict": "accept"}, expect=403)
    outsider("post", reviews_url, {"verdict": "accept"}, expect=404)
    reviewer("post", reviews_url, {"verdict": "reject", "comment": "Why this one?"}, expect=201)
    reviewer("post", reviews_url, {"verdict": "accept"}, expect=409)
    reviewer("get", reviews_url, expect=200)
    annotator("get", reviews_url, expect=403)
    outsider("get", reviews_url, expect=404)
    bulk_url = f"{project_url}reviews/bulk"
    everything = {"verdict": "accept", "selectedItems": {"all": True, "excluded": []}}
    reviewer("post", bulk_url, everything, expect=200)
    reviewer("post", bulk_url, {"verdict": "accept", "selectedItems": "all"}, expect=400)
    annotator("post", bulk_url, everything, expect=403)
    outsider("post", bulk_url, everything, expect=404)
    reviewer("get", f"{project_url}review/backlog", expect=200)
    annotator("get", f"{project_url}review/backlog", expect=403)
    outsider("get", f"{project_url}review/backlog", expect=404)
    assert reviewer("post", review_next, expect=200) is None
    reviewer("get", review_next, expect=404)
    manager("patch", project_url, {"maximum_annotations": 2}, expect=200)

    # Pre-labelers and their jobs (issue 10).
    walk_prelabeling(call, make_project, monkeypatch)
    walk_datasets(call, make_project, cast, settings, tmp_path)
    walk_dataset_formats(call, make_project)

    # Base models and the training estimate (issue 12).
    walk_training(call, settings)
    walk_models(call, make_project, cast, settings, tmp_path)
    walk_training_jobs(call, make_project, cast, settings, tmp_path)

    # Deletes, last.
    annotator("delete", prediction_url, expect=403)
    outsider("delete", prediction_url, expect=404)
    manager("delete", prediction_url, expect=204)
    outsider("delete", annotation_url, expect=404)
    annotator("delete", annotation_url, expect=204)
    annotator("delete", f"/api/tasks/{new_task['id']}/", expect=403)
    outsider("delete", f"/api/tasks/{new_task['id']}/", expect=404)
    manager("delete", f"/api/tasks/{new_task['id']}/", expect=204)
    annotator("delete", f"{project_url}tasks", expect=403)
    outsider("delete", f"{project_url}tasks", expect=404)
    manager("delete", f"{project_url}tasks", expect=204)
    annotator("post", f"{project_url}next", expect=404)
    annotator("delete", project_url, expect=403)
    outsider("delete", project_url, expect=404)
    manager("delete", project_url, expect=204)
    # Last: resetting revokes the owner's token used above.
    owner("post", "/api/current-user/reset-token/", expect=201)

    # Every documented answer was seen, but for the submit's conflicts, which need a race or a lock.
    documented = {
        (template, method, status)
        for template, item in responses_schema(responses).items()
        for method, operation in item.items()
        for status in operation["responses"]
    }
    assert documented - responses.covered <= NEEDS_A_CONFLICT


# A submit or skip refused with 409 (task locked by another annotator, at its overlap, or already
# answered by the caller) has its own tests; the schema documents it here.
NEEDS_A_CONFLICT = {
    ("/api/tasks/{task_id}/annotations/", "post", "409"),
    ("/api/tasks/{task_id}/skip/", "post", "409"),
}


def responses_schema(responses: Responses) -> dict:
    return {template: item for _, template, item in responses.routes}


def test_an_import_of_a_csv_file_matches_the_schema(api, responses, make_project):
    project = make_project()
    client = APIClient()
    client.credentials(**api("manager")._credentials)
    url = f"/api/projects/{project.pk}/import"
    response = client.post(url, data=b"text\nShares rose\n", content_type="text/csv")
    assert response.status_code == 201
    responses.check("post", url, response.status_code, response.content)

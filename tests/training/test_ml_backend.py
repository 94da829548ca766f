"""The Label Studio ML backend: the backend against a real ML server on loopback speaking the protocol
(/health, /setup, /predict), answers that do not fit the config dropped with the reason, and Label
Studio's /api/ml/ endpoints over it (roles, other organizations, bad input, the password never shown)."""

import json

import pytest

from tessera.errors import ApplicationError
from tessera.outbound import OutboundError
from tests.conftest import NER_CONFIG, choice, patch_json, post_json, span
from tests.training.loopback_servers import closed_port, json_answer, ml_backend_routes, serve
from training.models import Prelabeler
from training.prelabelers.base import Dropped, PredictionOut, TaskInput
from training.prelabelers.ml_backend import MLBackend
from training.services.prelabelers import backend_for, checked_settings, create_prelabeler

pytestmark = pytest.mark.django_db

TEXTS = ["Shares of Nordwind rose 12%.", "Harbor Bank cut its dividend.", "Rates were left unchanged."]


@pytest.fixture
def loopback_allowed(settings):
    settings.TESSERA_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture
def project(make_project):
    return make_project(tasks=[{"text": text} for text in TEXTS])


def sentiment_answer(body: dict) -> dict:
    """A model that calls every task Positive with 0.8, in the current protocol's shape."""
    return {
        "results": [
            {"result": choice("Positive"), "score": 0.8, "model_version": "m1"} for _ in body["tasks"]
        ]
    }


def ml_prelabeler(project, cast, url: str, **settings) -> Prelabeler:
    return create_prelabeler(
        project=project, user=cast.users["manager"], backend="ml_backend", settings={"url": url, **settings}
    )


def task_inputs(project) -> list[TaskInput]:
    return [TaskInput(task.pk, task.data) for task in project.tasks.order_by("id")]


# ---- the backend -------------------------------------------------------------------------------------


def test_predict_sends_label_studios_request_and_reads_its_answer(project, cast, loopback_allowed):
    with serve(ml_backend_routes(sentiment_answer)) as server:
        backend = backend_for(ml_prelabeler(project, cast, server.url))
        tasks = task_inputs(project)
        answers = backend.predict(tasks)
    assert [type(answer) for answer in answers] == [PredictionOut] * 3
    first = answers[0]
    assert isinstance(first, PredictionOut)
    assert (first.task_id, first.result, first.score) == (tasks[0].id, choice("Positive"), 0.8)
    assert first.uncertainty == pytest.approx(0.2)
    sent = server.seen("/predict")[0].json()
    assert sent["tasks"] == [
        {"id": t.id, "data": t.data, "annotations": [], "predictions": []} for t in tasks
    ]
    assert sent["label_config"] == project.label_config
    assert sent["project"] == f"{project.pk}.{int(project.created_at.timestamp())}"
    assert sent["params"] == {"context": None}
    assert sent["model_version"] == backend.model_version()


def test_the_older_list_answer_is_read_too(project, cast, loopback_allowed):
    def old_style(body: dict) -> list:
        return [{"result": choice("Negative"), "score": 0.6} for _ in body["tasks"]]

    with serve(ml_backend_routes(old_style)) as server:
        answers = backend_for(ml_prelabeler(project, cast, server.url)).predict(task_inputs(project))
    assert [answer.result for answer in answers if isinstance(answer, PredictionOut)] == [
        choice("Negative")
    ] * 3


def test_answers_that_do_not_fit_the_config_are_dropped_with_the_reason(project, cast, loopback_allowed):
    def mixed(body: dict) -> dict:
        return {
            "results": [
                {"result": choice("Bullish"), "score": 0.9},  # no such choice
                {"result": [{"from_name": "nope", "to_name": "text", "type": "choices", "value": {}}]},
                {"result": "Positive", "score": 0.5},  # not a list of regions
            ]
        }

    with serve(ml_backend_routes(mixed)) as server:
        answers = backend_for(ml_prelabeler(project, cast, server.url)).predict(task_inputs(project))
    assert all(isinstance(answer, Dropped) for answer in answers)
    reasons = [answer.reason for answer in answers if isinstance(answer, Dropped)]
    assert "Bullish" in reasons[0]
    assert "nope" in reasons[1]
    assert "list" in reasons[2]


def test_spans_outside_the_text_and_missing_answers_are_dropped(make_project, cast, loopback_allowed):
    project = make_project(NER_CONFIG, tasks=[{"text": "東京の銀行"}, {"text": "Acme Corp"}, {"text": "x"}])

    def spans(body: dict) -> dict:
        first, second = body["tasks"][0]["data"]["text"], body["tasks"][1]["data"]["text"]
        return {
            "results": [
                {"result": [{**span(0, 2, "ORG"), "id": "a"}], "score": 0.7, "model_version": "ner"},
                {"result": [span(0, len(second) + 5, "ORG")], "score": 0.7},
                # and no answer for the third task
            ],
            "checked": [first, second],
        }

    with serve(ml_backend_routes(spans)) as server:
        answers = backend_for(ml_prelabeler(project, cast, server.url)).predict(task_inputs(project))
    assert isinstance(answers[0], PredictionOut) and answers[0].result[0]["value"]["start"] == 0
    assert isinstance(answers[1], Dropped) and "outside the text" in answers[1].reason
    assert isinstance(answers[2], Dropped) and "no prediction" in answers[2].reason


def test_odd_scores_are_not_kept_and_nul_characters_drop_the_answer(project, cast, loopback_allowed):
    def odd(body: dict) -> dict:
        nul_region = [{**choice("Positive")[0], "meta": {"text": ["a\x00b"]}}]
        return {
            "results": [
                {"result": choice("Positive"), "score": 7.5},
                {"result": choice("Positive"), "score": True},
                {"result": nul_region, "score": 0.1},
            ]
        }

    with serve(ml_backend_routes(odd)) as server:
        answers = backend_for(ml_prelabeler(project, cast, server.url)).predict(task_inputs(project))
    assert [answer.score for answer in answers[:2] if isinstance(answer, PredictionOut)] == [None, None]
    assert isinstance(answers[2], Dropped)


def test_a_server_that_fails_or_answers_nonsense_fails_the_batch(project, cast, loopback_allowed):
    routes = ml_backend_routes(sentiment_answer)
    routes["/predict"] = lambda seen: (500, {}, b"Traceback: CUDA out of memory")
    with serve(routes) as server:
        backend = backend_for(ml_prelabeler(project, cast, server.url))
        with pytest.raises(OutboundError) as caught:
            backend.predict(task_inputs(project))
        assert caught.value.code == "http_error" and "CUDA out of memory" in caught.value.message
        routes["/predict"] = lambda seen: json_answer({"predictions": "none"})
        with pytest.raises(OutboundError) as caught:
            backend.predict(task_inputs(project))
        assert caught.value.code == "invalid_json"


def test_basic_authentication_is_sent_on_every_call(project, cast, loopback_allowed):
    routes = ml_backend_routes(sentiment_answer, user="ml", password="s3cret")
    with serve(routes) as server:
        good = ml_prelabeler(
            project,
            cast,
            server.url,
            auth_method="BASIC_AUTH",
            basic_auth_user="ml",
            basic_auth_pass="s3cret",
        )
        backend = backend_for(good)
        assert isinstance(backend, MLBackend)
        assert backend.connect() == ("CO", None, "ml-model-1")
        assert len(backend.predict(task_inputs(project))) == 3
        wrong = backend_for(ml_prelabeler(project, cast, server.url))
        assert isinstance(wrong, MLBackend)
        state, error, _ = wrong.connect()
    assert state == "ER" and error is not None and "401" in error
    setup = server.seen("/setup")[0].json()
    assert setup["schema"] == project.label_config and setup["access_token"] == ""


def test_connect_reports_an_error_state_for_a_server_that_is_down(project, cast, loopback_allowed):
    backend = backend_for(ml_prelabeler(project, cast, f"http://127.0.0.1:{closed_port()}"))
    assert isinstance(backend, MLBackend)
    state, error, version = backend.connect()
    assert state == "ER" and error and "127.0.0.1" in error and version == ""


def test_settings_refuse_a_loopback_url_without_the_allow_list_and_need_a_password_for_basic_auth(settings):
    settings.TESSERA_OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(ApplicationError) as caught:
        checked_settings("ml_backend", {"url": "http://127.0.0.1:9090"})
    assert caught.value.field == "settings.url" and "loopback" in caught.value.message
    with pytest.raises(ApplicationError) as caught:
        checked_settings("ml_backend", {})
    assert caught.value.field == "settings.url"
    settings.TESSERA_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    with pytest.raises(ApplicationError) as caught:
        checked_settings("ml_backend", {"url": "http://127.0.0.1:9090", "auth_method": "BASIC_AUTH"})
    assert caught.value.field == "settings.basic_auth_user"
    filled = checked_settings("ml_backend", {"url": "http://127.0.0.1:9090"})
    assert filled["auth_method"] == "NONE" and filled["timeout"] is None and filled["extra_params"] == {}


def test_public_settings_never_show_the_password():
    shown = MLBackend.public_settings(
        {"url": "http://x", "basic_auth_pass": "s3cret", "basic_auth_user": "ml"}
    )
    assert shown == {"url": "http://x", "basic_auth_user": "ml", "basic_auth_pass_is_set": True}


# ---- /api/ml/ ----------------------------------------------------------------------------------------


def test_create_connects_and_answers_label_studios_shape(api, project, loopback_allowed):
    with serve(ml_backend_routes(sentiment_answer)) as server:
        response = post_json(
            api("manager"),
            "/api/ml/",
            {
                "url": server.url,
                "project": project.pk,
                "title": "FinBERT",
                "auth_method": "BASIC_AUTH",
                "basic_auth_user": "ml",
                "basic_auth_pass": "s3cret",
                "extra_params": {"threshold": 0.5},
            },
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "CO" and body["readable_state"] == "Connected" and body["error_message"] is None
    assert body["model_version"] == "ml-model-1" and body["title"] == "FinBERT"
    assert body["url"] == server.url and body["project"] == project.pk
    assert body["basic_auth_pass_is_set"] is True and "s3cret" not in response.content.decode()
    assert set(body) == {
        "id", "state", "readable_state", "is_interactive", "url", "error_message", "title", "auth_method",
        "basic_auth_user", "basic_auth_pass_is_set", "description", "extra_params", "model_version", "timeout",
        "created_at", "updated_at", "auto_update", "project",
    }  # fmt: skip
    prelabeler = Prelabeler.objects.get(pk=body["id"])
    assert prelabeler.backend == "ml_backend" and prelabeler.model_version == "ml-model-1"
    assert server.seen("/setup")[0].json()["extra_params"] == {"threshold": 0.5}
    listed = api("manager").get(f"/api/ml/?project={project.pk}")
    assert listed.status_code == 200 and [row["id"] for row in listed.json()] == [body["id"]]
    assert "s3cret" not in listed.content.decode()
    assert api("owner").get(f"/api/ml/{body['id']}").json() == body


def test_a_failing_server_still_saves_in_the_error_state(api, project, loopback_allowed):
    response = post_json(
        api("manager"), "/api/ml/", {"url": f"http://127.0.0.1:{closed_port()}", "project": project.pk}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (
        body["state"] == "ER" and body["readable_state"] == "Error" and "127.0.0.1" in body["error_message"]
    )
    assert body["model_version"] == ""


def test_a_loopback_url_without_the_allow_list_is_a_400_naming_url(api, project, settings):
    settings.TESSERA_OUTBOUND_ALLOWED_NETWORKS = []
    for url in (
        "http://127.0.0.1:9090",
        "http://localhost:9090",
        "http://169.254.169.254/latest",
        "http://[::1]/",
    ):
        response = post_json(api("manager"), "/api/ml/", {"url": url, "project": project.pk})
        assert response.status_code == 400, (url, response.content)
        assert response.json()["error"]["field"] == "url", url
    assert not Prelabeler.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://127.0.0.1:9"}, "project"),
        ({"url": "http://127.0.0.1:9", "project": "x"}, "project"),
        ({"project": "{project}"}, "url"),
        ({"url": "ftp://127.0.0.1/", "project": "{project}"}, "url"),
        ({"url": "http://127.0.0.1:9", "project": "{project}", "colour": "red"}, "colour"),
        (
            {"url": "http://127.0.0.1:9", "project": "{project}", "auth_method": "BASIC_AUTH"},
            "basic_auth_user",
        ),
        ({"url": "http://127.0.0.1:9", "project": "{project}", "auth_method": "DIGEST"}, "auth_method"),
        ({"url": "http://127.0.0.1:9", "project": "{project}", "timeout": -1}, "timeout"),
        ({"url": "http://127.0.0.1:9", "project": "{project}", "title": 5}, "title"),
        ({"url": "http://127.0.0.1:9", "project": "{project}", "title": "a\x00b"}, "title"),
        ({"url": "http://127.0.0.1:9", "project": "{project}", "description": "\ud800"}, "description"),
        ({"url": "http://127.0.0.1:9", "project": "{project}", "extra_params": [1]}, "extra_params"),
        ({"url": "http://127.0.0.1:9", "project": "{project}", "model_version": 3}, "model_version"),
    ],
)
def test_bad_bodies_are_400s_naming_the_field(api, project, loopback_allowed, body, field):
    body = {key: project.pk if value == "{project}" else value for key, value in body.items()}
    response = post_json(api("manager"), "/api/ml/", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert not Prelabeler.objects.exists()


def test_roles_below_manager_get_403_and_other_organizations_404(
    api, cast, project, make_project, loopback_allowed
):
    with serve(ml_backend_routes(sentiment_answer)) as server:
        created = post_json(api("manager"), "/api/ml/", {"url": server.url, "project": project.pk}).json()
        theirs = make_project(org=cast.other_org)
        for role in ("reviewer", "annotator"):
            client = api(role)
            assert (
                post_json(client, "/api/ml/", {"url": server.url, "project": project.pk}).status_code == 403
            )
            assert client.get(f"/api/ml/?project={project.pk}").status_code == 403
            assert client.get(f"/api/ml/{created['id']}").status_code == 403
            assert patch_json(client, f"/api/ml/{created['id']}", {"title": "x"}).status_code == 403
            assert client.delete(f"/api/ml/{created['id']}").status_code == 403
        outsider = api("outsider")
        assert post_json(outsider, "/api/ml/", {"url": server.url, "project": project.pk}).status_code == 404
        assert outsider.get(f"/api/ml/?project={project.pk}").status_code == 404
        assert outsider.get("/api/ml/").json() == []
        for method, call in (
            ("get", lambda: outsider.get(f"/api/ml/{created['id']}")),
            ("patch", lambda: patch_json(outsider, f"/api/ml/{created['id']}", {"title": "taken"})),
            ("delete", lambda: outsider.delete(f"/api/ml/{created['id']}")),
        ):
            response = call()
            assert response.status_code == 404, method
            assert response.json()["error"]["code"] == "not_found"
        # And a manager cannot register a backend on the other organization's project.
        assert (
            post_json(api("manager"), "/api/ml/", {"url": server.url, "project": theirs.pk}).status_code
            == 404
        )
    assert Prelabeler.objects.get(pk=created["id"]).title == created["title"]
    assert Prelabeler.objects.count() == 1


def test_patch_changes_and_reconnects_keeping_the_password_when_none_is_sent(api, project, loopback_allowed):
    routes = ml_backend_routes(sentiment_answer, user="ml", password="s3cret")
    with serve(routes) as server:
        body = {"url": server.url, "project": project.pk, "auth_method": "BASIC_AUTH"}
        created = post_json(
            api("manager"), "/api/ml/", {**body, "basic_auth_user": "ml", "basic_auth_pass": "s3cret"}
        ).json()
        assert created["state"] == "CO"
        url = f"/api/ml/{created['id']}"
        changed = patch_json(
            api("manager"), url, {"title": "Renamed", "description": "FinBERT v2", "basic_auth_pass": ""}
        )
        assert changed.status_code == 200, changed.content
        assert changed.json()["title"] == "Renamed" and changed.json()["state"] == "CO"
        assert changed.json()["description"] == "FinBERT v2"
        wrong = patch_json(api("manager"), url, {"basic_auth_pass": "guess"})
        assert wrong.json()["state"] == "ER" and "401" in wrong.json()["error_message"]
        # What a client read may go back as it is: the read-only fields are ignored.
        echoed = {key: value for key, value in wrong.json().items() if key != "model_version"}
        again = patch_json(api("manager"), url, {**echoed, "basic_auth_pass": "s3cret"})
        assert again.status_code == 200 and again.json()["state"] == "CO"
        refused = patch_json(api("manager"), url, {"url": "http://10.0.0.1:9090"})
        assert refused.status_code == 400 and refused.json()["error"]["field"] == "url"
    assert Prelabeler.objects.get(pk=created["id"]).settings["url"] == server.url


def test_a_model_version_set_by_hand_stays_without_auto_update(api, project, loopback_allowed):
    with serve(ml_backend_routes(sentiment_answer)) as server:
        body = {"url": server.url, "project": project.pk, "auto_update": False, "model_version": "pinned-3"}
        created = post_json(api("manager"), "/api/ml/", body).json()
    assert created["model_version"] == "pinned-3" and created["auto_update"] is False


def test_delete_removes_the_backend_and_keeps_its_predictions(api, cast, project, loopback_allowed):
    from annotation.models import Prediction
    from annotation.services.annotations import prediction_create

    with serve(ml_backend_routes(sentiment_answer)) as server:
        created = post_json(api("manager"), "/api/ml/", {"url": server.url, "project": project.pk}).json()
    task = project.tasks.first()
    written = prediction_create(task=task, user=cast.users["manager"], result=choice("Positive"))
    # As the job runner writes it: the prediction names its pre-labeler.
    Prediction.objects.filter(pk=written.pk).update(prelabeler_id=created["id"])
    assert api("manager").delete(f"/api/ml/{created['id']}").status_code == 204
    assert api("manager").get(f"/api/ml/{created['id']}").status_code == 404
    assert Prediction.objects.get(task=task).prelabeler_id is None


def test_the_list_filters_by_project_and_interactivity(api, project, make_project, loopback_allowed):
    other = make_project()
    with serve(ml_backend_routes(sentiment_answer)) as server:
        first = post_json(api("manager"), "/api/ml/", {"url": server.url, "project": project.pk}).json()
        second = post_json(
            api("manager"), "/api/ml/", {"url": server.url, "project": other.pk, "is_interactive": True}
        ).json()
    client = api("manager")
    assert [row["id"] for row in client.get("/api/ml/").json()] == [first["id"], second["id"]]
    assert [row["id"] for row in client.get(f"/api/ml/?project={other.pk}").json()] == [second["id"]]
    assert [row["id"] for row in client.get("/api/ml/?is_interactive=true").json()] == [second["id"]]
    assert client.get("/api/ml/?project=abc").status_code == 400
    assert client.get("/api/ml/?is_interactive=maybe").status_code == 400
    assert json.loads(client.get(f"/api/ml/?project={project.pk}").content)[0]["project"] == project.pk


def test_the_prelabelers_api_never_shows_the_password_and_keeps_it_when_left_out(
    api, project, loopback_allowed
):
    settings = {"url": "http://127.0.0.1:9", "auth_method": "BASIC_AUTH", "basic_auth_user": "ml"}
    client = api("manager")
    created = post_json(
        client,
        f"/api/projects/{project.pk}/prelabelers/",
        {"backend": "ml_backend", "settings": {**settings, "basic_auth_pass": "s3cret"}},
    )
    assert created.status_code == 201, created.content
    assert "s3cret" not in created.content.decode()
    assert created.json()["settings"]["basic_auth_pass_is_set"] is True
    url = f"/api/prelabelers/{created.json()['id']}/"
    changed = patch_json(client, url, {"settings": {**settings, "timeout": 30}})
    assert changed.status_code == 200, changed.content
    assert "s3cret" not in client.get(url).content.decode()
    assert Prelabeler.objects.get(pk=created.json()["id"]).settings["basic_auth_pass"] == "s3cret"

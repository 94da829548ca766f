"""The pre-labelers and jobs API: shapes, roles (managers run, reviewers read, 403 before anything is
read), another organization's objects as 404, and bad input answered 400 naming the field."""

import pytest

from annotation.models import JobState, Prediction, Task
from tessera.models import AuditEvent
from tests.conftest import post_json
from tests.training.conftest import ENTITY_RULES
from training.models import Prelabeler, PrelabelJob

pytestmark = pytest.mark.django_db

PRELABELER_KEYS = {
    "id", "project", "title", "backend", "settings", "run_on_import", "is_active", "model_version", "fitted_at",
    "fitted_examples", "fit_info", "learns", "created_by", "created_at", "updated_at",
}  # fmt: skip
JOB_KEYS = {
    "id", "project", "prelabeler", "status", "scope", "model_version", "tasks_done", "tasks_total",
    "predictions_written", "skipped", "dropped", "errors", "error", "error_detail", "attempts", "created_at",
    "started_at", "finished_at",
}  # fmt: skip


def patch(client, url: str, body):
    import json

    return client.patch(url, data=json.dumps(body), content_type="application/json")


def test_a_manager_adds_span_rules_with_the_backend_alone(api, labels_project, cast):
    url = f"/api/projects/{labels_project.pk}/prelabelers/"

    response = post_json(api("manager"), url, {"backend": "span_rules"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == PRELABELER_KEYS
    assert (body["backend"], body["title"], body["learns"], body["is_active"], body["run_on_import"]) == (
        "span_rules", "Span rules (dictionaries and regular expressions)", False, True, False,
    )  # fmt: skip
    assert body["settings"]["rules"] == {} and body["created_by"]["email"] == "manager@acme.test"
    assert AuditEvent.objects.filter(action="prelabeler.create", object_id=body["id"]).exists()
    listed = api("reviewer").get(url)
    assert listed.status_code == 200 and [p["id"] for p in listed.json()] == [body["id"]]
    assert api("reviewer").get(f"/api/prelabelers/{body['id']}/").json() == listed.json()[0]


def test_settings_title_and_flags_are_kept(api, labels_project):
    response = post_json(
        api("admin"),
        f"/api/projects/{labels_project.pk}/prelabelers/",
        {"backend": "span_rules", "title": "Companies", "settings": ENTITY_RULES, "run_on_import": True},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == "Companies" and body["run_on_import"] is True
    assert body["settings"]["rules"]["MONEY"]["patterns"] == ENTITY_RULES["rules"]["MONEY"]["patterns"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"backend": "crystal_ball"}, "backend"),
        ({}, "backend"),
        ({"backend": "span_rules", "settings": []}, "settings"),
        (
            {"backend": "span_rules", "settings": {"rules": {"LOC": {"terms": ["Paris"]}}}},
            "settings.rules.LOC",
        ),
        (
            {"backend": "span_rules", "settings": {"rules": {"ORG": {"patterns": ["(x"]}}}},
            "settings.rules.ORG.patterns[0]",
        ),
        ({"backend": "span_rules", "title": 5}, "title"),
        ({"backend": "span_rules", "title": "x" * 251}, "title"),
        ({"backend": "span_rules", "run_on_import": "yes"}, "run_on_import"),
    ],
)
def test_bad_pre_labelers_are_refused_naming_the_field(api, labels_project, body, field):
    response = post_json(api("manager"), f"/api/projects/{labels_project.pk}/prelabelers/", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert not Prelabeler.objects.exists()


def test_only_managers_and_above_change_pre_labelers_and_reviewers_read(api, labels_project, make_prelabeler):
    prelabeler = make_prelabeler(labels_project)
    project_url = f"/api/projects/{labels_project.pk}/prelabelers/"
    url = f"/api/prelabelers/{prelabeler.pk}/"
    for role in ("reviewer", "annotator"):
        assert post_json(api(role), project_url, {"backend": "span_rules"}).status_code == 403
        assert patch(api(role), url, {"title": "x"}).status_code == 403
        assert api(role).delete(url).status_code == 403
        assert post_json(api(role), f"{url}test/", {"task": 1}).status_code == 403
        assert post_json(api(role), f"{url}jobs/", {}).status_code == 403
    assert api("annotator").get(project_url).status_code == 403
    assert api("annotator").get(url).status_code == 403
    assert api("reviewer").get(url).status_code == 200
    # The role is checked before the body is read or a backend built: a bad body is still a 403.
    assert post_json(api("reviewer"), f"{url}jobs/", {"tasks": "nonsense"}).status_code == 403
    assert post_json(api("reviewer"), project_url, {"backend": "crystal_ball"}).status_code == 403
    assert post_json(api("annotator"), f"{url}test/", {"task": "x"}).status_code == 403
    assert Prelabeler.objects.get().title == "span_rules" and not PrelabelJob.objects.exists()


def test_patch_changes_what_is_sent_and_checks_it(api, labels_project, make_prelabeler):
    prelabeler = make_prelabeler(labels_project)
    url = f"/api/prelabelers/{prelabeler.pk}/"

    response = patch(api("manager"), url, {"title": "Rules", "settings": ENTITY_RULES, "is_active": False})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["title"], body["is_active"], body["settings"]["rules"]["PER"]["terms"]) == (
        "Rules", False, ["Jane Smith", "山田太郎"],
    )  # fmt: skip
    for bad, field in (
        ({"settings": {"rules": {"LOC": {}}}}, "settings.rules.LOC"),
        ({"backend": "zero_shot"}, "backend"),
        ({"is_active": "no"}, "is_active"),
        ({"title": ""}, "title"),
    ):
        refused = patch(api("manager"), url, bad)
        assert refused.status_code == 400 and refused.json()["error"]["field"] == field, refused.content
    assert Prelabeler.objects.get().title == "Rules"


def test_delete_removes_the_pre_labeler_and_its_jobs_and_keeps_its_predictions(
    api, labels_project, make_prelabeler
):
    from training.services.prelabel_jobs import prelabel_job_create, prelabel_job_run

    prelabeler = make_prelabeler(labels_project, settings_value=ENTITY_RULES)
    job = prelabel_job_create(prelabeler=prelabeler, user=None, tasks="all")
    prelabel_job_run(job_id=job.pk)

    assert api("manager").delete(f"/api/prelabelers/{prelabeler.pk}/").status_code == 204

    assert not Prelabeler.objects.exists() and not PrelabelJob.objects.exists()
    assert Prediction.objects.filter(prelabeler__isnull=True).count() == 4
    assert api("manager").get(f"/api/prelabelers/{prelabeler.pk}/").status_code == 404


def test_test_answers_one_task_and_writes_nothing(api, labels_project, make_prelabeler):
    prelabeler = make_prelabeler(labels_project, settings_value=ENTITY_RULES)
    task = Task.objects.filter(project=labels_project).order_by("pk")[1]

    response = post_json(api("manager"), f"/api/prelabelers/{prelabeler.pk}/test/", {"task": task.pk})

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"task", "model_version", "result", "score", "uncertainty", "dropped"}
    assert (
        body["task"] == task.pk
        and body["dropped"] is None
        and body["model_version"].startswith("span_rules:")
    )
    assert [(r["value"]["start"], r["value"]["end"], r["value"]["labels"]) for r in body["result"]] == [
        (0, 6, ["ORG"])
    ]
    assert not Prediction.objects.exists() and not PrelabelJob.objects.exists()


def test_test_refuses_bad_tasks_and_unfitted_or_failing_backends(
    api, labels_project, choices_project, make_prelabeler, test_backends
):
    prelabeler = make_prelabeler(labels_project)
    url = f"/api/prelabelers/{prelabeler.pk}/test/"
    other_task = Task.objects.filter(project=choices_project).first()
    for body in ({}, {"task": "x"}, {"task": other_task.pk}, {"task": 10**30}):
        response = post_json(api("manager"), url, body)
        assert response.status_code == 400 and response.json()["error"]["field"] == "task", response.content
    learning = make_prelabeler(choices_project, "test_majority")
    unfitted = post_json(api("manager"), f"/api/prelabelers/{learning.pk}/test/", {"task": other_task.pk})
    assert unfitted.status_code == 409 and unfitted.json()["error"]["code"] == "not_fitted"
    failing = make_prelabeler(choices_project, "test_failing")
    down = post_json(api("manager"), f"/api/prelabelers/{failing.pk}/test/", {"task": other_task.pk})
    assert down.status_code == 502 and "the model server is down" in down.json()["error"]["message"]
    off = make_prelabeler(choices_project, "test_off_config")
    # Any task with an even id (on PostgreSQL, ids keep growing across tests).
    even = next(
        task for task in Task.objects.filter(project=choices_project).order_by("id") if task.pk % 2 == 0
    )
    dropped = post_json(api("manager"), f"/api/prelabelers/{off.pk}/test/", {"task": even.pk}).json()
    assert dropped["result"] == [] and dropped["dropped"].startswith("result")


def test_a_job_is_created_read_listed_and_cancelled(api, labels_project, make_prelabeler, cast):
    prelabeler = make_prelabeler(labels_project)

    response = post_json(api("manager"), f"/api/prelabelers/{prelabeler.pk}/jobs/", {})

    assert response.status_code == 201, response.content
    job = response.json()
    assert set(job) == JOB_KEYS
    assert (job["status"], job["scope"], job["tasks_done"], job["error"], job["error_detail"]) == (
        "created", {"tasks": "unlabeled", "refit": False}, 0, None, None,
    )  # fmt: skip
    second = post_json(
        api("owner"), f"/api/prelabelers/{prelabeler.pk}/jobs/", {"tasks": "all", "refit": True}
    )
    assert second.status_code == 201 and second.json()["scope"] == {"tasks": "all", "refit": True}
    assert api("reviewer").get(f"/api/prelabel-jobs/{job['id']}/").json() == job
    listed = api("reviewer").get(f"/api/projects/{labels_project.pk}/prelabel-jobs/").json()
    assert [item["id"] for item in listed] == [second.json()["id"], job["id"]]

    cancelled = post_json(api("manager"), f"/api/prelabel-jobs/{job['id']}/cancel/", None)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (
        post_json(api("manager"), f"/api/prelabel-jobs/{job['id']}/cancel/", None).json()["status"]
        == "cancelled"
    )
    assert post_json(api("reviewer"), f"/api/prelabel-jobs/{job['id']}/cancel/", None).status_code == 403
    PrelabelJob.objects.filter(pk=second.json()["id"]).update(state=JobState.COMPLETED)
    finished = post_json(api("manager"), f"/api/prelabel-jobs/{second.json()['id']}/cancel/", None)
    assert finished.status_code == 409 and finished.json()["error"]["code"] == "finished"
    running = PrelabelJob.objects.create(
        project=labels_project, prelabeler=prelabeler, state=JobState.IN_PROGRESS
    )
    asked = post_json(api("manager"), f"/api/prelabel-jobs/{running.pk}/cancel/", None).json()
    assert asked["status"] == "in_progress" and PrelabelJob.objects.get(pk=running.pk).cancel_requested


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tasks": "some"}, "tasks"),
        ({"tasks": 5}, "tasks"),
        ({"tasks": []}, "tasks"),
        ({"tasks": ["x"]}, "tasks[0]"),
        ({"tasks": [10**30]}, "tasks[0]"),
        ({"tasks": {"filter": "all"}}, "tasks.filter"),
        ({"tasks": {"filter": {"filters": {"items": "x"}}}}, "tasks.filter.filters.items"),
        ({"tasks": {"filter": {"selectedItems": {"all": "yes"}}}}, "tasks.filter.selectedItems"),
        ({"tasks": {"filter": {}, "more": 1}}, "tasks"),
        ({"refit": "yes"}, "refit"),
    ],
)
def test_bad_job_requests_are_refused_naming_the_field(api, labels_project, make_prelabeler, body, field):
    prelabeler = make_prelabeler(labels_project)
    response = post_json(api("manager"), f"/api/prelabelers/{prelabeler.pk}/jobs/", body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert not PrelabelJob.objects.exists()


def test_a_job_names_only_tasks_of_its_project(api, labels_project, choices_project, make_prelabeler):
    prelabeler = make_prelabeler(labels_project)
    own = Task.objects.filter(project=labels_project).first()
    other = Task.objects.filter(project=choices_project).first()

    response = post_json(
        api("manager"), f"/api/prelabelers/{prelabeler.pk}/jobs/", {"tasks": [own.pk, other.pk]}
    )

    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_tasks"
    assert str(other.pk) in response.json()["error"]["message"]
    ok = post_json(
        api("manager"), f"/api/prelabelers/{prelabeler.pk}/jobs/", {"tasks": [str(own.pk), own.pk]}
    )
    assert ok.status_code == 201 and ok.json()["scope"]["tasks"] == [own.pk]


def test_a_turned_off_pre_labeler_does_not_run(api, labels_project, make_prelabeler):
    prelabeler = make_prelabeler(labels_project, is_active=False)
    response = post_json(api("manager"), f"/api/prelabelers/{prelabeler.pk}/jobs/", {})
    assert response.status_code == 409 and response.json()["error"]["code"] == "inactive"


@pytest.mark.django_db(transaction=True)
def test_a_job_that_cannot_be_queued_fails_and_answers_503(api, labels_project, make_prelabeler):
    from tests.integration.conftest import publishing_to

    prelabeler = make_prelabeler(labels_project)
    # Nothing listens on this port: publishing the job's message fails.
    with publishing_to("redis://127.0.0.1:9/0"):
        response = post_json(api("manager"), f"/api/prelabelers/{prelabeler.pk}/jobs/", {})
    assert response.status_code == 503 and response.json()["error"]["code"] == "queue_unavailable"
    assert PrelabelJob.objects.get().state == JobState.FAILED

"""Every write through the API leaves one audit event naming the actor, the organization and the object."""

import pytest

from annotation.models import Annotation, Prediction, Task
from annotation.services.annotations import annotation_create, prediction_create
from tessera.models import AuditEvent
from tests.conftest import choice, patch_json, post_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(cast, make_project):
    project = make_project(tasks=[{"text": "Rates rise."}, {"text": "Rates fall."}])
    first, second = project.tasks.order_by("inner_id")
    annotation = annotation_create(task=first, user=cast.users["annotator"], result=choice("Positive"))
    prediction = prediction_create(
        task=first, user=cast.users["manager"], result=choice("Negative"), score=0.5
    )
    return {
        "project": project,
        "task": first,
        "free_task": second,
        "annotation": annotation,
        "prediction": prediction,
    }


WRITES = [
    ("manager", "post", lambda w: "/api/projects/", lambda w: {"title": "New"}, "project.create"),
    ("manager", "patch", lambda w: f"/api/projects/{w['project'].pk}/", lambda w: {"title": "x"}, "project.update"),
    ("manager", "delete", lambda w: f"/api/projects/{w['project'].pk}/", None, "project.delete"),
    ("manager", "post", lambda w: f"/api/projects/{w['project'].pk}/import", lambda w: [{"text": "t"}], "tasks.import"),
    ("manager", "post", lambda w: "/api/tasks/", lambda w: {"project": w["project"].pk, "data": {"text": "t"}},
     "tasks.import"),
    ("manager", "patch", lambda w: f"/api/tasks/{w['task'].pk}/", lambda w: {"meta": {"a": 1}}, "task.update"),
    ("manager", "delete", lambda w: f"/api/tasks/{w['task'].pk}/", None, "task.delete"),
    ("annotator2", "post", lambda w: f"/api/tasks/{w['free_task'].pk}/annotations/",
     lambda w: {"result": choice("Neutral")}, "annotation.create"),
    ("annotator2", "post", lambda w: f"/api/tasks/{w['task'].pk}/annotations/",
     lambda w: {"result": [], "was_cancelled": True}, "annotation.skip"),
    ("annotator", "patch", lambda w: f"/api/annotations/{w['annotation'].pk}/",
     lambda w: {"result": choice("Neutral")}, "annotation.update"),
    ("annotator", "delete", lambda w: f"/api/annotations/{w['annotation'].pk}/", None, "annotation.delete"),
    ("manager", "post", lambda w: "/api/predictions/", lambda w: {"task": w["task"].pk, "result": choice("Neutral")},
     "prediction.create"),
    ("manager", "delete", lambda w: f"/api/predictions/{w['prediction'].pk}/", None, "prediction.delete"),
    ("manager", "post", lambda w: f"/api/projects/{w['project'].pk}/import/predictions",
     lambda w: [{"task": w["task"].pk, "result": choice("Neutral")}], "predictions.import"),
    ("manager", "delete", lambda w: f"/api/projects/{w['project'].pk}/tasks", None, "project.tasks_delete"),
    ("annotator2", "post", lambda w: f"/api/tasks/{w['free_task'].pk}/skip", lambda w: {"reason": "unclear"},
     "annotation.skip"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("role", "method", "url", "body", "action"), WRITES, ids=[w[4] + ":" + w[1] for w in WRITES]
)
def test_each_write_records_one_audit_event(api, cast, world, role, method, url, body, action):
    before = set(AuditEvent.objects.values_list("pk", flat=True))
    client = api(role)
    if body is None:
        response = getattr(client, method)(url(world))
    else:
        response = (post_json if method == "post" else patch_json)(client, url(world), body(world))
    assert response.status_code in (200, 201, 204), response.content
    events = AuditEvent.objects.exclude(pk__in=before)
    assert [event.action for event in events] == [action]
    event = events.get()
    assert event.actor == cast.users[role]
    assert event.organization_id == cast.org.pk
    assert event.object_type and event.object_id is not None


def test_a_refused_write_records_no_audit_event(api, world):
    before = AuditEvent.objects.count()
    # Another annotator's work is hidden from an annotator (404, blind annotation); a reviewer sees it
    # but may not change it (403). Neither refusal leaves an event.
    response = patch_json(api("annotator2"), f"/api/annotations/{world['annotation'].pk}/", {"result": []})
    assert response.status_code == 404
    response = patch_json(api("reviewer"), f"/api/annotations/{world['annotation'].pk}/", {"result": []})
    assert response.status_code == 403
    assert AuditEvent.objects.count() == before


def test_a_failed_write_rolls_back_its_audit_event_with_it(api, world):
    before = (
        AuditEvent.objects.count(),
        Task.objects.count(),
        Annotation.objects.count(),
        Prediction.objects.count(),
    )
    response = post_json(
        api("manager"), f"/api/projects/{world['project'].pk}/import", [{"text": "ok"}, {"wrong": "field"}]
    )
    assert response.status_code == 400
    after = (
        AuditEvent.objects.count(),
        Task.objects.count(),
        Annotation.objects.count(),
        Prediction.objects.count(),
    )
    assert after == before

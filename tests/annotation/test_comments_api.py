"""Comments on tasks: who may read and write them, threads, mentions, resolving, limits, and text kept as text."""

import pytest

from annotation.models import Comment, ProjectMember
from annotation.services.annotations import annotation_create
from annotation.services.comments import mentioned_emails
from tessera.models import AuditEvent
from tests.conftest import choice, patch_json, post_json

pytestmark = pytest.mark.django_db

ORG_ROLES = ["owner", "admin", "manager", "reviewer", "annotator"]


@pytest.fixture
def project(make_project):
    return make_project(tasks=[{"text": "Rates rise."}, {"text": "Rates fall."}])


@pytest.fixture
def task(project):
    return project.tasks.order_by("inner_id").first()


def comment(api, role: str, task, text: str = "Is this positive?", **body):
    response = post_json(api(role), f"/api/tasks/{task.pk}/comments/", {"text": text, **body})
    assert response.status_code == 201, response.content
    return response.json()


# --- roles ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ORG_ROLES)
def test_every_member_may_comment_on_a_task_and_read_its_comments(api, cast, task, role):
    body = comment(api, role, task)
    assert body["author"] == {"id": cast.users[role].pk, "email": f"{role}@acme.test"}
    assert (body["task"], body["parent"], body["annotation"], body["is_resolved"]) == (
        task.pk,
        None,
        None,
        False,
    )
    listed = api(role).get(f"/api/tasks/{task.pk}/comments/")
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()] == [body["id"]]


def test_comments_list_oldest_first_with_replies(api, task):
    first = comment(api, "annotator", task, "first")
    second = comment(api, "reviewer", task, "second")
    reply = comment(api, "manager", task, "reply", parent=first["id"])
    listed = api("annotator2").get(f"/api/tasks/{task.pk}/comments/").json()
    assert [(c["id"], c["parent"]) for c in listed] == [
        (first["id"], None),
        (second["id"], None),
        (reply["id"], first["id"]),
    ]


def test_other_organization_gets_404_everywhere(api, task, project):
    body = comment(api, "annotator", task)
    outsider = api("outsider")
    assert outsider.get(f"/api/tasks/{task.pk}/comments/").status_code == 404
    assert post_json(outsider, f"/api/tasks/{task.pk}/comments/", {"text": "hi"}).status_code == 404
    assert patch_json(outsider, f"/api/comments/{body['id']}/", {"is_resolved": True}).status_code == 404
    assert outsider.delete(f"/api/comments/{body['id']}/").status_code == 404
    assert outsider.get(f"/api/projects/{project.pk}/comments/?open=1").status_code == 404
    assert Comment.objects.get(pk=body["id"]).is_resolved is False


def test_members_only_project_takes_comments_from_its_members_only(api, cast, make_project):
    project = make_project(tasks=[{"text": "x"}], members_only=True)
    task = project.tasks.get()
    ProjectMember.objects.create(project=project, user=cast.users["annotator"])
    comment(api, "annotator", task)
    comment(api, "manager", task)
    for role in ("annotator2", "reviewer"):
        refused = post_json(api(role), f"/api/tasks/{task.pk}/comments/", {"text": "hi"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "not_a_project_member"
        assert api(role).get(f"/api/tasks/{task.pk}/comments/").status_code == 403
        assert api(role).get(f"/api/projects/{project.pk}/comments/").status_code == 403
    assert Comment.objects.count() == 2


# --- mentions -------------------------------------------------------------------------------------------


def test_mention_parsing_is_plain_python():
    text = "ask @Ann@Acme.test, then @bob@acme.test. Not mail@acme.test; @ann@acme.test again; @bad@x"
    assert mentioned_emails(text) == ["ann@acme.test", "bob@acme.test"]


def test_member_address_becomes_a_mention_and_unknown_ones_stay_text(api, cast, task):
    text = "@Annotator2@ACME.test and @reviewer@acme.test: see @nobody@acme.test and @owner@other.test"
    body = comment(api, "annotator", task, text)
    assert body["text"] == text
    assert body["mentions"] == [
        {"id": cast.users["annotator2"].pk, "email": "annotator2@acme.test"},
        {"id": cast.users["reviewer"].pk, "email": "reviewer@acme.test"},
    ]


def test_members_only_project_mentions_only_who_may_see_it(api, cast, make_project):
    project = make_project(tasks=[{"text": "x"}], members_only=True)
    task = project.tasks.get()
    ProjectMember.objects.create(project=project, user=cast.users["annotator"])
    body = comment(api, "annotator", task, "@annotator2@acme.test @manager@acme.test @annotator@acme.test")
    assert [m["email"] for m in body["mentions"]] == ["manager@acme.test", "annotator@acme.test"]


def test_editing_the_text_recomputes_mentions(api, cast, task):
    body = comment(api, "annotator", task, "hello")
    changed = patch_json(api("annotator"), f"/api/comments/{body['id']}/", {"text": "cc @manager@acme.test"})
    assert changed.status_code == 200
    assert changed.json()["mentions"] == [{"id": cast.users["manager"].pk, "email": "manager@acme.test"}]
    assert AuditEvent.objects.filter(action="comment.update", object_id=body["id"]).count() == 1


# --- threads --------------------------------------------------------------------------------------------


def test_a_reply_to_a_reply_attaches_to_the_thread_root(api, task):
    root = comment(api, "annotator", task)
    reply = comment(api, "reviewer", task, "reply", parent=root["id"])
    deeper = comment(api, "annotator", task, "reply to reply", parent=reply["id"])
    assert reply["parent"] == root["id"]
    assert deeper["parent"] == root["id"]


def test_parent_of_another_task_is_refused(api, project, task):
    other = project.tasks.exclude(pk=task.pk).get()
    root = comment(api, "annotator", other)
    refused = post_json(
        api("annotator"), f"/api/tasks/{task.pk}/comments/", {"text": "x", "parent": root["id"]}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "parent"


def test_comment_on_an_annotation_only_one_the_caller_may_see(api, cast, task, project):
    project.maximum_annotations = 2
    project.save(update_fields=["maximum_annotations"])
    own = annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    others = annotation_create(task=task, user=cast.users["annotator2"], result=choice("Negative"))
    assert comment(api, "annotator", task, annotation=own.pk)["annotation"] == own.pk
    refused = post_json(
        api("annotator"), f"/api/tasks/{task.pk}/comments/", {"text": "x", "annotation": others.pk}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "annotation"
    assert comment(api, "reviewer", task, annotation=others.pk)["annotation"] == others.pk


# --- resolve --------------------------------------------------------------------------------------------


def test_anyone_on_the_project_resolves_and_reopens_a_thread_audited(api, cast, task, project):
    root = comment(api, "annotator", task)
    resolved = patch_json(api("annotator2"), f"/api/comments/{root['id']}/", {"is_resolved": True})
    assert resolved.status_code == 200
    body = resolved.json()
    assert body["is_resolved"] is True
    assert body["resolved_by"] == {"id": cast.users["annotator2"].pk, "email": "annotator2@acme.test"}
    assert body["resolved_at"] is not None
    assert api("reviewer").get(f"/api/projects/{project.pk}/comments/?open=1").json() == {
        "count": 0,
        "results": [],
    }
    reopened = patch_json(api("reviewer"), f"/api/comments/{root['id']}/", {"is_resolved": False}).json()
    assert (reopened["is_resolved"], reopened["resolved_by"], reopened["resolved_at"]) == (False, None, None)
    actions = list(AuditEvent.objects.filter(object_id=root["id"], object_type="annotation.comment").values_list(
        "action", "actor__email"
    ).order_by("id"))  # fmt: skip
    assert actions == [
        ("comment.create", "annotator@acme.test"),
        ("comment.resolve", "annotator2@acme.test"),
        ("comment.reopen", "reviewer@acme.test"),
    ]


def test_a_reply_is_not_resolved_on_its_own(api, task):
    root = comment(api, "annotator", task)
    reply = comment(api, "reviewer", task, "reply", parent=root["id"])
    refused = patch_json(api("annotator"), f"/api/comments/{reply['id']}/", {"is_resolved": True})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "not_a_thread"


def test_only_the_author_changes_the_text(api, task):
    root = comment(api, "annotator", task, "mine")
    for role in ("annotator2", "manager", "owner"):
        refused = patch_json(api(role), f"/api/comments/{root['id']}/", {"text": "theirs"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "not_author"
    assert Comment.objects.get(pk=root["id"]).text == "mine"


def test_project_threads_open_only_paged(api, project, task):
    first = comment(api, "annotator", task, "one")
    second = comment(api, "annotator", task, "two")
    comment(api, "reviewer", task, "reply", parent=first["id"])
    patch_json(api("manager"), f"/api/comments/{second['id']}/", {"is_resolved": True})
    opened = api("annotator").get(f"/api/projects/{project.pk}/comments/?open=1").json()
    assert (opened["count"], [c["id"] for c in opened["results"]]) == (1, [first["id"]])
    every = api("annotator").get(f"/api/projects/{project.pk}/comments/?page_size=1&page=2").json()
    assert (every["count"], [c["id"] for c in every["results"]]) == (2, [first["id"]])
    assert api("annotator").get(f"/api/projects/{project.pk}/comments/?open=maybe").status_code == 400


# --- delete ---------------------------------------------------------------------------------------------


def test_author_or_manager_deletes_a_comment_and_a_thread_takes_its_replies(api, task):
    root = comment(api, "annotator", task)
    comment(api, "reviewer", task, "reply", parent=root["id"])
    mine = comment(api, "annotator2", task)
    for role in ("annotator2", "reviewer"):
        assert api(role).delete(f"/api/comments/{root['id']}/").status_code == 403
    assert api("annotator2").delete(f"/api/comments/{mine['id']}/").status_code == 204
    assert api("manager").delete(f"/api/comments/{root['id']}/").status_code == 204
    assert Comment.objects.count() == 0
    assert AuditEvent.objects.filter(action="comment.delete").count() == 2


# --- text -----------------------------------------------------------------------------------------------


def test_html_is_stored_and_answered_as_text(api, task):
    html = '<img src=x onerror="alert(1)"><script>alert(2)</script> &amp; <b>bold</b>'
    body = comment(api, "annotator", task, html)
    assert body["text"] == html
    assert Comment.objects.get(pk=body["id"]).text == html
    assert api("reviewer").get(f"/api/tasks/{task.pk}/comments/").json()[0]["text"] == html


@pytest.mark.parametrize(
    ("text", "code"),
    [("", "required"), ("   ", "required"), ("a\x00b", "nul_character"), ("\ud800", "surrogate_character"),
     (12, "invalid"), (None, "invalid"), (["x"], "invalid")],
)  # fmt: skip
def test_bad_text_is_refused_naming_the_field(api, task, text, code, snapshot):
    before = snapshot()
    import json

    raw = json.dumps({"text": text})
    refused = api("annotator").post(
        f"/api/tasks/{task.pk}/comments/", data=raw, content_type="application/json"
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["field"] == "text"
    if code != "invalid":
        assert error["code"] == code
    assert snapshot() == before
    assert not Comment.objects.exists()


def test_text_limit_is_a_setting(api, task, settings):
    settings.TESSERA_COMMENT_MAX_CHARS = 10
    comment(api, "annotator", task, "x" * 10)
    refused = post_json(api("annotator"), f"/api/tasks/{task.pk}/comments/", {"text": "x" * 11})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "too_long"


def test_default_text_limit_is_ten_thousand_characters(api, task):
    comment(api, "annotator", task, "日" * 10_000)
    refused = post_json(api("annotator"), f"/api/tasks/{task.pk}/comments/", {"text": "日" * 10_001})
    assert refused.status_code == 400


# --- query counts ---------------------------------------------------------------------------------------


def test_task_comments_cost_the_same_at_any_number(api, task, django_assert_num_queries):
    for index in range(5):
        comment(api, "annotator", task, f"@manager@acme.test @reviewer@acme.test {index}")
    client = api("annotator")
    # the token with its user and membership, the task with its project, comments with authors and
    # resolvers, mentioned users
    with django_assert_num_queries(4):
        assert len(client.get(f"/api/tasks/{task.pk}/comments/").json()) == 5


def test_project_threads_cost_the_same_at_any_number(api, project, task, django_assert_num_queries):
    for index in range(5):
        comment(api, "annotator", task, f"@manager@acme.test {index}")
    client = api("annotator")
    # the token with its user and membership, the project, the count, the page with authors and
    # resolvers, mentioned users
    with django_assert_num_queries(5):
        assert client.get(f"/api/projects/{project.pk}/comments/?open=1").json()["count"] == 5

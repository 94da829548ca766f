"""The review queue, verdicts, bulk accept and backlog through the API, for every role; the rejection
flow end to end (annotate, reject, fix by the annotator, accept) with its audit events."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import Annotation, Comment, Project, Review, ReviewLock, ReviewState, Task, TaskState
from annotation.services.activity_totals import activity_fix
from annotation.services.annotations import annotation_create
from tessera.models import AuditEvent
from tests.conftest import NER_CONFIG, choice, patch_json, post_json, span

pytestmark = pytest.mark.django_db


@pytest.fixture
def labeled(cast, make_project):
    """A sentiment project (overlap 1, review all) with two tasks answered by the annotator."""
    project = make_project(tasks=[{"text": "Rates rise."}, {"text": "Rates fall."}])
    annotations = [
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
        for task in project.tasks.order_by("inner_id")
    ]
    return project, annotations


def _reviews(annotation_id: int) -> str:
    return f"/api/annotations/{annotation_id}/reviews/"


# ---- roles and organizations ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("annotator", 403),
        ("reviewer", 201),
        ("manager", 201),
        ("admin", 201),
        ("owner", 201),
        ("outsider", 404),
    ],
)
def test_who_may_give_a_verdict(api, labeled, role, expected):
    _, (annotation, _) = labeled
    response = post_json(api(role), _reviews(annotation.pk), {"verdict": "accept"})
    assert response.status_code == expected, response.content


@pytest.mark.parametrize(
    ("role", "expected"), [("annotator", 403), ("reviewer", 200), ("manager", 200), ("outsider", 404)]
)
def test_who_may_read_verdicts_take_the_queue_and_see_the_backlog(api, labeled, role, expected):
    project, (annotation, _) = labeled
    client = api(role)
    assert client.get(_reviews(annotation.pk)).status_code == expected
    assert client.post(f"/api/projects/{project.pk}/review/next").status_code == expected
    assert client.get(f"/api/projects/{project.pk}/review/backlog").status_code == expected
    bulk = post_json(
        client, f"/api/projects/{project.pk}/reviews/bulk", {"selectedItems": {"all": False, "included": []},
                                                            "verdict": "accept"},
    )  # fmt: skip
    assert bulk.status_code == expected


def test_nobody_reviews_their_own_annotation(api, cast, make_project):
    project = make_project(tasks=[{"text": "a"}], maximum_annotations=2)
    own = annotation_create(task=project.tasks.get(), user=cast.users["reviewer"], result=choice("Negative"))
    response = post_json(api("reviewer"), _reviews(own.pk), {"verdict": "accept"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "own_annotation"


# ---- bad input ------------------------------------------------------------------------------------


def test_a_verdict_on_a_skipped_annotation_is_a_400(api, cast, make_project):
    project = make_project(tasks=[{"text": "a"}])
    skipped = annotation_create(
        task=project.tasks.get(), user=cast.users["annotator"], result=[], was_cancelled=True
    )
    response = post_json(api("reviewer"), _reviews(skipped.pk), {"verdict": "accept"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_submitted"


def test_a_draft_is_not_an_annotation_a_verdict_can_name(api, cast, make_project):
    """Drafts are their own rows (/api/drafts/{id}/): a verdict names a submitted annotation, so
    the draft's id finds nothing to judge here."""
    from annotation.services.annotations import draft_save

    project = make_project(tasks=[{"text": "a"}])
    draft = draft_save(task=project.tasks.get(), user=cast.users["annotator"], result=choice("Positive"))
    response = post_json(api("reviewer"), _reviews(draft.pk + 1000), {"verdict": "accept"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"verdict": "approve"}, "verdict"),
        ({}, "verdict"),
        ({"verdict": "accept", "result": choice("Negative")}, "result"),
        ({"verdict": "reject", "result": []}, "result"),
        ({"verdict": "fix"}, "result"),
        ({"verdict": "reject", "comment": 5}, "comment"),
        ({"verdict": "reject", "comment": "x" * 5001}, "comment"),
    ],
)
def test_bad_verdicts_are_400s_naming_the_field(api, labeled, body, field):
    _, (annotation, _) = labeled
    response = post_json(api("reviewer"), _reviews(annotation.pk), body)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["field"] == field
    assert not Review.objects.exists()


def test_a_fix_that_does_not_fit_the_config_is_a_400_naming_the_region(api, cast, make_project):
    project = make_project(NER_CONFIG, tasks=[{"text": "Acme pays Bob"}])
    annotation = annotation_create(
        task=project.tasks.get(), user=cast.users["annotator"], result=[span(0, 4, "ORG", "Acme")]
    )
    response = post_json(
        api("reviewer"), _reviews(annotation.pk),
        {"verdict": "fix", "result": [span(0, 4, "ORG", "Acme"), span(10, 13, "CITY", "Bob")]},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "result[1]"
    out_of_text = post_json(
        api("reviewer"), _reviews(annotation.pk), {"verdict": "fix", "result": [span(10, 99, "PER")]}
    )
    assert out_of_text.status_code == 400
    assert out_of_text.json()["error"]["field"].startswith("result[0]")
    assert Annotation.objects.get(pk=annotation.pk).review_state == ReviewState.SUBMITTED


def test_a_fix_keeps_the_original_and_the_correction(api, cast, make_project):
    project = make_project(NER_CONFIG, tasks=[{"text": "Acme pays Bob"}])
    original = [span(0, 4, "PER", "Acme")]
    annotation = annotation_create(task=project.tasks.get(), user=cast.users["annotator"], result=original)
    fixed = [span(0, 4, "ORG", "Acme"), span(10, 13, "PER", "Bob")]
    response = post_json(api("reviewer"), _reviews(annotation.pk), {"verdict": "fix", "result": fixed})
    assert response.status_code == 201
    body = response.json()
    assert body["result"] == fixed and body["verdict"] == "fix"
    assert body["reviewer"]["email"] == "reviewer@acme.test"
    annotation.refresh_from_db()
    assert annotation.result == original and annotation.review_state == ReviewState.FIXED
    assert Task.objects.get(pk=annotation.task_id).state == TaskState.DONE


def test_a_second_verdict_is_a_409(api, labeled):
    _, (annotation, _) = labeled
    assert post_json(api("reviewer"), _reviews(annotation.pk), {"verdict": "accept"}).status_code == 201
    again = post_json(api("manager"), _reviews(annotation.pk), {"verdict": "reject"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_reviewed"


def test_open_threads_block_acceptance_when_the_project_says_so(api, cast, labeled):
    project, (annotation, _) = labeled
    Project.objects.filter(pk=project.pk).update(comments_block_acceptance=True)
    thread = Comment.objects.create(
        task_id=annotation.task_id, project=project, author=cast.users["manager"], text="?"
    )
    Comment.objects.create(
        task_id=annotation.task_id, project=project, author=cast.users["manager"], text="ok", parent=thread,
        is_resolved=False,
    )  # fmt: skip
    blocked = post_json(api("reviewer"), _reviews(annotation.pk), {"verdict": "accept"})
    assert blocked.status_code == 409
    assert blocked.json()["error"]["code"] == "open_comments"
    thread.is_resolved = True
    thread.save()
    assert post_json(api("reviewer"), _reviews(annotation.pk), {"verdict": "accept"}).status_code == 201


# ---- the queue --------------------------------------------------------------------------------------


def test_the_queue_hands_out_the_oldest_task_first_and_locks_it(api, cast, labeled):
    project, (first, second) = labeled
    reviewer = api("reviewer")
    taken = reviewer.post(f"/api/projects/{project.pk}/review/next").json()
    assert taken["annotation"]["id"] == first.pk
    assert taken["annotation"]["review_state"] == "submitted"
    assert [a["id"] for a in taken["task"]["annotations"]] == [first.pk]
    assert taken["task"]["state"] == "in_review" and taken["reviews"] == [] and taken["lock_expires_at"]
    # Asking again resumes the held one; another reviewer gets the next.
    assert reviewer.post(f"/api/projects/{project.pk}/review/next").json()["annotation"]["id"] == first.pk
    assert (
        api("manager").post(f"/api/projects/{project.pk}/review/next").json()["annotation"]["id"] == second.pk
    )
    assert ReviewLock.objects.count() == 2


def test_the_queue_skips_the_reviewer_s_own_answers_and_ends_with_null(api, cast, make_project):
    project = make_project(tasks=[{"text": "a"}])
    annotation_create(task=project.tasks.get(), user=cast.users["manager"], result=choice("Positive"))
    reviewer = api("manager")
    assert reviewer.post(f"/api/projects/{project.pk}/review/next").json() is None
    empty = reviewer.get(f"/api/projects/{project.pk}/review/next")
    assert empty.status_code == 404
    assert empty.json()["error"]["code"] == "review_queue_empty"


def test_a_session_get_takes_no_lock(cast, labeled, client):
    project, (first, _) = labeled
    client.force_login(cast.users["reviewer"])
    response = client.get(f"/api/projects/{project.pk}/review/next")
    assert response.status_code == 200
    assert response.json()["annotation"]["id"] == first.pk
    assert not ReviewLock.objects.exists()


def test_the_queue_only_serves_tasks_in_review(api, cast, make_project):
    project = make_project(tasks=[{"text": "a"}], review_policy="sample")
    patch_json(api("manager"), f"/api/projects/{project.pk}/", {"review_sample_percent": 0})
    project.refresh_from_db()
    annotation_create(task=project.tasks.get(), user=cast.users["annotator"], result=choice("Positive"))
    assert Task.objects.get().state == TaskState.LABELED
    assert api("reviewer").post(f"/api/projects/{project.pk}/review/next").json() is None


def test_a_new_agreement_threshold_moves_labeled_tasks_in_and_out_of_review(api, cast, make_project):
    """Under the low_agreement policy the threshold decides which labeled tasks are reviewed: changing
    it moves the tasks already labeled (and the backlog's counts with them), as the overlap and the
    other policy settings do."""
    project = make_project(tasks=[{"text": "a"}, {"text": "b"}], maximum_annotations=2,
                           review_policy="low_agreement")  # fmt: skip
    agreeing, split = project.tasks.order_by("inner_id")
    for task, answers in ((agreeing, ("Positive", "Positive")), (split, ("Positive", "Negative"))):
        for user, value in zip((cast.users["annotator"], cast.users["annotator2"]), answers, strict=True):
            annotation_create(task=task, user=user, result=choice(value))
    states = dict(Task.objects.values_list("pk", "state"))
    assert (states[agreeing.pk], states[split.pk]) == (TaskState.LABELED, TaskState.IN_REVIEW)
    assert (
        patch_json(
            api("manager"), f"/api/projects/{project.pk}/", {"review_agreement_threshold": 0.0}
        ).status_code
        == 200
    )
    assert set(Task.objects.values_list("state", flat=True)) == {TaskState.LABELED}
    backlog = api("reviewer").get(f"/api/projects/{project.pk}/review/backlog").json()
    assert (
        backlog["tasks_by_state"]["labeled"],
        backlog["tasks_by_state"]["in_review"],
        backlog["to_review"],
    ) == (2, 0, 0)


# ---- bulk accept and backlog ------------------------------------------------------------------------


def test_bulk_accept_of_a_filtered_selection(api, cast, labeled):
    project, (first, second) = labeled
    third_task = project.tasks.order_by("inner_id").first()
    own = annotation_create(task=third_task, user=cast.users["manager"], result=choice("Neutral"))
    filters = {"conjunction": "and", "items": [
        {"filter": "filter:tasks:inner_id", "operator": "equal", "type": "Number", "value": 1}]}  # fmt: skip
    response = post_json(
        api("manager"), f"/api/projects/{project.pk}/reviews/bulk",
        {"filters": filters, "selectedItems": {"all": True, "excluded": []}, "verdict": "accept"},
    )  # fmt: skip
    assert response.status_code == 200, response.content
    assert response.json() == {"accepted": 1, "skipped": 1}
    assert Annotation.objects.get(pk=first.pk).review_state == ReviewState.ACCEPTED
    assert Annotation.objects.get(pk=own.pk).review_state == ReviewState.SUBMITTED
    assert Annotation.objects.get(pk=second.pk).review_state == ReviewState.SUBMITTED
    assert AuditEvent.objects.filter(action="review.accept", object_id=first.pk, details__bulk=True).exists()
    assert AuditEvent.objects.filter(action="reviews.bulk_accept").count() == 1
    assert post_json(
        api("reviewer"), f"/api/projects/{project.pk}/reviews/bulk",
        {"selectedItems": {"all": True}, "verdict": "reject"},
    ).status_code == 400  # fmt: skip


def test_backlog_counts_tasks_and_annotations_by_state(api, labeled):
    project, (first, _) = labeled
    post_json(api("reviewer"), _reviews(first.pk), {"verdict": "reject", "comment": "No."})
    body = api("manager").get(f"/api/projects/{project.pk}/review/backlog").json()
    assert body["tasks_by_state"] == {
        "unlabeled": 0,
        "in_progress": 1,
        "labeled": 0,
        "in_review": 1,
        "done": 0,
    }
    assert body["annotations_by_review_state"] == {"submitted": 1, "accepted": 0, "rejected": 1, "fixed": 0}
    assert body["to_review"] == 1


# ---- project settings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("review_policy", "some"),
        ("review_sample_percent", 101),
        ("review_sample_percent", -1),
        ("review_sample_percent", 5.5),
        ("review_agreement_threshold", 1.5),
        ("gold_ratio", -0.1),
        ("gold_score_floor", 2),
        ("gold_score_floor", "high"),
        ("show_annotations_after_submit", "yes"),
        ("comments_block_acceptance", 1),
        ("gold_floor_pauses_queue", None),
    ],
)
def test_project_review_settings_are_validated(api, labeled, field, value):
    project, _ = labeled
    response = patch_json(api("manager"), f"/api/projects/{project.pk}/", {field: value})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field


def test_project_review_settings_round_trip(api, labeled):
    project, _ = labeled
    settings = {
        "review_policy": "low_agreement", "review_sample_percent": 35, "review_agreement_threshold": 0.6,
        "show_annotations_after_submit": True, "gold_ratio": 0.1, "gold_score_floor": 0.8,
        "gold_floor_pauses_queue": True, "comments_block_acceptance": True,
    }  # fmt: skip
    response = patch_json(api("manager"), f"/api/projects/{project.pk}/", settings)
    assert response.status_code == 200, response.content
    assert {name: response.json()[name] for name in settings} == settings
    cleared = patch_json(api("manager"), f"/api/projects/{project.pk}/", {"gold_score_floor": None})
    assert cleared.json()["gold_score_floor"] is None


# ---- the flow ---------------------------------------------------------------------------------------


def test_annotate_reject_fix_by_the_annotator_accept(api, cast, make_project):
    project = make_project(tasks=[{"text": "Rates rise."}])
    annotator, reviewer = api("annotator"), api("reviewer")
    handed = annotator.post(f"/api/labeling/projects/{project.pk}/next").json()["task"]
    assert handed["rejection"] is None
    submitted = post_json(
        annotator, f"/api/tasks/{handed['id']}/annotations/", {"result": choice("Negative")}
    )
    annotation_id = submitted.json()["id"]
    assert submitted.json()["review_state"] == "submitted"

    taken = reviewer.post(f"/api/projects/{project.pk}/review/next").json()
    assert taken["annotation"]["id"] == annotation_id
    rejected = post_json(
        reviewer, _reviews(annotation_id), {"verdict": "reject", "comment": "It says <b>rise</b>."}
    )
    assert rejected.status_code == 201
    assert Task.objects.get().state == TaskState.IN_PROGRESS
    assert not ReviewLock.objects.exists()

    back = annotator.post(f"/api/labeling/projects/{project.pk}/next").json()["task"]
    assert back["id"] == handed["id"]
    assert back["rejection"]["annotation"] == annotation_id
    assert back["rejection"]["comment"] == "It says <b>rise</b>."
    assert back["rejection"]["reviewer"]["email"] == "reviewer@acme.test"
    assert back["rejection"]["result"] == choice("Negative")
    # Label Studio's path says the same.
    assert (
        annotator.post(f"/api/projects/{project.pk}/next").json()["rejection"]["annotation"] == annotation_id
    )
    # The rejected task is not the reviewers' to take meanwhile.
    assert reviewer.post(f"/api/projects/{project.pk}/review/next").json() is None

    fixed = patch_json(annotator, f"/api/annotations/{annotation_id}/", {"result": choice("Positive")})
    assert fixed.status_code == 200
    assert fixed.json()["review_state"] == "submitted"
    assert Task.objects.get().state == TaskState.IN_REVIEW
    assert annotator.post(f"/api/labeling/projects/{project.pk}/next").json()["task"] is None

    again = reviewer.post(f"/api/projects/{project.pk}/review/next").json()
    assert again["annotation"]["id"] == annotation_id
    assert [r["verdict"] for r in again["reviews"]] == ["reject"]
    assert (
        post_json(reviewer, _reviews(annotation_id), {"verdict": "accept", "comment": "Good."}).status_code
        == 201
    )
    assert Task.objects.get().state == TaskState.DONE
    listed = reviewer.get(_reviews(annotation_id)).json()
    assert [(r["verdict"], r["comment"]) for r in listed] == [
        ("reject", "It says <b>rise</b>."),
        ("accept", "Good."),
    ]

    events = list(
        AuditEvent.objects.filter(object_type="annotation.annotation", object_id=annotation_id)
        .order_by("id")
        .values_list("action", "actor__email", "details")
    )
    assert [(action, actor) for action, actor, _ in events] == [
        ("annotation.create", "annotator@acme.test"),
        ("review.reject", "reviewer@acme.test"),
        ("annotation.update", "annotator@acme.test"),
        ("review.accept", "reviewer@acme.test"),
    ]
    assert events[0][2]["task_state"] == "in_review"
    assert events[1][2]["comment"] == "It says <b>rise</b>."
    assert events[1][2]["task_state"] == {"from": "in_review", "to": "in_progress"}
    assert events[2][2]["review_state"] == {"from": "rejected", "to": "submitted"}
    assert events[2][2]["task_state"] == "in_review"
    assert events[3][2]["task_state"] == {"from": "in_review", "to": "done"}


# ---- query counts -------------------------------------------------------------------------------------

# token with membership, project (the members-only rule reads nothing more when the project is open); in
# the transaction: the held lock, the candidate (FOR UPDATE SKIP LOCKED on PostgreSQL), the lock upsert,
# the reviewer's other locks let go; the handout: annotation with task, the task's annotations, the
# annotation's reviews; the transaction's two statements.
REVIEW_NEXT_QUERIES = 11
# token with membership, annotation with task and project; in the transaction: project shared, task
# locked, the task's dashboard figures (its answers and verdicts, one statement), annotation locked,
# review insert, annotation review state, review lock delete, task state, the figures again, the
# member-day upserts of the author and the reviewer, audit event, the project's totals (the task left
# review); the transaction's two statements.
VERDICT_QUERIES = 17


def test_review_next_costs_a_fixed_number_of_queries(api, cast, make_project):
    project = make_project(tasks=[{"text": str(n)} for n in range(20)])
    for task in project.tasks.all():
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    reviewer = api("reviewer")
    assert reviewer.get(f"/api/projects/{project.pk}/review/backlog").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert reviewer.post(f"/api/projects/{project.pk}/review/next").status_code == 200
    assert len(queries) == REVIEW_NEXT_QUERIES, "\n".join(q["sql"][:100] for q in queries)


def test_a_verdict_costs_a_fixed_number_of_queries(api, labeled):
    _, (annotation, _) = labeled
    reviewer = api("reviewer")
    assert reviewer.get(_reviews(annotation.pk)).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert post_json(reviewer, _reviews(annotation.pk), {"verdict": "accept"}).status_code == 201
    assert len(queries) == VERDICT_QUERIES, "\n".join(q["sql"][:100] for q in queries)


# ---- races (PostgreSQL: real overlapping transactions) --------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_at_once_end_with_one_verdict_and_a_409(api, cast, make_project):
    project = make_project(tasks=[{"text": "a"}])
    annotation = annotation_create(
        task=project.tasks.get(), user=cast.users["annotator"], result=choice("Positive")
    )
    for _ in range(3 if connection.vendor == "postgresql" else 1):
        Review.objects.all().delete()
        Annotation.objects.filter(pk=annotation.pk).update(review_state=ReviewState.SUBMITTED)
        # The reset above is beside the services: the dashboard's totals are rebuilt to match it.
        activity_fix(project.pk)
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def judge(role: str, verdict: str, barrier=barrier, statuses=statuses) -> None:
            try:
                client = api(role)
                barrier.wait()
                statuses.append(post_json(client, _reviews(annotation.pk), {"verdict": verdict}).status_code)
            finally:
                connection.close()

        threads = [
            threading.Thread(target=judge, args=("reviewer", "accept")),
            threading.Thread(target=judge, args=("manager", "reject")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [201, 409]
        assert Review.objects.filter(annotation=annotation).count() == 1
        verdict = Review.objects.get().verdict
        expected = {"accept": ReviewState.ACCEPTED, "reject": ReviewState.REJECTED}[verdict]
        assert Annotation.objects.get(pk=annotation.pk).review_state == expected


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_asking_at_once_get_different_annotations(api, cast, make_project):
    project = make_project(tasks=[{"text": "a"}, {"text": "b"}])
    for task in project.tasks.all():
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    for _ in range(3 if connection.vendor == "postgresql" else 1):
        ReviewLock.objects.all().delete()
        barrier = threading.Barrier(2)
        taken: list[int] = []

        def ask(role: str, barrier=barrier, taken=taken) -> None:
            try:
                client = api(role)
                barrier.wait()
                taken.append(
                    client.post(f"/api/projects/{project.pk}/review/next").json()["annotation"]["id"]
                )
            finally:
                connection.close()

        threads = [threading.Thread(target=ask, args=(role,)) for role in ("reviewer", "manager")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(taken)) == 2

"""Annotator metrics, the project timeline and the gold report: numbers on a fixture, roles, other
organizations, and query counts that do not grow with annotators or answers."""

import pytest
from django.db import connection
from django.utils import timezone

from annotation.models import Annotation, Project, Verdict
from annotation.services.annotations import annotation_create, prediction_create
from annotation.services.review import review_create
from tessera.models import Role
from tessera.selectors import membership_for
from tessera.services import user_upsert
from tests.conftest import choice

pytestmark = pytest.mark.django_db


@pytest.fixture
def worked(cast, make_project):
    """annotator: three answers (10, 20, 40 s) and a skip, one rejected and one accepted; annotator2:
    one answer (5 s) taken unchanged from a prediction, one reviewed as accepted."""
    project = make_project(tasks=[{"text": f"t{i}"} for i in range(4)], maximum_annotations=2)
    tasks = list(project.tasks.order_by("inner_id"))
    annotator, annotator2 = cast.users["annotator"], cast.users["annotator2"]
    answers = [
        annotation_create(task=tasks[0], user=annotator, result=choice("Positive"), lead_time=10),
        annotation_create(task=tasks[1], user=annotator, result=choice("Positive"), lead_time=20),
        annotation_create(task=tasks[2], user=annotator, result=choice("Negative"), lead_time=40),
    ]
    annotation_create(task=tasks[3], user=annotator, result=[], was_cancelled=True, lead_time=3)
    prediction = prediction_create(task=tasks[0], user=cast.users["manager"], result=choice("Negative"))
    second = annotation_create(
        task=tasks[0],
        user=annotator2,
        result=choice("Negative"),
        lead_time=5,
        parent_prediction_id=prediction.pk,
    )
    reviewer = cast.users["reviewer"]
    for annotation, verdict in (
        (answers[0], Verdict.REJECT),
        (answers[1], Verdict.ACCEPT),
        (second, Verdict.ACCEPT),
    ):
        review_create(
            annotation=annotation,
            reviewer=reviewer,
            membership=membership_for(user=reviewer),
            verdict=verdict,
        )
    return project


def _row(body: dict, user) -> dict:
    return next(row for row in body["annotators"] if row["user"]["id"] == user.pk)


def test_annotator_metrics_on_a_fixture(api, cast, worked):
    response = api("reviewer").get(f"/api/projects/{worked.pk}/annotators/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert [row["user"]["id"] for row in body["annotators"]] == sorted(
        [cast.users["annotator"].pk, cast.users["annotator2"].pk]
    )
    assert _row(body, cast.users["annotator"]) == {
        "user": {"id": cast.users["annotator"].pk, "email": "annotator@acme.test"},
        "tasks_done": 3,
        "median_lead_time": 20.0,
        "skip_rate": 0.25,
        "rejection_rate": 0.5,
        "gold_score": None,
        "gold_tasks": 0,
        "consensus_agreement": None,
        "prelabel_accepted_unchanged": None,
        "flagged": False,
        "paused": False,
    }
    second = _row(body, cast.users["annotator2"])
    assert (second["tasks_done"], second["median_lead_time"], second["skip_rate"]) == (1, 5.0, 0.0)
    assert (second["rejection_rate"], second["prelabel_accepted_unchanged"]) == (0.0, 1.0)


def test_annotator_metrics_by_day(api, cast, worked):
    body = api("manager").get(f"/api/projects/{worked.pk}/annotators/?by=day").json()
    today = timezone.localdate().isoformat()
    assert [(row["date"], row["user"]["id"]) for row in body["days"]] == [
        (today, cast.users["annotator"].pk),
        (today, cast.users["annotator2"].pk),
    ]
    first = body["days"][0]
    assert (first["tasks_done"], first["median_lead_time"], first["skip_rate"]) == (3, 20.0, 0.25)
    assert api("manager").get(f"/api/projects/{worked.pk}/annotators/?by=week").status_code == 400


def test_timeline_counts_submissions_reviews_and_acceptances_per_day(api, worked):
    body = api("reviewer").get(f"/api/projects/{worked.pk}/timeline/").json()
    assert body == {
        "days": [{"date": timezone.localdate().isoformat(), "submitted": 4, "reviewed": 3, "accepted": 2}]
    }


def test_gold_report_of_a_project_without_gold(api, worked):
    assert api("reviewer").get(f"/api/projects/{worked.pk}/gold/").json() == {
        "gold_tasks": 0,
        "annotators": [],
    }


PATHS = ["annotators/", "annotators/?by=day", "timeline/", "gold/"]


@pytest.mark.parametrize("path", PATHS)
def test_annotators_may_not_read_metrics_and_other_organizations_see_nothing(api, worked, path):
    assert api("annotator").get(f"/api/projects/{worked.pk}/{path}").status_code == 403
    assert api("outsider").get(f"/api/projects/{worked.pk}/{path}").status_code == 404
    for role in ("reviewer", "manager", "admin", "owner"):
        assert api(role).get(f"/api/projects/{worked.pk}/{path}").status_code == 200


def _more_annotators(cast, project: Project, count: int) -> None:
    tasks = list(project.tasks.order_by("inner_id"))
    for index in range(count):
        user, _ = user_upsert(email=f"extra{index}@acme.test", organization=cast.org, role=Role.ANNOTATOR)
        annotation_create(task=tasks[3], user=user, result=choice("Neutral"), lead_time=index + 1)
        Project.objects.filter(pk=project.pk).update(maximum_annotations=100)


# The caller's token and the project (two), then the member-day totals (one statement, however many
# answers), the members' e-mails; the leaderboard also reads the gold states and scores and the
# project's quality shards (the agreement with consensus).
QUERIES = {
    "annotators/": {"postgresql": 7, "sqlite": 7},
    "annotators/?by=day": {"postgresql": 4, "sqlite": 4},
    "timeline/": {"postgresql": 3, "sqlite": 3},
    "gold/": {"postgresql": 5, "sqlite": 5},
}


@pytest.mark.parametrize("path", PATHS)
def test_metrics_cost_a_fixed_number_of_queries(api, cast, worked, path, django_assert_num_queries):
    client = api("reviewer")
    client.get(f"/api/projects/{worked.pk}/{path}")
    expected = QUERIES[path][connection.vendor]
    with django_assert_num_queries(expected):
        assert client.get(f"/api/projects/{worked.pk}/{path}").status_code == 200
    _more_annotators(cast, worked, 5)
    with django_assert_num_queries(expected):
        assert client.get(f"/api/projects/{worked.pk}/{path}").status_code == 200


def test_agreement_with_consensus_per_annotator(api, cast, make_project):
    # Overlap 3: the first task's consensus is Positive (two of three), the second's Negative.
    project = make_project(tasks=[{"text": "a"}, {"text": "b"}, {"text": "c"}], maximum_annotations=3)
    first, second, open_task = project.tasks.order_by("inner_id")
    a, b, c = cast.users["annotator"], cast.users["annotator2"], cast.users["reviewer"]
    for task, answers in (
        (first, ("Positive", "Positive", "Negative")),
        (second, ("Negative", "Positive", "Negative")),
    ):
        for user, value in zip((a, b, c), answers, strict=True):
            annotation_create(task=task, user=user, result=choice(value))
    # Below the overlap there is no consensus: this answer counts for nobody.
    annotation_create(task=open_task, user=a, result=choice("Neutral"))
    annotation_create(task=open_task, user=b, result=choice("Positive"))
    body = api("manager").get(f"/api/projects/{project.pk}/annotators/").json()
    shares = {row["user"]["id"]: row["consensus_agreement"] for row in body["annotators"]}
    assert shares == {a.pk: 1.0, b.pk: 0.5, c.pk: 0.5}
    # The figure follows an edit at once (the shards are kept up to date by the write).
    from annotation.services.annotations import annotation_update
    from tessera.models import Membership

    changed = Annotation.objects.get(task=second, completed_by=b)
    annotation_update(annotation=changed, user=b, membership=Membership.objects.get(user=b, organization=cast.org),
                      fields={"result": choice("Negative")})  # fmt: skip
    body = api("manager").get(f"/api/projects/{project.pk}/annotators/").json()
    assert {row["user"]["id"]: row["consensus_agreement"] for row in body["annotators"]}[b.pk] == 1.0


def test_agreement_with_consensus_over_spans_counts_only_marked_units(cast, make_project):
    from annotation.annotator_metrics import annotator_rows

    config = """<View><Text name="text" value="$text"/>
      <Labels name="label" toName="text"><Label value="ORG"/><Label value="PER"/></Labels></View>"""
    project = make_project(config, tasks=[{"text": "Acme Bank hired Jane Doe."}], maximum_annotations=3)
    task = project.tasks.get()

    def spans(*marked):
        return [{"id": f"r{index}", "from_name": "label", "to_name": "text", "type": "labels",
                 "value": {"start": start, "end": end, "labels": [label]}}
                for index, (start, end, label) in enumerate(marked)]  # fmt: skip

    org, per = (0, 9, "ORG"), (16, 24, "PER")
    a, b, c = cast.users["annotator"], cast.users["annotator2"], cast.users["reviewer"]
    annotation_create(task=task, user=a, result=spans(org, per))
    annotation_create(task=task, user=b, result=spans(org, per))
    annotation_create(task=task, user=c, result=spans(org))  # missed the person
    shares = {row["user"]["id"]: row["consensus_agreement"] for row in annotator_rows(project=project)}
    assert shares[a.pk] == shares[b.pk] == 1.0
    assert 0 < shares[c.pk] < 1

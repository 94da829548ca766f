"""GET /api/projects/{id}/prelabel-stats/: per model version, how annotators received its pre-labels
(shown, accepted unchanged, edited, replaced) and, where reviewed, how often the accepted result is the
prediction. Two grouped statements whatever the number of versions."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import Prediction, Project, Task
from annotation.prelabel_stats import prelabel_stats
from annotation.services.annotations import prediction_create
from tests.conftest import NER_CONFIG, post_json, span
from training.models import Prelabeler

pytestmark = pytest.mark.django_db

TEXT = "Acme paid Bob 5 USD"
ORG, PER, MONEY = span(0, 4, "ORG", "Acme"), span(10, 13, "PER", "Bob"), span(14, 19, "MONEY", "5 USD")


def predict(cast, task: Task, result: list, model_version: str, prelabeler: Prelabeler | None) -> Prediction:
    prediction = prediction_create(
        task=task, user=cast.users["manager"], result=result, model_version=model_version, score=0.8
    )
    if prelabeler is not None:
        # What a pre-labeling job writes: the prediction tied to the pre-labeler that made it.
        Prediction.objects.filter(pk=prediction.pk).update(prelabeler=prelabeler)
    return prediction


def answer(api, role: str, prediction: Prediction, result: list, **extra) -> int:
    body = {"result": result, "parent_prediction": prediction.pk, **extra}
    response = post_json(api(role), f"/api/tasks/{prediction.task_id}/annotations/", body)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def review(api, annotation_id: int, verdict: str, **extra) -> None:
    response = post_json(
        api("reviewer"), f"/api/annotations/{annotation_id}/reviews", {"verdict": verdict, **extra}
    )
    assert response.status_code == 201, response.content


@pytest.fixture
def received(api, cast, make_project):
    """Two versions of one pre-labeler, a version of another, and imported predictions, answered in
    every way the statistics tell apart."""
    project = make_project(NER_CONFIG, tasks=[{"text": TEXT} for _ in range(7)], maximum_annotations=3)
    tasks = list(project.tasks.order_by("inner_id"))
    rules = Prelabeler.objects.create(project=project, title="Rules", backend="span_rules")
    other = Prelabeler.objects.create(project=project, title="Other rules", backend="span_rules")
    v1 = [predict(cast, task, [ORG, PER], "v1", rules) for task in tasks[:4]]
    v2 = [predict(cast, task, [ORG], "v2", rules) for task in tasks[4:6]]
    imported = predict(cast, tasks[0], [PER], "import-1", None)
    predict(cast, tasks[6], [ORG], "v1", other)  # the same version string, another pre-labeler

    accepted = answer(api, "annotator", v1[0], [ORG, PER])
    answer(api, "annotator", v1[1], [MONEY])  # replaced: nothing predicted kept
    answer(api, "annotator", v1[2], [ORG, MONEY])  # edited: ORG kept, PER removed, MONEY added
    answer(api, "annotator", v1[3], [], was_cancelled=True)  # a skip is not counted
    post_json(api("manager"), f"/api/tasks/{tasks[1].pk}/annotations/", {"result": [ORG]})  # no parent
    review(api, accepted, "fix", result=[ORG])  # the accepted result is not the prediction

    review(api, answer(api, "annotator2", v2[0], [ORG]), "accept")
    review(api, answer(api, "annotator2", v2[1], [ORG]), "reject")
    answer(api, "annotator2", imported, [ORG, PER])  # edited: PER kept, ORG added
    return project, rules, other


def test_counts_per_model_version(api, received):
    project, rules, other = received
    response = api("reviewer").get(f"/api/projects/{project.pk}/prelabel-stats/")
    assert response.status_code == 200, response.content
    rows = {(row["model_version"], row["prelabeler"]): row for row in response.json()["model_versions"]}
    assert rows.keys() == {("v1", rules.pk), ("v2", rules.pk), ("import-1", None), ("v1", other.pk)}
    assert rows["v1", rules.pk] == {
        "model_version": "v1",
        "prelabeler": rules.pk,
        "predictions": 4,
        "shown": 3,
        "accepted_unchanged": 1,
        "edited": 1,
        "replaced": 1,
        "reviewed": 1,
        "agreement_with_accepted": 0.0,
    }
    assert rows["v2", rules.pk] == {
        "model_version": "v2",
        "prelabeler": rules.pk,
        "predictions": 2,
        "shown": 2,
        "accepted_unchanged": 2,
        "edited": 0,
        "replaced": 0,
        "reviewed": 2,
        "agreement_with_accepted": 0.5,
    }
    assert rows["import-1", None] == {
        "model_version": "import-1",
        "prelabeler": None,
        "predictions": 1,
        "shown": 1,
        "accepted_unchanged": 0,
        "edited": 1,
        "replaced": 0,
        "reviewed": 0,
        "agreement_with_accepted": None,
    }
    assert rows["v1", other.pk]["predictions"] == 1
    assert rows["v1", other.pk]["shown"] == 0 and rows["v1", other.pk]["agreement_with_accepted"] is None


def test_versions_come_oldest_first(api, received):
    project, rules, other = received
    Prediction.objects.filter(project=project, model_version="v2").update(created_at="2020-01-01T00:00:00Z")
    rows = api("reviewer").get(f"/api/projects/{project.pk}/prelabel-stats/").json()["model_versions"]
    assert rows[0]["model_version"] == "v2"


def test_two_statements_whatever_the_number_of_versions(cast, received, make_project):
    project, rules, _other = received
    with CaptureQueriesContext(connection) as few:
        prelabel_stats(project=project)
    task = project.tasks.order_by("inner_id").first()
    for number in range(30):
        predict(cast, task, [ORG], f"extra-{number}", rules)
    with CaptureQueriesContext(connection) as many:
        rows = prelabel_stats(project=project)
    assert len(rows) == 34
    assert len(few) == len(many) == 2


def test_an_empty_project_has_no_versions(api, make_project):
    project = make_project()
    response = api("reviewer").get(f"/api/projects/{project.pk}/prelabel-stats")
    assert (response.status_code, response.json()) == (200, {"model_versions": []})


@pytest.mark.parametrize(
    ("role", "status"), [("owner", 200), ("manager", 200), ("reviewer", 200), ("annotator", 403)]
)
def test_reviewers_and_above_read_the_statistics(api, make_project, role, status):
    project = make_project()
    response = api(role).get(f"/api/projects/{project.pk}/prelabel-stats/")
    assert response.status_code == status
    if status == 403:
        assert "model_versions" not in response.json()


def test_another_organizations_project_is_not_found(api, cast, make_project):
    theirs: Project = make_project(org=cast.other_org, tasks=[{"text": "x"}])
    response = api("owner").get(f"/api/projects/{theirs.pk}/prelabel-stats/")
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")

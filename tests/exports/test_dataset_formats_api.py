"""GET /api/projects/{id}/datasets/formats: every registered dataset format, with whether it fits the project."""

import pytest

from tests.exports import dataset_test_formats  # noqa: F401 - registers the test formats

pytestmark = pytest.mark.django_db


def test_formats_say_which_fit_a_text_project(api, make_project):
    project = make_project(tasks=[{"text": "Rates rise."}])
    response = api("manager").get(f"/api/projects/{project.pk}/datasets/formats")
    assert response.status_code == 200
    listed = {row["name"]: row for row in response.json()}
    assert listed["test_jsonl"] == {
        "name": "test_jsonl", "extension": "jsonl", "per_split": True, "fits": True, "reason": None,
    }  # fmt: skip
    # The test format that needs an image field gives the same reason a build's 400 would.
    assert listed["test_images_only"]["fits"] is False
    assert listed["test_images_only"]["reason"] == "it needs an image field"
    assert [row["name"].lower() for row in response.json()] == sorted(
        row["name"].lower() for row in response.json()
    )


def test_reviewers_and_annotators_may_not_list_build_formats(api, make_project):
    project = make_project()
    for role in ("reviewer", "annotator"):
        response = api(role).get(f"/api/projects/{project.pk}/datasets/formats")
        assert response.status_code == 403, role
        assert response.json()["error"]["code"] == "role_too_low"


def test_another_organizations_project_is_not_found(api, make_project, cast):
    project = make_project(org=cast.other_org)
    assert api("manager").get(f"/api/projects/{project.pk}/datasets/formats").status_code == 404

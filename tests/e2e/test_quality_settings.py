"""The Settings tab's review, gold and comment settings: saved by the same PATCH as the other fields,
only the chosen policy's number shown, and a value out of range refused beside its field."""

import pytest

from annotation.models import Project
from tests.e2e.conftest import SENTIMENT
from tests.e2e.helpers.settings_page import open_settings, save

pytestmark = pytest.mark.e2e


def test_manager_sets_review_gold_and_comment_settings(open_session, cast, labeling_project):
    project = labeling_project(SENTIMENT, [{"text": "Profit rose."}], title="Quality")
    session = open_session(cast.users["manager"].email)
    page = session.page
    open_settings(session, project)
    if page.locator("[data-section=quality]").count() == 0:
        pytest.skip("the project API of this build has no review settings yet")

    assert page.locator("[data-field=review_sample_percent]").is_hidden()
    page.select_option("#field-review_policy", "sample")
    assert page.locator("[data-field=review_sample_percent]").is_visible()
    assert page.locator("[data-field=review_agreement_threshold]").is_hidden()
    page.fill("#field-review_sample_percent", "30")
    page.fill("#field-gold_ratio", "2")
    assert "Not saved" in save(page)
    assert page.get_attribute("#field-gold_ratio", "aria-invalid") == "true"
    assert page.inner_text("#error-gold_ratio").strip()

    page.fill("#field-gold_ratio", "0.1")
    page.fill("#field-gold_score_floor", "0.6")
    page.check("#field-gold_floor_pauses_queue")
    page.check("#field-comments_block_acceptance")
    page.check("#field-show_annotations_after_submit")
    assert save(page) == "Saved."

    project = Project.objects.get(pk=project.pk)
    assert project.review_policy == "sample" and project.review_sample_percent == 30
    assert project.gold_ratio == pytest.approx(0.1) and project.gold_score_floor == pytest.approx(0.6)
    assert project.gold_floor_pauses_queue and project.comments_block_acceptance
    assert project.show_annotations_after_submit

    # An empty floor is no floor.
    page.fill("#field-gold_score_floor", "")
    assert save(page) == "Saved."
    assert Project.objects.get(pk=project.pk).gold_score_floor is None
    assert session.errors == []

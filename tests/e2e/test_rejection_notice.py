"""An annotator whose answer a reviewer rejected gets the task back first, sees the reviewer's reason
above it (as text, in their language) and resubmits by correcting the same annotation."""

import pytest

from annotation.models import Annotation, ReviewState, Task, TaskState
from annotation.services.annotations import annotation_create
from annotation.services.review import review_create
from tessera.models import Membership
from tests.e2e.conftest import SENTIMENT

pytestmark = pytest.mark.e2e

NEWS = [{"text": "Profit rose 12% on strong card spending."}, {"text": "The meeting is on Tuesday."}]
REASON = "Profit <b>rose</b>: that is good news."


def _reject(cast, project) -> Annotation:
    task = Task.objects.get(project=project, inner_id=1)
    annotation = annotation_create(task=task, user=cast.users["annotator"], result=[
        {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Negative"]}}])  # fmt: skip
    annotation = Annotation.objects.select_related("task__project").get(pk=annotation.pk)
    reviewer = cast.users["reviewer"]
    review_create(
        annotation=annotation, reviewer=reviewer, membership=Membership.objects.get(user=reviewer),
        verdict="reject", comment=REASON,
    )  # fmt: skip
    return annotation


def test_the_annotator_sees_the_rejection_and_resubmits(cast, annotator, labeling_project):
    project = labeling_project(SENTIMENT, NEWS, title="Rejections")
    annotation = _reject(cast, project)
    annotator.label(project)
    assert annotator.task_id() == annotation.task_id
    notice = annotator.page.locator(".rejection")
    notice.wait_for()
    assert "A reviewer sent this task back to you." in notice.inner_text()
    assert "reviewer@acme.test" in notice.inner_text()
    # The comment is text: its markup shows as characters, no element is made from it.
    assert annotator.page.locator(".rejection-comment").inner_text() == REASON
    assert annotator.page.locator(".rejection b").count() == 0
    annotator.screenshot("rejection-notice")
    annotator.press("1")  # Positive
    annotator.submit()
    annotation.refresh_from_db()
    assert annotation.result[0]["value"] == {"choices": ["Positive"]}
    assert annotation.review_state == ReviewState.SUBMITTED
    assert Annotation.objects.filter(project=project).count() == 1
    assert Task.objects.get(pk=annotation.task_id).state == TaskState.IN_REVIEW
    # The next task is a new one, without the notice.
    assert annotator.task_id() != annotation.task_id
    assert annotator.page.locator(".rejection").is_hidden()
    assert not annotator.errors and not annotator.console_errors


def test_the_notice_is_in_japanese_for_a_japanese_browser(cast, open_session, labeling_project):
    project = labeling_project(SENTIMENT, NEWS, title="差し戻し")
    _reject(cast, project)
    session = open_session(cast.users["annotator"].email, locale="ja-JP")
    session.label(project)
    notice = session.page.locator(".rejection")
    notice.wait_for()
    assert "レビュアーがこのタスクを差し戻しました。" in notice.inner_text()
    assert notice.get_attribute("lang") == "ja"
    assert session.page.locator(".rejection-comment").inner_text() == REASON

"""What the labeling page does when the server refuses a submit because the task is no longer the
annotator's to answer (409 ``overlap_reached``, ``task_locked``, ``already_answered``): it says why in
plain words (English, or Japanese for a browser that prefers it), keeps the work in a draft and moves
on to the next task. The condition is set up server-side while the page holds the task."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Annotation, Draft, TaskLock
from annotation.services.annotations import annotation_create
from annotation.services.projects import project_update
from tests.conftest import choice
from tests.e2e.conftest import SENTIMENT

pytestmark = pytest.mark.e2e

NEWS = [
    {"text": "Profit rose 12% on strong card spending."},
    {"text": "The meeting is scheduled for Tuesday."},
]


def notice(session) -> str:
    return session.page.locator(".notice").inner_text()


def submit_refused(session) -> None:
    """Submit the task on screen and wait for the page to have moved on to the next one."""
    before = session.ready()
    session.press("Control+Enter")
    session.wait_next(before)
    session.page.wait_for_selector(".notice.error")


def assert_plain_words(text: str) -> None:
    # The server's message names API paths; the page's own words never show them or any JSON.
    assert "{" not in text and "/api/" not in text and "409" not in text, text


def test_a_task_filled_by_others_meanwhile_is_left_with_the_work_in_a_draft(
    annotator, labeling_project, cast
):
    project = labeling_project(SENTIMENT, NEWS, title="Overlap reached", maximum_annotations=2)
    annotator.label(project)
    held = annotator.task_id()
    annotator.press("1")
    # While the page holds the task, another annotator answers it and a manager lowers the overlap to 1.
    task = project.tasks.get(pk=held)
    annotation_create(task=task, user=cast.users["annotator2"], result=choice("Negative"))
    project_update(project=project, user=cast.users["manager"], fields={"maximum_annotations": 1})
    submit_refused(annotator)
    text = notice(annotator)
    assert "already has all the annotations it needs" in text and "kept in a draft" in text
    assert "next task" in text
    assert_plain_words(text)
    assert annotator.task_id() not in (None, held)
    assert not Annotation.objects.filter(task_id=held, completed_by=cast.users["annotator"]).exists()
    draft = Draft.objects.get(task_id=held, user=cast.users["annotator"])
    assert draft.annotation_id is None and draft.result[0]["value"] == {"choices": ["Positive"]}
    annotator.screenshot("refused-overlap-reached-light")
    annotator.page.emulate_media(color_scheme="dark")
    annotator.screenshot("refused-overlap-reached-dark")
    # The next task is answered as usual, and the notice goes with it.
    annotator.press("2")
    annotator.submit()
    assert Annotation.objects.filter(completed_by=cast.users["annotator"]).count() == 1
    assert not annotator.page.locator(".notice.error").count()


def take_over(task_id: int, user) -> None:
    """The page's lock lapsed and another annotator took the task."""
    TaskLock.objects.filter(task_id=task_id).delete()
    TaskLock.objects.create(task_id=task_id, user=user, expires_at=timezone.now() + timedelta(minutes=10))


def test_a_task_another_annotator_took_is_left_with_the_work_in_a_draft(annotator, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS, title="Task locked")
    annotator.label(project)
    held = annotator.task_id()
    annotator.press("3")
    take_over(held, cast.users["annotator2"])
    submit_refused(annotator)
    text = notice(annotator)
    assert "Another annotator took this task" in text and "kept in a draft" in text and "next task" in text
    assert_plain_words(text)
    assert annotator.task_id() not in (None, held)
    assert not Annotation.objects.filter(task_id=held).exists()
    assert Draft.objects.get(task_id=held, user=cast.users["annotator"]).result[0]["value"] == {
        "choices": ["Neutral"]
    }
    # The counter did not count the refused answer.
    assert annotator.page.locator("[data-count=done] b").inner_text() == "0"


def test_the_refusal_is_said_in_japanese_to_a_browser_that_prefers_it(open_session, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS[:1], title="日本語")
    annotator = open_session(cast.users["annotator"].email, locale="ja-JP")
    annotator.label(project)
    held = annotator.task_id()
    annotator.press("1")
    take_over(held, cast.users["annotator2"])
    submit_refused(annotator)
    text = notice(annotator)
    assert text == (
        "作業中に別のアノテーターがこのタスクを担当したため、回答は追加されませんでした。"
        "作業内容は下書きとして保存されています。"
    )
    assert annotator.page.locator(".notice").get_attribute("lang") == "ja"
    # The only task is held by another: the queue is done, and the message stays above it.
    assert annotator.task_id() is None and annotator.page.locator(".done").count() == 1
    assert Draft.objects.filter(task_id=held, user=cast.users["annotator"]).exists()
    annotator.screenshot("refused-task-locked-ja")


def test_a_task_answered_in_another_tab_moves_on_and_keeps_this_answer_for_a_correction(
    annotator, labeling_project, cast
):
    project = labeling_project(SENTIMENT, NEWS, title="Already answered", maximum_annotations=2)
    annotator.label(project)
    held = annotator.task_id()
    # The same annotator answers the task from another tab, then submits a different answer here.
    earlier = annotation_create(
        task=project.tasks.get(pk=held), user=cast.users["annotator"], result=choice("Negative")
    )
    annotator.press("1")
    submit_refused(annotator)
    text = notice(annotator)
    assert "already answered this task" in text and "press E" in text and "next task" in text
    assert_plain_words(text)
    assert annotator.task_id() not in (None, held)
    assert list(Annotation.objects.filter(task_id=held).values_list("pk", flat=True)) == [earlier.pk]
    # This answer is kept as a draft of a correction of the earlier one, and E opens it as such.
    draft = Draft.objects.get(task_id=held, user=cast.users["annotator"])
    assert draft.annotation_id == earlier.pk and draft.result[0]["value"] == {"choices": ["Positive"]}
    annotator.press("e")
    annotator.page.wait_for_selector(f".recent button[data-annotation='{earlier.pk}']")
    before = annotator.ready()
    annotator.page.click(f".recent button[data-annotation='{earlier.pk}']")
    annotator.wait_next(before)
    assert "Correcting your earlier annotation" in annotator.page.locator(".banner").inner_text()
    assert annotator.page.locator(".choice.active").inner_text().endswith("Positive")
    annotator.submit()  # saves the correction over the earlier answer
    earlier.refresh_from_db()
    assert earlier.result[0]["value"] == {"choices": ["Positive"]}
    assert Annotation.objects.filter(task_id=held).count() == 1

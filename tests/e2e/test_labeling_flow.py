"""The queue around the editors: drafts, pre-labels, skips, corrections, locks, and what the annotator
sees when the server refuses their work."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Annotation, Draft, Prediction, TaskLock
from annotation.services.annotations import task_delete, task_update
from tests.e2e.conftest import NER, PAIRWISE, SENTIMENT

pytestmark = pytest.mark.e2e

NEWS = [
    {"text": "Profit rose 12% on strong card spending."},
    {"text": "The lender wrote off 2 billion in bad loans."},
    {"text": "The meeting is scheduled for Tuesday."},
]


def prediction(label: str, score: float, version: str) -> dict:
    region = {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [label]}}
    return {"model_version": version, "score": score, "result": [region]}


def notice(session) -> str:
    return session.page.locator(".notice").inner_text()


def test_draft_survives_a_reload(annotator, labeling_project, cast):
    project = labeling_project(PAIRWISE, [{"prompt": "p", "answer_a": "a", "answer_b": "b"}], title="Drafts")
    annotator.label(project)
    page = annotator.page
    annotator.press("2", "Tab")
    page.keyboard.type("B is concrete.")
    page.wait_for_function(
        "() => document.body.dataset.draftSaved && !document.querySelector('.notice.error')", timeout=5000
    )
    draft = Draft.objects.get(user=cast.users["annotator"], task__project=project)
    assert {r["from_name"] for r in draft.result} == {"preference", "reason"}
    page.reload()
    page.wait_for_selector("body[data-ready]")
    assert "Draft restored" in page.locator(".banner").inner_text()
    assert page.locator(".choice.active").inner_text().endswith("B is better")
    assert page.locator("textarea.answer").input_value() == "B is concrete."
    annotator.submit()
    annotation = Annotation.objects.get(project=project)
    assert [r["value"] for r in annotation.result] == [
        {"choices": ["B is better"]},
        {"text": ["B is concrete."]},
    ]
    assert not Draft.objects.filter(task__project=project).exists()


def test_prelabels_accepted_unchanged_and_edited_are_recorded(annotator, labeling_project):
    tasks = [
        {
            "data": NEWS[0],
            "predictions": [
                prediction("Negative", 0.41, "finbert-v1"),
                prediction("Positive", 0.92, "finbert-v2"),
            ],
        },
        {"data": NEWS[1], "predictions": [prediction("Positive", 0.66, "finbert-v2")]},
        {"data": NEWS[2], "predictions": [prediction("Positive", 0.51, "finbert-v2")]},
    ]
    project = labeling_project(SENTIMENT, tasks, title="Pre-labeled sentiment")
    annotator.label(project)
    page = annotator.page
    banner = page.locator(".banner").inner_text()
    assert "Model suggestion" in banner and "finbert-v2" in banner and "0.92" in banner
    assert page.locator(".choice.active").inner_text().endswith("Positive")
    annotator.screenshot("pre-label-suggestion")
    annotator.submit()  # accepted as it is
    annotator.press("2")  # edited: Negative instead of Positive
    annotator.submit()
    annotator.press("c")  # cleared, then answered
    assert page.locator(".choice.active").count() == 0
    annotator.press("3")
    annotator.submit()
    first, second, third = Annotation.objects.filter(project=project).order_by("task__inner_id")
    best = Prediction.objects.get(task=first.task, model_version="finbert-v2")
    assert first.parent_prediction_id == best.pk
    assert first.prediction_changes == {"accepted": True, "kept": 1, "removed": 0, "added": 0}
    assert second.prediction_changes == {"accepted": False, "kept": 0, "removed": 1, "added": 1}
    assert second.result[0]["value"] == {"choices": ["Negative"]}
    assert third.prediction_changes["accepted"] is False and third.result[0]["value"] == {
        "choices": ["Neutral"]
    }


def test_second_annotator_never_receives_the_task_locked_by_the_first(open_session, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS[:2], title="Two annotators")
    first = open_session(cast.users["annotator"].email)
    second = open_session(cast.users["annotator2"].email)
    first.label(project)
    second.label(project)
    held = first.task_id()
    assert held is not None and second.task_id() not in (None, held)
    second.press("1")
    second.submit()
    # The only task left is held by the first annotator: the second has nothing to do.
    assert second.task_id() is None
    assert second.page.locator(".done h2").inner_text() == "All done"
    first.press("2")
    first.submit()
    assert {a.task_id for a in Annotation.objects.filter(completed_by=cast.users["annotator2"])} != {held}
    assert Annotation.objects.get(completed_by=cast.users["annotator"]).task_id == held


def test_lost_lock_says_so_and_keeps_the_work_in_a_draft(annotator, labeling_project, cast, settings):
    settings.TESSERA_TASK_LOCK_SECONDS = 10  # the page renews every few seconds
    project = labeling_project(SENTIMENT, NEWS[:1], title="Lost lock")
    annotator.label(project)
    annotator.press("1")
    task_id = annotator.task_id()
    # The lock lapsed and another annotator took the task meanwhile.
    TaskLock.objects.filter(task_id=task_id).delete()
    TaskLock.objects.create(
        task_id=task_id, user=cast.users["annotator2"], expires_at=timezone.now() + timedelta(minutes=10)
    )
    annotator.page.wait_for_selector(".notice.error", timeout=15_000)
    assert "another annotator took it" in notice(annotator)
    assert "kept in a draft" in notice(annotator)
    draft = Draft.objects.get(task_id=task_id, user=cast.users["annotator"])
    assert draft.result[0]["value"] == {"choices": ["Positive"]}
    assert annotator.page.locator(".choice.active").inner_text().endswith("Positive")


def test_rejected_submit_shows_why_and_keeps_the_work_in_a_draft(annotator, labeling_project, cast):
    project = labeling_project(NER, [{"text": "Nomura bought a stake in Acme Holdings."}], title="Rejected")
    annotator.label(project)
    annotator.press("End", *["Shift+ArrowLeft"] * 14, "1")  # "Acme Holdings." -> ORG
    task = project.tasks.get()
    # A manager shortens the text while the annotator works: the span now points past its end.
    task_update(task=task, user=cast.users["manager"], fields={"data": {"text": "Nomura bought a stake."}})
    annotator.press("Control+Enter")
    annotator.page.wait_for_selector(".notice.error")
    message = notice(annotator)
    assert "Not submitted" in message and "outside the text" in message and "kept in a draft" in message
    assert not Annotation.objects.filter(project=project).exists()
    draft = Draft.objects.get(task=task, user=cast.users["annotator"])
    assert draft.result[0]["value"]["labels"] == ["ORG"] and draft.result[0]["value"]["start"] == 25
    assert annotator.page.locator(".region-list li").count() == 1


def test_task_deleted_while_open_gives_a_clear_message(annotator, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS[:2], title="Deleted task")
    annotator.label(project)
    annotator.press("3")
    task = project.tasks.get(pk=annotator.task_id())
    task_delete(task=task, user=cast.users["manager"])
    annotator.press("Control+Enter")
    annotator.page.wait_for_selector(".notice.error")
    assert "no longer exists" in notice(annotator)
    assert annotator.page.locator(".choice.active").count() == 1  # the answer stays on screen
    before = annotator.ready()
    annotator.press("n")
    annotator.wait_next(before)
    assert annotator.task_id() != task.pk


def test_skip_with_a_reason(annotator, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS[:2], title="Skips")
    annotator.label(project)
    skipped = annotator.task_id()
    annotator.press("s")
    annotator.page.wait_for_selector("textarea.skip-reason")
    annotator.page.keyboard.type("Not financial news")
    before = annotator.ready()
    annotator.press("Enter")
    annotator.wait_next(before)
    assert annotator.task_id() != skipped
    annotation = Annotation.objects.get(task_id=skipped)
    assert (
        annotation.was_cancelled
        and annotation.skip_reason == "Not financial news"
        and annotation.result == []
    )
    assert annotation.completed_by == cast.users["annotator"]


def test_correct_an_earlier_annotation(annotator, labeling_project):
    project = labeling_project(SENTIMENT, NEWS, title="Corrections")
    annotator.label(project)
    annotator.press("1")
    annotator.submit()
    queued = annotator.task_id()
    annotator.press("e")
    annotator.page.wait_for_selector(".recent button")
    before = annotator.ready()
    annotator.press("Enter")
    annotator.wait_next(before)
    assert "Correcting your earlier annotation" in annotator.page.locator(".banner").inner_text()
    assert annotator.page.locator(".choice.active").inner_text().endswith("Positive")
    annotator.press("2")
    annotator.submit()  # saves the correction, then back to the queue
    assert annotator.task_id() == queued
    (annotation,) = Annotation.objects.filter(project=project)
    assert annotation.result[0]["value"] == {"choices": ["Negative"]}
    assert annotation.updated_at > annotation.created_at


def test_keyboard_help_instructions_counter_and_focus(annotator, labeling_project):
    project = labeling_project(
        SENTIMENT, NEWS, title="Keys", expert_instruction="Label the tone for investors.\n<b>Not bold</b>"
    )
    annotator.label(project)
    page = annotator.page
    assert page.locator("[data-count=done] b").inner_text() == "0"
    assert page.locator("[data-count=left] b").inner_text() == "3"
    annotator.press("?")
    assert page.locator(".overlay-panel h2").inner_text() == "Keyboard shortcuts"
    annotator.screenshot("help-overlay")
    annotator.press("Escape")
    annotator.press("i")
    assert "<b>Not bold</b>" in page.locator(".instructions").inner_text()
    annotator.press("Escape")
    assert page.locator(".overlay").count() == 0
    for key in ("1", "2"):
        annotator.press(key)
        annotator.submit()
        # Focus stays in the labeling app, on the next task's first control.
        assert page.evaluate("() => document.activeElement.closest('.control') !== null")
    page.wait_for_function("() => document.querySelector('[data-count=done] b').textContent === '2'")
    assert page.locator("[data-count=left] b").inner_text() == "1"


def test_lock_is_held_while_open_and_released_on_leave(annotator, labeling_project, cast):
    project = labeling_project(SENTIMENT, NEWS[:2], title="Leave")
    annotator.label(project)
    task_id = annotator.task_id()
    lock = TaskLock.objects.get(task_id=task_id)
    assert lock.user == cast.users["annotator"] and lock.expires_at > timezone.now()
    annotator.press("2")  # unsaved work goes to the draft as the page unloads
    annotator.page.goto(f"{annotator.base_url}/projects/")
    annotator.page.wait_for_selector(".project-card")
    deadline = timezone.now() + timedelta(seconds=5)
    while TaskLock.objects.filter(task_id=task_id).exists() and timezone.now() < deadline:
        annotator.page.wait_for_timeout(100)
    assert not TaskLock.objects.filter(task_id=task_id).exists()
    assert Draft.objects.get(task_id=task_id).result[0]["value"] == {"choices": ["Negative"]}


REQUIRED = """<View>
  <Text name="answer" value="$answer"/>
  <Header value="Factuality"/>
  <Rating name="factuality" toName="answer" required="true"/>
  <TextArea name="comment" toName="answer"/>
</View>"""


def test_required_control_blocks_submit_until_answered(annotator, labeling_project):
    project = labeling_project(REQUIRED, [{"answer": "Take 2 tablets."}], title="Required")
    annotator.label(project)
    annotator.press("Tab")  # away from the rating, into the comment box
    annotator.page.keyboard.type("Vague.")
    annotator.press("Control+Enter")
    # The control is named by its visible heading, not by its name in the config.
    assert "Answer “Factuality” before submitting" in notice(annotator)
    assert not Annotation.objects.filter(project=project).exists()
    annotator.press("2")  # focus went back to the required rating
    annotator.submit()
    assert [r["value"] for r in Annotation.objects.get(project=project).result] == [
        {"text": ["Vague."]},
        {"rating": 2},
    ]

"""The labeling page's comment panel: open threads with replies, a comment with HTML shown as text and
running nothing, a reply, a thread resolved, and the Japanese strings."""

import pytest

from annotation.models import Comment
from annotation.services.comments import comment_create
from tessera.models import Membership
from tests.e2e.conftest import SENTIMENT

HOSTILE = "<img src=x onerror=\"window.__xss = 'comment'; alert('comment')\"> <b>bold</b>"


def _membership(cast, key: str) -> Membership:
    return Membership.objects.get(user=cast.users[key], organization=cast.org)


@pytest.mark.e2e
def test_comment_with_html_shows_as_text_and_a_thread_is_resolved(annotator, labeling_project, cast):
    project = labeling_project(SENTIMENT, [{"text": "Rates rise."}])
    task = project.tasks.get()
    # A reviewer's thread, there before the page opens; written with HTML in it.
    thread = comment_create(
        task=task, user=cast.users["reviewer"], membership=_membership(cast, "reviewer"), text=HOSTILE
    )
    annotator.label(project)
    page = annotator.page
    thread_box = page.locator(f".comment-thread[data-comment-id='{thread.pk}']")
    thread_box.wait_for()
    assert thread_box.locator(".comment-text").inner_text() == HOSTILE
    # Nothing from the comment became an element.
    assert page.locator(".comments img, .comments b, .comments script").count() == 0

    # The annotator posts a comment with HTML of their own, and a reply to the thread.
    page.fill(".comment-form textarea", "<script>window.__xss = 'mine'</script> @reviewer@acme.test")
    page.click(".comment-form button[type=submit]")
    page.wait_for_selector(".comment-thread >> nth=1")
    mine = Comment.objects.exclude(pk=thread.pk).get()
    assert mine.text == "<script>window.__xss = 'mine'</script> @reviewer@acme.test"
    assert mine.mentions == [cast.users["reviewer"].pk]
    mine_box = page.locator(f".comment-thread[data-comment-id='{mine.pk}']")
    assert mine_box.locator(".comment-text").inner_text() == mine.text
    assert "reviewer@acme.test" in mine_box.locator(".comment-mentions").inner_text()

    thread_box.locator("button", has_text="Reply").click()
    page.keyboard.type("Fixed the <i>label</i>.")
    # Ctrl+Enter in the comment box sends the comment, not the annotation.
    page.keyboard.press("Control+Enter")
    thread_box.locator(".comment.reply").wait_for()
    assert thread_box.locator(".comment.reply .comment-text").inner_text() == "Fixed the <i>label</i>."
    reply = Comment.objects.get(parent=thread)
    assert reply.author == cast.users["annotator"]
    assert not task.annotations.exists()

    # Resolving the thread takes it off the panel and stores who resolved it.
    thread_box.locator("button.resolve").click()
    thread_box.wait_for(state="detached")
    thread.refresh_from_db()
    assert thread.is_resolved
    assert thread.resolved_by == cast.users["annotator"]
    assert page.locator(".comment-thread").count() == 1
    annotator.screenshot("comment-panel")
    assert page.evaluate("() => window.__xss") is None
    assert annotator.dialogs == []
    assert annotator.errors == []


@pytest.mark.e2e
def test_comment_panel_speaks_japanese(open_session, labeling_project, cast):
    project = labeling_project(SENTIMENT, [{"text": "金利が上がった。"}])
    session = open_session(cast.users["annotator"].email, locale="ja-JP")
    session.label(project)
    page = session.page
    page.wait_for_selector(".comments .empty")
    assert page.locator(".comments h2").inner_text() == "コメント"
    assert page.locator(".comments .empty").inner_text() == "このタスクに未解決のスレッドはありません。"
    assert page.locator(".comment-form button[type=submit]").inner_text() == "コメントする"

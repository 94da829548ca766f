"""Sign-in and the project list: role, tasks left for the caller, progress, organization switcher."""

import pytest

from annotation.services.annotations import annotation_create
from tessera.services import organization_get_or_create, user_upsert
from tests.e2e.conftest import PASSWORD, SENTIMENT

pytestmark = pytest.mark.e2e


def card(session, title: str):
    return session.page.locator(".project-card", has_text=title)


def test_sign_in_by_email_and_see_progress(open_session, labeling_project, cast):
    project = labeling_project(SENTIMENT, [{"text": f"news {i}"} for i in range(4)], title="FinGPT sentiment")
    first, second = project.tasks.order_by("inner_id")[:2]
    annotation_create(task=first, user=cast.users["annotator"], result=[])
    annotation_create(task=second, user=cast.users["annotator2"], result=[])
    session = open_session()
    session.page.goto(f"{session.base_url}/projects/")
    session.page.wait_for_url("**/login/?next=/projects/")
    session.page.fill("#id_username", cast.users["annotator"].email)
    session.page.fill("#id_password", "wrong password")
    session.page.click("button[type=submit]")
    assert "Wrong e-mail or password" in session.page.locator(".error").inner_text()
    session.sign_in(cast.users["annotator"].email, PASSWORD)
    found = card(session, "FinGPT sentiment")
    found.wait_for()
    assert found.locator("[data-field=role]").inner_text() == "annotator"
    assert found.locator("[data-field=left]").inner_text() == "2"  # two labeled by others or by them
    assert found.locator("[data-field=today]").inner_text() == "1"
    assert found.locator("[data-field=progress]").inner_text() == "2 / 4 (50%)"
    session.screenshot("projects")
    found.locator("a", has_text="Start labeling").click()
    session.page.wait_for_selector("body[data-ready]")
    assert session.task_id() not in (first.pk, second.pk)


def test_switch_organization(open_session, labeling_project, cast, make_project):
    labeling_project(SENTIMENT, [{"text": "x"}], title="Acme project")
    other = organization_get_or_create(title="Kansai Bank")
    user_upsert(email=cast.users["annotator"].email, organization=other, role="reviewer")
    make_project(org=cast.other_org)  # an organization the annotator is not in: never listed
    from annotation.services.projects import project_create

    project_create(
        organization=other,
        user=cast.users["annotator"],
        fields={"title": "関西銀行の対話", "label_config": SENTIMENT},
    )
    session = open_session(cast.users["annotator"].email)
    card(session, "Acme project").wait_for()
    select = session.page.locator("#org-switcher select")
    assert select.locator("option").all_inner_texts() == [
        "Acme Finance (annotator)",
        "Kansai Bank (reviewer)",
    ]
    select.select_option(label="Kansai Bank (reviewer)")
    card(session, "関西銀行の対話").wait_for()
    assert card(session, "Acme project").count() == 0
    assert card(session, "関西銀行の対話").locator("[data-field=role]").inner_text() == "reviewer"
    cast.users["annotator"].refresh_from_db()
    assert cast.users["annotator"].active_organization == other

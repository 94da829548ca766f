"""An admin invites an annotator; the annotator opens the link in a browser of their own, makes their
account there, is added to a members-only project and labels a task in it."""

import pytest

from annotation.models import Annotation
from tessera.models import Invitation, Membership, User
from tests.conftest import post_json
from tests.e2e.conftest import SENTIMENT

pytestmark = pytest.mark.e2e


def test_an_invited_annotator_accepts_in_a_fresh_browser_and_labels(
    open_session, api, cast, labeling_project
):
    project = labeling_project(SENTIMENT, [{"text": "Rates rise."}], title="Members only", members_only=True)
    response = post_json(
        api("admin"),
        f"/api/organizations/{cast.org.pk}/invites/",
        {"email": "hanako@acme.test", "role": "annotator", "send_email": False},
    )
    assert response.status_code == 201
    invite_path = "/" + response.json()["url"].split("/", 3)[3]

    newcomer = open_session()  # a browser context of its own, signed in as nobody
    page = newcomer.page
    page.goto(newcomer.base_url + invite_path)
    assert "Acme Finance" in page.locator("main").inner_text()
    page.fill("#id_first_name", "Hanako")
    page.fill("#id_password", "a long passphrase 7")
    page.fill("#id_password2", "a long passphrase 7")
    page.click("button[type=submit]")
    page.wait_for_url(f"{newcomer.base_url}/projects/")
    user = User.objects.get(email="hanako@acme.test")
    assert Membership.objects.get(user=user, organization=cast.org).role == "annotator"
    assert Invitation.objects.get().accepted_by == user

    # The link worked once: opened again, it says so.
    page.goto(newcomer.base_url + invite_path)
    assert "already used" in page.locator("main").inner_text()

    added = post_json(api("manager"), f"/api/projects/{project.pk}/members/", {"email": "hanako@acme.test"})
    assert added.status_code == 201
    newcomer.label(project)
    assert newcomer.task_id() is not None
    newcomer.press("1")
    newcomer.submit()
    annotation = Annotation.objects.get(project=project)
    assert annotation.completed_by == user
    assert annotation.result[0]["value"] == {"choices": ["Positive"]}
    assert not newcomer.errors

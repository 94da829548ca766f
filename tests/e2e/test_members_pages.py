"""The organization's Members page and a project's Members tab, driven as their users would.

An admin invites a new annotator and hands over the link; the annotator accepts it in a browser of
their own; a manager invites and revokes for roles up to their own; the admin changes roles, deactivates and reactivates; a manager restricts a project to its
members and adds the newcomer, who then labels while an annotator left off the list gets no task. The
database is checked after each action.
"""

import re

import pytest
from playwright.sync_api import expect

from annotation.models import Annotation, ProjectMember, TaskLock
from tessera.invitations import invitation_create
from tessera.models import Invitation, Membership, Role, User
from tests.e2e.conftest import SENTIMENT
from tests.e2e.helpers.members import invite, member_row, open_members

pytestmark = pytest.mark.e2e


def test_admin_invites_an_annotator_who_joins_and_labels_a_members_only_project(
    open_session, cast, labeling_project, mailoutbox
):
    project = labeling_project(SENTIMENT, [{"text": "Rates rise."}, {"text": "Shares fall."}], title="Desk")
    admin = open_session(cast.users["admin"].email)
    admin.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=admin.base_url)
    page = admin.page
    open_members(admin)
    # Every member of Acme is listed with their role and status.
    for key in ("owner", "admin", "manager", "reviewer", "annotator"):
        expect(member_row(admin, cast.users[key].email).locator("[data-field=status]")).to_have_text("Active")
    # An admin may hand out roles up to their own, never owner.
    invite_roles = page.locator("#invite-member-role option").all_inner_texts()
    assert invite_roles == ["Admin", "Manager", "Reviewer", "Annotator"]

    page.fill("#invite-member-email", "hanako@acme.test")
    page.select_option("#invite-member-role", "annotator")
    page.click("#invite-member button[type=submit]")
    link = page.locator("#invite-link")
    link.wait_for()
    url = link.input_value()
    assert re.search(r"/invite/[A-Za-z0-9_-]+/$", url)
    result = page.locator(".invite-result")
    assert "works once, until" in result.inner_text()
    assert "hanako@acme.test" in result.inner_text()
    page.click("[data-action=copy-link]")
    expect(result.locator(".copied")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == url
    invitation = Invitation.objects.get(email="hanako@acme.test")
    assert invitation.role == "annotator" and invitation.invited_by == cast.users["admin"]
    assert len(mailoutbox) == 1 and url in mailoutbox[0].body
    expect(page.locator(".invites-table tbody tr", has_text="hanako@acme.test")).to_have_count(1)

    # The annotator opens the link in a browser of their own and makes their account.
    newcomer = open_session()
    newcomer.page.goto(newcomer.base_url + "/" + url.split("/", 3)[3])
    newcomer.page.fill("#id_first_name", "Hanako")
    newcomer.page.fill("#id_last_name", "Sato")
    newcomer.page.fill("#id_password", "a long passphrase 7")
    newcomer.page.fill("#id_password2", "a long passphrase 7")
    newcomer.page.click("button[type=submit]")
    newcomer.page.wait_for_url(f"{newcomer.base_url}/projects/")
    hanako = User.objects.get(email="hanako@acme.test")

    # The admin sees them in the list, and the invitation is no longer pending.
    open_members(admin)
    row = member_row(admin, "hanako@acme.test")
    expect(row.locator("[data-field=name]")).to_have_text("Hanako Sato")
    expect(row.locator("[data-field=role] select")).to_have_value("annotator")
    expect(page.locator(".invites-section .empty")).to_have_text("No pending invitations.")

    # Raising a role needs no confirmation; lowering one asks first.
    row.locator("[data-field=role] select").select_option("reviewer")
    expect(page.locator(".members-notice")).to_have_text("Hanako Sato is now Reviewer.")
    assert Membership.objects.get(user=hanako, organization=cast.org).role == Role.REVIEWER
    row.locator("[data-field=role] select").select_option("annotator")
    dialog = page.locator("dialog.confirm")
    expect(dialog).to_contain_text("Lower the role of Hanako Sato?")
    dialog.locator("button.danger").click()
    expect(dialog).to_have_count(0)
    expect(page.locator(".members-notice")).to_have_text("Hanako Sato is now Annotator.")
    assert Membership.objects.get(user=hanako, organization=cast.org).role == Role.ANNOTATOR

    # Deactivate and reactivate annotator2: the dialog says their work is kept.
    other = cast.users["annotator2"]
    other_row = member_row(admin, other.email)
    other_row.locator("[data-action=deactivate]").click()
    expect(dialog).to_contain_text("Their annotations and other work are kept")
    dialog.locator("button.danger").click()
    expect(other_row.locator("[data-field=status]")).to_have_text("Deactivated")
    assert not Membership.objects.get(user=other, organization=cast.org).is_active
    other_row.locator("[data-action=reactivate]").click()
    dialog.locator("button.danger").click()
    expect(other_row.locator("[data-field=status]")).to_have_text("Active")
    membership = Membership.objects.get(user=other, organization=cast.org)
    assert membership.is_active and membership.role == Role.ANNOTATOR
    # No control for the admin's own deactivation, none for the owner's role (above the admin's).
    expect(member_row(admin, cast.users["admin"].email).locator("[data-action]")).to_have_count(0)
    expect(member_row(admin, cast.users["owner"].email).locator("select")).to_have_count(0)

    # A manager sees the members and may invite, for roles up to their own, but not change members.
    manager = open_session(cast.users["manager"].email)
    open_members(manager)
    expect(manager.page.locator("#invite-member")).to_be_visible()
    assert manager.page.locator("#invite-member-role option").all_inner_texts() == [
        "Manager",
        "Reviewer",
        "Annotator",
    ]
    assert (
        manager.page.locator("#add-member, .members-table select, .members-table [data-action]").count() == 0
    )
    expect(manager.page.locator(".page-head + .hint")).to_have_text(
        "You can see the members and invite people. Only admins and owners can change members."
    )
    # A manager restricts the project to its members and adds the newcomer on the Members tab.
    manager.page.goto(f"{manager.base_url}/projects/{project.pk}/members/")
    switch = manager.page.locator("#members-only")
    expect(switch).not_to_be_checked()
    expect(manager.page.locator(".project-members .empty")).to_contain_text("No members yet")
    switch.check()
    expect(manager.page.locator(".members-notice")).to_contain_text("Only the listed members")
    expect(manager.page.locator("#members-only-help")).to_contain_text("On: only the members listed below")
    project.refresh_from_db()
    assert project.members_only
    manager.page.fill("#project-member-search", "hanako")
    expect(manager.page.locator("#project-member-user option")).to_have_count(1)
    expect(manager.page.locator("#project-member-user option")).to_have_text(
        "Hanako Sato <hanako@acme.test> (Annotator)"
    )
    manager.page.click(".member-add button[type=submit]")
    expect(manager.page.locator(".project-members .members-table tbody tr")).to_have_count(1)
    expect(manager.page.locator(".members-notice")).to_have_text(
        "Hanako Sato is now a member of this project."
    )
    assert list(ProjectMember.objects.filter(project=project).values_list("user__email", flat=True)) == [
        "hanako@acme.test"
    ]

    # An annotator off the list gets no task, and the labeling page says why.
    outsider = open_session(cast.users["annotator"].email)
    outsider.page.goto(f"{outsider.base_url}/projects/{project.pk}/label/")
    expect(outsider.page.locator(".notice.error")).to_contain_text("Only this project's members may label it")
    assert not TaskLock.objects.filter(user=cast.users["annotator"]).exists()

    # The newcomer labels a task.
    newcomer.label(project)
    assert newcomer.task_id() is not None
    newcomer.press("1")
    newcomer.submit()
    annotation = Annotation.objects.get(project=project)
    assert annotation.completed_by == hanako
    assert annotation.result[0]["value"] == {"choices": ["Positive"]}
    assert not (admin.errors or manager.errors or outsider.errors or newcomer.errors)


def test_the_last_owner_cannot_be_demoted_and_the_page_says_why(open_session, cast):
    owner = open_session(cast.users["owner"].email)
    open_members(owner)
    page = owner.page
    # An owner may grant every role, owner included.
    select = member_row(owner, cast.users["owner"].email).locator("[data-field=role] select")
    assert select.locator("option").all_inner_texts() == [
        "Owner",
        "Admin",
        "Manager",
        "Reviewer",
        "Annotator",
    ]
    select.select_option("admin")
    dialog = page.locator("dialog.confirm")
    dialog.locator("button.danger").click()
    expect(dialog.locator(".notice.error")).to_have_text(
        "This is the organization's last owner. Make another member owner first."
    )
    assert Membership.objects.get(user=cast.users["owner"], organization=cast.org).role == Role.OWNER
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(select).to_have_value("owner")
    # Adding someone who has no account says to invite them instead, next to the field.
    page.fill("#add-member-email", "nobody@acme.test")
    page.click("#add-member button[type=submit]")
    expect(page.locator("#add-member .form-error")).to_have_text(
        "No account has this e-mail address. Send an invitation instead."
    )
    expect(page.locator("#add-member-email")).to_have_attribute("aria-invalid", "true")
    assert not owner.errors


def test_an_owner_revokes_a_pending_invitation(open_session, cast):
    invitation, _token = invitation_create(
        actor=cast.org.memberships.get(user=cast.users["owner"]), email="kenji@acme.test", role="manager"
    )
    owner = open_session(cast.users["owner"].email)
    open_members(owner)
    page = owner.page
    row = page.locator(".invites-table tbody tr", has_text="kenji@acme.test")
    expect(row.locator("[data-field=role]")).to_have_text("Manager")
    row.locator("[data-action=revoke]").click()
    dialog = page.locator("dialog.confirm")
    expect(dialog).to_contain_text("Its link stops working at once.")
    dialog.locator("button.danger").click()
    expect(page.locator(".invites-section .empty")).to_have_text("No pending invitations.")
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None and invitation.accepted_at is None
    assert not owner.errors


def test_a_manager_invites_and_revokes_invitations_up_to_their_own_role(open_session, cast):
    admin_membership = cast.org.memberships.get(user=cast.users["admin"])
    above, _token = invitation_create(actor=admin_membership, email="kenji@acme.test", role="admin")
    manager = open_session(cast.users["manager"].email)
    open_members(manager)
    page = manager.page
    url = invite(manager, "yuki@acme.test", role="reviewer")
    assert re.search(r"/invite/[A-Za-z0-9_-]+/$", url)
    made = Invitation.objects.get(email="yuki@acme.test")
    assert (made.role, made.invited_by) == ("reviewer", cast.users["manager"])
    # The admin's invitation is listed without a revoke button; the manager's own has one.
    above_row = page.locator(".invites-table tbody tr", has_text="kenji@acme.test")
    expect(above_row.locator("[data-field=role]")).to_have_text("Admin")
    expect(above_row.locator("[data-action=revoke]")).to_have_count(0)
    row = page.locator(".invites-table tbody tr", has_text="yuki@acme.test")
    row.locator("[data-action=revoke]").click()
    dialog = page.locator("dialog.confirm")
    dialog.locator("button.danger").click()
    expect(row).to_have_count(0)
    made.refresh_from_db()
    above.refresh_from_db()
    assert made.revoked_at is not None and above.revoked_at is None
    assert not manager.errors


def test_members_page_in_japanese_on_a_phone_in_dark(open_session, cast):
    admin = open_session(cast.users["admin"].email, locale="ja-JP")
    page = admin.page
    page.set_viewport_size({"width": 390, "height": 800})
    page.emulate_media(color_scheme="dark")
    open_members(admin)
    expect(page.locator("h1")).to_have_text("メンバー")
    expect(page.locator("#invite-member h2")).to_have_text("招待")
    expect(page.locator("#add-member h2")).to_have_text("既存のユーザーを追加")
    expect(page.locator("#pending-title")).to_have_text("保留中の招待")
    expect(page.locator(".invites-section .empty")).to_have_text("保留中の招待はありません。")
    expect(member_row(admin, cast.users["annotator"].email).locator("[data-field=status]")).to_have_text(
        "有効"
    )
    expect(member_row(admin, cast.users["annotator"].email).locator("select")).to_have_value("annotator")
    assert "アノテーター" in page.locator("#invite-member-role").inner_text()
    # The new link's explanation, in Japanese, with the expiry date in the Japanese format.
    page.fill("#invite-member-email", "yuki@acme.test")
    page.locator("#invite-send-email").uncheck()
    page.click("#invite-member button[type=submit]")
    page.locator("#invite-link").wait_for()
    explained = page.locator(".invite-result").inner_text()
    assert "1 回だけ使えます" in explained
    assert re.search(r"\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{2} まで", explained), explained
    expect(page.locator(".invites-table tbody tr", has_text="yuki@acme.test")).to_have_count(1)
    assert Invitation.objects.filter(email="yuki@acme.test", accepted_at__isnull=True).count() == 1
    # Deactivating explains, in Japanese, that the work is kept.
    member_row(admin, cast.users["annotator"].email).locator("[data-action=deactivate]").click()
    expect(page.locator("dialog.confirm")).to_contain_text("アノテーションなどの作業は残り")
    page.keyboard.press("Escape")
    assert Membership.objects.get(user=cast.users["annotator"], organization=cast.org).is_active
    # 390 px wide: the page itself does not scroll sideways (the table scrolls in its own box).
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Dark theme through the variables: the table's box takes the dark paper colour.
    background = page.evaluate("getComputedStyle(document.querySelector('.table-wrap')).backgroundColor")
    assert background == "rgb(27, 32, 41)"
    # Keyboard: Tab reaches the search box, the role filter and the invitation form.
    page.locator("#members-search").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "members-role"
    assert not admin.errors


def test_a_reviewer_sees_the_project_members_read_only_and_not_the_members_page(
    open_session, cast, labeling_project
):
    project = labeling_project(SENTIMENT, [{"text": "x"}], title="Restricted", members_only=True)
    ProjectMember.objects.create(project=project, user=cast.users["annotator"], added_by=cast.users["owner"])
    reviewer = open_session(cast.users["reviewer"].email)
    page = reviewer.page
    page.goto(f"{reviewer.base_url}/projects/{project.pk}/members/")
    expect(page.locator(".tabs a[aria-current=page]")).to_have_text("Members")
    expect(page.locator("[data-field=members-only]")).to_have_text("Restricted to the listed members.")
    expect(page.locator(".project-members .members-table tbody tr")).to_have_count(1)
    expect(page.locator(".project-members .members-table [data-field=email]")).to_have_text(
        cast.users["annotator"].email
    )
    assert page.locator("#members-only, #project-member-user, [data-action=remove]").count() == 0
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    response = page.goto(f"{reviewer.base_url}/members/")
    assert response is not None and response.status == 403
    expect(page.locator("main h1")).to_have_text("Not available to your role")
    assert not reviewer.errors

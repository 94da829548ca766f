"""The organization's Members page and a project's Members tab."""

from playwright.sync_api import expect


def member_row(session, email: str):
    return session.page.locator(".members-table tbody tr", has_text=email)


def open_members(session) -> None:
    session.page.goto(f"{session.base_url}/members/")
    session.page.locator(".members-table tbody tr").first.wait_for()


def invite(session, email: str, role: str = "annotator") -> str:
    """Invite ``email`` from the Members page (a manager's or above) and return the accept link it shows once."""
    page = session.page
    page.fill("#invite-member-email", email)
    page.select_option("#invite-member-role", role)
    page.click("#invite-member button[type=submit]")
    link = page.locator("#invite-link")
    link.wait_for()
    return link.input_value()


def accept_invite(session, url: str, *, first_name: str, last_name: str, password: str) -> None:
    """Open an invitation link in a browser signed in as nobody and make the account; lands on Projects."""
    page = session.page
    page.goto(session.base_url + "/" + url.split("/", 3)[3])
    page.fill("#id_first_name", first_name)
    page.fill("#id_last_name", last_name)
    page.fill("#id_password", password)
    page.fill("#id_password2", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{session.base_url}/projects/")


def restrict_project_to(session, project, search: str) -> None:
    """On the project's Members tab: turn on "members only" and add the one member ``search`` finds."""
    page = session.page
    page.goto(f"{session.base_url}/projects/{project.pk}/members/")
    switch = page.locator("#members-only")
    expect(switch).not_to_be_checked()
    switch.check()
    expect(switch).to_be_checked()
    page.locator(".members-notice").wait_for()
    page.fill("#project-member-search", search)
    expect(page.locator("#project-member-user option")).to_have_count(1)
    page.click(".member-add button[type=submit]")
    expect(page.locator(".project-members .members-table tbody tr")).to_have_count(1)

"""A project's Settings tab."""

SAVING = ("", "Saving…", "保存中…")


def open_settings(session, project) -> None:
    session.page.goto(f"{session.base_url}/projects/{project.pk}/settings/")
    session.page.locator("form.settings-form").wait_for()


def save(page, button: str = "Save changes") -> str:
    """Press the save button (named ``button`` in the page's language) and return the status it ends with."""
    page.get_by_role("button", name=button).click()
    status = page.locator(".save-bar .notice")
    page.wait_for_function(
        "(saving) => !saving.includes(document.querySelector('.save-bar .notice').textContent)",
        arg=list(SAVING),
    )
    return status.inner_text()

"""The top bar's user menu."""


def set_language(session, code: str) -> None:
    """Choose the UI language in the user menu (kept on the user, ``User.language``); the form submits on
    change and the page comes back in that language."""
    page = session.page
    page.locator("details.usermenu summary").click()
    with page.expect_navigation():
        page.locator(".usermenu select[name=language]").select_option(code)
    page.locator(f"html[lang={code}]").wait_for()

"""A project's Export tab and downloads."""

from pathlib import Path


def open_export(session, project, query: str = "") -> None:
    session.page.goto(f"{session.base_url}/projects/{project.pk}/export/{query}")
    session.page.locator("form.export-form").wait_for()


def download(session) -> tuple[str, bytes]:
    page = session.page
    with page.expect_download() as info:
        page.get_by_role("button", name="Download").click()
    saved = info.value
    page.locator("form.export-form[data-state=done]").wait_for()
    return saved.suggested_filename, Path(saved.path()).read_bytes()


def downloaded(page, click) -> tuple[str, bytes]:
    """Run ``click`` (which starts a download) and return the saved file's name and bytes."""
    with page.expect_download() as info:
        click()
    saved = info.value
    return saved.suggested_filename, Path(saved.path()).read_bytes()

"""A project's Datasets tab: opening it, the build form, a version's row and details, its downloads."""

from pathlib import Path

from playwright.sync_api import expect


def open_datasets(session, project, query: str = "") -> None:
    session.page.goto(f"{session.base_url}/projects/{project.pk}/datasets/{query}")
    session.page.locator(".datasets-page[data-state=ready]").wait_for()


def preview_ready(page) -> None:
    """Wait for the live preview to have answered the form as it is now (it is asked a moment after a change)."""
    page.wait_for_timeout(500)
    page.locator(".dataset-preview:not([data-state=loading]):not([data-state=idle])").wait_for()


def preview_totals(page) -> dict[str, int]:
    """The preview's totals per split, as numbers ({"train": 6, …})."""
    cells = page.locator(".dataset-preview tr.total td[data-split]")
    return {
        cells.nth(i).get_attribute("data-split"): int(cells.nth(i).inner_text().replace(",", ""))
        for i in range(cells.count())
    }


def set_splits(page, train: str, validation: str, test: str) -> None:
    page.fill("#dataset-splits-train", train)
    page.fill("#dataset-splits-validation", validation)
    page.fill("#dataset-splits-test", test)


def version_row(page, version_id: int):
    return page.locator(f"table.versions tbody tr[data-version-id='{version_id}']")


def wait_completed(page, version_id: int, timeout: float = 90_000) -> None:
    expect(version_row(page, version_id)).to_have_attribute("data-status", "completed", timeout=timeout)
    expect(
        page.locator(f".version-detail[data-version-id='{version_id}'][data-status=completed]")
    ).to_be_visible(timeout=timeout)


def download_file(page, format_name: str, split: str) -> tuple[str, bytes]:
    link = page.locator(
        f".version-detail table.files tr[data-format='{format_name}'][data-split='{split}'] a.download"
    )
    with page.expect_download() as info:
        link.click()
    saved = info.value
    return saved.suggested_filename, Path(saved.path()).read_bytes()

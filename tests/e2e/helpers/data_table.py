"""A project's Data tab: the filter panel, the rows shown, the selection bar."""


def open_table(session, project, query: str = "") -> None:
    session.page.goto(f"{session.base_url}/projects/{project.pk}/data/{query}")
    session.page.wait_for_selector("table.tasks tbody tr")


def add_filter(page, column: str, operator: str, value: str | None = None, *, select_value: bool = False):
    if page.locator("#filter-panel").is_hidden():
        page.click("button[aria-controls=filter-panel]")
    page.click(
        "#filter-panel button:has-text('Add filter'), #filter-panel button:has-text('フィルターを追加')"
    )
    row = page.locator(".filter-row").last
    row.locator("select").nth(0).select_option(column)
    row.locator("select").nth(1).select_option(operator)
    if value is not None:
        field = row.locator("select").nth(2) if select_value else row.locator("input")
        if select_value:
            field.select_option(value)
        else:
            field.fill(value)


def apply_filters(page) -> None:
    page.click("#filter-panel button.primary")


def search(page, words: str) -> None:
    """The toolbar's search box (the ``search`` operator on a data field)."""
    page.fill(".table-toolbar input[type=search]", words)
    page.press(".table-toolbar input[type=search]", "Enter")


def wait_for_rows(page, ids: list[int]) -> None:
    """Wait until the table shows exactly the tasks ``ids`` (in any order)."""
    page.wait_for_function(
        "(ids) => JSON.stringify([...document.querySelectorAll('table.tasks tbody tr')].map(r => Number(r.dataset.task)).sort((a, b) => a - b)) === JSON.stringify(ids)",
        arg=sorted(ids),
    )


def wait_for_row_count(page, count: int) -> None:
    page.wait_for_function(
        "(n) => document.querySelectorAll('table.tasks tbody tr[data-task]').length === n", arg=count
    )


def shown_ids(page) -> list[int]:
    return [
        int(value)
        for value in page.locator("table.tasks tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.task)"
        )
    ]


def select_page(page) -> None:
    page.locator("table.tasks thead input[type=checkbox]").check()


def row_box(page, task_id: int):
    return page.locator(f"table.tasks tbody tr[data-task='{task_id}'] input[type=checkbox]")


def open_read_only(page, task_id: int):
    """Open one task's read-only view and wait until its results are drawn; returns the dialog."""
    page.locator(f"table.tasks tbody tr[data-task='{task_id}']").locator("button.link").click()
    dialog = page.locator("dialog.task-view")
    dialog.wait_for()
    page.wait_for_selector("dialog.task-view .result-card")
    return dialog

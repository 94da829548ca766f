"""The New project wizard (``/projects/new/``): the XML editor, its check and the live preview."""


def xml_text(page) -> str:
    return page.locator("#xml-config").input_value()


def wait_valid(page) -> None:
    """Wait until the server's check of the XML as it now stands says it is valid."""
    page.wait_for_selector(".xml-status.ok")


def palette_labels(page) -> list[str]:
    """The labels of the preview's palette, drawn by the labeling page's own editor."""
    return page.locator(".preview-card .palette button.label-button").evaluate_all(
        "(buttons) => buttons.map((button) => button.dataset.label)"
    )


def wait_palette_has(page, label: str) -> None:
    page.wait_for_function(
        "(label) => [...document.querySelectorAll('.preview-card .palette button')].some((b) => b.dataset.label === label)",
        arg=label,
    )


def xml_line(xml: str, fragment: str) -> int:
    """The 1-based line of ``xml`` that holds ``fragment``."""
    return next(number for number, line in enumerate(xml.split("\n"), 1) if fragment in line)

"""CSV and TSV exports are safe to open in a spreadsheet: no formula runs, no row splits.

Both are deliberate differences from Label Studio's converter (see exports/formats/csv_table.py).
"""

import csv
import io

import pytest

from annotation.services.annotations import annotation_create
from exports.formats.csv_table import neutralise
from tests.conftest import choice

pytestmark = pytest.mark.django_db

FORMULAS = ["=HYPERLINK(\"http://evil.test\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
            "\tcell", "\rcell"]  # fmt: skip


def export_text(api, project, export_type: str) -> str:
    response = api("reviewer").get(f"/api/projects/{project.pk}/export?exportType={export_type}")
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content).decode()


@pytest.mark.parametrize("export_type", ["CSV", "TSV"])
def test_cells_that_a_spreadsheet_would_run_as_formulas_get_a_leading_quote(
    api, make_project, cast, export_type
):
    project = make_project(tasks=[{"text": formula, "=cmd": "x"} for formula in FORMULAS])
    for task in project.tasks.all():
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"), lead_time=1.5)
    text = export_text(api, project, export_type)
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t" if export_type == "TSV" else ","))
    assert sorted(row["text"] for row in rows) == sorted("'" + formula for formula in FORMULAS)
    # Header cells come from task data too: a data key is neutralised like a value.
    assert "'=cmd" in rows[0] and "=cmd" not in rows[0]
    # Numbers are not text a spreadsheet could run; they stay numbers.
    assert {row["lead_time"] for row in rows} == {"1.5"}
    for line in text.splitlines():
        for cell in next(csv.reader([line], delimiter="\t" if export_type == "TSV" else ",")):
            assert not cell.startswith(("=", "+", "-", "@")), line


@pytest.mark.parametrize("export_type", ["CSV", "TSV"])
def test_a_bare_carriage_return_inside_a_cell_never_splits_the_row(api, make_project, cast, export_type):
    attack = 'harmless\r=HYPERLINK("http://evil.test")'
    project = make_project(tasks=[{"text": attack}, {"text": "second\nrow"}])
    for task in project.tasks.all():
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Negative"))
    text = export_text(api, project, export_type)
    delimiter = "\t" if export_type == "TSV" else ","
    # A reader that ends rows at any CR or LF outside quotes still sees a header and two rows.
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    assert len(rows) == 3
    assert sorted(row[rows[0].index("text")] for row in rows[1:]) == sorted([attack, "second\nrow"])
    assert '"harmless\r=HYPERLINK(""http://evil.test"")"' in text


def test_neutralise_leaves_ordinary_text_alone():
    assert neutralise("Rates up") == "Rates up"
    assert neutralise("") == ""
    assert neutralise("a=b") == "a=b"
    assert neutralise("-5") == "'-5"

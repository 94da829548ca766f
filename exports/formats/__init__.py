"""Export formats. Each module turns rows (``ExportTask`` with its annotations and predictions) into text
chunks; none touches the database. ``FORMATS`` maps Label Studio's exportType to the module's writer."""

from exports.formats import csv_table, json_full, json_min

FORMATS = {
    "JSON": json_full,
    "JSON_MIN": json_min,
    "CSV": csv_table,
    "TSV": csv_table,
}

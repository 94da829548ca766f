"""Indexes on the nullable keys of annotations and predictions only where the key is set.

``annotation.parent_prediction_id``, ``annotation.import_job_id``, ``prediction.import_job_id`` and
``prediction.prelabeler_id`` are empty on most rows (every annotation a synchronous import or a plain
submit writes, every imported prediction), yet each had a full index: a write per row for nothing. The
lookups they serve (deleting a prediction, an import job or a pre-labeler sets these keys to NULL
where they point at it) compare with ``=``, which a partial index ``WHERE … IS NOT NULL`` answers.

Django would drop and re-add (so re-validate, scanning the table) each foreign key whose ``db_index``
changes, and copy the whole table on SQLite: the full indexes are dropped here by introspection (their
names carry hashes), on both databases, and the model state changes apart from the database.
"""

import django.db.models.deletion
from django.db import migrations, models

# (table, column): Django's single-column index of the key goes; a partial one replaces it.
KEYS = [
    ("annotation_annotation", "parent_prediction_id"),
    ("annotation_annotation", "import_job_id"),
    ("annotation_prediction", "import_job_id"),
    ("annotation_prediction", "prelabeler_id"),
]

# (model, field, model it points at, related_name) of each key, now without an index of its own.
KEY_FIELDS = [
    ("annotation", "import_job", "annotation.importjob", "+"),
    ("annotation", "parent_prediction", "annotation.prediction", "+"),
    ("prediction", "import_job", "annotation.importjob", "+"),
    ("prediction", "prelabeler", "training.prelabeler", "predictions"),
]
# (model, field, name) of the partial index that replaces each.
PARTIAL_INDEXES = [
    ("annotation", "parent_prediction", "annotation_parent_prediction"),
    ("annotation", "import_job", "annotation_import_job"),
    ("prediction", "import_job", "prediction_import_job"),
    ("prediction", "prelabeler", "prediction_prelabeler"),
]


def drop_full_indexes(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for table, column in KEYS:
            for name, info in connection.introspection.get_constraints(cursor, table).items():
                # The index Django made for the key: named after the table and column, one column.
                if (info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == [column]
                        and name.startswith(f"{table}_{column}_")):  # fmt: skip
                    schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def restore_full_indexes(apps, schema_editor):
    for table, column in KEYS:
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{table}_{column}_full" ON "{table}" ("{column}")')


def _key(to: str, related_name: str) -> models.ForeignKey:
    return models.ForeignKey(
        blank=True,
        db_index=False,
        null=True,
        on_delete=django.db.models.deletion.SET_NULL,
        related_name=related_name,
        to=to,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0019_dashboard_totals"),
        ("training", "0003_training_jobs"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_full_indexes, restore_full_indexes)],
            state_operations=[
                migrations.AlterField(model_name=model, name=field, field=_key(to, related_name))
                for model, field, to, related_name in KEY_FIELDS
            ],
        ),
        *[
            migrations.AddIndex(
                model_name=model,
                index=models.Index(
                    condition=models.Q((f"{field}__isnull", False)), fields=[field], name=name
                ),
            )
            for model, field, name in PARTIAL_INDEXES
        ],
    ]

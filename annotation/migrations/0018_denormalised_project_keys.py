"""Fewer checks and indexes on the rows every import and recompute writes (annotation/models.py,
DENORMALISED_PROJECT).

- The project keys of annotations, predictions and quality rows lose their foreign-key constraint: the
  row's task already references a task that references the project, so the check guarded nothing more
  and cost each row a lookup at commit.
- The single-column indexes on ``task.project_id``, ``annotation.project_id``, ``annotation.task_id``
  and ``prediction.task_id`` are dropped: a composite index starting with the column serves every
  lookup (task_unique_inner_id, annotation_project_author, annotation_task_author,
  prediction_task_best), and each index costs every imported row a write.

Django would drop and then re-add (and so re-validate, scanning the table) each foreign key whose index
changes; on PostgreSQL this migration only drops what goes, found by introspection (the names carry
hashes). SQLite keeps its tables as they are (a change there would copy every table whole); the model
state is the same on both.
"""

import django.db.models.deletion
from django.db import migrations, models

# (table, column) whose foreign-key constraint goes, and whose own single-column index goes.
CONSTRAINTS = [
    ("annotation_annotation", "project_id"),
    ("annotation_prediction", "project_id"),
    ("annotation_taskquality", "project_id"),
]
INDEXES = [
    ("annotation_task", "project_id"),
    ("annotation_annotation", "project_id"),
    ("annotation_annotation", "task_id"),
    ("annotation_prediction", "task_id"),
    ("annotation_taskquality", "project_id"),
]


def drop(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for table, column in CONSTRAINTS:
            for name, info in connection.introspection.get_constraints(cursor, table).items():
                if info["foreign_key"] and info["columns"] == [column]:
                    schema_editor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for table, column in INDEXES:
            for name, info in connection.introspection.get_constraints(cursor, table).items():
                # The index Django made for the foreign key: named after the table and column, plain btree.
                if (info["index"] and not info["unique"] and info["columns"] == [column]
                        and info.get("type") == "idx" and name.startswith(f"{table}_{column}_")):  # fmt: skip
                    schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def restore(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    for table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{table}_{column}_single" ON "{table}" ("{column}")'
        )
    for table, column in CONSTRAINTS:
        # NOT VALID: the rows were written by the services, which set the task's project; no scan.
        schema_editor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_{column}_fk" FOREIGN KEY ("{column}") '
            'REFERENCES "annotation_project" ("id") DEFERRABLE INITIALLY DEFERRED NOT VALID'
        )


class Migration(migrations.Migration):
    dependencies = [("annotation", "0017_search_text_statistics")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop, restore)],
            state_operations=[
                migrations.AlterField(
                    model_name="annotation",
                    name="project",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="annotations",
                        to="annotation.project",
                    ),
                ),
                migrations.AlterField(
                    model_name="annotation",
                    name="task",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="annotations",
                        to="annotation.task",
                    ),
                ),
                migrations.AlterField(
                    model_name="prediction",
                    name="project",
                    field=models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="predictions",
                        to="annotation.project",
                    ),
                ),
                migrations.AlterField(
                    model_name="prediction",
                    name="task",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="predictions",
                        to="annotation.task",
                    ),
                ),
                migrations.AlterField(
                    model_name="task",
                    name="project",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="tasks",
                        to="annotation.project",
                    ),
                ),
                migrations.AlterField(
                    model_name="taskquality",
                    name="project",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="annotation.project",
                    ),
                ),
            ],
        )
    ]

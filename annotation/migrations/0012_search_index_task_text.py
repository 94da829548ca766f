"""Full-text search moves off the import's path: ``TaskSearchText`` holds each task's data as text with
the pg_trgm GIN index, and the trigram index on ``annotation_task`` (``task_data_trgm``, 0009) goes.

Maintaining that index cost an import about 65 µs a task (a COPY of 100k tasks: 0.4 s without it,
6.7 s with it), which the import targets cannot carry at a million tasks. Search rows are now written
after an import commits, by a job (annotation/services/search_index.py).

Safe on big tables, as 0009 and 0011: ``atomic = False``; existing tasks' rows are filled one bounded
range of task ids per statement (each commits on its own), then the trigram index is built
``CONCURRENTLY`` over the filled table (one bulk build, cheaper than growing it row by row) and the
old index dropped ``CONCURRENTLY``. Each project's watermark is set to its highest task id. Run it
with the workers stopped, as any upgrade: an import of the previous release committing during the
fill could leave tasks under the watermark without a row (the sweep does not look below it).
"""

import django.db.models.deletion
from django.db import migrations, models

# Task ids covered per INSERT.
BATCH_IDS = 20000

SEARCH_TABLE = "annotation_tasksearchtext"
SEARCH_TRIGRAM = "task_search_text_trgm"
DATA_TRIGRAM = "task_data_trgm"


def _trigram_available(schema_editor) -> bool:
    """As in 0009: pg_trgm is a trusted extension; where it cannot be added, search scans instead."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone():
            return True
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # noqa: BLE001 - no privilege or not installed: the filter scans instead
            return False
    return True


def fill_search_text(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        # SQLite's text filter is a LIKE scan of the tasks: it reads no search rows.
        return
    Task = apps.get_model("annotation", "Task")
    bounds = Task.objects.aggregate(low=models.Min("id"), high=models.Max("id"))
    if bounds["low"] is not None:
        low = bounds["low"]
        while low <= bounds["high"]:
            schema_editor.execute(
                f'INSERT INTO "{SEARCH_TABLE}" ("task_id", "project_id", "text") '
                'SELECT "id", "project_id", "data"::text FROM "annotation_task" WHERE "id" >= %s AND "id" < %s '
                'ON CONFLICT ("task_id") DO NOTHING',
                (low, low + BATCH_IDS),
            )
            low += BATCH_IDS
    schema_editor.execute(
        'UPDATE "annotation_project" p SET "search_indexed_through_id" = COALESCE('
        '(SELECT MAX(t."id") FROM "annotation_task" t WHERE t."project_id" = p."id"), 0), '
        '"search_indexed_layout_version" = p."task_layout_version"'
    )


def move_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    if _trigram_available(schema_editor):
        # A failed concurrent build leaves an invalid index: drop any of the name first.
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{SEARCH_TRIGRAM}"')
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY "{SEARCH_TRIGRAM}" ON "{SEARCH_TABLE}" USING gin ("text" gin_trgm_ops)'
        )
    schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{DATA_TRIGRAM}"')


def restore_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{SEARCH_TRIGRAM}"')
    if _trigram_available(schema_editor):
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{DATA_TRIGRAM}"')
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY "{DATA_TRIGRAM}" ON "annotation_task" USING gin (("data"::text) gin_trgm_ops)'
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("annotation", "0011_task_state_fill_and_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="search_indexed_layout_version",
            field=models.BigIntegerField(db_default=0, default=0),
        ),
        migrations.AddField(
            model_name="project",
            name="search_indexed_through_id",
            field=models.BigIntegerField(
                db_default=0,
                default=0,
                help_text="Tasks with ids up to this one have their search text indexed.",
            ),
        ),
        migrations.CreateModel(
            name="TaskSearchText",
            fields=[
                (
                    "task",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="annotation.task",
                    ),
                ),
                ("text", models.TextField(help_text="The task's data as PostgreSQL writes jsonb as text.")),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="annotation.project"
                    ),
                ),
            ],
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
        migrations.RunPython(move_trigram_index, restore_trigram_index),
    ]

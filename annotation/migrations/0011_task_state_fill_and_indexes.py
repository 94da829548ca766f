"""Fills ``Task.state`` and ``Task.is_gold`` for tasks written before reviews existed, then builds the
review queue's and the task states' indexes.

Safe on big tables, as 0009: ``atomic = False``, the fill commits a bounded range of task ids per
statement, and PostgreSQL builds each index ``CONCURRENTLY`` after dropping an invalid leftover.
"""

from django.db import migrations, models

# Task ids covered per UPDATE.
BATCH_IDS = 20000

TASK_STATE = "task_project_state"
TASK_GOLD = "task_project_gold"
ANNOTATION_REVIEW_QUEUE = "annotation_review_queue"


def fill_task_state(apps, schema_editor):
    Task = apps.get_model("annotation", "Task")
    bounds = Task.objects.aggregate(low=models.Min("id"), high=models.Max("id"))
    if bounds["low"] is None:
        return
    # Tasks labeled before reviews existed stay "labeled": nobody reviewed them, and a review
    # policy chosen later decides which go to review.
    statement = (
        "UPDATE annotation_task SET state = CASE WHEN is_labeled THEN 'labeled' ELSE 'in_progress' END, "
        "is_gold = EXISTS (SELECT 1 FROM annotation_annotation a WHERE a.task_id = annotation_task.id "
        "AND a.ground_truth) "
        "WHERE id >= %s AND id < %s AND (is_labeled OR total_annotations > 0 OR cancelled_annotations > 0)"
    )
    low = bounds["low"]
    while low <= bounds["high"]:
        schema_editor.execute(statement, (low, low + BATCH_IDS))
        low += BATCH_IDS


def _index(schema_editor, table: str, name: str, definition: str) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
        schema_editor.execute(f'CREATE INDEX CONCURRENTLY "{name}" ON "{table}" {definition}')
    else:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
        schema_editor.execute(f'CREATE INDEX "{name}" ON "{table}" {definition}')


def _drop(schema_editor, name: str) -> None:
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f'DROP INDEX{concurrently} IF EXISTS "{name}"')


def add_indexes(apps, schema_editor):
    _index(schema_editor, "annotation_task", TASK_STATE, '("project_id", "state", "inner_id")')
    _index(schema_editor, "annotation_task", TASK_GOLD, '("project_id", "inner_id") WHERE "is_gold"')
    _index(schema_editor, "annotation_annotation", ANNOTATION_REVIEW_QUEUE, '("project_id", "review_state", "id")')


def drop_indexes(apps, schema_editor):
    for name in (ANNOTATION_REVIEW_QUEUE, TASK_GOLD, TASK_STATE):
        _drop(schema_editor, name)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("annotation", "0010_review_gold_comments"),
    ]

    operations = [
        migrations.RunPython(fill_task_state, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="annotation",
                    index=models.Index(fields=["project", "review_state", "id"], name="annotation_review_queue"),
                ),
                migrations.AddIndex(
                    model_name="task",
                    index=models.Index(fields=["project", "state", "inner_id"], name="task_project_state"),
                ),
                migrations.AddIndex(
                    model_name="task",
                    index=models.Index(
                        condition=models.Q(("is_gold", True)), fields=["project", "inner_id"], name="task_project_gold"
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(add_indexes, drop_indexes)],
        ),
    ]

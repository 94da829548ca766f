"""The data table's filters: ``Task.labels`` (filled from existing annotations) and its indexes.

Safe on big tables: ``atomic = False``, so the fill commits batch by batch (each a bounded range of
task ids) and PostgreSQL builds every index ``CONCURRENTLY`` (writes go on meanwhile). A failed
concurrent build leaves an invalid index, so each build first drops any index of its name.
"""

from django.db import migrations, models

from annotation.result_labels import task_labels

# Tasks with annotations filled per batch; each batch is one read of their annotations and one UPDATE.
BATCH_TASKS = 2000

LABELS_GIN = "task_labels_gin"
DATA_TRIGRAM = "task_data_trgm"
ANNOTATION_ORDER = "task_project_annotations"


def fill_task_labels(apps, schema_editor):
    Annotation = apps.get_model("annotation", "Annotation")
    Task = apps.get_model("annotation", "Task")
    last_task = 0
    while True:
        task_ids = list(
            Annotation.objects.filter(task_id__gt=last_task, was_cancelled=False)
            .order_by("task_id")
            .values_list("task_id", flat=True)
            .distinct()[:BATCH_TASKS]
        )
        if not task_ids:
            return
        results: dict[int, list] = {task_id: [] for task_id in task_ids}
        rows = Annotation.objects.filter(
            task_id__gte=task_ids[0], task_id__lte=task_ids[-1], was_cancelled=False
        ).values_list("task_id", "result")
        for task_id, result in rows:
            results[task_id].append(result)
        tasks = [Task(pk=task_id, labels=task_labels(found)) for task_id, found in results.items()]
        Task.objects.bulk_update(tasks, ["labels"], batch_size=500)
        last_task = task_ids[-1]


def _index(schema_editor, name: str, definition: str) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
        schema_editor.execute(f'CREATE INDEX CONCURRENTLY "{name}" ON "annotation_task" {definition}')
    else:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
        schema_editor.execute(f'CREATE INDEX "{name}" ON "annotation_task" {definition}')


def _drop(schema_editor, name: str) -> None:
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f'DROP INDEX{concurrently} IF EXISTS "{name}"')


def add_annotation_order_index(apps, schema_editor):
    _index(schema_editor, ANNOTATION_ORDER, '("project_id", "total_annotations", "id")')


def drop_annotation_order_index(apps, schema_editor):
    _drop(schema_editor, ANNOTATION_ORDER)


def _trigram_available(schema_editor) -> bool:
    """pg_trgm ships with PostgreSQL and is a trusted extension (13+): the database's owner may add it.
    Where it cannot be added, text filters still work, by scanning instead of through the index."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone():
            return True
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # noqa: BLE001 - no privilege or not installed: the filter scans instead
            return False
    return True


def add_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        # SQLite filters labels with json_each and text with LIKE: no index type there helps.
        return
    _index(schema_editor, LABELS_GIN, 'USING gin ("labels" jsonb_path_ops)')
    if _trigram_available(schema_editor):
        # Trigrams over the task's whole data as text: a substring search on any field of any
        # project, Japanese included (trigrams need no word segmentation).
        _index(schema_editor, DATA_TRIGRAM, 'USING gin (("data"::text) gin_trgm_ops)')


def drop_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        _drop(schema_editor, DATA_TRIGRAM)
        _drop(schema_editor, LABELS_GIN)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("annotation", "0008_importjob_column_map"),
    ]

    operations = [
        migrations.AddField(
            model_name="task",
            name="labels",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text='Labels and choices in the submitted annotations, per control: {"<control>": ["<label>"]}.',
            ),
        ),
        migrations.RunPython(fill_task_labels, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="task",
                    index=models.Index(
                        fields=["project", "total_annotations", "id"], name="task_project_annotations"
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(add_annotation_order_index, drop_annotation_order_index),
            ],
        ),
        migrations.RunPython(add_search_indexes, drop_search_indexes),
    ]

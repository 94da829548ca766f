from django.db import migrations, models

INDEX = "task_queue_uncertain"


def add_uncertainty_index(apps, schema_editor):
    # Least certain first, unscored tasks last. PostgreSQL sorts NULLs first in a DESC index unless told;
    # SQLite sorts them last in DESC and refuses NULLS LAST in an index. The model declares the SQLite
    # form (what a SQLite table rebuild recreates); PostgreSQL gets NULLS LAST, built without locking
    # the table.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX}"')
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY "{INDEX}" ON "annotation_task" '
            '("project_id", "uncertainty" DESC NULLS LAST, "inner_id") WHERE NOT "is_labeled"'
        )
    else:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')
        schema_editor.execute(
            f'CREATE INDEX "{INDEX}" ON "annotation_task" '
            '("project_id", "uncertainty" DESC, "inner_id") WHERE NOT "is_labeled"'
        )


def drop_uncertainty_index(apps, schema_editor):
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f'DROP INDEX{concurrently} IF EXISTS "{INDEX}"')


class Migration(migrations.Migration):
    """The index of uncertainty sampling: /next reads a project's unlabeled tasks, least certain first."""

    atomic = False

    dependencies = [
        ("annotation", "0015_prelabeling"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="task",
                    index=models.Index(
                        models.F("project"),
                        models.OrderBy(models.F("uncertainty"), descending=True),
                        models.F("inner_id"),
                        condition=models.Q(("is_labeled", False)),
                        name=INDEX,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(add_uncertainty_index, drop_uncertainty_index),
            ],
        ),
    ]

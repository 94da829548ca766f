"""An index for a task's history: the audit events of one object. Built ``CONCURRENTLY`` on
PostgreSQL (``atomic = False``), so an install with a large audit log keeps writing meanwhile."""

from django.db import migrations, models

NAME = "audit_object"


def add_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{NAME}"')
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY "{NAME}" ON "tessera_auditevent" ("object_type", "object_id")'
        )
    else:
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{NAME}" ON "tessera_auditevent" ("object_type", "object_id")')


def drop_index(apps, schema_editor):
    concurrently = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
    schema_editor.execute(f'DROP INDEX{concurrently} IF EXISTS "{NAME}"')


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tessera", "0004_invitations_membership_active"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="auditevent",
                    index=models.Index(fields=["object_type", "object_id"], name=NAME),
                ),
            ],
            database_operations=[migrations.RunPython(add_index, drop_index)],
        ),
    ]

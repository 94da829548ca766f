import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):
    """The index of uncertainty sampling: /next reads a project's unlabeled tasks, least certain first."""

    dependencies = [
        ("annotation", "0015_prelabeling"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                models.F("project"),
                django.db.models.expressions.OrderBy(
                    models.F("uncertainty"), descending=True, nulls_last=True
                ),
                models.F("inner_id"),
                condition=models.Q(("is_labeled", False)),
                name="task_queue_uncertain",
            ),
        ),
    ]

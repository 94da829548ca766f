"""The project's agreement statistics spread over shard rows (annotation.models.ProjectQualityShard):
the old single row of each project becomes its shard 0; backwards, the shards are summed again.
``TaskQuality.stats`` becomes JSON text (PostgreSQL converts in place with ``USING stats::text``)."""

import django.db.models.deletion
from django.db import migrations, models

BATCH = 500


def _add(total: dict, part: dict) -> dict:
    # annotation.quality.agreement.stats_add, frozen here: a migration must not follow the app's code.
    for key, value in part.items():
        if isinstance(value, dict):
            inner = _add(total.get(key) or {}, value)
            if inner:
                total[key] = inner
            else:
                total.pop(key, None)
        elif isinstance(value, list):
            summed = [x + y for x, y in zip(total.get(key) or [0] * len(value), value, strict=True)]
            if any(summed):
                total[key] = summed
            else:
                total.pop(key, None)
        else:
            summed_value = total.get(key, 0) + value
            if summed_value:
                total[key] = summed_value
            else:
                total.pop(key, None)
    return total


def forwards(apps, schema_editor):
    ProjectQuality = apps.get_model("annotation", "ProjectQuality")
    ProjectQualityShard = apps.get_model("annotation", "ProjectQualityShard")
    after = -1
    while True:
        rows = list(ProjectQuality.objects.filter(project_id__gt=after).order_by("project_id")[:BATCH])
        if not rows:
            return
        after = rows[-1].project_id
        ProjectQualityShard.objects.bulk_create(
            [
                ProjectQualityShard(
                    project_id=row.project_id,
                    shard=0,
                    stats=row.stats,
                    tasks=row.tasks,
                    annotations=row.annotations,
                )
                for row in rows
            ]
        )


def backwards(apps, schema_editor):
    ProjectQuality = apps.get_model("annotation", "ProjectQuality")
    ProjectQualityShard = apps.get_model("annotation", "ProjectQualityShard")
    after = -1
    while True:
        ids = list(
            ProjectQualityShard.objects.filter(project_id__gt=after)
            .order_by("project_id")
            .values_list("project_id", flat=True)
            .distinct()[:BATCH]
        )
        if not ids:
            return
        after = ids[-1]
        sums: dict[int, list] = {}
        for project_id, stats, tasks, annotations in ProjectQualityShard.objects.filter(
            project_id__in=ids
        ).values_list("project_id", "stats", "tasks", "annotations"):
            entry = sums.setdefault(project_id, [{}, 0, 0])
            entry[0] = _add(entry[0], stats)
            entry[1] += tasks
            entry[2] += annotations
        ProjectQuality.objects.bulk_create(
            [
                ProjectQuality(project_id=project_id, stats=stats, tasks=tasks, annotations=annotations)
                for project_id, (stats, tasks, annotations) in sums.items()
            ]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0014_merge_search_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProjectQualityShard",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("shard", models.PositiveSmallIntegerField()),
                ("stats", models.JSONField(default=dict)),
                (
                    "tasks",
                    models.BigIntegerField(
                        default=0, help_text="Tasks with two or more submitted annotations."
                    ),
                ),
                (
                    "annotations",
                    models.BigIntegerField(default=0, help_text="Submitted annotations on those tasks."),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="quality_shards",
                        to="annotation.project",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("project", "shard"), name="project_quality_shard_unique")
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
        migrations.DeleteModel(name="ProjectQuality"),
        migrations.AlterField(
            model_name="taskquality",
            name="stats",
            field=models.TextField(
                default="{}",
                help_text="Per control: this task's share of the project's statistics, as JSON text.",
            ),
        ),
    ]

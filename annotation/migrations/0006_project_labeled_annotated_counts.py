from django.db import migrations, models
from django.db.models import Count, OuterRef, Q, Subquery


def fill_task_counts(apps, schema_editor):
    """Projects made before these counters existed get them from their tasks, one project at a time
    (each UPDATE reads one project's tasks through the project_id index, not the whole table)."""
    Project = apps.get_model("annotation", "Project")
    Task = apps.get_model("annotation", "Task")
    counts = (
        Task.objects.filter(project=OuterRef("pk"))
        .values("project")
        .annotate(
            labeled=Count("id", filter=Q(is_labeled=True)), annotated=Count("id", filter=Q(total_annotations__gt=0))
        )
    )
    for project_id in Project.objects.values_list("pk", flat=True).iterator():
        Project.objects.filter(pk=project_id).update(
            labeled_task_count=models.functions.Coalesce(Subquery(counts.values("labeled")[:1]), 0),
            annotated_task_count=models.functions.Coalesce(Subquery(counts.values("annotated")[:1]), 0),
        )


class Migration(migrations.Migration):

    dependencies = [
        ("annotation", "0005_importjob_lease"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="annotated_task_count",
            field=models.BigIntegerField(default=0, help_text="Tasks with a submitted annotation."),
        ),
        migrations.AddField(
            model_name="project",
            name="labeled_task_count",
            field=models.BigIntegerField(
                default=0, help_text="Tasks with as many submitted annotations as the overlap asks (is_labeled)."
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="task_layout_version",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(fill_task_counts, migrations.RunPython.noop),
    ]

"""Running totals kept on the project row, so that paging a million tasks needs no COUNT(*) or SUM.

Every service that adds or removes tasks, annotations or predictions calls this
in its own transaction. The UPDATE holds the project's row lock only until that
transaction commits, a millisecond for a submit.
"""

from django.db.models import F

from annotation.models import Project


def project_totals_add(project_id: int, *, tasks: int = 0, annotations: int = 0, predictions: int = 0) -> None:
    changes = {}
    if tasks:
        changes["task_count"] = F("task_count") + tasks
    if annotations:
        changes["annotation_total"] = F("annotation_total") + annotations
    if predictions:
        changes["prediction_total"] = F("prediction_total") + predictions
    if changes:
        Project.objects.filter(pk=project_id).update(**changes)

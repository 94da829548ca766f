"""The labeled examples a learning pre-labeler fits on: one per task, the answer the project trusts.

Which answers are trusted depends on review:

* no verdict given yet in the project (no annotation accepted, fixed or rejected): every submitted,
  non-skipped answer;
* review policy ``all`` once reviewing started: accepted answers (a fix: the reviewer's corrected
  result) and gold ground truth, since every other answer will be reviewed;
* a sampling or low-agreement policy, which leaves tasks unreviewed for good: every submitted answer
  but the rejected ones.

One example per task: the gold ground truth first, then an accepted (or fixed) answer, then the most
recent submitted one. ``labeled_count`` counts the same tasks without reading results; the job runner
compares it with ``Prelabeler.fitted_examples`` to know whether the fit is older than the labels.
"""

from typing import Any

from django.db.models import Q, QuerySet

from annotation.models import Annotation, Project, ReviewPolicy, ReviewState, Verdict
from annotation.models import Review as ReviewRow
from training.prelabelers.base import Example

TRUSTED = (ReviewState.ACCEPTED, ReviewState.FIXED)
REVIEWED = (ReviewState.ACCEPTED, ReviewState.FIXED, ReviewState.REJECTED)


def _review_started(project_id: int) -> bool:
    # Three probes of the (project, review_state, id) index.
    return Annotation.objects.filter(project_id=project_id, review_state__in=REVIEWED).exists()


def _mode(project: Project) -> str:
    """ "submitted", "trusted" or "not_rejected" (see the module's docstring)."""
    if not _review_started(project.pk):
        return "submitted"
    return "trusted" if project.review_policy == ReviewPolicy.ALL else "not_rejected"


def _answers(project: Project, mode: str) -> QuerySet[Annotation]:
    answers = Annotation.objects.filter(project_id=project.pk, was_cancelled=False)
    if mode == "trusted":
        return answers.filter(Q(review_state__in=TRUSTED) | Q(ground_truth=True))
    if mode == "not_rejected":
        return answers.exclude(review_state=ReviewState.REJECTED)
    return answers


def labeled_count(project: Project) -> int:
    """How many tasks have an example: a counter when nothing was reviewed, else one grouped count."""
    mode = _mode(project)
    if mode == "submitted":
        # Tasks with a submitted answer, kept by the services (annotation/services/counters.py): read
        # fresh, since the caller's project row may be old.
        return (
            Project.objects.filter(pk=project.pk).values_list("annotated_task_count", flat=True).first() or 0
        )
    return _answers(project, mode).values("task_id").distinct().count()


def labeled_examples(project: Project) -> list[Example]:
    mode = _mode(project)
    best: dict[int, tuple[tuple[bool, bool, int], int]] = {}
    rows = (
        _answers(project, mode)
        .order_by()
        .values_list("id", "task_id", "ground_truth", "review_state")
        .iterator(chunk_size=5000)
    )
    for annotation_id, task_id, ground_truth, review_state in rows:
        rank = (bool(ground_truth), review_state in TRUSTED, annotation_id)
        if task_id not in best or rank > best[task_id][0]:
            best[task_id] = (rank, annotation_id)
    chosen = sorted((annotation_id for _rank, annotation_id in best.values()))
    fixes: dict[int, Any] = {}
    ordered: list[tuple[bool, int, Example]] = []
    # SQLite allows 32,766 parameters a statement; chunks keep both databases' plans simple.
    for start in range(0, len(chosen), 2000):
        chunk = chosen[start : start + 2000]
        for annotation_id, result in (
            ReviewRow.objects.filter(annotation_id__in=chunk, verdict=Verdict.FIX)
            .order_by("annotation_id", "id")
            .values_list("annotation_id", "result")
        ):
            fixes[annotation_id] = result  # the last fix wins
        rows_with_data = Annotation.objects.filter(pk__in=chunk).values_list(
            "id", "task_id", "result", "task__data", "ground_truth"
        )
        for annotation_id, task_id, result, data, ground_truth in rows_with_data:
            example = Example(task_id=task_id, data=data, result=fixes.get(annotation_id, result) or [])
            ordered.append((not ground_truth, task_id, example))
    # Gold ground truth first, then by task.
    ordered.sort(key=lambda item: (item[0], item[1]))
    return [example for _gold_last, _task_id, example in ordered]

"""Blind annotation: which annotations a member may see. The one rule, stated once; every read that
shows annotations or their contents (task detail and lists, annotation list and detail, task history,
the data table's filters) goes through it.

* Reviewers and above see every annotation.
* An annotator sees their own annotations (drafts are private to their author everywhere already).
* With ``Project.show_annotations_after_submit``, an annotator who has submitted (not skipped) an
  annotation of a task also sees the other submitted (not skipped) annotations of that task.
* An annotator never sees another member's ground truth (gold) annotation.
* Predictions are suggestions and stay visible to everyone.

The rule is a SQL condition on the annotation table (one ``EXISTS`` on the (task, completed_by) index
when the project shows others' work after a submit, else a plain equality), so a list filters in the
statement that reads it and costs no query per row.
"""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from annotation.models import Annotation, Project
from annotation.task_filters import Condition, TaskQuery
from tessera.errors import PermissionDenied
from tessera.models import ROLE_RANK, Membership, Role

# Data table columns computed from everyone's annotations (Task.labels holds every submitted label;
# the annotators filter tells who answered a task): refused to callers who see only their own work.
BLIND_FILTER_KINDS = ("labels", "annotators")


def sees_all_annotations(membership: Membership) -> bool:
    return membership.rank >= ROLE_RANK[Role.REVIEWER]


def visible_annotations_q(*, membership: Membership, project: Project | None = None) -> Q | None:
    """The condition on ``Annotation`` rows the caller may see, or None when they see every one.

    ``project``: the project every row belongs to (its setting decides without a join); without it the
    condition reads each row's project."""
    if sees_all_annotations(membership):
        return None
    user_id = membership.user_id
    own = Q(completed_by_id=user_id)
    if project is not None and not project.show_annotations_after_submit:
        return own
    submitted_by_caller = Exists(
        Annotation.objects.filter(task_id=OuterRef("task_id"), completed_by_id=user_id, was_cancelled=False)
    )
    others = Q(was_cancelled=False, ground_truth=False) & Q(submitted_by_caller)
    if project is None:
        others &= Q(project__show_annotations_after_submit=True)
    return own | others


def visible_annotations(
    annotations: QuerySet[Annotation], *, membership: Membership, project: Project | None = None
) -> QuerySet[Annotation]:
    condition = visible_annotations_q(membership=membership, project=project)
    return annotations if condition is None else annotations.filter(condition)


def _kinds(conditions: tuple[Condition, ...]):
    for condition in conditions:
        yield condition.kind
        yield from _kinds(condition.children)


def task_query_check_blind(*, query: TaskQuery, membership: Membership) -> None:
    """403 ``blind_annotation`` for a labels or annotators filter from a caller who sees only their own
    annotations: both are answered from every annotator's work."""
    if sees_all_annotations(membership):
        return
    if any(kind in BLIND_FILTER_KINDS for kind in _kinds(query.conditions)):
        raise PermissionDenied(
            _(
                "Annotators label blind: filters on labels or annotators read everyone's annotations, "
                "and need reviewer or above."
            ),
            code="blind_annotation",
        )

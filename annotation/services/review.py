"""The review queue and verdicts: reviewers take submitted annotations one at a time, locked like
/next, and accept, reject (with a reason) or fix them; a bulk accept covers a data-table selection.

Locking: a verdict follows the rule of annotation/services/counters.py (the project row shared,
then the task row for update), then locks the annotation row and reads its review state fresh:
two reviewers judging one annotation at once queue on it, and the second finds it reviewed (409
``already_reviewed``). The review queue takes its candidate annotation ``FOR UPDATE SKIP LOCKED``
(PostgreSQL), so it never waits for a verdict in flight, and claims the annotation's ``ReviewLock``
with a conditional upsert that only succeeds on a lock that is free, lapsed or the caller's own.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from annotation.models import (
    Annotation,
    AnnotatorDay,
    Comment,
    Project,
    Review,
    ReviewLock,
    ReviewState,
    Task,
    TaskState,
    Verdict,
)
from annotation.selectors import task_ids_selected
from annotation.services.activity_totals import STATE_COLUMNS, activity_after, activity_before
from annotation.services.annotations import result_check
from annotation.services.counters import STATE_TOTALS, project_hold, project_totals_last, task_hold
from annotation.services.project_members import project_member_required
from annotation.services.states import task_state_refresh, task_states_refresh
from annotation.task_filters import TaskQuery
from tessera import validation
from tessera.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from tessera.models import ROLE_RANK, AuditEvent, Membership, Role, User
from tessera.rows import db_datetime
from tessera.services import audit_record

COMMENT_MAX_CHARS = 5000
VERDICT_REVIEW_STATE = {
    Verdict.ACCEPT: ReviewState.ACCEPTED,
    Verdict.REJECT: ReviewState.REJECTED,
    Verdict.FIX: ReviewState.FIXED,
}
MISSING = object()


def reviewer_required(*, membership: Membership, project: Project, user: User) -> None:
    """Reviewers and above review (annotators 403), members of a members-only project only."""
    if membership.rank < ROLE_RANK[Role.REVIEWER]:
        raise PermissionDenied(
            _("Your role (%(role)s) may not review; it needs reviewer or above.") % {"role": membership.role},
            code="role_too_low",
        )
    project_member_required(project=project, user=user, rank=membership.rank)


# ---- the queue ----------------------------------------------------------------------------------

_TABLES = {
    "annotation": Annotation._meta.db_table,
    "task": Task._meta.db_table,
    "lock": ReviewLock._meta.db_table,
}
# The annotation this reviewer holds a live lock on in this project, still waiting for a verdict.
_HELD_SQL = """
SELECT rl."annotation_id" FROM "{lock}" rl JOIN "{annotation}" a ON a."id" = rl."annotation_id"
WHERE rl."reviewer_id" = %s AND a."project_id" = %s AND rl."expires_at" > %s
  AND a."review_state" = 'submitted' AND NOT a."was_cancelled"
ORDER BY rl."id" LIMIT 1
""".format(**_TABLES)
# The oldest task first (inner_id), then its annotations in order; never the reviewer's own, never one
# another reviewer holds.
_CANDIDATE_SQL = """
SELECT a."id" FROM "{annotation}" a JOIN "{task}" t ON t."id" = a."task_id"
WHERE a."project_id" = %s AND a."review_state" = 'submitted' AND NOT a."was_cancelled"
  AND t."state" = 'in_review'
  AND (a."completed_by_id" IS NULL OR a."completed_by_id" <> %s)
  AND NOT EXISTS (SELECT 1 FROM "{lock}" rl WHERE rl."annotation_id" = a."id" AND rl."reviewer_id" <> %s
                  AND rl."expires_at" > %s)
  {passed_over}
ORDER BY t."inner_id", a."id"
LIMIT 1
"""
# Take the lock unless another reviewer holds it live; RETURNING says whether it was taken.
_LOCK_TAKE_SQL = """
INSERT INTO "{lock}" ("annotation_id", "reviewer_id", "expires_at") VALUES (%s, %s, %s)
ON CONFLICT ("annotation_id") DO UPDATE SET "reviewer_id" = excluded."reviewer_id",
  "expires_at" = excluded."expires_at"
WHERE "{lock}"."expires_at" <= %s OR "{lock}"."reviewer_id" = excluded."reviewer_id"
RETURNING "annotation_id"
""".format(**_TABLES)
_RELEASE_OTHERS_SQL = 'DELETE FROM "{lock}" WHERE "reviewer_id" = %s AND "annotation_id" <> %s'.format(
    **_TABLES
)


@dataclass(frozen=True)
class ReviewHandout:
    annotation: Annotation
    task: Task
    reviews: list[Review]
    lock_expires_at: datetime | None


def _candidates(project: Project, reviewer: User, *, at, passed_over: list[int]) -> int | None:
    params: list = [project.pk, reviewer.pk, reviewer.pk, at]
    if connection.vendor == "postgresql":
        sql = _CANDIDATE_SQL.format(**_TABLES, passed_over='AND NOT (a."id" = ANY(%s))')
        sql += " FOR UPDATE OF a SKIP LOCKED"
        params.append(passed_over)
    elif passed_over:
        sql = _CANDIDATE_SQL.format(
            **_TABLES, passed_over=f'AND a."id" NOT IN ({", ".join(["%s"] * len(passed_over))})'
        )
        params.extend(passed_over)
    else:
        sql = _CANDIDATE_SQL.format(**_TABLES, passed_over="")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _handout(annotation_id: int, *, expires_at: datetime | None) -> ReviewHandout:
    annotation = Annotation.objects.select_related("task").get(pk=annotation_id)
    task = annotation.task
    task.annotation_list = list(Annotation.objects.filter(task_id=task.pk).order_by("id"))
    task.prediction_list = list(task.predictions.order_by("-score", "-id")) if task.total_predictions else []
    reviews = list(
        Review.objects.filter(annotation_id=annotation_id)
        .select_related("reviewer", "annotation")
        .order_by("id")
    )
    return ReviewHandout(annotation=annotation, task=task, reviews=reviews, lock_expires_at=expires_at)


@transaction.atomic
def review_next(*, project: Project, reviewer: User, take_lock: bool = True) -> ReviewHandout | None:
    """The next annotation for this reviewer, locked for them (``take_lock``), or None when nothing
    is left. A reviewer holds one annotation at a time: taking one lets go of the one before.
    Without ``take_lock`` (a browser's GET) nothing is written: the held annotation, else the next."""
    now = timezone.now()
    at = db_datetime(now)
    expires_at = now + timedelta(seconds=settings.TESSERA_TASK_LOCK_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(_HELD_SQL, [reviewer.pk, project.pk, at])
        row = cursor.fetchone()
    held = row[0] if row else None
    if not take_lock:
        annotation_id = held or _candidates(project, reviewer, at=at, passed_over=[])
        if annotation_id is None:
            return None
        lock = ReviewLock.objects.filter(annotation_id=annotation_id, reviewer=reviewer).first()
        return _handout(annotation_id, expires_at=lock.expires_at if lock and held else None)
    passed_over: list[int] = []
    annotation_id = held
    with connection.cursor() as cursor:
        while True:
            if annotation_id is None:
                annotation_id = _candidates(project, reviewer, at=at, passed_over=passed_over)
                if annotation_id is None:
                    return None
            # The candidate query's snapshot can miss a lock another reviewer committed meanwhile;
            # the conditional upsert cannot: it takes a free lock or none.
            cursor.execute(_LOCK_TAKE_SQL, [annotation_id, reviewer.pk, db_datetime(expires_at), at])
            if cursor.fetchone() is not None:
                break
            passed_over.append(annotation_id)
            annotation_id = None
        cursor.execute(_RELEASE_OTHERS_SQL, [reviewer.pk, annotation_id])
    return _handout(annotation_id, expires_at=expires_at)


# ---- verdicts -----------------------------------------------------------------------------------


def _clean_verdict(value) -> str:
    if value not in Verdict.values:
        raise ApplicationError(
            _("verdict must be one of: %(values)s.") % {"values": ", ".join(Verdict.values)},
            field="verdict",
            code="invalid_verdict",
        )
    return value


def _clean_comment(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApplicationError(_("comment must be text."), field="comment")
    value = value.strip()
    if len(value) > COMMENT_MAX_CHARS:
        raise ApplicationError(
            _("comment is %(length)s characters; the limit is %(limit)s.")
            % {"length": len(value), "limit": COMMENT_MAX_CHARS},
            field="comment",
            code="too_long",
        )
    return validation.check_text(value, field="comment")


def _open_threads(task_id: int) -> bool:
    return Comment.objects.filter(task_id=task_id, parent__isnull=True, is_resolved=False).exists()


@transaction.atomic
@project_totals_last()
def review_create(
    *, annotation: Annotation, reviewer: User, membership: Membership, verdict, comment=None, result=MISSING
) -> Review:
    """Record a verdict on a submitted annotation and move it and its task (states.py).

    A fix keeps the annotation's result as it was and holds the correction in the review. A
    rejection sends the task back to the annotation's author (the queue hands it to them first)."""
    verdict = _clean_verdict(verdict)
    comment = _clean_comment(comment)
    task = annotation.task
    project = task.project
    reviewer_required(membership=membership, project=project, user=reviewer)
    if annotation.completed_by_id == reviewer.pk:
        raise PermissionDenied(_("You may not review your own annotation."), code="own_annotation")
    if verdict == Verdict.FIX:
        if result is MISSING or result is None:
            raise ApplicationError(_("A fix needs the corrected result."), field="result", code="required")
        result_check(task, result)
    elif result is not MISSING and result is not None:
        raise ApplicationError(
            _("Only a fix carries a result; accept and reject judge the annotation as it is."),
            field="result",
            code="result_not_allowed",
        )
    else:
        result = None
    overlap = project_hold(project.pk)
    locked_task = task_hold(task.pk, message=_("Annotation not found."))
    activity = activity_before([locked_task.pk])
    row = (
        Annotation.objects.select_for_update(of=("self",))
        .filter(pk=annotation.pk)
        .values_list("was_cancelled", "review_state")
        .first()
    )
    if row is None:
        raise NotFound(_("Annotation not found."))
    was_cancelled, review_state = row
    if was_cancelled:
        raise ApplicationError(
            _("A skipped annotation has no answer to review."), field="annotation", code="not_submitted"
        )
    if review_state != ReviewState.SUBMITTED:
        raise Conflict(
            _("This annotation has already been reviewed (%(review_state)s).")
            % {"review_state": review_state},
            code="already_reviewed",
        )
    if verdict != Verdict.REJECT and project.comments_block_acceptance and _open_threads(task.pk):
        raise Conflict(
            _("This task has an open comment thread; resolve it before accepting."), code="open_comments"
        )
    review = Review.objects.create(
        annotation=annotation,
        project_id=project.pk,
        reviewer=reviewer,
        verdict=verdict,
        comment=comment,
        result=result,
    )
    new_review_state = VERDICT_REVIEW_STATE[Verdict(verdict)]
    Annotation.objects.filter(pk=annotation.pk).update(review_state=new_review_state)
    annotation.review_state = new_review_state
    ReviewLock.objects.filter(annotation_id=annotation.pk).delete()
    project.maximum_annotations = overlap
    task_state = task_state_refresh(project, task.pk)
    activity_after(project.pk, [locked_task.pk], activity)
    audit_record(
        actor=reviewer,
        organization=project.organization_id,
        action=f"review.{verdict}",
        obj=annotation,
        details={
            "review": review.pk,
            "task": task.pk,
            "verdict": verdict,
            "comment": comment,
            "review_state": {"from": review_state, "to": new_review_state},
            "task_state": {"from": locked_task.state, "to": task_state},
        },
    )
    return review


def reviews_of(*, annotation: Annotation) -> list[Review]:
    return list(
        Review.objects.filter(annotation=annotation).select_related("reviewer", "annotation").order_by("id")
    )


# ---- bulk accept ----------------------------------------------------------------------------------

IDS_PER_STATEMENT = 1000


@dataclass(frozen=True)
class BulkResult:
    accepted: int
    skipped: int


@transaction.atomic
@project_totals_last()
def reviews_bulk_accept(
    *, project: Project, reviewer: User, membership: Membership, query: TaskQuery, comment=None
) -> BulkResult:
    """Accept every annotation waiting for review on the tasks ``query`` selects. Left out (counted
    as skipped): the reviewer's own, those another reviewer holds, and, when the project says open
    threads block acceptance, those on tasks with one."""
    reviewer_required(membership=membership, project=project, user=reviewer)
    comment = _clean_comment(comment)
    project_hold(project.pk)
    task_ids = task_ids_selected(project=project, query=query)
    now = timezone.now()
    accepted = skipped = 0
    for start in range(0, len(task_ids), IDS_PER_STATEMENT):
        chunk = task_ids[start : start + IDS_PER_STATEMENT]
        # The locking rule, set-based: the tasks in id order, then their annotations.
        list(
            Task.objects.select_for_update().filter(pk__in=chunk).order_by("pk").values_list("pk", flat=True)
        )
        waiting = list(
            Annotation.objects.select_for_update(of=("self",))
            .filter(task_id__in=chunk, was_cancelled=False, review_state=ReviewState.SUBMITTED)
            .order_by("pk")
            .values_list("pk", "task_id", "completed_by_id")
        )
        if not waiting:
            continue
        held_by_others = set(
            ReviewLock.objects.filter(annotation_id__in=[row[0] for row in waiting], expires_at__gt=now)
            .exclude(reviewer=reviewer)
            .values_list("annotation_id", flat=True)
        )
        blocked_tasks: set[int] = set()
        if project.comments_block_acceptance:
            blocked_tasks = set(
                Comment.objects.filter(task_id__in=chunk, parent__isnull=True, is_resolved=False).values_list(
                    "task_id", flat=True
                )
            )
        chosen = [
            (annotation_id, task_id)
            for annotation_id, task_id, author in waiting
            if author != reviewer.pk and annotation_id not in held_by_others and task_id not in blocked_tasks
        ]
        skipped += len(waiting) - len(chosen)
        if not chosen:
            continue
        ids = [annotation_id for annotation_id, _ in chosen]
        touched = sorted({task_id for _, task_id in chosen})
        activity = activity_before(touched)
        reviews = Review.objects.bulk_create(
            [
                Review(annotation_id=annotation_id, project_id=project.pk, reviewer=reviewer,
                       verdict=Verdict.ACCEPT, comment=comment)
                for annotation_id in ids
            ]
        )  # fmt: skip
        Annotation.objects.filter(pk__in=ids).update(review_state=ReviewState.ACCEPTED)
        ReviewLock.objects.filter(annotation_id__in=ids).delete()
        task_states_refresh(project, touched)
        activity_after(project.pk, touched, activity)
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    organization_id=project.organization_id, actor=reviewer, action="review.accept",
                    object_type=Annotation._meta.label_lower, object_id=annotation_id,
                    details={"review": review.pk, "task": task_id, "verdict": Verdict.ACCEPT, "comment": comment,
                             "review_state": {"from": ReviewState.SUBMITTED, "to": ReviewState.ACCEPTED},
                             "bulk": True},
                )
                for (annotation_id, task_id), review in zip(chosen, reviews, strict=True)
            ]
        )  # fmt: skip
        accepted += len(chosen)
    audit_record(
        actor=reviewer,
        organization=project.organization_id,
        action="reviews.bulk_accept",
        obj=project,
        details={"accepted": accepted, "skipped": skipped, "tasks": len(task_ids)},
    )
    return BulkResult(accepted=accepted, skipped=skipped)


# ---- backlog ----------------------------------------------------------------------------------------


def review_backlog(*, project: Project) -> dict:
    """Tasks per state, submitted answers per review state, and how many wait for a reviewer: from the
    project's running totals (annotation/services/activity_totals.py), not from its rows."""
    counts = Project.objects.filter(pk=project.pk).values(
        "task_count", *STATE_TOTALS
    ).first() or dict.fromkeys(("task_count", *STATE_TOTALS), 0)
    tasks: dict[str, int] = {state: counts[column] for state, column in STATE_COLUMNS.items()}
    tasks[TaskState.UNLABELED.value] = counts["task_count"] - sum(tasks.values())
    sums = AnnotatorDay.objects.filter(project=project).aggregate(
        submitted=Sum("submitted"), accepted=Sum("accepted"), rejected=Sum("rejected"), fixed=Sum("fixed")
    )
    answers: dict[str, int] = {state: sums[state] or 0 for state in ("accepted", "rejected", "fixed")}
    answers[ReviewState.SUBMITTED.value] = (sums["submitted"] or 0) - sum(answers.values())
    return {
        "tasks_by_state": {state: tasks[state] for state in TaskState.values},
        "annotations_by_review_state": {state: answers[state] for state in ReviewState.values},
        "to_review": counts["answers_to_review"],
    }


# ---- rejections, for the labeling queue -------------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    annotation: Annotation
    review: Review | None


def rejection_for(*, task_id: int, user: User) -> Rejection | None:
    """The caller's rejected annotation on this task and the verdict that rejected it (the latest)."""
    annotation = (
        Annotation.objects.filter(
            task_id=task_id, completed_by=user, review_state=ReviewState.REJECTED, was_cancelled=False
        )
        .order_by("id")
        .first()
    )
    if annotation is None:
        return None
    review = (
        Review.objects.filter(annotation=annotation, verdict=Verdict.REJECT)
        .select_related("reviewer")
        .order_by("-id")
        .first()
    )
    return Rejection(annotation=annotation, review=review)

"""Annotation, draft and prediction writes. Each keeps the task's counters right in the same transaction.

Every write here follows the one locking rule of ``annotation/services/counters.py``: the project
row shared, then the task row for update, then whatever is counted, read fresh under that lock.
"""

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from annotation.models import Annotation, Draft, Prediction, ReviewPolicy, Task, TaskLock
from annotation.prediction_diff import prediction_diff
from annotation.results import validate_result
from annotation.services import gold
from annotation.services.activity_totals import activity_after, activity_answer_added, activity_before
from annotation.services.checks import clean_model_version, clean_score
from annotation.services.counters import (
    project_hold,
    project_totals_add,
    project_totals_last,
    task_annotation_counters_add,
    task_hold,
    task_labels_after,
    task_labels_set,
)
from annotation.services.project_members import project_member_required
from annotation.services.projects import project_schema
from annotation.services.quality import task_quality_refresh, tasks_quality_forget
from annotation.services.search_index import task_search_text_refresh
from annotation.services.states import review_state_after_edit, task_state_after_submit, task_state_refresh
from tessera import prepared, validation
from tessera.errors import ApplicationError, Conflict, NotFound, PermissionDenied
from tessera.models import ROLE_RANK, Membership, Role, User
from tessera.rows import ModelRows, db_datetime
from tessera.selectors import membership_for
from tessera.services import audit_record


def _check_size(result, *, field: str) -> None:
    # Depth first: json.dumps below recurses once per level.
    validation.check_json(result, field=field)
    # Bytes as stored (UTF-8): Japanese text takes three per character.
    size = len(json.dumps(result, ensure_ascii=False).encode())
    if size > settings.TESSERA_MAX_RESULT_BYTES:
        raise ApplicationError(
            _("The result is %(size)s bytes; the limit is %(limit)s.")
            % {"size": size, "limit": settings.TESSERA_MAX_RESULT_BYTES},
            field=field,
            code="too_large",
        )


def _check_result(task: Task, result) -> None:
    _check_size(result, field="result")
    validate_result(project_schema(task.project), result, task.data, field="")


def result_check(task: Task, result) -> None:
    """A result checked as a submit checks it (size, config, span offsets): 400 naming the region."""
    _check_result(task, result)


def _counter_update(
    locked: Task,
    *,
    project_id: int,
    overlap: int,
    total_delta: int,
    cancelled_delta: int,
    labels: dict | None = None,
    state: str | None = None,
) -> None:
    """Adjust the task's counters and the project's totals that depend on them (is_labeled compares
    the new total with the overlap), and its label set and state when given; ``locked`` is the task
    as task_hold read it."""
    task_annotation_counters_add(
        locked,
        project_id=project_id,
        overlap=overlap,
        total_delta=total_delta,
        cancelled_delta=cancelled_delta,
        labels=labels,
        state=state,
    )


def _may_edit(annotation: Annotation, *, user: User, membership: Membership) -> None:
    if annotation.completed_by_id != user.pk and membership.rank < ROLE_RANK[Role.MANAGER]:
        raise PermissionDenied(_("You may only change your own annotations."), code="not_author")


def _number(value, *, field: str) -> float | None:
    return validation.lead_time(value, field=field)


def _flag(value, *, field: str) -> bool:
    return validation.flag(value, field=field)


def _may_set_ground_truth(membership: Membership | None, value: bool, *, current: bool = False) -> None:
    """Ground truth marks the answer others are measured against: changing it is a manager's call.
    ``membership`` None is a trusted caller (an import, a management command)."""
    if value != current and membership is not None and membership.rank < ROLE_RANK[Role.MANAGER]:
        raise PermissionDenied(
            _("Only managers and above may set ground_truth."), field="ground_truth", code="permission_denied"
        )


def _refuse_reassignment(claimed: dict, current: dict) -> None:
    """The server sets an annotation's author, task and project; a client may repeat them, never change them."""
    for name, value in current.items():
        if claimed.get(name) is not None and claimed[name] != value:
            message = (
                _("completed_by is always the caller; it cannot name someone else.")
                if name == "completed_by"
                else _("%(name)s cannot be changed.") % {"name": name}
            )
            raise PermissionDenied(message, field=name, code="read_only")


def _rank(task: Task, user: User, membership: Membership | None) -> int:
    """The caller's rank in the task's organization (the view passes its membership; a direct call looks it up)."""
    if membership is None:
        membership = membership_for(user=user)
    if membership is None or membership.organization_id != task.project.organization_id:
        membership = Membership.objects.filter(
            user=user, organization_id=task.project.organization_id, is_active=True
        ).first()
    return membership.rank if membership is not None else 0


_ANNOTATIONS, _LOCKS, _DRAFTS = Annotation._meta.db_table, TaskLock._meta.db_table, Draft._meta.db_table
_ANSWER_RULES_SQL = f"""
SELECT
  (SELECT a."id" FROM "{_ANNOTATIONS}" a WHERE a."task_id" = %s AND a."completed_by_id" = %s ORDER BY a."id" LIMIT 1),
  (SELECT COUNT(*) FROM "{_LOCKS}" l WHERE l."task_id" = %s AND l."user_id" <> %s AND l."expires_at" > %s),
  (SELECT COUNT(*) FROM "{_LOCKS}" l WHERE l."task_id" = %s AND l."user_id" = %s AND l."expires_at" > %s),
  (SELECT COUNT(*) FROM "{_LOCKS}" l WHERE l."task_id" = %s AND l."user_id" = %s),
  (SELECT COUNT(*) FROM "{_DRAFTS}" d WHERE d."task_id" = %s AND d."user_id" = %s AND d."annotation_id" IS NULL)
"""

_ANNOTATION_ROWS = ModelRows(Annotation)

_DRAFT_END_SQL = (
    f'DELETE FROM "{_DRAFTS}" WHERE "task_id" = %s AND "user_id" = %s AND "annotation_id" IS NULL'
)
_LOCK_END_SQL = f'DELETE FROM "{_LOCKS}" WHERE "task_id" = %s AND "user_id" = %s'


@dataclass(frozen=True)
class _CallerOnTask:
    """What the caller has on a task, read in one statement under the task's row lock."""

    own_answer: int | None
    held_by_others: int
    held_by_caller: int
    lock_rows: int
    drafts: int


def _caller_on_task(task: Task, *, user: User) -> _CallerOnTask:
    """Run with the task row locked (``task_hold``), so that the statement sees every answer, lock and
    draft committed before (drafts and locks of a task are written under that lock too)."""
    now = db_datetime(timezone.now())
    pair = [task.pk, user.pk]
    with connection.cursor() as cursor:
        prepared.execute(
            cursor, "answer_rules", _ANSWER_RULES_SQL, [*pair, *pair, now, *pair, now, *pair, *pair]
        )
        return _CallerOnTask(*cursor.fetchone())


def _refuse_second_answer(task: Task, state: _CallerOnTask, *, overlap: int, skipping: bool) -> None:
    """An annotator or reviewer answers a task once (a skip is an answer: /next will not hand the task
    back), and submits only while the task has a place under the overlap for them. A skip takes no
    place, so it is refused only as a second answer. ``state`` is read under the task's row lock, so
    ten submits at once make one."""
    own_answer = state.own_answer
    if own_answer is not None:
        raise Conflict(
            _(
                "You have already answered this task (annotation %(own_answer)s); change that answer with PATCH /api/annotations/%(own_answer)s/."
            )
            % {"own_answer": own_answer},
            code="already_answered",
        )
    if skipping or task.is_gold:
        # A gold task is answered by every annotator the queue mixes it in for: its overlap and
        # others' locks do not limit it (its own annotators' answers are scored, not counted toward it).
        return
    if task.total_annotations >= overlap:
        raise Conflict(
            ngettext(
                "This task already has the %(overlap)s annotation the project asks for.",
                "This task already has the %(overlap)s annotations the project asks for.",
                overlap,
            )
            % {"overlap": overlap},
            code="overlap_reached",
        )
    # Without a live lock of their own, the caller may take only a place nobody else holds.
    if not state.held_by_caller and task.total_annotations + state.held_by_others >= overlap:
        raise Conflict(
            _("Another annotator holds this task. Take your next task with /next."), code="task_locked"
        )


@transaction.atomic
@project_totals_last()
def annotation_create(
    *,
    task: Task,
    user: User,
    result,
    was_cancelled: bool = False,
    ground_truth: bool = False,
    lead_time=None,
    parent_prediction_id: int | None = None,
    claimed: dict | None = None,
    membership: Membership | None = None,
) -> Annotation:
    """``claimed`` holds what the client said about completed_by, task and project, to refuse a mismatch;
    ``membership`` is the caller's, for the rules that depend on the role.

    Annotators and reviewers are refused (409) a second answer, a task at its overlap and a task held
    by others; managers and above may add annotations to any task, as Label Studio allows, so that
    scripts loading annotations keep working.
    """
    _refuse_reassignment(
        claimed or {}, {"completed_by": user.pk, "task": task.pk, "project": task.project_id}
    )
    was_cancelled = _flag(was_cancelled, field="was_cancelled")
    ground_truth = _flag(ground_truth, field="ground_truth")
    _may_set_ground_truth(membership, ground_truth)
    lead_time = _number(lead_time, field="lead_time")
    if result is None:
        result = []
    _check_result(task, result)
    if not was_cancelled and not result and not task.project.enable_empty_annotation:
        raise ApplicationError(
            _("This project does not accept empty annotations."), field="result", code="empty_annotation"
        )
    rank = _rank(task, user, membership)
    project_member_required(project=task.project, user=user, rank=rank)
    overlap = project_hold(task.project_id)
    locked = task_hold(task.pk)
    state = None
    if rank < ROLE_RANK[Role.MANAGER]:
        state = _caller_on_task(locked, user=user)
        _refuse_second_answer(locked, state, overlap=overlap, skipping=was_cancelled)
    before = gold.gold_before(locked, touches_truth=ground_truth)
    changes = None
    if parent_prediction_id is not None:
        # Read under the task's lock: a prediction delete takes it too, so the parent cannot vanish now.
        prediction = Prediction.objects.filter(pk=parent_prediction_id, task=task).only("result").first()
        if prediction is None:
            raise ApplicationError(
                _("parent_prediction is not a prediction of this task."), field="parent_prediction"
            )
        changes = prediction_diff(prediction.result, result)
    # A new answer moves the task (annotation/services/states.py); a skip leaves it where it is. The
    # state is written by the counter UPDATE below, computed from the row held.
    task_state = (
        locked.state
        if was_cancelled
        else task_state_after_submit(
            project=task.project, locked=locked, overlap=overlap, new_total=locked.total_annotations + 1
        )
    )
    # Written out (tessera/rows.py): the ORM's save costs several times the INSERT on every submit.
    annotation = _ANNOTATION_ROWS.insert(
        Annotation(
            task=task,
            project_id=task.project_id,
            completed_by=user,
            result=result,
            was_cancelled=was_cancelled,
            ground_truth=ground_truth,
            lead_time=lead_time,
            parent_prediction_id=parent_prediction_id,
            prediction_changes=changes,
        )
    )
    _counter_update(
        locked,
        project_id=task.project_id,
        overlap=overlap,
        total_delta=0 if was_cancelled else 1,
        cancelled_delta=1 if was_cancelled else 0,
        labels=None if was_cancelled else task_labels_after(locked, added=result),
        state=task_state,
    )
    gold.gold_after(project=task.project, task=locked, before=before, actor=user)
    gold.answer_paced(project=task.project, user=user)
    # Agreement and consensus: no statement while the task has fewer than two submitted annotations.
    submitted = locked.total_annotations
    task_quality_refresh(
        task=task, submitted_before=submitted, submitted_after=submitted + (0 if was_cancelled else 1)
    )
    if (
        not was_cancelled
        and task.project.review_policy == ReviewPolicy.LOW_AGREEMENT
        and submitted + 1 >= overlap
    ):
        # The policy reads the agreement just refreshed; only such projects pay this statement.
        task_state = task_state_refresh(task.project, task.pk)
    # Submitting ends the user's draft and their hold on the task (the state read under the task's
    # lock says whether there is either: an annotator's submit usually ends a lock and no draft).
    with connection.cursor() as cursor:
        if state is None or state.drafts:
            prepared.execute(cursor, "draft_end", _DRAFT_END_SQL, [task.pk, user.pk])
        if state is None or state.lock_rows:
            prepared.execute(cursor, "lock_end", _LOCK_END_SQL, [task.pk, user.pk])
    activity_answer_added(annotation, state_before=locked.state, state_after=task_state)
    audit_record(
        actor=user,
        organization=task.project.organization_id,
        action="annotation.skip" if was_cancelled else "annotation.create",
        obj=annotation,
        details={"task_state": task_state} if task_state != locked.state else None,
    )
    return annotation


@transaction.atomic
@project_totals_last()
def annotation_update(
    *, annotation: Annotation, user: User, membership: Membership, fields: dict
) -> Annotation:
    _may_edit(annotation, user=user, membership=membership)
    for forbidden in ("completed_by", "task", "project"):
        if forbidden in fields:
            current = {"completed_by": annotation.completed_by_id, "task": annotation.task_id,
                       "project": annotation.project_id}[forbidden]  # fmt: skip
            if fields[forbidden] != current:
                raise PermissionDenied(
                    _("%(forbidden)s cannot be changed.") % {"forbidden": forbidden},
                    field=forbidden,
                    code="read_only",
                )
    overlap = project_hold(annotation.project_id)
    locked_task = task_hold(annotation.task_id, message=_("Annotation not found."))
    activity = activity_before([locked_task.pk])
    # of=self: the joined task and project rows are read, not locked (the rule above locked them already).
    locked = (
        Annotation.objects.select_for_update(of=("self",))
        .select_related("task__project")
        .filter(pk=annotation.pk)
    ).first()
    if locked is None:
        raise NotFound(_("Annotation not found."))
    annotation = locked
    task = annotation.task
    was_cancelled_before = annotation.was_cancelled
    before = gold.gold_before(
        locked_task, touches_truth=annotation.ground_truth or bool(fields.get("ground_truth"))
    )
    if "result" in fields:
        result = fields["result"] if fields["result"] is not None else []
        _check_result(task, result)
        annotation.result = result
        if annotation.parent_prediction_id is not None:
            prediction = Prediction.objects.filter(pk=annotation.parent_prediction_id).only("result").first()
            annotation.prediction_changes = prediction_diff(prediction.result, result) if prediction else None
    if "was_cancelled" in fields:
        annotation.was_cancelled = _flag(fields["was_cancelled"], field="was_cancelled")
    if "ground_truth" in fields:
        ground_truth = _flag(fields["ground_truth"], field="ground_truth")
        _may_set_ground_truth(membership, ground_truth, current=annotation.ground_truth)
        annotation.ground_truth = ground_truth
    if "lead_time" in fields:
        annotation.lead_time = _number(fields["lead_time"], field="lead_time")
    # The same rule as on create, or clearing a result or un-skipping would slip an empty one in.
    if not annotation.was_cancelled and not annotation.result and not task.project.enable_empty_annotation:
        raise ApplicationError(
            _("This project does not accept empty annotations."), field="result", code="empty_annotation"
        )
    if (
        was_cancelled_before
        and not annotation.was_cancelled
        and locked_task.total_annotations >= overlap
        and _rank(task, user, membership) < ROLE_RANK[Role.MANAGER]
    ):
        # Turning a skip into an answer adds one; at the overlap that would over-annotate the task.
        raise Conflict(
            ngettext(
                "This task already has the %(overlap)s annotation the project asks for.",
                "This task already has the %(overlap)s annotations the project asks for.",
                overlap,
            )
            % {"overlap": overlap},
            code="overlap_reached",
        )
    # The author's change of a rejected answer submits it again (annotation/services/states.py).
    review_state_before = annotation.review_state
    annotation.review_state = review_state_after_edit(
        annotation, by_author=annotation.completed_by_id == user.pk
    )
    annotation.save()
    labels_changed = "result" in fields or annotation.was_cancelled != was_cancelled_before
    labels = task_labels_after(locked_task, recount=True) if labels_changed else None
    if annotation.was_cancelled != was_cancelled_before:
        delta = 1 if was_cancelled_before else -1
        _counter_update(
            locked_task,
            project_id=task.project_id,
            overlap=overlap,
            total_delta=delta,
            cancelled_delta=-delta,
            labels=labels,
        )
    elif labels is not None and labels != locked_task.labels:
        task_labels_set(locked_task.pk, labels)
    gold.gold_after(project=task.project, task=locked_task, before=before, actor=user)
    if labels_changed or "ground_truth" in fields:
        submitted = locked_task.total_annotations
        delta = 0
        if annotation.was_cancelled != was_cancelled_before:
            delta = 1 if was_cancelled_before else -1
        task_quality_refresh(task=task, submitted_before=submitted, submitted_after=submitted + delta)
    Draft.objects.filter(annotation=annotation, user=user).delete()
    details: dict = {"fields": sorted(set(fields) & {"result", "was_cancelled", "ground_truth", "lead_time"})}
    resubmitted = annotation.review_state != review_state_before
    agreement_moved = labels_changed and task.project.review_policy == ReviewPolicy.LOW_AGREEMENT
    if resubmitted or annotation.was_cancelled != was_cancelled_before or agreement_moved:
        details["task_state"] = task_state_refresh(task.project, locked_task.pk)
    if resubmitted:
        details["review_state"] = {"from": review_state_before, "to": annotation.review_state}
        # /next handed the task back with a lock; the answer is in, so the hold ends.
        TaskLock.objects.filter(task_id=locked_task.pk, user=user).delete()
    activity_after(task.project_id, [locked_task.pk], activity)
    audit_record(
        actor=user,
        organization=task.project.organization_id,
        action="annotation.update",
        obj=annotation,
        details=details,
    )
    return annotation


@transaction.atomic
@project_totals_last()
def annotation_delete(*, annotation: Annotation, user: User, membership: Membership) -> None:
    _may_edit(annotation, user=user, membership=membership)
    task = annotation.task
    overlap = project_hold(annotation.project_id)
    locked = task_hold(annotation.task_id, message=_("Annotation not found."))
    activity = activity_before([locked.pk])
    # Read again under the task's lock: a delete that waited for another one finds the row gone
    # (404), and a skip turned into an answer meanwhile is subtracted as what it is now.
    current = Annotation.objects.filter(pk=annotation.pk).values_list("was_cancelled", "ground_truth").first()
    if current is None:
        raise NotFound(_("Annotation not found."))
    was_cancelled, ground_truth = current
    before = gold.gold_before(locked, touches_truth=ground_truth)
    audit_record(
        actor=user, organization=task.project.organization_id, action="annotation.delete", obj=annotation
    )
    _total, deleted = Annotation.objects.filter(pk=annotation.pk).delete()
    if not deleted.get(Annotation._meta.label):
        raise NotFound(_("Annotation not found."))
    _counter_update(
        locked,
        project_id=task.project_id,
        overlap=overlap,
        total_delta=0 if was_cancelled else -1,
        cancelled_delta=-1 if was_cancelled else 0,
        labels=None if was_cancelled else task_labels_after(locked, recount=True),
    )
    gold.gold_after(project=task.project, task=locked, before=before, actor=user)
    submitted = locked.total_annotations
    task_quality_refresh(
        task=task, submitted_before=submitted, submitted_after=submitted - (0 if was_cancelled else 1)
    )
    if not was_cancelled:
        task_state_refresh(task.project, locked.pk)
    activity_after(task.project_id, [locked.pk], activity)


@transaction.atomic
def prediction_create(*, task: Task, user: User, result, model_version="", score=None) -> Prediction:
    if result is None:
        result = []
    _check_result(task, result)
    model_version = clean_model_version(model_version, field="model_version")
    score = clean_score(score, field="score")
    project_hold(task.project_id)
    task_hold(task.pk)
    prediction = Prediction.objects.create(
        task=task, project_id=task.project_id, result=result, model_version=model_version, score=score
    )
    Task.objects.filter(pk=task.pk).update(total_predictions=F("total_predictions") + 1)
    project_totals_add(task.project_id, predictions=1)
    audit_record(
        actor=user, organization=task.project.organization_id, action="prediction.create", obj=prediction
    )
    return prediction


@transaction.atomic
def prediction_update(*, prediction: Prediction, user: User, fields: dict) -> Prediction:
    """Change a prediction's result, score or model version, as Label Studio's PATCH allows."""
    for forbidden in ("task", "project"):
        if forbidden in fields and fields[forbidden] != getattr(prediction, f"{forbidden}_id"):
            raise PermissionDenied(
                _("%(forbidden)s cannot be changed.") % {"forbidden": forbidden},
                field=forbidden,
                code="read_only",
            )
    project_hold(prediction.project_id)
    task_hold(prediction.task_id, message=_("Prediction not found."))
    locked = (
        Prediction.objects.select_for_update(of=("self",))
        .select_related("task__project")
        .filter(pk=prediction.pk)
    ).first()
    if locked is None:
        raise NotFound(_("Prediction not found."))
    prediction = locked
    if "result" in fields:
        result = fields["result"] if fields["result"] is not None else []
        _check_result(prediction.task, result)
        prediction.result = result
    if "model_version" in fields:
        prediction.model_version = clean_model_version(fields["model_version"], field="model_version")
    if "score" in fields:
        prediction.score = clean_score(fields["score"], field="score")
    prediction.save()
    audit_record(
        actor=user,
        organization=prediction.task.project.organization_id,
        action="prediction.update",
        obj=prediction,
        details={"fields": sorted(set(fields) & {"result", "model_version", "score"})},
    )
    return prediction


@transaction.atomic
def prediction_delete(*, prediction: Prediction, user: User) -> None:
    project_hold(prediction.project_id)
    task_hold(prediction.task_id, message=_("Prediction not found."))
    audit_record(
        actor=user,
        organization=prediction.project.organization_id,
        action="prediction.delete",
        obj=prediction,
    )
    # The DELETE's row count decides: a second delete that waited for the first removes nothing (404).
    _total, deleted = Prediction.objects.filter(pk=prediction.pk).delete()
    if not deleted.get(Prediction._meta.label):
        raise NotFound(_("Prediction not found."))
    Task.objects.filter(pk=prediction.task_id).update(total_predictions=F("total_predictions") - 1)
    project_totals_add(prediction.project_id, predictions=-1)


@transaction.atomic
def draft_save(
    *,
    task: Task,
    user: User,
    result,
    lead_time=None,
    annotation: Annotation | None = None,
    draft: Draft | None = None,
) -> Draft:
    """Create or update the user's draft. Drafts are not validated against the config: work in progress may be partial."""
    if not isinstance(result, list):
        raise ApplicationError(_("result must be a list of regions."), field="result")
    _check_size(result, field="result")
    if draft is None:
        # Autosaves can race (two tabs, a retry): holding the task row makes the second wait and
        # then update the draft the first created, instead of adding a duplicate.
        project_hold(task.project_id)
        task_hold(task.pk)
        draft = Draft.objects.filter(task=task, user=user, annotation=annotation).first() or Draft(
            task=task, user=user, annotation=annotation
        )
    if draft.user_id != user.pk:
        raise PermissionDenied(_("You may only change your own drafts."), code="not_author")
    draft.result = result
    draft.lead_time = _number(lead_time, field="lead_time")
    draft.save()
    return draft


@transaction.atomic
def draft_delete(*, draft: Draft, user: User) -> None:
    if draft.user_id != user.pk:
        raise PermissionDenied(_("You may only delete your own drafts."), code="not_author")
    draft.delete()


@transaction.atomic
def task_update(*, task: Task, user: User, fields: dict) -> Task:
    from annotation.results import validate_task_data

    changes = {}
    if "data" in fields:
        validate_task_data(project_schema(task.project), fields["data"], field="data")
        _check_size(fields["data"], field="data")
        changes["data"] = fields["data"]
    if "meta" in fields:
        if not isinstance(fields["meta"], dict):
            raise ApplicationError(_("meta must be a JSON object."), field="meta")
        changes["meta"] = fields["meta"]
    project_hold(task.project_id)
    task_hold(task.pk)
    # Only the fields this edit owns: saving the whole (stale) row would write back the counters
    # as they were when the view read them, over a submit or delete that committed since.
    changes["updated_at"] = timezone.now()
    Task.objects.filter(pk=task.pk).update(**changes)
    if "data" in changes:
        # The data table's search reads this row for tasks under the project's watermark.
        task_search_text_refresh(task.pk)
    for name, value in changes.items():
        setattr(task, name, value)
    audit_record(actor=user, organization=task.project.organization_id, action="task.update", obj=task)
    return task


@transaction.atomic
@project_totals_last()
def task_delete(*, task: Task, user: User) -> None:
    project_hold(task.project_id)
    locked = task_hold(task.pk)
    activity = activity_before([locked.pk])
    # Counted from the rows, under the task's lock: nothing can be added to or removed from it now.
    submitted = Annotation.objects.filter(task_id=task.pk, was_cancelled=False).count()
    if locked.is_gold:
        gold.gold_tasks_removed(project=task.project, task_ids=[task.pk], actor=user)
    audit_record(actor=user, organization=task.project.organization_id, action="task.delete", obj=task)
    tasks_quality_forget(project_id=task.project_id, task_ids=[task.pk])
    _, deleted = locked.delete()
    activity_after(task.project_id, [locked.pk], activity)
    project_totals_add(
        task.project_id,
        tasks=-1,
        annotations=-submitted,
        predictions=-deleted.get(Prediction._meta.label, 0),
        labeled_tasks=-int(locked.is_labeled),
        annotated_tasks=-int(locked.total_annotations > 0),
    )

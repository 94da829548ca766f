"""The task and annotation state machine (docs/ARCHITECTURE.md, "Task and review states").

A task's state follows from facts kept elsewhere, so it is computed, never chosen by a caller:

    unlabeled    no submitted (not skipped) annotation
    in_progress  submitted annotations under the overlap, or a rejected annotation awaiting its author
    labeled      the overlap is reached and the review policy did not select the task
    in_review    the overlap is reached and the policy selects it (or a reviewer has already looked at it)
    done         every submitted annotation is accepted or fixed

An annotation's ``review_state`` moves submitted -> accepted | rejected | fixed by a verdict
(annotation/services/review.py) and rejected -> submitted when its author changes it
(``annotation_update``). Every move happens inside the write that causes it, in its transaction,
with that write's audit event saying who and why.

Two ways to compute the task's state, one rule:
- ``task_state_after_submit``: the hot path. A submit holds the task row ``FOR UPDATE``
  (``task_hold``, which also reads how many of its annotations are rejected), so the new state
  follows from the counters in hand and rides in the counter UPDATE: no statement of its own.
- ``task_states_refresh``: one set-based UPDATE from the annotations themselves, for the writes
  that can move review states (verdicts, edits, deletes) and for project settings that move many
  tasks at once (overlap, review policy). Under the task's row lock, like the counters.
"""

from collections.abc import Iterable

from django.db import connection

from annotation.models import Annotation, Project, ReviewPolicy, ReviewState, Task, TaskQuality, TaskState
from annotation.models import Review as ReviewModel

# A multiplicative (Knuth) hash of the task id, taken modulo 100: which tasks a sample reviews is
# fixed by their ids, the same in Python and in SQL, and spread evenly over any range of ids.
_SAMPLE_MULTIPLIER = 2654435761
_SAMPLE_MODULUS = 4294967296


def sample_bucket(task_id: int) -> int:
    """The task's place (0-99) in the sample: the task is reviewed when it is under the percentage."""
    return (task_id * _SAMPLE_MULTIPLIER) % _SAMPLE_MODULUS % 100


def task_agreement(project: Project, task: Task) -> float | None:
    """The task's agreement for the low_agreement policy; None while it is unknown.

    Per-task agreement is kept by annotation/services/quality.py (``TaskQuality``) in the same
    transaction as the answer that moves it; while it is unknown (fewer than two answers, or only free
    text) a task is treated as selected, so nothing skips review by default.
    """
    return TaskQuality.objects.filter(task_id=task.pk).values_list("agreement", flat=True).first()


def review_selects(project: Project, task: Task) -> bool:
    """Whether the project's review policy sends this (labeled) task to review."""
    policy = project.review_policy
    if policy == ReviewPolicy.SAMPLE:
        return sample_bucket(task.pk) < project.review_sample_percent
    if policy == ReviewPolicy.LOW_AGREEMENT:
        agreement = task_agreement(project, task)
        return agreement is None or agreement < project.review_agreement_threshold
    return True


def task_state_for(
    *, submitted: int, overlap: int, rejected: int, settled: int, selected: bool, reviewed: bool
) -> str:
    """The rule, as plain Python (the SQL of ``task_states_refresh`` says the same).

    ``submitted``: answers that are not skips; ``rejected`` and ``settled`` (accepted or fixed): those
    of them in that review state; ``reviewed``: a reviewer has given a verdict on the task before.
    """
    if rejected:
        return TaskState.IN_PROGRESS
    if submitted == 0:
        return TaskState.UNLABELED
    if submitted < overlap:
        return TaskState.IN_PROGRESS
    if settled == submitted:
        return TaskState.DONE
    if selected or reviewed:
        return TaskState.IN_REVIEW
    return TaskState.LABELED


def task_state_after_submit(*, project: Project, locked: Task, overlap: int, new_total: int) -> str:
    """The state after a new answer (a submitted, unreviewed annotation) on a task held FOR UPDATE.

    ``locked`` is the row as ``task_hold`` read it: its counters, its state and how many of its
    annotations are rejected (``rejected_annotations``). The new answer is unreviewed, so the task
    cannot be done; a task reviewers have already been at (in review or done) stays in review."""
    # The count comes from task_hold's statement. Under READ COMMITTED a submit that waited for the
    # row lock reads it as of before the wait, but the row itself is re-read: a rejection that
    # committed meanwhile left the task in progress at its overlap, which says the same.
    rejected = getattr(locked, "rejected_annotations", 0) or int(
        locked.state == TaskState.IN_PROGRESS and locked.total_annotations >= overlap
    )
    reviewed = locked.state in (TaskState.IN_REVIEW, TaskState.DONE)
    return task_state_for(
        submitted=new_total,
        overlap=overlap,
        rejected=rejected,
        settled=-1,
        # low_agreement is decided after the answer's agreement is refreshed (annotation_create runs
        # task_state_refresh then); until that statement the task counts as selected.
        selected=new_total >= overlap
        and not reviewed
        and (project.review_policy == ReviewPolicy.LOW_AGREEMENT or review_selects(project, locked)),
        reviewed=reviewed,
    )


def _selects_sql(project: Project, id_column: str) -> tuple[str, list]:
    """``review_selects`` as an SQL condition on the task whose id is ``id_column``."""
    if project.review_policy == ReviewPolicy.SAMPLE:
        return (
            f"(({id_column} * {_SAMPLE_MULTIPLIER}) %% {_SAMPLE_MODULUS}) %% 100 < %s",
            [project.review_sample_percent],
        )
    if project.review_policy == ReviewPolicy.LOW_AGREEMENT:
        # Selected unless its agreement is known and at or above the threshold (see task_agreement).
        return (
            f'NOT EXISTS (SELECT 1 FROM "{TaskQuality._meta.db_table}" q WHERE q."task_id" = {id_column} '
            f'AND q."agreement" >= %s)',
            [project.review_agreement_threshold],
        )
    return "1 = 1", []


# The same rule as task_state_for, from the annotations (the task's own submitted counter is exact
# under its row lock, and a counter change in this transaction is already in it).
_REFRESH_SQL = """
UPDATE "{task}" SET "state" = CASE
    WHEN EXISTS (SELECT 1 FROM "{annotation}" a WHERE a."task_id" = "{task}"."id" AND NOT a."was_cancelled"
                 AND a."review_state" = 'rejected') THEN 'in_progress'
    WHEN "total_annotations" = 0 THEN 'unlabeled'
    WHEN "total_annotations" < %s THEN 'in_progress'
    WHEN "total_annotations" = (SELECT COUNT(*) FROM "{annotation}" a WHERE a."task_id" = "{task}"."id"
                 AND NOT a."was_cancelled" AND a."review_state" IN ('accepted', 'fixed')) THEN 'done'
    WHEN {selects} OR EXISTS (SELECT 1 FROM "{review}" r JOIN "{annotation}" a ON a."id" = r."annotation_id"
                 WHERE a."task_id" = "{task}"."id") THEN 'in_review'
    ELSE 'labeled' END
WHERE "project_id" = %s{only}
"""
IDS_PER_STATEMENT = 1000


def _refresh_sql(project: Project, *, ids: int | None) -> tuple[str, list]:
    table = Task._meta.db_table
    selects, select_params = _selects_sql(project, f'"{table}"."id"')
    only = "" if ids is None else f' AND "id" IN ({", ".join(["%s"] * ids)})'
    sql = _REFRESH_SQL.format(
        task=table,
        annotation=Annotation._meta.db_table,
        review=ReviewModel._meta.db_table,
        selects=selects,
        only=only,
    )
    return sql, [project.maximum_annotations, *select_params, project.pk]


def task_states_refresh(project: Project, task_ids: Iterable[int] | None = None) -> None:
    """Set the state of these tasks of ``project`` (all of them when None) from their annotations.

    Callers hold the tasks' rows (``task_hold``) or the project's (a settings change), so the counts
    read here are the committed ones and stay so until the transaction ends."""
    with connection.cursor() as cursor:
        if task_ids is None:
            sql, params = _refresh_sql(project, ids=None)
            cursor.execute(sql, params)
            return
        ids = list(task_ids)
        for start in range(0, len(ids), IDS_PER_STATEMENT):
            chunk = ids[start : start + IDS_PER_STATEMENT]
            sql, params = _refresh_sql(project, ids=len(chunk))
            cursor.execute(sql, [*params, *chunk])


def task_state_refresh(project: Project, task_id: int) -> str:
    """One task's state from its annotations (one UPDATE, one read of the result); returns it."""
    sql, params = _refresh_sql(project, ids=1)
    with connection.cursor() as cursor:
        cursor.execute(sql + ' RETURNING "state"', [*params, task_id])
        row = cursor.fetchone()
    return row[0] if row else TaskState.UNLABELED


def imported_state(*, submitted: int, overlap: int, policy: str) -> str | None:
    """The state a task starts in when an import writes it with ``submitted`` answers (none of them
    reviewed), by ``task_state_for``'s rule; None when it depends on the task's id or agreement (the
    sample and low_agreement policies at the overlap), which ``imported_states_sql`` decides once the
    row exists. Imports write the state in the task's own row, so that most imports never rewrite
    their tasks (an UPDATE of every row of a batch cost a third of its database time)."""
    if submitted == 0:
        return TaskState.UNLABELED.value
    if submitted < overlap:
        return TaskState.IN_PROGRESS.value
    if policy != ReviewPolicy.SAMPLE and policy != ReviewPolicy.LOW_AGREEMENT:
        # review_selects is True under every other policy.
        return TaskState.IN_REVIEW.value
    return None


def imported_states_sql(project: Project) -> tuple[str, list]:
    """After an import wrote tasks with their answers (all of them submitted, none reviewed): the
    states ``imported_state`` left undecided (tasks at the overlap under the sample or low_agreement
    policy), set-based over an inner_id range. Placeholders: the range's first and last inner_id
    follow the returned parameters."""
    table = Task._meta.db_table
    selects, select_params = _selects_sql(project, f'"{table}"."id"')
    sql = f"""
UPDATE "{table}" SET "state" = CASE WHEN {selects} THEN 'in_review' ELSE 'labeled' END
WHERE "project_id" = %s AND "total_annotations" >= %s AND "inner_id" >= %s AND "inner_id" <= %s
"""
    return sql, [*select_params, project.pk, project.maximum_annotations]


def review_state_after_edit(annotation: Annotation, *, by_author: bool) -> str:
    """An annotation its author changes after a rejection is submitted again (back to review)."""
    if by_author and annotation.review_state == ReviewState.REJECTED:
        return ReviewState.SUBMITTED
    return annotation.review_state

"""Gold tasks: keep ``Task.is_gold`` and the annotators' gold scores right, flag and pause annotators
under the project's floor, and resume them.

A task is gold while it has a ``ground_truth`` annotation (only managers and above set the flag). Its
first submitted ground-truth annotation is the truth every other submitted answer on it is scored
against, per control (annotation/quality/gold.py). The scores are running sums per project, user
and control (``GoldScore``), moved in the transaction of the write that changes them, under the
task's row lock (the locking rule of annotation/services/counters.py): the writer reads the task's
answers before and after its change (a handful of rows) and adds the difference of what the task
contributes. Writes to tasks that are not gold, and that do not touch ground_truth, do nothing here.
"""

import functools
import json
from collections.abc import Iterable

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from lxml import etree

from annotation.models import Annotation, AnnotatorGold, GoldScore, Project, Task
from annotation.quality import gold as gold_core
from annotation.quality.gold import GoldAnswer
from annotation.services.projects import project_schema
from tessera.errors import NotFound
from tessera.models import Membership, User
from tessera.services import audit_record

_ANSWERS_SQL = (
    f'SELECT "id", "task_id", "completed_by_id", "result", "was_cancelled", "ground_truth" '
    f'FROM "{Annotation._meta.db_table}" WHERE "task_id" IN ({{ids}}) ORDER BY "id"'
)
_SCORE_UPSERT_SQL = f"""
INSERT INTO "{GoldScore._meta.db_table}" ("project_id", "user_id", "control", "metric", "n", "total")
VALUES {{values}}
ON CONFLICT ("project_id", "user_id", "control") DO UPDATE SET
  "n" = "{GoldScore._meta.db_table}"."n" + excluded."n",
  "total" = "{GoldScore._meta.db_table}"."total" + excluded."total",
  "metric" = excluded."metric"
"""
_STATE = AnnotatorGold._meta.db_table
_STATE_ADD_SQL = f"""
INSERT INTO "{_STATE}" ("project_id", "user_id", "answers", "gold_answers", "gold_answers_at_resume",
  "flagged", "paused")
VALUES (%s, %s, %s, %s, 0, %s, %s)
ON CONFLICT ("project_id", "user_id") DO UPDATE SET
  "answers" = "{_STATE}"."answers" + excluded."answers",
  "gold_answers" = "{_STATE}"."gold_answers" + excluded."gold_answers"
"""
IDS_PER_STATEMENT = 1000


def scored_controls(project: Project) -> dict[str, str]:
    """``{control: metric}`` for the project's config (choices, labels and rating controls)."""
    schema = project_schema(project)
    return gold_core.scored_controls({name: spec.type for name, spec in schema.controls.items()})


@functools.lru_cache(maxsize=256)
def _rating_ranges(label_config: str) -> dict[str, float]:
    try:
        root = etree.fromstring(label_config.encode(), parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError:
        return {}
    ranges = {}
    for element in root.iter("Rating"):
        try:
            maximum = float(element.get("maxRating", "5"))
        except ValueError:
            maximum = 5.0
        ranges[element.get("name", "")] = max(maximum - 1.0, 1.0)
    return ranges


def rating_ranges(project: Project) -> dict[str, float]:
    """maxRating - 1 for each rating control (its largest possible error)."""
    return _rating_ranges(project.label_config)


def _load(value) -> object:
    # A raw cursor hands JSON columns back as text (Django's JSONField decodes them itself).
    return json.loads(value) if isinstance(value, str) else value


def task_answers(task_ids: list[int]) -> dict[int, list[GoldAnswer]]:
    """The annotations of these tasks as the scorer reads them, by task, in id order."""
    found: dict[int, list[GoldAnswer]] = {task_id: [] for task_id in task_ids}
    if not task_ids:
        return found
    with connection.cursor() as cursor:
        for start in range(0, len(task_ids), IDS_PER_STATEMENT):
            chunk = task_ids[start : start + IDS_PER_STATEMENT]
            cursor.execute(_ANSWERS_SQL.format(ids=", ".join(["%s"] * len(chunk))), chunk)
            for annotation_id, task_id, user_id, result, was_cancelled, ground_truth in cursor.fetchall():
                found[task_id].append(
                    GoldAnswer(annotation_id, user_id, _load(result), bool(was_cancelled), bool(ground_truth))
                )
    return found


def gold_before(task: Task, *, touches_truth: bool) -> list[GoldAnswer] | None:
    """What a writer reads before changing the task's annotations (the task row locked): the task's
    answers when it is gold or the change touches ground_truth, else None (nothing to keep)."""
    if not task.is_gold and not touches_truth:
        return None
    return task_answers([task.pk])[task.pk]


def gold_after(*, project: Project, task: Task, before: list[GoldAnswer] | None, actor: User | None) -> None:
    """After the change (same transaction): set ``is_gold`` and move the scores by the difference."""
    if before is None:
        return
    after = task_answers([task.pk])[task.pk]
    is_gold = any(answer.ground_truth for answer in after)
    if is_gold != task.is_gold:
        Task.objects.filter(pk=task.pk).update(is_gold=is_gold)
        task.is_gold = is_gold
    controls = scored_controls(project)
    delta = gold_core.contribution_delta(
        gold_core.task_contribution(controls, before), gold_core.task_contribution(controls, after)
    )
    answered = _count_delta(gold_core.gold_answer_users(before), gold_core.gold_answer_users(after))
    _apply(project=project, controls=controls, delta=delta, answered=answered, actor=actor)


def _count_delta(before: dict[int, int], after: dict[int, int]) -> dict[int, int]:
    moved = {user: after.get(user, 0) - before.get(user, 0) for user in before.keys() | after.keys()}
    return {user: n for user, n in moved.items() if n}


def gold_tasks_removed(*, project: Project, task_ids: Iterable[int], actor: User | None) -> None:
    """Tasks (or all their annotations) are about to be deleted: take their share out of the scores.
    ``task_ids`` are the gold tasks among them; read before the delete, in its transaction."""
    ids = list(task_ids)
    if not ids:
        return
    controls = scored_controls(project)
    delta: gold_core.Contribution = {}
    answered: dict[int, int] = {}
    for answers in task_answers(ids).values():
        for key, (n, total) in gold_core.task_contribution(controls, answers).items():
            cell = delta.setdefault(key, [0, 0.0])
            cell[0] -= n
            cell[1] -= total
        for user, n in gold_core.gold_answer_users(answers).items():
            answered[user] = answered.get(user, 0) - n
    _apply(project=project, controls=controls, delta=delta, answered=answered, actor=actor)


def gold_task_ids(*, project: Project, task_ids: list[int]) -> list[int]:
    """The gold tasks among ``task_ids`` (the partial index task_project_gold answers it)."""
    found: list[int] = []
    for start in range(0, len(task_ids), IDS_PER_STATEMENT):
        chunk = task_ids[start : start + IDS_PER_STATEMENT]
        found.extend(
            Task.objects.filter(project=project, is_gold=True, pk__in=chunk).values_list("pk", flat=True)
        )
    return found


def gold_imported(*, project: Project, task_ids: list[int]) -> None:
    """An import wrote ground-truth annotations on these new tasks: mark them gold (one UPDATE) and add
    the scores of the other answers imported with them. Nothing was scored on new tasks before."""
    if not task_ids:
        return
    Task.objects.filter(pk__in=task_ids).update(is_gold=True)
    controls = scored_controls(project)
    delta: gold_core.Contribution = {}
    answered: dict[int, int] = {}
    for answers in task_answers(task_ids).values():
        for key, (n, total) in gold_core.task_contribution(controls, answers).items():
            cell = delta.setdefault(key, [0, 0.0])
            cell[0] += n
            cell[1] += total
        for user, n in gold_core.gold_answer_users(answers).items():
            answered[user] = answered.get(user, 0) + n
    _apply(project=project, controls=controls, delta=delta, answered=answered, actor=None)


def answer_paced(*, project: Project, user: User) -> None:
    """Count one answer toward the queue's gold pace (projects that mix gold tasks in only)."""
    if project.gold_ratio <= 0:
        return
    with connection.cursor() as cursor:
        cursor.execute(_STATE_ADD_SQL, [project.pk, user.pk, 1, 0, False, False])


def _apply(
    *,
    project: Project,
    controls: dict[str, str],
    delta: gold_core.Contribution,
    answered: dict[int, int],
    actor: User | None,
) -> None:
    if not delta and not answered:
        return
    with connection.cursor() as cursor:
        if delta:
            rows = sorted(delta.items())
            values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
            params: list = []
            for (user_id, control), (n, total) in rows:
                params += [project.pk, user_id, control, controls.get(control, ""), n, total]
            cursor.execute(_SCORE_UPSERT_SQL.format(values=values), params)
        for user_id, n in sorted(answered.items()):
            cursor.execute(_STATE_ADD_SQL, [project.pk, user_id, 0, n, False, False])
    users = sorted({user_id for user_id, _ in delta} | set(answered))
    _floor_check(project=project, user_ids=users, actor=actor)


def annotator_score(
    project: Project, cells: dict[str, tuple[str, int, float]], *, ranges: dict[str, float] | None = None
) -> float | None:
    return gold_core.overall_score(cells, rating_ranges(project) if ranges is None else ranges)


def _floor_check(*, project: Project, user_ids: list[int], actor: User | None) -> None:
    """Flag an annotator whose score is under the floor (after TESSERA_GOLD_MIN_ANSWERS gold answers),
    pause them when the project says so, and clear the flag once they are back above it. Audited."""
    if not user_ids:
        return
    floor = project.gold_score_floor
    states = {
        state.user_id: state
        for state in AnnotatorGold.objects.select_for_update().filter(project=project, user_id__in=user_ids)
    }
    if floor is None and not any(state.flagged for state in states.values()):
        return
    cells: dict[int, dict[str, tuple[str, int, float]]] = {}
    for user_id, control, metric, n, total in GoldScore.objects.filter(
        project=project, user_id__in=user_ids
    ).values_list("user_id", "control", "metric", "n", "total"):
        cells.setdefault(user_id, {})[control] = (metric, n, total)
    minimum = settings.TESSERA_GOLD_MIN_ANSWERS
    now = timezone.now()
    for user_id in user_ids:
        state = states.get(user_id)
        if state is None:
            continue
        score = annotator_score(project, cells.get(user_id, {}))
        below = floor is not None and score is not None and score < floor and state.gold_answers >= minimum
        changed: list[str] = []
        if below and not state.flagged:
            state.flagged, state.flagged_at = True, now
            changed += ["flagged", "flagged_at"]
            _audit(project, actor, "annotator.gold_flag", user_id, score=score, floor=floor)
        elif not below and state.flagged:
            state.flagged = False
            changed.append("flagged")
            _audit(project, actor, "annotator.gold_unflag", user_id, score=score, floor=floor)
        if (
            below
            and project.gold_floor_pauses_queue
            and not state.paused
            and state.gold_answers - state.gold_answers_at_resume >= minimum
        ):
            state.paused, state.paused_at = True, now
            changed += ["paused", "paused_at"]
            _audit(project, actor, "annotator.gold_pause", user_id, score=score, floor=floor)
        if changed:
            state.save(update_fields=changed)


def _audit(project: Project, actor: User | None, action: str, user_id: int, **details) -> None:
    audit_record(
        actor=actor,
        organization=project.organization_id,
        action=action,
        obj=project,
        details={"user": user_id, **details},
    )


def annotator_resume(*, project: Project, user_id: object, actor: User) -> AnnotatorGold | None:
    """A manager lets a paused annotator take tasks again. They stay flagged while their score is under
    the floor, and are paused again only after TESSERA_GOLD_MIN_ANSWERS more gold answers still under it."""
    from tessera import validation

    user_pk = validation.object_id(user_id)
    if not Membership.objects.filter(organization_id=project.organization_id, user_id=user_pk).exists():
        raise NotFound(_("No such member in this organization."), field="user_id")
    state = AnnotatorGold.objects.select_for_update().filter(project=project, user_id=user_pk).first()
    was_paused = bool(state and state.paused)
    if state is not None and state.paused:
        state.paused = False
        state.gold_answers_at_resume = state.gold_answers
        state.save(update_fields=["paused", "gold_answers_at_resume"])
    audit_record(
        actor=actor,
        organization=project.organization_id,
        action="annotator.resume",
        obj=project,
        details={"user": user_pk, "was_paused": was_paused},
    )
    return state

"""Reads for the annotator metrics, the project timeline and gold scores: set-based, a GROUP BY per
table, never a query per annotator or per task.

Medians of lead time use PostgreSQL's ``percentile_cont`` inside the grouped statement; on SQLite the
lead times come back in one ordered statement and the median is taken in Python.
"""

from collections import Counter, defaultdict
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.db.models import Aggregate, Count, FloatField, Q
from django.db.models.functions import TruncDate

from annotation.models import (
    Annotation,
    AnnotatorGold,
    GoldScore,
    Project,
    Review,
    ReviewState,
    Task,
    Verdict,
)
from annotation.quality.agreement import SEP
from annotation.quality.gold import control_value
from annotation.services.gold import annotator_score, rating_ranges
from annotation.services.quality import project_quality


class _Median(Aggregate):
    """PostgreSQL's continuous median of a column."""

    function = "percentile_cont"
    template = "percentile_cont(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _postgres() -> bool:
    return connection.vendor == "postgresql"


# Memory for one grouped statement's sort on PostgreSQL: the median is an ordered-set aggregate, so the
# answers are sorted by annotator (and day), which at 300k answers spilled to disk under the default
# 4 MB (470 ms; 196 ms in memory).
GROUPED_SORT_MEMORY = "64MB"


def _grouped_rows(queryset) -> list[dict]:
    """The grouped statement's rows; on PostgreSQL with ``GROUPED_SORT_MEMORY`` for its sort, set for
    this transaction only."""
    if not _postgres():
        return list(queryset)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [GROUPED_SORT_MEMORY])
        return list(queryset)


def _lead_time_medians(project: Project, *, by_day: bool) -> dict[tuple, float | None]:
    """SQLite only: the median lead time of submitted answers per user (and day), from one statement."""
    rows = Annotation.objects.filter(
        project=project, was_cancelled=False, lead_time__isnull=False, completed_by__isnull=False
    )
    keys = ["completed_by"]
    if by_day:
        rows = rows.annotate(day=TruncDate("created_at"))
        keys = ["day", "completed_by"]
    values: dict[tuple, list[float]] = defaultdict(list)
    for row in rows.order_by(*keys, "lead_time").values_list(*keys, "lead_time"):
        values[tuple(row[:-1])].append(row[-1])
    return {key: _median(found) for key, found in values.items()}


def _emails(user_ids) -> dict[int, str]:
    """The members' e-mails, read apart: joined into a grouped statement, each e-mail widened every
    answer its sort moves (about a third of the leaderboard's statement at 300k answers)."""
    from tessera.models import User

    return dict(User.objects.filter(pk__in=set(user_ids)).values_list("pk", "email"))


def _user(user_id: int, email: str | None) -> dict:
    return {"id": user_id, "email": email or ""}


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _gold_cells(project: Project) -> dict[int, dict[str, tuple[str, int, float]]]:
    cells: dict[int, dict[str, tuple[str, int, float]]] = defaultdict(dict)
    for user_id, control, metric, n, total in GoldScore.objects.filter(project=project, n__gt=0).values_list(
        "user_id", "control", "metric", "n", "total"
    ):
        cells[user_id][control] = (metric, n, total)
    return cells


def _gold_states(project: Project) -> dict[int, dict[str, Any]]:
    return {
        row["user_id"]: dict(row)
        for row in AnnotatorGold.objects.filter(project=project).values(
            "user_id", "user__email", "gold_answers", "flagged", "paused"
        )
    }


def _consensus_agreement(project: Project) -> dict[int, float]:
    """Per annotator, the share of their answers' units equal to the task's consensus, over every
    control and every task with a consensus: from the project's summed statistics (each answer's
    confusion against the consensus, ``references``), so a read of the project's shards, not of its
    answers. A unit is a choice answer, or for spans an offset some annotator marked; a unit where
    neither the answer nor the consensus has a span is not counted (it says nothing of this answer)."""
    agreeing: Counter[int] = Counter()
    units: Counter[int] = Counter()
    for control_stats in project_quality(project.pk).stats.values():
        for user, confusion in ((control_stats.get("references") or {}).get("consensus") or {}).items():
            for cell, count in confusion.items():
                answered, reference = cell.split(SEP)
                if not answered and not reference:
                    continue
                units[int(user)] += count
                if answered == reference:
                    agreeing[int(user)] += count
    return {user: agreeing[user] / count for user, count in units.items() if count}


def annotator_rows(*, project: Project) -> list[dict]:
    """One row per annotator who answered in the project (or has a gold state there)."""
    aggregates: dict[str, Aggregate] = {
        "submitted": Count("id", filter=Q(was_cancelled=False)),
        "skipped": Count("id", filter=Q(was_cancelled=True)),
        "reviewed": Count("id", filter=Q(was_cancelled=False) & ~Q(review_state=ReviewState.SUBMITTED)),
        "rejected": Count("id", filter=Q(was_cancelled=False, review_state=ReviewState.REJECTED)),
        "from_prediction": Count("id", filter=Q(was_cancelled=False, prediction_changes__isnull=False)),
        "unchanged": Count("id", filter=Q(was_cancelled=False, prediction_changes__accepted=True)),
    }
    if _postgres():
        aggregates["median"] = _Median("lead_time", filter=Q(was_cancelled=False))
    grouped = (
        Annotation.objects.filter(project=project, completed_by__isnull=False)
        .values("completed_by")
        .annotate(**aggregates)
        .order_by("completed_by")
    )
    medians = None if _postgres() else _lead_time_medians(project, by_day=False)
    states = _gold_states(project)
    cells = _gold_cells(project)
    ranges = rating_ranges(project)
    rows: dict[int, dict] = {}
    grouped_rows = _grouped_rows(grouped)
    emails = _emails(row["completed_by"] for row in grouped_rows)
    for row in grouped_rows:
        user_id = row["completed_by"]
        median = row["median"] if medians is None else medians.get((user_id,))
        rows[user_id] = {
            "user": _user(user_id, emails.get(user_id)),
            "tasks_done": row["submitted"],
            "median_lead_time": median,
            "skip_rate": _rate(row["skipped"], row["submitted"] + row["skipped"]),
            "rejection_rate": _rate(row["rejected"], row["reviewed"]),
            "prelabel_accepted_unchanged": _rate(row["unchanged"], row["from_prediction"]),
        }
    for user_id, state in states.items():
        rows.setdefault(
            user_id,
            {
                "user": _user(user_id, state["user__email"]),
                "tasks_done": 0,
                "median_lead_time": None,
                "skip_rate": None,
                "rejection_rate": None,
                "prelabel_accepted_unchanged": None,
            },
        )
    agreement = _consensus_agreement(project)
    for user_id, row in rows.items():
        state = states.get(user_id, {})
        row["gold_score"] = annotator_score(project, cells.get(user_id, {}), ranges=ranges)
        row["gold_tasks"] = state.get("gold_answers", 0)
        row["consensus_agreement"] = agreement.get(user_id)
        row["flagged"] = state.get("flagged", False)
        row["paused"] = state.get("paused", False)
    return [rows[user_id] for user_id in sorted(rows)]


def _iso(day: date | str) -> str:
    return day if isinstance(day, str) else day.isoformat()


def annotator_day_rows(*, project: Project) -> list[dict]:
    """Per day (of the answer's creation, in the server's time zone) and annotator."""
    aggregates: dict[str, Aggregate] = {
        "submitted": Count("id", filter=Q(was_cancelled=False)),
        "skipped": Count("id", filter=Q(was_cancelled=True)),
    }
    if _postgres():
        aggregates["median"] = _Median("lead_time", filter=Q(was_cancelled=False))
    grouped = (
        Annotation.objects.filter(project=project, completed_by__isnull=False)
        .annotate(day=TruncDate("created_at"))
        .values("day", "completed_by")
        .annotate(**aggregates)
        .order_by("day", "completed_by")
    )
    medians = None if _postgres() else _lead_time_medians(project, by_day=True)
    days = []
    grouped_rows = _grouped_rows(grouped)
    emails = _emails(row["completed_by"] for row in grouped_rows)
    for row in grouped_rows:
        key = (row["day"], row["completed_by"])
        days.append(
            {
                "date": _iso(row["day"]),
                "user": _user(row["completed_by"], emails.get(row["completed_by"])),
                "tasks_done": row["submitted"],
                "median_lead_time": row["median"] if medians is None else medians.get(key),
                "skip_rate": _rate(row["skipped"], row["submitted"] + row["skipped"]),
            }
        )
    return days


def timeline(*, project: Project) -> list[dict]:
    """Per day: answers submitted, reviews given, and accepting reviews."""
    days: dict[str, dict] = {}

    def day(value) -> dict:
        key = _iso(value)
        return days.setdefault(key, {"date": key, "submitted": 0, "reviewed": 0, "accepted": 0})

    submitted = (
        Annotation.objects.filter(project=project, was_cancelled=False)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    for row in submitted:
        day(row["day"])["submitted"] = row["n"]
    reviews = (
        Review.objects.filter(project=project)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"), accepted=Count("id", filter=Q(verdict=Verdict.ACCEPT)))
        .order_by("day")
    )
    for row in reviews:
        entry = day(row["day"])
        entry["reviewed"], entry["accepted"] = row["n"], row["accepted"]
    return [days[key] for key in sorted(days)]


def gold_report(*, project: Project) -> dict:
    """The project's gold tasks and each annotator's scores per control."""
    cells = _gold_cells(project)
    states = _gold_states(project)
    ranges = rating_ranges(project)
    emails = {user_id: state["user__email"] for user_id, state in states.items()}
    missing = set(cells) - set(emails)
    if missing:
        # A score without a state row cannot happen through the services; read the e-mails anyway.
        emails.update(_emails(missing))
    annotators = []
    for user_id in sorted(set(cells) | set(states)):
        user_cells = cells.get(user_id, {})
        state = states.get(user_id, {})
        annotators.append(
            {
                "user": _user(user_id, emails.get(user_id)),
                "controls": {
                    control: {"metric": metric, "value": control_value(metric, n, total), "n": n}
                    for control, (metric, n, total) in sorted(user_cells.items())
                },
                "score": annotator_score(project, user_cells, ranges=ranges),
                "gold_answers": state.get("gold_answers", 0),
                "flagged": state.get("flagged", False),
                "paused": state.get("paused", False),
            }
        )
    return {
        "gold_tasks": Task.objects.filter(project=project, is_gold=True).count(),
        "annotators": annotators,
    }


def recount(*, project: Project) -> dict[tuple[int, str], tuple[int, float]]:
    """The scores recomputed from every gold task's annotations (for checks and tests)."""
    from annotation.quality.gold import task_contribution
    from annotation.services.gold import scored_controls, task_answers

    controls = scored_controls(project)
    ids = list(Task.objects.filter(project=project, is_gold=True).values_list("pk", flat=True))
    totals: dict[tuple[int, str], list[float]] = {}
    for answers in task_answers(ids).values():
        for key, (n, total) in task_contribution(controls, answers).items():
            cell = totals.setdefault(key, [0, 0.0])
            cell[0] += n
            cell[1] += total
    return {key: (int(n), total) for key, (n, total) in totals.items() if n}


def stored(*, project: Project) -> dict[tuple[int, str], tuple[int, float]]:
    return {
        (user_id, control): (n, total)
        for user_id, control, n, total in GoldScore.objects.filter(project=project, n__gt=0).values_list(
            "user_id", "control", "n", "total"
        )
    }

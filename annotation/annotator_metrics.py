"""Reads for the annotator metrics, the project timeline and gold scores: from running totals per
member and day (``AnnotatorDay``, kept by annotation/services/activity_totals.py) and the gold
tables, so each read is O(members x days), never a pass over the project's answers.

Medians of lead time come from each member-day's histogram of lead times (three significant figures).
"""

from collections import Counter, defaultdict
from datetime import date
from typing import Any

from django.db.models import Sum

from annotation.models import AnnotatorDay, AnnotatorGold, GoldScore, Project, Task
from annotation.quality.agreement import SEP
from annotation.quality.gold import control_value
from annotation.services.activity_totals import DAY_FIELDS, median_of
from annotation.services.gold import annotator_score, rating_ranges
from annotation.services.quality import project_quality


def _day_rows(project: Project, *, with_lead_times: bool) -> list[dict]:
    """The project's member-day totals (annotation/services/activity_totals.py), without the rows a
    delete left at zero."""
    fields = ["user_id", "day", *DAY_FIELDS] + (["lead_times"] if with_lead_times else [])
    rows = AnnotatorDay.objects.filter(project=project).order_by("day", "user_id").values(*fields)
    return [row for row in rows if any(row[name] for name in DAY_FIELDS)]


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
    """One row per annotator who answered in the project (or has a gold state there), summed from
    the member-day totals: O(members x days), not O(answers)."""
    totals: dict[int, Counter] = defaultdict(Counter)
    lead_times: dict[int, Counter] = defaultdict(Counter)
    for row in _day_rows(project, with_lead_times=True):
        if not row["user_id"] or not (row["submitted"] or row["skipped"]):
            continue
        totals[row["user_id"]].update({name: row[name] for name in DAY_FIELDS})
        lead_times[row["user_id"]].update(row["lead_times"])
    states = _gold_states(project)
    cells = _gold_cells(project)
    ranges = rating_ranges(project)
    rows: dict[int, dict] = {}
    emails = _emails(totals)
    for user_id in sorted(totals):
        row = totals[user_id]
        reviewed = row["accepted"] + row["rejected"] + row["fixed"]
        rows[user_id] = {
            "user": _user(user_id, emails.get(user_id)),
            "tasks_done": row["submitted"],
            "median_lead_time": median_of(lead_times[user_id]),
            "skip_rate": _rate(row["skipped"], row["submitted"] + row["skipped"]),
            "rejection_rate": _rate(row["rejected"], reviewed),
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
    rows = [row for row in _day_rows(project, with_lead_times=True)
            if row["user_id"] and (row["submitted"] or row["skipped"])]  # fmt: skip
    emails = _emails(row["user_id"] for row in rows)
    return [
        {
            "date": _iso(row["day"]),
            "user": _user(row["user_id"], emails.get(row["user_id"])),
            "tasks_done": row["submitted"],
            "median_lead_time": median_of(row["lead_times"]),
            "skip_rate": _rate(row["skipped"], row["submitted"] + row["skipped"]),
        }
        for row in rows
    ]


def timeline(*, project: Project) -> list[dict]:
    """Per day: answers submitted, reviews given, and accepting reviews (every member's, and answers
    without an author)."""
    days = (
        AnnotatorDay.objects.filter(project=project)
        .values("day")
        .annotate(submitted=Sum("submitted"), reviewed=Sum("reviews"), accepted=Sum("reviews_accepted"))
        .order_by("day")
    )
    return [
        {"date": _iso(row["day"]), "submitted": row["submitted"], "reviewed": row["reviewed"],
         "accepted": row["accepted"]}
        for row in days
        if row["submitted"] or row["reviewed"]
    ]  # fmt: skip


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

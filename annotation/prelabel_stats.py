"""How annotators received each model version's pre-labels: set-based reads, two grouped statements
whatever the number of predictions, annotations or versions (no query per version).

Every count is over the project's submitted answers (skips left out) whose ``parent_prediction`` is one
of the version's predictions, from the ``prediction_changes`` stored with each answer
(``annotation/prediction_diff.py``: regions compared on from_name, to_name, type and value):

- ``shown``: answers started from one of the version's predictions;
- ``accepted_unchanged``: the answer is the prediction, region for region (``accepted``);
- ``edited``: changed, but at least one predicted region kept (``kept`` > 0);
- ``replaced``: changed, and no predicted region kept (``kept`` = 0): the suggestion was discarded;
- ``reviewed``: answers with a verdict (accepted, rejected or fixed);
- ``agreement_with_accepted``: of the reviewed, the share whose accepted result is the prediction:
  the reviewer accepted the answer as submitted and the answer was the prediction unchanged. A rejected
  answer has no accepted result and a fix replaces the answer, so both count as disagreement. Null when
  none of the version's answers was reviewed.

A version is keyed by ``model_version`` and the pre-labeler that wrote it (null for imported
predictions): two pre-labelers may both write "v1".
"""

from django.db.models import Count, Min, Q

from annotation.models import Annotation, Prediction, Project, ReviewState

_CHANGED = Q(prediction_changes__accepted=False)


def prelabel_stats(*, project: Project) -> list[dict]:
    """One row per (model_version, prelabeler) with predictions in the project, oldest first."""
    versions = (
        Prediction.objects.filter(project=project)
        .values("model_version", "prelabeler")
        .annotate(predictions=Count("id"), first_at=Min("created_at"))
        .order_by("first_at", "model_version")
    )
    answers = {
        (row["parent_prediction__model_version"], row["parent_prediction__prelabeler"]): row
        for row in Annotation.objects.filter(
            project=project, parent_prediction__isnull=False, was_cancelled=False
        )
        .values("parent_prediction__model_version", "parent_prediction__prelabeler")
        .annotate(
            shown=Count("id"),
            accepted_unchanged=Count("id", filter=Q(prediction_changes__accepted=True)),
            edited=Count("id", filter=_CHANGED & Q(prediction_changes__kept__gt=0)),
            replaced=Count("id", filter=_CHANGED & Q(prediction_changes__kept=0)),
            reviewed=Count("id", filter=~Q(review_state=ReviewState.SUBMITTED)),
            agreeing=Count(
                "id", filter=Q(review_state=ReviewState.ACCEPTED, prediction_changes__accepted=True)
            ),
        )
        .order_by()
    }
    rows = []
    for version in versions:
        key = (version["model_version"], version["prelabeler"])
        counts = answers.get(key, {})
        reviewed = counts.get("reviewed", 0)
        rows.append(
            {
                "model_version": version["model_version"],
                "prelabeler": version["prelabeler"],
                "predictions": version["predictions"],
                "shown": counts.get("shown", 0),
                "accepted_unchanged": counts.get("accepted_unchanged", 0),
                "edited": counts.get("edited", 0),
                "replaced": counts.get("replaced", 0),
                "reviewed": reviewed,
                "agreement_with_accepted": counts["agreeing"] / reviewed if reviewed else None,
            }
        )
    return rows

"""What a labeled import stores, column by column: the task rows (counters, labels, state), the
annotation rows and the project's totals. The import writes states and labels in its own rows
instead of deriving them afterwards; these tests pin that the rows equal what the reference rules
(the state machine's refresh from the rows, task_labels) give."""

import pytest

from annotation.importing.parsers import to_task_item
from annotation.models import Annotation, Project, Task
from annotation.result_labels import task_labels
from annotation.services import imports
from annotation.services.imports import tasks_import
from annotation.services.states import task_states_refresh
from tests.conftest import choice

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=["one batch", "read ahead"])
def _write_batches(request, monkeypatch):
    """Every test here once with the import's rows in one batch, once in batches of two checked ahead."""
    if request.param == "read ahead":
        monkeypatch.setattr(imports, "IMPORT_WRITE_BATCH_ROWS", 2)


def _region(region_id: str, value: str) -> list[dict]:
    # As Label Studio exports results: every region with its own id.
    return [{"id": region_id, **choice(value)[0]}]


def _items(cast) -> list[dict]:
    annotator = cast.users["annotator"]
    return [
        {"data": {"text": "none"}, "meta": {"source": "a"}},
        {"data": {"text": "one"}, "annotations": [{"result": _region("r1", "Positive"), "lead_time": 4.2}]},
        {
            "data": {"text": "two agreeing"},
            "annotations": [
                {"result": _region("r2", "Positive"), "completed_by": annotator.pk},
                {"result": _region("r3", "Positive"), "lead_time": 1.5},
            ],
        },
        {
            "data": {"text": "two disagreeing"},
            "annotations": [
                {"result": _region("r4", "Negative")},
                {"result": _region("r5", "Neutral"), "completed_by": annotator.email},
            ],
        },
        {
            "data": {"text": "one skipped, one answer"},
            "annotations": [{"result": [], "was_cancelled": True}, {"result": _region("r6", "Neutral")}],
        },
        {
            "data": {"text": "gold"},
            "annotations": [{"result": _region("r7", "Positive"), "ground_truth": True}],
        },
        {"data": {"text": "prediction only"}, "predictions": [{"result": choice("Negative"), "score": 0.5}]},
    ]


def _task_rows(project: Project) -> list[tuple]:
    return list(
        Task.objects.filter(project=project)
        .order_by("inner_id")
        .values_list(
            "data", "meta", "inner_id", "is_labeled", "total_annotations", "cancelled_annotations",
            "total_predictions", "labels", "state", "is_gold",
        )
    )  # fmt: skip


def test_a_labeled_import_stores_these_rows(cast, make_project):
    project = make_project(maximum_annotations=2)
    owner, annotator = cast.users["owner"], cast.users["annotator"]
    items = _items(cast)
    counts = tasks_import(
        project=project, user=owner, items=[to_task_item(item, n) for n, item in enumerate(items)]
    )

    assert counts.task_ids == list(
        Task.objects.filter(project=project).order_by("inner_id").values_list("id", flat=True)
    )
    positive, negative, neutral = ({"sentiment": [label]} for label in ("Positive", "Negative", "Neutral"))
    assert _task_rows(project) == [
        ({"text": "none"}, {"source": "a"}, 1, False, 0, 0, 0, {}, "unlabeled", False),
        ({"text": "one"}, {}, 2, False, 1, 0, 0, positive, "in_progress", False),
        ({"text": "two agreeing"}, {}, 3, True, 2, 0, 0, positive, "in_review", False),
        ({"text": "two disagreeing"}, {}, 4, True, 2, 0, 0, {"sentiment": ["Negative", "Neutral"]}, "in_review",
         False),
        ({"text": "one skipped, one answer"}, {}, 5, False, 1, 1, 0, neutral, "in_progress", False),
        ({"text": "gold"}, {}, 6, False, 1, 0, 0, positive, "in_progress", True),
        ({"text": "prediction only"}, {}, 7, False, 0, 0, 1, {}, "unlabeled", False),
    ]  # fmt: skip
    annotations = list(
        Annotation.objects.filter(project=project)
        .order_by("task__inner_id", "id")
        .values_list(
            "task__inner_id", "completed_by_id", "result", "was_cancelled", "ground_truth", "lead_time",
            "review_state", "skip_reason", "import_job_id",
        )
    )  # fmt: skip
    assert annotations == [
        (2, owner.pk, _region("r1", "Positive"), False, False, 4.2, "submitted", "", None),
        (3, annotator.pk, _region("r2", "Positive"), False, False, None, "submitted", "", None),
        (3, owner.pk, _region("r3", "Positive"), False, False, 1.5, "submitted", "", None),
        (4, owner.pk, _region("r4", "Negative"), False, False, None, "submitted", "", None),
        (4, annotator.pk, _region("r5", "Neutral"), False, False, None, "submitted", "", None),
        (5, owner.pk, [], True, False, None, "submitted", "", None),
        (5, owner.pk, _region("r6", "Neutral"), False, False, None, "submitted", "", None),
        (6, owner.pk, _region("r7", "Positive"), False, True, None, "submitted", "", None),
    ]
    project.refresh_from_db()
    assert (
        project.task_count, project.task_counter, project.annotation_total, project.prediction_total,
        project.labeled_task_count, project.annotated_task_count,
    ) == (7, 7, 7, 1, 2, 5)  # fmt: skip
    # The labels column equals the reference rule over each task's submitted answers.
    for task in Task.objects.filter(project=project):
        submitted = task.annotations.filter(was_cancelled=False).values_list("result", flat=True)
        assert task.labels == task_labels(submitted)


@pytest.mark.parametrize(
    "policy",
    [
        {"review_policy": "all"},
        {"review_policy": "sample", "review_sample_percent": 50},
        {"review_policy": "low_agreement", "review_agreement_threshold": 0.9},
    ],
)
@pytest.mark.parametrize("overlap", [1, 2])
def test_imported_states_equal_the_state_machine_s_refresh(cast, make_project, policy, overlap):
    project = make_project(maximum_annotations=overlap, **policy)
    # Enough tasks at the overlap that a 50 % sample selects some and leaves some.
    items = _items(cast) * 6
    tasks_import(
        project=project,
        user=cast.users["owner"],
        items=[to_task_item(item, n) for n, item in enumerate(items)],
    )
    imported = _task_rows(project)
    task_states_refresh(project)
    assert _task_rows(project) == imported
    if policy["review_policy"] != "all" and overlap == 1:
        # The policy decides between the two: both occur, so the comparison above covered each.
        assert {row[8] for row in imported} >= {"labeled", "in_review"}

"""The full recompute's fast path (annotation/quality/batch.py) gives exactly what the incremental path
gives, task by task and summed: on random answers (overlapping and jittered spans, several choices,
fractional numbers, ratings, pairwise, free text, ground truth, repeated and missing annotators), and
through the database after random submits, corrections and deletes."""

import json
import random

import pytest

from annotation.models import Annotation, ProjectQualityShard, TaskQuality
from annotation.quality import batch
from annotation.quality.agreement import stats_add
from annotation.quality.batch import Control, TaskShares
from annotation.services import quality as quality_services
from annotation.services.annotations import annotation_create, annotation_delete, annotation_update
from annotation.services.projects import project_schema, project_tasks_delete
from annotation.services.quality import _task_share, project_quality, project_quality_recompute
from tessera.models import Membership

CONTROLS = [
    Control("sentiment", "choices", "choices", "text"),
    Control("topics", "choices", "choices", "text"),
    Control("label", "labels", "labels", "text"),
    Control("stars", "rating", "rating", "text"),
    Control("score", "number", "number", "text"),
    Control("side", "pairwise", "pairwise", "text"),
    Control("note", "textarea", "textarea", "text"),
    Control("box", "unsupported", "rectanglelabels", "image"),
]


def _random_result(rng: random.Random) -> list[dict]:
    regions: list[dict] = []
    if rng.random() < 0.9:
        regions.append({"from_name": "sentiment", "to_name": "text", "type": "choices",
                        "value": {"choices": [rng.choice(["Positive", "Negative", "Neutral"])]}})  # fmt: skip
    if rng.random() < 0.7:
        topics = rng.sample(["a", "b", "c", "d"], rng.randint(0, 3))
        regions.append(
            {"from_name": "topics", "to_name": "text", "type": "choices", "value": {"choices": topics}}
        )
    for _ in range(rng.randint(0, 3)):
        start = rng.choice([0, 2, 3, 5, 40, 41])
        end = start + rng.choice([1, 2, 4, 7])
        labels = rng.sample(["ORG", "PER", "LOC"], rng.choice([1, 1, 1, 2]))
        regions.append({"id": f"r{rng.getrandbits(24)}", "from_name": "label", "to_name": rng.choice(["text", "text2"]),
                        "type": "labels", "value": {"start": start, "end": end, "labels": labels}})  # fmt: skip
    if rng.random() < 0.8:
        regions.append({"from_name": "stars", "to_name": "text", "type": "rating",
                        "value": {"rating": rng.randint(1, 5)}})  # fmt: skip
    if rng.random() < 0.8:
        regions.append({"from_name": "score", "to_name": "text", "type": "number",
                        "value": {"number": rng.choice([0.1, 0.2, 1.1, 2.2, 3.3, 7, 1e-9])}})  # fmt: skip
    if rng.random() < 0.6:
        regions.append({"from_name": "side", "to_name": "text", "type": "pairwise",
                        "value": {"selected": rng.choice(["left", "right"])}})  # fmt: skip
    if rng.random() < 0.5:
        regions.append({"from_name": "note", "to_name": "text", "type": "textarea",
                        "value": {"text": [rng.choice(["ok", "東京", 'a "quote" \\ back'])]}})  # fmt: skip
    if rng.random() < 0.2:
        regions.append({"from_name": "box", "to_name": "image", "type": "rectanglelabels",
                        "value": {"x": 1, "y": 2, "rectanglelabels": ["ORG"]}})  # fmt: skip
    rng.shuffle(regions)
    return regions


def _random_task(rng: random.Random, first_id: int) -> list[tuple]:
    users = [11, 12, 13, 14, 15, 16]
    rows = []
    for offset in range(rng.randint(2, 5)):
        author = rng.choice(users) if rng.random() < 0.9 else rng.choice([None, 11])  # repeats, deleted users
        rows.append((first_id + offset, author, _random_result(rng), rng.random() < 0.1))
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("overlap", [2, 3])
def test_the_fast_path_equals_the_incremental_core_task_by_task(seed, overlap, monkeypatch):
    monkeypatch.setattr(batch, "MAX_CASES", 7)  # fold the counts into the totals now and then
    rng = random.Random(seed)
    shares = TaskShares(CONTROLS, overlap=overlap)
    expected_total: dict = {}
    for task_id in range(300):
        rows = _random_task(rng, task_id * 10)
        best = rng.choice([None, rows[0][0], rows[-1][0]])
        reference = _task_share(task_id, rows, CONTROLS, overlap=overlap, best_annotation_id=best)
        fast = shares.share(task_id, rows, best_annotation_id=best)
        assert json.loads(fast.stats_json) == reference.stats
        assert json.loads(fast.controls_json) == reference.controls
        assert (
            None if fast.consensus_json is None else json.loads(fast.consensus_json)
        ) == reference.consensus
        assert (fast.agreement, fast.tie, fast.annotations) == (
            reference.agreement, reference.tie, reference.annotations)  # fmt: skip
        stats_add(expected_total, reference.stats)
    assert shares.totals() == expected_total
    assert shares.tasks == 300


def test_spans_of_the_same_shape_share_a_case_and_keep_their_offsets():
    shares = TaskShares([Control("label", "labels", "labels", "text")], overlap=2)

    def rows(offset: int, users: tuple[int, int]) -> list[tuple]:
        span = {"from_name": "label", "to_name": "text", "type": "labels",
                "value": {"start": offset, "end": offset + 4, "labels": ["ORG"]}}  # fmt: skip
        return [(1, users[0], [span], False), (2, users[1], [span], False)]

    first = shares.share(1, rows(0, (5, 9)))
    second = shares.share(2, rows(30, (7, 8)))
    assert len(shares.cases) == 1
    assert json.loads(second.consensus_json or "[]")[0]["value"] == {
        "start": 30,
        "end": 34,
        "labels": ["ORG"],
    }
    assert set(json.loads(first.stats_json)["label"]["pairs"]) == {"5\t9"}
    assert set(json.loads(second.stats_json)["label"]["pairs"]) == {"7\t8"}


CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
  <Labels name="label" toName="text"><Label value="ORG"/><Label value="PER"/><Label value="LOC"/></Labels>
  <Rating name="stars" toName="text" maxRating="5"/>
</View>"""
AUTHORS = ["annotator", "annotator2", "reviewer", "manager", "admin", "owner"]


def _db_result(rng: random.Random) -> list[dict]:
    regions = [
        region for region in _random_result(rng)
        if region["from_name"] in ("sentiment", "stars")
        or (region["from_name"] == "label" and len(region["value"]["labels"]) == 1)
    ]  # fmt: skip
    for region in regions:
        region["to_name"] = "text"
    return regions


def _state(project) -> tuple:
    quality = project_quality(project.pk)
    rows = {
        row.task_id: (
            json.loads(row.stats),
            row.consensus,
            row.tie,
            row.agreement,
            row.controls,
            row.annotations,
        )
        for row in TaskQuality.objects.filter(project_id=project.pk)
    }
    return quality.stats, quality.tasks, quality.annotations, rows


@pytest.mark.django_db
def test_a_full_recompute_equals_the_incremental_upkeep_on_a_random_project(cast, make_project, monkeypatch):
    # Fetch a few annotations at a time, so that tasks straddle the batches of the streamed read.
    monkeypatch.setattr(quality_services, "RECOMPUTE_FETCH", 4)
    rng = random.Random(7)
    text = "Acme Bank and 山田太郎 in Tokyo, 2026; Globex Corp. bought Initech for 40 million."
    project = make_project(CONFIG, maximum_annotations=3, tasks=[{"text": text} for _ in range(25)])
    membership = Membership.objects.get(user=cast.users["manager"], organization=cast.org)
    made = []
    for task in project.tasks.order_by("inner_id"):
        for role in rng.sample(AUTHORS, rng.randint(1, 3)):
            made.append(annotation_create(task=task, user=cast.users[role], result=_db_result(rng)))
    for annotation in rng.sample(made, 8):
        annotation_update(annotation=annotation, user=cast.users["manager"], membership=membership,
                          fields={"result": _db_result(rng)})  # fmt: skip
    for annotation in rng.sample(made, 5):
        annotation.refresh_from_db()
        annotation_delete(annotation=annotation, user=cast.users["manager"], membership=membership)
    incremental = _state(project)
    assert incremental[1] > 10
    # The incremental writes spread over several shards; the recompute puts the sum in shard 0.
    assert ProjectQualityShard.objects.filter(project=project).count() > 1
    project_quality_recompute(project=project)
    assert _state(project) == incremental
    assert ProjectQualityShard.objects.filter(project=project).exclude(shard=0).exclude(tasks=0).count() == 0


@pytest.mark.django_db
def test_deleting_every_task_of_a_project_empties_its_agreement(cast, make_project):
    rng = random.Random(3)
    project = make_project(
        CONFIG,
        maximum_annotations=2,
        tasks=[{"text": "Acme Bank and 山田太郎 in Tokyo, 2026; Globex Corp. bought Initech."}] * 3,
    )
    for task in project.tasks.all():
        for role in ("annotator", "annotator2"):
            annotation_create(task=task, user=cast.users[role], result=_db_result(rng)[:1])
    assert project_quality(project.pk).tasks == 3
    project_tasks_delete(project=project, user=cast.users["owner"])
    assert _state(project) == ({}, 0, 0, {})


JAPANESE_TEXT = "東京電機は配当金を引き上げ、山田太郎社長が会見した。Acme Bank paid 40 million."


def _japanese_result(rng: random.Random) -> list[dict]:
    """An answer over Japanese text (offsets in code points), often missing a control or everything."""
    regions: list[dict] = []
    if rng.random() < 0.8:
        regions.append({"id": f"c{rng.getrandbits(24)}", "from_name": "sentiment", "to_name": "text",
                        "type": "choices", "value": {"choices": [rng.choice(["Positive", "Negative"])]}})  # fmt: skip
    for start, end, label in rng.sample([(0, 4, "ORG"), (0, 2, "LOC"), (14, 18, "PER"), (26, 35, "ORG")],
                                        rng.randint(0, 3)):  # fmt: skip
        end += rng.choice([0, 0, 1])
        regions.append({"id": f"r{rng.getrandbits(24)}", "from_name": "label", "to_name": "text", "type": "labels",
                        "value": {"start": start, "end": end, "text": JAPANESE_TEXT[start:end], "labels": [label]}})  # fmt: skip
    return regions if rng.random() < 0.9 else []


@pytest.mark.django_db
def test_the_recompute_equals_the_per_task_reference_path_on_japanese_spans_with_missing_answers(
    cast, make_project, monkeypatch
):
    # Every TaskQuality row the set-based recompute writes, and the project's sum, against _task_share
    # (the incremental path's per-task code) run on the same annotations read back from the database.
    monkeypatch.setattr(quality_services, "RECOMPUTE_FETCH", 5)
    rng = random.Random(21)
    project = make_project(CONFIG, maximum_annotations=3, tasks=[{"text": JAPANESE_TEXT} for _ in range(30)])
    for task in project.tasks.order_by("inner_id"):
        for role in rng.sample(AUTHORS, rng.randint(1, 3)):
            annotation_create(task=task, user=cast.users[role], result=_japanese_result(rng),
                              ground_truth=rng.random() < 0.1)  # fmt: skip
    project_quality_recompute(project=project)
    controls = quality_services._controls(project_schema(project))
    expected_total: dict = {}
    rows = TaskQuality.objects.filter(project_id=project.pk).order_by("task_id")
    assert rows.count() > 15
    for row in rows:
        annotations = [
            (annotation.pk, annotation.completed_by_id, annotation.result, annotation.ground_truth)
            for annotation in Annotation.objects.filter(task_id=row.task_id, was_cancelled=False).order_by(
                "id"
            )
        ]
        reference = _task_share(row.task_id, annotations, controls, overlap=3)
        assert json.loads(row.stats) == reference.stats
        assert (row.agreement, row.controls, row.consensus, row.tie, row.annotations) == (
            reference.agreement, reference.controls, reference.consensus, reference.tie, reference.annotations)  # fmt: skip
        stats_add(expected_total, reference.stats)
    totals = project_quality(project.pk)
    assert (totals.stats, totals.tasks) == (expected_total, rows.count())

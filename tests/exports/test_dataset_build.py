"""Building a dataset version in-process: files, counts, manifest, card, determinism, diff, retry, deletion."""

import json

import pytest

from annotation.models import JobState
from annotation.services.annotations import annotation_create
from exports.dataset_services import (
    dataset_version_create,
    dataset_version_delete,
    dataset_version_run,
)
from exports.datasets import storage
from exports.formats.datasets import DatasetFormat, register
from exports.models import DatasetVersion
from tessera.errors import ApplicationError
from tests.conftest import choice
from tests.exports import dataset_test_formats  # noqa: F401 - registers the test formats

pytestmark = pytest.mark.django_db

LABELS = ("Positive", "Negative")


@pytest.fixture(autouse=True)
def datasets_dir(settings, tmp_path):
    settings.TESSERA_DATASETS_DIR = tmp_path / "datasets"
    settings.TESSERA_DATASET_PROGRESS_EVERY = 7
    return settings.TESSERA_DATASETS_DIR


@pytest.fixture
def project(make_project, cast):
    """40 tasks in 10 documents, each labeled once (3 of 4 Positive); one more task left unlabeled."""
    project = make_project(
        tasks=[{"text": f"sentence {i}", "doc": f"doc-{i // 4}"} for i in range(40)]
        + [{"text": "unlabeled"}],
        maximum_annotations=2,
    )
    for index, task in enumerate(project.tasks.order_by("inner_id")[:40]):
        annotation_create(task=task, user=cast.users["annotator"], result=choice(LABELS[index % 4 == 3]))
    return project


def build(project, cast, body: dict) -> DatasetVersion:
    version = dataset_version_create(project=project, user=cast.users["manager"], body=body)
    assert version.state == JobState.CREATED
    dataset_version_run(version_id=version.pk)
    version.refresh_from_db()
    assert version.state == JobState.COMPLETED, version.error
    return version


RECIPE = {
    "formats": ["test_jsonl", "test_whole"],
    "splits": {"train": 0.8, "validation": 0.1, "test": 0.1},
    "seed": 1,
    "stratify": True,
}


def read_jsonl(version: DatasetVersion, format_name: str, split: str | None) -> list[dict]:
    entry = next(f for f in version.files if f["format"] == format_name and f["split"] == split)
    return [json.loads(line) for line in storage.resolve(entry["path"]).read_text().splitlines()]


def test_a_build_writes_every_format_and_split_with_counts(project, cast):
    version = build(project, cast, RECIPE)
    assert version.counts["total"] == 40
    assert version.counts["splits"] == {"train": 32, "validation": 4, "test": 4}
    assert version.counts["labels"]["train"] == {"Negative": 8, "Positive": 24}
    assert version.progress_done == 40
    assert [(f["format"], f["split"]) for f in version.files] == [
        ("test_jsonl", "train"), ("test_jsonl", "validation"), ("test_jsonl", "test"), ("test_whole", None),
        ("card", None), ("manifest", None),
    ]  # fmt: skip
    for entry in version.files:
        path = storage.resolve(entry["path"])
        assert entry["bytes"] == path.stat().st_size
        assert entry["sha256"] == storage.sha256_of(path)
        assert entry["path"].startswith(f"{project.pk}/{version.pk}/")
    train = read_jsonl(version, "test_jsonl", "train")
    assert len(train) == 32 and {row["split"] for row in train} == {"train"}
    assert [row["task_id"] for row in train] == sorted(row["task_id"] for row in train)
    whole = read_jsonl(version, "test_whole", None)
    assert len(whole) == 40
    manifest = read_jsonl(version, "manifest", None)
    assert [row["task_id"] for row in manifest] == [row["task_id"] for row in whole]
    assert all(len(row["annotation_ids"]) == 1 for row in manifest)
    assert version.manifest_sha256 == next(f for f in version.files if f["format"] == "manifest")["sha256"]


def test_the_same_recipe_twice_gives_the_same_bytes(project, cast):
    first, second = build(project, cast, RECIPE), build(project, cast, RECIPE)
    digests = lambda v: [(f["format"], f["split"], f["sha256"]) for f in v.files if f["format"] != "card"]  # noqa: E731
    assert digests(first) == digests(second)
    # The second's card names its parent, so the cards differ; the data files do not.
    assert second.parent_id == first.pk


def test_grouped_splits_keep_each_document_in_one_split(project, cast):
    version = build(project, cast, {**RECIPE, "group_by": "doc", "stratify": False})
    whole = read_jsonl(version, "test_whole", None)
    splits_of_doc: dict[str, set] = {}
    for row in whole:
        splits_of_doc.setdefault(row["data"]["doc"], set()).add(row["split"])
    assert all(len(s) == 1 for s in splits_of_doc.values())


def test_result_all_keeps_every_annotation(project, cast):
    task = project.tasks.order_by("inner_id").first()
    annotation_create(task=task, user=cast.users["annotator2"], result=choice("Negative"))
    version = build(project, cast, {"formats": ["test_whole"], "result": "all"})
    first = read_jsonl(version, "test_whole", None)[0]
    assert first["result"] == [] and len(first["annotation_ids"]) == 2
    latest = build(project, cast, {"formats": ["test_whole"]})
    first = read_jsonl(latest, "test_whole", None)[0]
    assert first["result"] == choice("Negative") and len(first["annotation_ids"]) == 1


def test_the_card_holds_counts_hashes_and_the_diff_since_the_parent(project, cast):
    first = build(project, cast, RECIPE)
    task = project.tasks.order_by("inner_id").first()
    annotation_create(task=task, user=cast.users["annotator2"], result=choice("Negative"))
    second = build(project, cast, RECIPE)
    card = storage.resolve(next(f for f in second.files if f["format"] == "card")["path"]).read_text()
    assert card.startswith("---\n")
    assert f"Parent version: {first.pk}." in card
    assert "| 0 | 0 | 1 |" in card  # added, removed, relabeled
    for entry in second.files:
        if entry["format"] != "card":
            assert entry["sha256"] in card


def test_a_retry_after_a_killed_build_rebuilds_from_nothing(project, cast, datasets_dir):
    clean = build(project, cast, RECIPE)
    version = dataset_version_create(project=project, user=cast.users["manager"], body=RECIPE)
    folder = storage.version_dir(project_id=project.pk, version_id=version.pk)
    folder.mkdir(parents=True)
    (folder / "test_jsonl-train.jsonl").write_text("half a file from a killed worker")
    (folder / ".spool").write_bytes(b"1\t2\t99\n\x80")
    dataset_version_run(version_id=version.pk)
    version.refresh_from_db()
    data_files = lambda v: [f["sha256"] for f in v.files if f["format"] not in ("card",)]  # noqa: E731
    assert data_files(version) == data_files(clean)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f["path"].split("/")[-1] for f in version.files)


def test_a_completed_version_is_not_built_again(project, cast):
    version = build(project, cast, RECIPE)
    before = (version.files, version.finished_at)
    dataset_version_run(version_id=version.pk)
    version.refresh_from_db()
    assert (version.files, version.finished_at) == before


def test_deleting_a_version_or_its_project_removes_its_files(
    project, cast, django_capture_on_commit_callbacks
):
    first, second = build(project, cast, RECIPE), build(project, cast, RECIPE)
    first_dir = storage.version_dir(project_id=project.pk, version_id=first.pk)
    second_dir = storage.version_dir(project_id=project.pk, version_id=second.pk)
    with django_capture_on_commit_callbacks(execute=True):
        dataset_version_delete(version=first, user=cast.users["manager"])
    assert not first_dir.exists() and second_dir.exists()
    with django_capture_on_commit_callbacks(execute=True):
        project.delete()
    assert not second_dir.exists()


def test_build_reads_pages_not_tasks(project, cast, django_assert_max_num_queries):
    version = dataset_version_create(
        project=project, user=cast.users["manager"], body={"formats": ["test_whole"]}
    )
    # Claim, a page of tasks and its annotations, the agreement page, progress ticks and completion:
    # a fixed number, whatever the number of tasks in a page.
    with django_assert_max_num_queries(25):
        dataset_version_run(version_id=version.pk)


def _delete_the_versions(items, context, stream) -> None:
    # A manager deletes the version while its worker writes: the row goes, the worker carries on.
    DatasetVersion.objects.filter(project_id=context.project_id).delete()
    stream.write(b"".join(b"%d\n" % item.task_id for item in items))


register(
    DatasetFormat(
        "test_deletes_its_version", "txt", "text/plain", False, lambda c: None, _delete_the_versions
    )
)


def test_a_version_deleted_while_it_builds_leaves_no_files(project, cast):
    version = dataset_version_create(
        project=project, user=cast.users["manager"], body={"formats": ["test_deletes_its_version"]}
    )
    dataset_version_run(version_id=version.pk)
    assert not DatasetVersion.objects.filter(pk=version.pk).exists()
    assert not storage.version_dir(project_id=project.pk, version_id=version.pk).exists()


def test_dedup_and_redaction_run_between_selection_and_the_writers(make_project, cast):
    project = make_project(
        tasks=[
            {"text": "Write to kenji@example.jp today."},
            {"text": "Rates rose."},
            {"text": "rates   ROSE."},  # the same after normalisation: removed
            {"text": "Flat."},
        ]
    )
    for task in project.tasks.order_by("inner_id"):
        annotation_create(task=task, user=cast.users["annotator"], result=choice("Positive"))
    version = build(
        project, cast, {"formats": ["jsonl", "JSON"], "dedup": {"exact": True}, "redact": ["email"]}
    )
    assert [(s["name"], s["removed"], s["changed"]) for s in version.steps] == [
        ("dedup_exact", 1, 0),
        ("redact", 0, 1),
    ]
    assert version.counts["total"] == 3
    rows = read_jsonl(version, "jsonl", "train")
    assert [row["data"]["text"] for row in rows] == ["Write to [EMAIL] today.", "Rates rose.", "Flat."]
    card = storage.resolve(next(f for f in version.files if f["format"] == "card")["path"]).read_text()
    assert "dedup_exact" in card and "redact" in card


def test_an_unknown_redaction_kind_is_a_400_naming_redact(project, cast):
    with pytest.raises(ApplicationError) as caught:
        dataset_version_create(
            project=project, user=cast.users["manager"], body={"formats": ["jsonl"], "redact": ["shoe_size"]}
        )
    assert caught.value.field == "redact"


def test_keyset_pages_bound_every_exists_so_a_late_page_reads_no_earlier_annotation(
    project, cast, monkeypatch
):
    """PostgreSQL carries no inequality across a join: without the bound repeated in the EXISTS, a merge
    semi join read the annotation index from its start on every page (quadratic over the project; at 1M
    tasks the build ran at a third of its speed). Pages of 3 tasks here: every page must still hold the
    right tasks, and the page condition bounds the annotation and agreement subqueries too."""
    from exports.datasets import selection

    monkeypatch.setattr(selection, "PAGE_TASKS", 3)
    version = dataset_version_create(
        project=project, user=cast.users["manager"], body={"formats": ["test_whole"]}
    )
    where, params = selection.selection_where(
        project=project, recipe={**version.recipe, "min_agreement": 0.0}, after=12345
    )
    assert 'a."task_id" > %s' in where and 'q."task_id" > %s' in where and 't."id" > %s' in where
    assert params.count(12345) == 3
    items = list(selection.selection_items(project=project, recipe=version.recipe))
    labeled = list(project.tasks.filter(total_annotations__gt=0).order_by("id").values_list("id", flat=True))
    assert [item.task_id for item in items] == labeled and len(labeled) == 40
    previews = list(selection.selection_preview_rows(project=project, recipe=version.recipe))
    assert [row.task_id for row in previews] == labeled


@pytest.mark.parametrize("result", ["latest", "all"])
def test_selected_items_hold_the_tasks_and_annotations_as_stored(project, cast, result):
    """The selection reads JSON as text and decodes it itself (orjson where it reads alike): each item
    must hold what the ORM reads for its task, the newest annotation for "latest", every one for "all"."""
    from exports.datasets import selection

    first = project.tasks.order_by("id").first()
    newer = annotation_create(task=first, user=cast.users["manager"], result=choice("Negative"))
    version = dataset_version_create(
        project=project, user=cast.users["manager"], body={"formats": ["test_whole"], "result": result}
    )
    items = list(selection.selection_items(project=project, recipe=version.recipe))
    tasks = project.tasks.filter(total_annotations__gt=0).order_by("id")
    assert [item.task_id for item in items] == [task.pk for task in tasks]
    for item, task in zip(items, tasks, strict=True):
        stored = list(task.annotations.filter(was_cancelled=False).order_by("id"))
        assert item.data == task.data
        if result == "latest":
            stored = stored[-1:]
            assert item.result == stored[0].result
        else:
            assert item.result == []
        assert [(a.id, a.completed_by, a.result) for a in item.annotations] == [
            (a.pk, a.completed_by_id, a.result) for a in stored
        ]
    assert items[0].annotations[-1].id == newer.pk

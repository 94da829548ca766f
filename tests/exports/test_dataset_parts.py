"""A dataset build in parts (several processes, each a range of task ids) writes the same bytes as one.

The formats that can be written in parts are checked alone (a part's file per slice of the items, then
joined, against the whole written at once), and whole builds are run both ways on committed rows, with
the splits, groups, redaction and a snapshot's items that the parts must put back together in order.
"""

import random
from array import array

import pytest

from annotation.services.annotations import annotation_create
from exports.dataset_services import dataset_version_create, dataset_version_run
from exports.datasets import storage
from exports.datasets.build import DatasetBuild
from exports.datasets.items import DatasetContext, DatasetItem, ItemAnnotation
from exports.datasets.splits import SplitRow, SplitRows
from exports.formats import dataset_parquet
from exports.formats.datasets import DATASET_FORMATS
from exports.models import DatasetVersion
from tests.conftest import choice

CONTEXT = DatasetContext(
    project_id=1,
    controls={"sentiment": {"type": "Choices", "to_name": "text", "inputs": [], "labels": ["A", "B"]}},
    data_variables=("text",),
)


def _items(count: int, split: str = "train") -> list[DatasetItem]:
    rng = random.Random(count)
    items = []
    for index in range(count):
        result = [
            {
                "id": f"r{index}",
                "from_name": "sentiment",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": [rng.choice("AB")]},
            }
        ]
        items.append(
            DatasetItem(
                task_id=index + 1,
                data={"text": f"text {index} " + "x" * rng.randrange(40), "n": index},
                result=result,
                annotations=[ItemAnnotation(index + 1000, 7, result)],
                split=split,
            )
        )
    return items


def _written(write, items) -> bytes:
    from io import BytesIO

    stream = BytesIO()
    write(items, CONTEXT, stream)
    return stream.getvalue()


@pytest.fixture
def small_parquet_batches(monkeypatch):
    # Batches and row groups much smaller than a part, so that parts end inside both.
    monkeypatch.setattr(dataset_parquet, "BATCH_ROWS", 7)
    monkeypatch.setattr(dataset_parquet, "ROW_GROUP_ROWS", 20)


@pytest.mark.usefixtures("small_parquet_batches")
@pytest.mark.parametrize("name", sorted(name for name, fmt in DATASET_FORMATS.items() if fmt.parts))
@pytest.mark.parametrize("cuts", [(), (0,), (13,), (7, 14), (1, 50, 51, 99), (100,)])
def test_a_format_written_in_parts_and_joined_is_the_format_written_at_once(name, cuts, tmp_path):
    fmt = DATASET_FORMATS[name]
    assert fmt.parts is not None
    items = _items(100)
    edges = [0, *cuts, len(items)]
    paths = []
    for index in range(len(edges) - 1):
        path = tmp_path / f"part{index}"
        path.write_bytes(_written(fmt.parts.write_part, items[edges[index] : edges[index + 1]]))
        paths.append(path)
    joined = _written(lambda _items, context, stream: fmt.parts.join(paths, context, stream), None)
    assert joined == _written(fmt.write, items)


def test_the_parts_rows_extended_in_order_are_the_rows_appended_one_by_one():
    rows = [
        SplitRow(task_id, random.Random(task_id).choice(["d1", "d2", None, f"d{task_id % 7}"]), label)
        for task_id, label in zip(range(1, 200), ["A", None, "B", "C"] * 50, strict=False)
    ]
    whole = SplitRows.of(rows)
    joined = SplitRows()
    for start, end in ((0, 0), (0, 37), (37, 38), (38, 150), (150, 199)):
        joined.extend(SplitRows.of(rows[start:end]))
    assert joined.task_ids == whole.task_ids
    assert joined.group_codes == whole.group_codes
    assert joined.label_codes == whole.label_codes
    assert (joined.groups, joined.labels) == (whole.groups, whole.labels)
    assert isinstance(joined.group_codes, array)


# ---- whole builds, in parts and at once, on committed rows --------------------------------------------


@pytest.fixture
def datasets_dir(settings, tmp_path):
    settings.TESSERA_DATASETS_DIR = tmp_path / "datasets"
    settings.TESSERA_DATASET_PROGRESS_EVERY = 5
    settings.TESSERA_DATASET_BUILD_PROCESS_MIN_TASKS = 1
    return settings.TESSERA_DATASETS_DIR


@pytest.fixture
def committed_project(make_project, cast):
    """70 labeled tasks in 14 documents, one in five with an e-mail address; two left unlabeled."""
    texts = [
        f"sentence {i} by {'ann' + str(i) + '@example.com' if i % 5 == 0 else 'someone'}" for i in range(70)
    ]
    project = make_project(
        tasks=[{"text": text, "doc": f"doc-{i // 5}"} for i, text in enumerate(texts)]
        + [{"text": "unlabeled"}, {"text": "unlabeled too"}],
        maximum_annotations=2,
    )
    for index, task in enumerate(project.tasks.order_by("inner_id")[:70]):
        annotation_create(
            task=task, user=cast.users["annotator"], result=choice(("Positive", "Negative")[index % 3 == 0])
        )
    return project


RECIPES = {
    "stratified": {
        "formats": ["jsonl", "parquet", "hf"],
        "splits": {"train": 0.7, "validation": 0.2, "test": 0.1},
        "seed": 3,
        "stratify": True,
        "redact": ["email"],
    },
    "grouped": {"formats": ["jsonl", "parquet"], "splits": {"train": 0.5, "test": 0.5}, "group_by": "doc"},
}


def _built(project, user, recipe: dict, *, snapshot: bool = False) -> DatasetVersion:
    version = dataset_version_create(project=project, user=user, body=recipe)
    if snapshot:
        DatasetVersion.objects.filter(pk=version.pk).update(snapshot=True)
    dataset_version_run(version_id=version.pk)
    version.refresh_from_db()
    assert version.state == "completed", version.error
    return version


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("datasets_dir", "small_parquet_batches")
@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_a_build_in_parts_writes_the_same_files_as_a_build_in_one_process(
    committed_project, cast, settings, recipe, monkeypatch
):
    parts_seen = []
    spool = DatasetBuild._spool_in_processes
    monkeypatch.setattr(
        DatasetBuild,
        "_spool_in_processes",
        lambda self, parts: parts_seen.append(len(parts)) or spool(self, parts),
    )
    settings.TESSERA_DATASET_BUILD_PROCESSES = 1
    alone = _built(committed_project, cast.users["manager"], RECIPES[recipe], snapshot=True)
    assert parts_seen == []
    settings.TESSERA_DATASET_BUILD_PROCESSES = 3
    parted = _built(committed_project, cast.users["manager"], RECIPES[recipe], snapshot=True)
    assert parts_seen == [3]

    def digests(version):
        return [
            (f["format"], f["split"], f["bytes"], f["sha256"]) for f in version.files if f["format"] != "card"
        ]

    assert digests(parted) == digests(alone)
    assert {f["format"] for f in parted.files} >= {"jsonl", "parquet", "manifest", "items"}
    assert (parted.counts, parted.steps, parted.progress_done) == (
        alone.counts,
        alone.steps,
        alone.progress_done,
    )
    assert parted.counts["total"] == 70
    if "redact" in RECIPES[recipe]:
        assert parted.steps == [{"name": "redact", "removed": 0, "changed": 14, "details": {"email": 14}}]
    # The parts' files and spool segments are gone; only the version's files are left.
    folder = storage.resolve(parted.files[0]["path"]).parent
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        storage.resolve(f["path"]).name for f in parted.files
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("datasets_dir")
def test_a_recipe_with_deduplication_is_read_in_one_process(committed_project, cast, settings, monkeypatch):
    settings.TESSERA_DATASET_BUILD_PROCESSES = 3
    monkeypatch.setattr(
        DatasetBuild, "_spool_in_processes", lambda self, parts: pytest.fail("dedup was read in parts")
    )
    version = _built(
        committed_project, cast.users["manager"], {"formats": ["jsonl"], "dedup": {"exact": True}}
    )
    assert version.counts["total"] == 70


@pytest.mark.django_db
@pytest.mark.usefixtures("datasets_dir")
def test_a_build_inside_a_transaction_is_read_in_one_process(committed_project, cast, settings, monkeypatch):
    """A forked process reads over a connection of its own: rows not yet committed would be missing."""
    settings.TESSERA_DATASET_BUILD_PROCESSES = 3
    monkeypatch.setattr(
        DatasetBuild, "_spool_in_processes", lambda self, parts: pytest.fail("read in parts in a transaction")
    )
    version = _built(committed_project, cast.users["manager"], {"formats": ["jsonl", "parquet"]})
    assert version.counts["total"] == 70

"""Building a dataset version: selection -> curation steps -> a spool file -> splits -> one file per format
(and split), the manifest and the card, each hashed.

Memory stays flat: items stream from the database through the steps into a spool file on disk; only a
small (task id, group, label) row per item is kept to assign the splits, and each writer then reads the
spool again. Every byte written depends only on the recipe and the data (no times, sorted keys), so the
same recipe on the same data gives the same SHA-256. A build starts by emptying its version's folder, so
a retry after a killed worker rebuilds from nothing.
"""

import json
import os
import pickle
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from django.conf import settings
from django.db import connection

from annotation.models import Project
from annotation.quality.fanout import Fanout, Send, own_database_connection
from exports.datasets import storage
from exports.datasets.card import CardFacts, card_render
from exports.datasets.curation import PER_ITEM_STEPS, steps_build, steps_wanted
from exports.datasets.items import DatasetContext, DatasetItem, ItemAnnotation, ItemJson
from exports.datasets.recipes import split_ratios
from exports.datasets.selection import (
    dataset_context,
    selection_agreement,
    selection_id_bounds,
    selection_items,
)
from exports.datasets.splits import SplitRows, first_label, split_codes
from exports.datasets.steps import StepReport
from exports.formats.canonical_json import item_json
from exports.formats.datasets import DATASET_FORMATS, DatasetFormat, parts_concatenated
from tessera.adapters.c_json_encoder import compact_encoder
from tessera.errors import ApplicationError
from tessera.json_reading import json_loads

SPOOL_NAME = ".spool"
MANIFEST_FORMAT = "manifest"
CARD_FORMAT = "card"
# A snapshot keeps its curated items (the spool, each line with its split) and converts them when downloaded.
ITEMS_FORMAT = "items"


# Compact JSON with CPython's C encoder built once (json.dumps with options builds one per call).
_ENCODE = compact_encoder()


# A spool payload's first byte: the item's canonical JSON (the usual case), or its values pickled (a
# value that has no canonical JSON, such as NaN in a SQLite row: the writers that need one refuse it).
_ENCODED, _PICKLED = b"c", b"p"


def _spool_record(item: DatasetItem) -> bytes:
    """``<task id>\t<annotation ids, comma-separated>\t<payload length>\n<payload>``: the split filter
    and the manifest read the header line without decoding the payload. The payload holds the item's
    canonical JSON (data, result, each annotation's result), encoded once here, in the build's parts,
    so that the JSONL and Parquet writers splice bytes and the others decode only what they read; it is
    pickled, as the spool is this build's own private file."""
    ids = ",".join(str(a.id) for a in item.annotations)
    try:
        encoded = item_json(item)
    except (TypeError, ValueError):
        annotations = [(a.id, a.completed_by, a.result) for a in item.annotations]
        payload = _PICKLED + pickle.dumps(
            (item.data, item.result, annotations), protocol=pickle.HIGHEST_PROTOCOL
        )
    else:
        payload = _ENCODED + pickle.dumps(
            (encoded.data, encoded.result, encoded.annotations), protocol=pickle.HIGHEST_PROTOCOL
        )
    return b"%d\t%s\t%d\n%s" % (item.task_id, ids.encode(), len(payload), payload)


_UNREAD: Any = object()


class SpooledItem(DatasetItem):
    """An item read back from the spool: its canonical JSON at hand (``known_json``), its data, result
    and annotations decoded on first use. Decoded JSON has its keys in sorted order. Setting any of them
    drops the JSON, which no longer says the same."""

    __slots__ = ("_json", "_data", "_result", "_annotations")

    def __init__(self, task_id: int, split: str, encoded: ItemJson):
        self.task_id = task_id
        self.split = split
        self._json: ItemJson | None = encoded
        self._data: Any = _UNREAD
        self._result: Any = _UNREAD
        self._annotations: Any = _UNREAD

    def known_json(self) -> ItemJson | None:
        return self._json

    def _decoded(self) -> None:
        # Everything decoded before anything is set: the JSON is about to go.
        self.data, self.result, self.annotations  # noqa: B018

    @property
    def data(self) -> dict:
        if self._data is _UNREAD:
            assert self._json is not None
            self._data = json_loads(self._json.data)
        return self._data

    @data.setter
    def data(self, value: dict) -> None:
        self._decoded()
        self._data, self._json = value, None

    @property
    def result(self) -> list[dict]:
        if self._result is _UNREAD:
            assert self._json is not None
            self._result = json_loads(self._json.result)
        return self._result

    @result.setter
    def result(self, value: list[dict]) -> None:
        self._decoded()
        self._result, self._json = value, None

    @property
    def annotations(self) -> list[ItemAnnotation]:
        if self._annotations is _UNREAD:
            assert self._json is not None
            result, own = self.result, self._json.result
            # An annotation whose result is the item's shares its decoded value, as at selection.
            self._annotations = [
                ItemAnnotation(id_, completed_by, result if text == own else json_loads(text))
                for id_, completed_by, text in self._json.annotations
            ]
        return self._annotations

    @annotations.setter
    def annotations(self, value: list[ItemAnnotation]) -> None:
        self._decoded()
        self._annotations, self._json = value, None


def _spool_item(task_id: int, payload: bytes, split: str) -> DatasetItem:
    # The build wrote this payload itself, moments ago, into its own folder.
    kind, values = payload[:1], pickle.loads(payload[1:])  # noqa: S301
    if kind == _ENCODED:
        return SpooledItem(task_id, split, ItemJson(*values))
    data, result, annotations = values
    return DatasetItem(
        task_id=task_id,
        data=data,
        result=result,
        annotations=[ItemAnnotation(a[0], a[1], a[2]) for a in annotations],
        split=split,
    )


def _items_line(item: DatasetItem) -> bytes:
    """A line of a snapshot's kept items: JSON of task id, data, result, annotations and split."""
    annotations = [[a.id, a.completed_by, a.result] for a in item.annotations]
    return _ENCODE([item.task_id, item.data, item.result, annotations, item.split]).encode() + b"\n"


def _group_key(data: dict, field: str | None) -> str | None:
    if field is None or not isinstance(data, dict) or data.get(field) is None:
        return None
    value = data[field]
    # As the preview reads it from the database: strings as they are, anything else as JSON text.
    return value if isinstance(value, str) else _ENCODE(value)


def _item_label(item: DatasetItem) -> str | None:
    if item.result:
        return first_label(item.result)
    return first_label(item.annotations[0].result) if item.annotations else None


@dataclass
class Splits:
    """Each spooled item's split, in spool order: a byte per item where a {task id: name} dict took 90
    bytes at a million tasks."""

    codes: np.ndarray
    names: list[str]

    def each(self) -> Iterator[str]:
        names = self.names
        for start in range(0, len(self.codes), 65_536):
            yield from (names[code] for code in self.codes[start : start + 65_536].tolist())

    def part(self, start: int, count: int) -> "Splits":
        return Splits(self.codes[start : start + count], self.names)


@dataclass(frozen=True)
class _Part:
    """A range of task ids [first, end) that one process reads; ``end`` None: no upper bound."""

    index: int
    first: int
    end: int | None


# Writes one spool segment's part of a file: (segment index, its splits, the part file, beat).
_PartWrite = Callable[[int, Splits, BinaryIO, Callable[[], None]], None]


@dataclass(frozen=True)
class _PartJob:
    name: str  # the part files' stem
    write: _PartWrite
    join: Callable[[list[Path], BinaryIO], None]
    preload: Callable[[], None] | None = None


def _reports_added(reports: list[StepReport], more: list[StepReport]) -> list[StepReport]:
    """Two parts' reports of the same steps as one: counts added, a detail that is not a count kept."""
    added = []
    for report, other in zip(reports, more, strict=True):
        details = dict(report.details)
        for key, value in other.details.items():
            if type(value) is int and type(details.get(key)) is int:
                details[key] += value
            else:
                details.setdefault(key, value)
        added.append(
            StepReport(
                name=report.name,
                removed=report.removed + other.removed,
                changed=report.changed + other.changed,
                details=details,
            )
        )
    return added


@dataclass
class BuildOutput:
    counts: dict
    steps: list[dict]
    files: list[dict]
    manifest_sha256: str


class DatasetBuild:
    """One build of one version. ``tick(done)`` is called every TESSERA_DATASET_PROGRESS_EVERY items read
    (the service renews the lease and writes progress there), ``beat()`` as often while the writers read
    the spool (a slow writer must keep the lease too); either may raise to stop the build.

    A selection of at least TESSERA_DATASET_BUILD_PROCESS_MIN_TASKS tasks is read in parts, ranges of
    task ids, one forked process each (annotation/quality/fanout.py), each writing a spool segment of its
    own; the segments in order hold what one process would have spooled. Formats that can be written in
    parts (``DatasetFormat.parts``), the manifest and a snapshot's items are then written by a process per
    segment and joined in order; the others read the segments in order in this process. The files are
    the same bytes either way (tests/exports/test_dataset_parts.py). Reading and converting are Python
    work, one core per process, while the database serves several readers at once.
    """

    def __init__(
        self,
        *,
        project: Project,
        version_id: int,
        name: str,
        recipe: dict,
        parent: tuple[int, str] | None,
        tick: Callable[[int], None],
        beat: Callable[[], None],
        keep_items: bool = False,
        total: int = 0,
    ):
        self.project = project
        self.version_id = version_id
        self.name = name
        self.recipe = recipe
        # (id, manifest path relative to storage) of the parent version.
        self.parent = parent
        self.tick = tick
        self.beat = beat
        self.keep_items = keep_items
        # The tasks the recipe selected when the version was made: whether to read in parts.
        self.total = total
        self.context: DatasetContext = dataset_context(project)
        self.folder = Path()
        # Items per spool segment, in order.
        self.segments: list[int] = []

    def _counted(self, items: Iterable[DatasetItem]) -> Iterator[DatasetItem]:
        every = settings.TESSERA_DATASET_PROGRESS_EVERY
        done = 0
        for item in items:
            yield item
            done += 1
            if done % every == 0:
                self.tick(done)
        self.tick(done)

    def _segment_path(self, index: int) -> Path:
        return self.folder / f"{SPOOL_NAME}.{index}"

    def _spool_into(self, index: int, items: Iterable[DatasetItem]) -> tuple[SplitRows, list[StepReport]]:
        reports = []
        for name, step in steps_build(self.recipe, self.context):
            report = StepReport(name=name)
            reports.append(report)
            items = step(items, self.context, report)
        rows = SplitRows()
        group_by = self.recipe["group_by"]
        with open(self._segment_path(index), "wb") as spool:
            for item in items:
                spool.write(_spool_record(item))
                rows.append(item.task_id, _group_key(item.data, group_by), _item_label(item))
        return rows, reports

    def _parts(self) -> list[_Part]:
        """The id ranges to read in processes of their own, or one part read here: a small selection, a
        recipe whose steps see every item in order (deduplication keeps a text's first copy), a caller
        inside a transaction (a process of its own would not see its rows) or an in-memory database."""
        whole = [_Part(0, 0, None)]
        processes = settings.TESSERA_DATASET_BUILD_PROCESSES
        if (
            processes < 2
            or self.total < settings.TESSERA_DATASET_BUILD_PROCESS_MIN_TASKS
            or not set(steps_wanted(self.recipe)) <= PER_ITEM_STEPS
            or connection.in_atomic_block
            or getattr(connection, "is_in_memory_db", lambda: False)()
        ):
            return whole
        bounds = selection_id_bounds(project=self.project)
        if bounds is None:
            return whole
        low, high = bounds
        cuts = sorted({low + (high - low + 1) * k // processes for k in range(1, processes)})
        edges: list[int | None] = [0, *cuts, None]
        return [_Part(index, edges[index] or 0, edges[index + 1]) for index in range(len(edges) - 1)]

    def _spool(self) -> tuple[SplitRows, list[StepReport]]:
        parts = self._parts()
        if len(parts) == 1:
            rows, reports = self._spool_into(
                0, self._counted(selection_items(project=self.project, recipe=self.recipe))
            )
            self.segments = [len(rows)]
            return rows, reports
        return self._spool_in_processes(parts)

    def _spool_part(self, part: _Part, send: Send) -> tuple[SplitRows, list[StepReport]] | ApplicationError:
        """In a worker process: the part's items spooled to its segment; its count sent as it goes."""
        own_database_connection()
        every = settings.TESSERA_DATASET_PROGRESS_EVERY

        def sent(items: Iterable[DatasetItem]) -> Iterator[DatasetItem]:
            done = 0
            for item in items:
                yield item
                done += 1
                if done == every:
                    send(b"%d" % done)
                    done = 0
            send(b"%d" % done)

        try:
            selected = selection_items(
                project=self.project, recipe=self.recipe, first=part.first, end=part.end
            )
            return self._spool_into(part.index, sent(selected))
        except ApplicationError as error:
            return error
        finally:
            connection.close()

    def _spool_in_processes(self, parts: list[_Part]) -> tuple[SplitRows, list[StepReport]]:
        done = 0
        with Fanout(self._spool_part, parts) as fanout:
            for chunk in fanout.chunks():
                done += int(chunk)
                if chunk != b"0":
                    self.tick(done)
        rows = SplitRows()
        reports: list[StepReport] | None = None
        for result in fanout.results:
            if isinstance(result, ApplicationError):
                raise result
            part_rows, part_reports = result
            rows.extend(part_rows)
            self.segments.append(len(part_rows))
            reports = part_reports if reports is None else _reports_added(reports, part_reports)
        self.tick(done)
        return rows, reports or []

    def _segment_lines(self, index: int, beat: Callable[[], None]) -> Iterator[tuple[int, bytes, bytes]]:
        """(task id, annotation ids as text, payload) per item of a segment, keeping the lease meanwhile."""
        every = settings.TESSERA_DATASET_PROGRESS_EVERY
        with open(self._segment_path(index), "rb") as spool:
            number = 0
            while header := spool.readline():
                number += 1
                if number % every == 0:
                    beat()
                task_id, ids, size = header.split(b"\t")
                yield int(task_id), ids, spool.read(int(size))

    def _spool_lines(self) -> Iterator[tuple[int, bytes, bytes]]:
        for index in range(len(self.segments)):
            yield from self._segment_lines(index, self.beat)

    def _items_of(
        self, lines: Iterator[tuple[int, bytes, bytes]], splits: "Splits", only: str | None
    ) -> Iterator[DatasetItem]:
        for (task_id, _ids, payload), split in zip(lines, splits.each(), strict=True):
            # Other splits' items are skipped without decoding their payload.
            if only is None or split == only:
                yield _spool_item(task_id, payload, split)

    def _read_spool(self, splits: "Splits", only: str | None) -> Iterator[DatasetItem]:
        return self._items_of(self._spool_lines(), splits, only)

    def _file(self, *, format_name: str, split: str | None, extension: str, write) -> dict:
        name = storage.file_name(format_name=format_name, split=split, extension=extension)
        path = self.folder / name
        partial = self.folder / f".{name}.partial"
        with open(partial, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        partial.replace(path)
        return {
            "format": format_name,
            "split": split,
            "bytes": path.stat().st_size,
            "sha256": storage.sha256_of(path),
            "path": storage.relative(path),
        }

    @staticmethod
    def _write_items(items: Iterable[DatasetItem], stream) -> None:
        for item in items:
            stream.write(_items_line(item))

    @staticmethod
    def _write_manifest(lines: Iterator[tuple[int, bytes, bytes]], splits: "Splits", stream) -> None:
        # Written by hand as json.dumps(sort_keys=True, compact) would: the ids are digits, the split one
        # of three fixed names.
        for (task_id, ids, _payload), split in zip(lines, splits.each(), strict=True):
            stream.write(
                b'{"annotation_ids":[%s],"split":"%s","task_id":%d}\n' % (ids, split.encode(), task_id)
            )

    def _part_jobs(self) -> dict[tuple[str, str | None], _PartJob]:
        """What the segments' processes write, by (format, split): the formats that can be written in
        parts, the manifest, and a snapshot's items."""
        jobs: dict[tuple[str, str | None], _PartJob] = {}
        for format_name in self.recipe["formats"]:
            fmt = DATASET_FORMATS[format_name]
            if fmt.parts is None:
                continue
            for split in split_ratios(self.recipe) if fmt.per_split else [None]:

                def write(index, splits, stream, beat, fmt=fmt, split=split) -> None:
                    items = self._items_of(self._segment_lines(index, beat), splits, split)
                    fmt.parts.write_part(items, self.context, stream)

                def join(paths, stream, fmt=fmt) -> None:
                    fmt.parts.join(paths, self.context, stream)

                jobs[(fmt.name, split)] = _PartJob(f"{fmt.name}.{split}", write, join, fmt.parts.preload)

        def concatenate(paths, stream) -> None:
            parts_concatenated(paths, self.context, stream)

        jobs[(MANIFEST_FORMAT, None)] = _PartJob(
            MANIFEST_FORMAT,
            lambda index, splits, stream, beat: self._write_manifest(
                self._segment_lines(index, beat), splits, stream
            ),
            concatenate,
        )
        if self.keep_items:
            jobs[(ITEMS_FORMAT, None)] = _PartJob(
                ITEMS_FORMAT,
                lambda index, splits, stream, beat: self._write_items(
                    self._items_of(self._segment_lines(index, beat), splits, None), stream
                ),
                concatenate,
            )
        return jobs

    def _part_path(self, job: _PartJob, index: int) -> Path:
        return self.folder / f".{job.name}.part{index}"

    def _write_parts(self, splits: "Splits", jobs: dict) -> None:
        """Each segment's part of every job's file, a process per segment."""
        starts = np.cumsum([0, *self.segments]).tolist()
        for job in jobs.values():
            if job.preload is not None:
                job.preload()

        def work(index: int, send: Send) -> ApplicationError | None:
            segment_splits = splits.part(starts[index], self.segments[index])
            try:
                for job in jobs.values():
                    with open(self._part_path(job, index), "wb") as stream:
                        job.write(index, segment_splits, stream, lambda: send(b""))
            except ApplicationError as error:
                return error
            return None

        with Fanout(work, range(len(self.segments))) as fanout:
            for _beat in fanout.chunks():
                self.beat()
        for result in fanout.results:
            if isinstance(result, ApplicationError):
                raise result

    def _joined(self, job: _PartJob) -> Callable[[BinaryIO], None]:
        paths = [self._part_path(job, index) for index in range(len(self.segments))]

        def write(stream: BinaryIO) -> None:
            job.join(paths, stream)
            for path in paths:
                path.unlink()

        return write

    def _written(self, fmt: DatasetFormat, splits: "Splits", split: str | None) -> Callable[[BinaryIO], None]:
        """The format's file written here, from every segment in order."""

        def write(stream: BinaryIO) -> None:
            fmt.write(self._read_spool(splits, split), self.context, stream)

        return write

    def _manifest(self, splits: "Splits", jobs: dict) -> dict:
        job = jobs.get((MANIFEST_FORMAT, None))
        return self._file(
            format_name=MANIFEST_FORMAT,
            split=None,
            extension="jsonl",
            write=self._joined(job) if job else partial(self._write_manifest, self._spool_lines(), splits),
        )

    def _counts(self, rows: SplitRows, splits: "Splits") -> dict:
        label_count = len(rows.labels)
        # (split, label) pairs counted in one pass over the codes; label code 0 is no label.
        pairs = splits.codes.astype(np.int64) * label_count + np.frombuffer(rows.label_codes, dtype=np.uint32)
        counted = np.bincount(pairs, minlength=len(splits.names) * label_count).reshape(-1, label_count)
        per_split = dict(zip(splits.names, counted.sum(axis=1).tolist(), strict=True))
        labels: dict[str, dict[str, int]] = {name: {} for name in split_ratios(self.recipe)}
        for index, name in enumerate(splits.names):
            found = {
                str(rows.labels[code]): n for code, n in enumerate(counted[index].tolist()) if code and n
            }
            labels[name] = dict(sorted(found.items()))
        return {
            "total": len(rows),
            "splits": {name: per_split.get(name, 0) for name in split_ratios(self.recipe)},
            "labels": labels,
        }

    def _agreement(self, rows: SplitRows) -> dict:
        values = selection_agreement(project=self.project, task_ids=rows.task_ids)
        if not values:
            return {"tasks": 0, "mean": None, "min": None, "max": None}
        return {
            "tasks": len(values),
            "mean": round(sum(values) / len(values), 6),
            "min": round(min(values), 6),
            "max": round(max(values), 6),
        }

    def run(self) -> BuildOutput:
        self.folder = storage.version_files_reset(project_id=self.project.pk, version_id=self.version_id)
        rows, reports = self._spool()
        codes, names = split_codes(
            rows,
            ratios=split_ratios(self.recipe),
            seed=self.recipe["seed"],
            stratify=self.recipe["stratify"],
            grouped=self.recipe["group_by"] is not None,
        )
        splits = Splits(codes, names)
        jobs = self._part_jobs() if len(self.segments) > 1 else {}
        if jobs:
            self._write_parts(splits, jobs)
        files = []
        for format_name in self.recipe["formats"]:
            fmt = DATASET_FORMATS[format_name]
            for split in split_ratios(self.recipe) if fmt.per_split else [None]:
                job = jobs.get((fmt.name, split))
                write = self._joined(job) if job else self._written(fmt, splits, split)
                files.append(
                    self._file(format_name=fmt.name, split=split, extension=fmt.extension, write=write)
                )
        manifest = self._manifest(splits, jobs)
        counts = self._counts(rows, splits)
        steps = [report.as_dict() for report in reports]
        diff = None
        if self.parent is not None:
            diff = manifest_diff(storage.resolve(self.parent[1]), storage.resolve(manifest["path"]))
        card = card_render(
            CardFacts(
                version_id=self.version_id,
                name=self.name,
                project_id=self.project.pk,
                recipe=self.recipe,
                counts=counts,
                steps=steps,
                files=[*files, manifest],
                agreement=self._agreement(rows),
                parent_id=None if self.parent is None else self.parent[0],
                diff=None if diff is None else {k: diff[k] for k in ("added", "removed", "relabeled")},
            )
        )
        files.append(
            self._file(
                format_name=CARD_FORMAT,
                split=None,
                extension="md",
                write=lambda stream: stream.write(card.encode()),
            )
        )
        files.append(manifest)
        if self.keep_items:
            job = jobs.get((ITEMS_FORMAT, None))
            files.append(
                self._file(
                    format_name=ITEMS_FORMAT,
                    split=None,
                    extension="jsonl",
                    write=self._joined(job)
                    if job
                    else partial(self._write_items, self._read_spool(splits, None)),
                )
            )
        for index in range(len(self.segments)):
            self._segment_path(index).unlink()
        return BuildOutput(counts=counts, steps=steps, files=files, manifest_sha256=manifest["sha256"])


def stored_items(path: Path) -> Iterator[DatasetItem]:
    """A snapshot's kept items, each with its split, in task-id order."""
    with open(path, "rb") as stream:
        for line in stream:
            task_id, data, result, annotations, split = json.loads(line)
            yield DatasetItem(
                task_id=task_id,
                data=data,
                result=result,
                annotations=[ItemAnnotation(a[0], a[1], a[2]) for a in annotations],
                split=split,
            )


SAMPLE_IDS = 20


class _Unordered(ValueError):
    """A manifest whose task ids do not increase line by line (not one this code wrote)."""


def _manifest_lines(path: Path) -> Iterator[tuple[int, tuple[int, ...]]]:
    with open(path, "rb") as stream:
        for line in stream:
            record = json_loads(line)
            yield record["task_id"], tuple(record["annotation_ids"])


def _increasing(lines: Iterator[tuple[int, tuple[int, ...]]]) -> Iterator[tuple[int, tuple[int, ...]]]:
    last = None
    for line in lines:
        if last is not None and line[0] <= last:
            raise _Unordered(f"task {line[0]} after task {last}")
        last = line[0]
        yield line


class _Diff:
    KINDS = ("added", "removed", "relabeled")

    def __init__(self) -> None:
        self.counts = dict.fromkeys(self.KINDS, 0)
        self.samples: dict[str, list[int]] = {kind: [] for kind in self.KINDS}

    def note(self, kind: str, task_id: int) -> None:
        self.counts[kind] += 1
        if len(self.samples[kind]) < SAMPLE_IDS:
            self.samples[kind].append(task_id)

    def as_dict(self) -> dict:
        return {**self.counts, "samples": self.samples}


def _merged_diff(old: Path, new: Path) -> dict:
    """Both manifests read once, side by side, in task-id order: a line at a time in memory."""
    diff = _Diff()
    before, after = _increasing(_manifest_lines(old)), _increasing(_manifest_lines(new))
    a, b = next(before, None), next(after, None)
    while a is not None or b is not None:
        if a is not None and (b is None or a[0] < b[0]):
            diff.note("removed", a[0])
            a = next(before, None)
        elif b is not None and (a is None or b[0] < a[0]):
            diff.note("added", b[0])
            b = next(after, None)
        elif a is not None and b is not None:
            if a[1] != b[1]:
                diff.note("relabeled", a[0])
            a, b = next(before, None), next(after, None)
    return diff.as_dict()


def _diff_in_memory(old: Path, new: Path) -> dict:
    before, after = dict(_manifest_lines(old)), dict(_manifest_lines(new))
    diff = _Diff()
    for task_id in sorted(set(after) - set(before)):
        diff.note("added", task_id)
    for task_id in sorted(set(before) - set(after)):
        diff.note("removed", task_id)
    for task_id in sorted(set(after) & set(before)):
        if after[task_id] != before[task_id]:
            diff.note("relabeled", task_id)
    return diff.as_dict()


def manifest_diff(old: Path, new: Path) -> dict:
    """Tasks added, removed, and relabeled (held with other annotations) from ``old`` to ``new``, with
    up to SAMPLE_IDS ids of each, lowest first.

    A build writes its manifest in task-id order, so the two are merged as they are read and memory stays
    flat whatever the project's size (holding both as dicts took about 200 bytes a task: 400 MB of a
    build's worker at 1M tasks, when a version had a parent). A manifest out of order, which this code
    does not write, is compared in memory."""
    try:
        return _merged_diff(old, new)
    except _Unordered:
        return _diff_in_memory(old, new)

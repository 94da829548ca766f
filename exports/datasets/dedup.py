"""Deduplication steps: exact duplicates after Unicode normalisation, and near-duplicates by MinHash LSH.

Both compare an item's text content: the task data values the config reads (``context.data_variables``),
or, for a config that reads none of the task's keys, every string value in key order. The text is
normalised (NFKC, so full-width "ＡＢＣ１２３" equals "ABC123"; case folded; runs of whitespace
collapsed to one space) before it is compared. An item with no text is kept: there is nothing to
compare it on, and an image project's tasks would otherwise all be "duplicates" of each other.

The first occurrence is kept and later ones are removed, so the same items in the same order always
give the same output. Memory per item is fixed: a 16-byte digest for exact duplicates; for near
duplicates, the LSH index's band keys and the kept item's signature.

Near-duplicates use character shingles (n-grams of code points), which work for Japanese and Chinese
without a tokenizer. The MinHash signatures are datasketch's own ("affine32" scheme: the shingle hash
pre-mixed by MurmurHash3's finalizer, then ``a * h + b mod 2**32`` per permutation, with datasketch's
permutations for the seed), computed for a block of items at once with numpy instead of one Python call
per shingle: ``MinHash.update_batch`` hashes each shingle with SHA-1 in Python, about 2,400 items a
CPU second on 300-character texts, ten times slower. tests/exports/test_dataset_dedup.py pins the
signatures to ``MinHash.update_batch`` given the same shingle hashes. Candidates from ``MinHashLSH`` are
confirmed by the signatures' estimated Jaccard similarity, so a band collision below the threshold
removes nothing.

Memory per kept item, at 128 permutations and the default threshold: the band index's sorted arrays
(12 bytes per band), one byte per permutation of its signature, and its task id: about 250 bytes
(datasketch's own storage took 2.7 KB). See ``BandIndex`` and ``Fingerprints``.
"""

import hashlib
import json
import unicodedata
from array import array
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from itertools import islice

import numpy as np
from datasketch import MinHash, MinHashLSH  # type: ignore[import-untyped]
from django.utils.translation import gettext as _

from exports.datasets.items import DatasetContext, DatasetItem
from exports.datasets.steps import CurationStep, StepReport
from tessera.errors import ApplicationError

EXAMPLES_MAX = 5
DEFAULT_NUM_PERM = 128
DEFAULT_SHINGLE_SIZE = 5
# Fixed, so that a recipe built twice gives the same signatures, hence the same items.
MINHASH_SEED = 1
# Items decided together: the band hashes, the index look-ups and the check within the block are a few
# dozen numpy calls per block whatever its size, which 256 items spread thin.
BLOCK_ITEMS = 256
# Texts whose permutations are computed together, and permutations at a time: the working array
# (rows by the texts' shingles, about 300 per text) stays in the core's cache. 64 texts by 8 or 16 rows
# measured fastest on 300-character texts; 64 by 32 about a fifth slower, 256 by 8 a tenth.
SIGN_TEXTS = 64
PERMUTATION_ROWS = 16
# Odd 64-bit multipliers for the polynomial hash of a shingle's code points (golden ratio and
# MurmurHash/xxHash primes): any fixed odd constants would do, these mix well.
_SHINGLE_MULTIPLIERS = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
        0x27D4EB2F165667C5,
        0x94D049BB133111EB,
        0xBF58476D1CE4E5B9,
    ],
    dtype=np.uint64,
)
SHINGLE_SIZE_MAX = len(_SHINGLE_MULTIPLIERS)
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))


def item_text(item: DatasetItem, context: DatasetContext) -> str:
    """The text an item is compared on: the values the config reads, in the config's order."""
    keys = [key for key in context.data_variables if key in item.data]
    if not keys:
        keys = sorted(key for key, value in item.data.items() if isinstance(value, str))
    parts = []
    for key in keys:
        value = item.data[key]
        if isinstance(value, str):
            parts.append(value)
        elif value is not None:
            # A Paragraphs dialogue or a list of choices: compared by its JSON, keys sorted.
            parts.append(json.dumps(value, sort_keys=True, ensure_ascii=False))
    return "\n".join(parts)


def normalize_text(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Most texts are already single-spaced, and splitting them into words only to join them again is
    # half of this function's time. The space is the one whitespace character that is printable
    # (tests/exports/test_dataset_dedup.py checks every code point), so a printable text with no
    # doubled, leading or trailing space is exactly what the split and join would give back.
    if folded.isprintable() and "  " not in folded and folded[:1] != " " and folded[-1:] != " ":
        return folded
    return " ".join(folded.split())


def text_digest(normalized: str) -> bytes:
    return hashlib.blake2b(normalized.encode(), digest_size=16).digest()


def _add_example(report: StepReport, kept_task_id: int, removed_task_id: int) -> None:
    examples = report.details.setdefault("examples", [])
    if len(examples) < EXAMPLES_MAX:
        examples.append([kept_task_id, removed_task_id])


def exact_step(options: Mapping | None = None) -> CurationStep:
    """Remove later items whose normalised text equals an earlier one's.

    ``options`` is the recipe's ``dedup`` object; this step reads nothing from it yet, it is taken so
    that every step is built the same way from its part of the recipe.
    """

    def step(
        items: Iterable[DatasetItem], context: DatasetContext, report: StepReport
    ) -> Iterator[DatasetItem]:
        # digest -> the task id that kept it (the id is only for the report's examples).
        seen: dict[bytes, int] = {}
        report.details.setdefault("examples", [])
        for item in items:
            normalized = normalize_text(item_text(item, context))
            if not normalized:
                yield item
                continue
            digest = text_digest(normalized)
            kept_task_id = seen.get(digest)
            if kept_task_id is None:
                seen[digest] = item.task_id
                yield item
                continue
            report.removed += 1
            _add_example(report, kept_task_id, item.task_id)

    return step


def _fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, as datasketch's ``_fmix`` applies it (uint32, wrapping)."""
    s1, m1, s2, m2, s3 = _FMIX32
    values = values ^ (values >> s1)
    values = values * m1
    values = values ^ (values >> s2)
    values = values * m2
    return values ^ (values >> s3)


def shingle_hashes(codepoints: np.ndarray, shingle_size: int) -> np.ndarray:
    """32-bit hashes of every ``shingle_size`` code points of one text (one hash if it is shorter).

    A polynomial hash over 64 bits folded to 32; equal shingles hash equal, in any text.
    """
    values = codepoints.astype(np.uint64)
    count = len(values) - shingle_size + 1
    if count < 1:
        count, shingle_size = 1, len(values)
    hashes = values[:count] * _SHINGLE_MULTIPLIERS[0]
    for offset in range(1, shingle_size):
        hashes += values[offset : offset + count] * _SHINGLE_MULTIPLIERS[offset]
    hashes ^= hashes >> np.uint64(32)
    return hashes.astype(np.uint32)


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


class MinHashSigner:
    """datasketch MinHash signatures ("affine32") of many texts' shingle sets, a block at a time."""

    def __init__(self, *, num_perm: int, shingle_size: int, seed: int = MINHASH_SEED):
        self.num_perm = num_perm
        self.shingle_size = shingle_size
        self.seed = seed
        # datasketch's own permutations for this seed and width, so that the signatures are MinHash's.
        a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
        # Column vectors: the block is laid out (permutation, shingle), so that the minimum per text
        # reduces contiguous runs of each row, which numpy does several times faster than columns.
        self._a = np.ascontiguousarray(a, dtype=np.uint32).reshape(-1, 1)
        self._b = np.ascontiguousarray(b, dtype=np.uint32).reshape(-1, 1)

    def sign(self, texts: list[str]) -> np.ndarray:
        """One row of ``num_perm`` uint32 per text (texts must not be empty)."""
        hashes, starts = self._block_shingle_hashes(texts)
        hashes = _fmix32(hashes)
        signatures = np.empty((self.num_perm, len(texts)), dtype=np.uint32)
        ends = np.append(starts[1:], len(hashes))
        rows_at_once = min(PERMUTATION_ROWS, self.num_perm)
        work_columns = int(
            max(
                ends[first : first + SIGN_TEXTS][-1] - starts[first]
                for first in range(0, len(texts), SIGN_TEXTS)
            )
        )
        block = np.empty((rows_at_once, work_columns), dtype=np.uint32)
        for first_text in range(0, len(texts), SIGN_TEXTS):
            texts_here = slice(first_text, first_text + SIGN_TEXTS)
            first_column, end_column = int(starts[first_text]), int(ends[texts_here][-1])
            group = hashes[np.newaxis, first_column:end_column]
            group_starts = starts[texts_here] - first_column
            # PERMUTATION_ROWS permutations at a time, in place; uint32 arithmetic wraps, which is the
            # "mod 2**32" of the affine permutation.
            for first in range(0, self.num_perm, rows_at_once):
                rows = slice(first, first + rows_at_once)
                work = block[: len(self._a[rows]), : end_column - first_column]
                np.multiply(self._a[rows], group, out=work)
                np.add(work, self._b[rows], out=work)
                signatures[rows, texts_here] = np.minimum.reduceat(work, group_starts, axis=1)
        return signatures.T.copy()

    def _block_shingle_hashes(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Every text's shingle hashes, concatenated, and where each text's run starts.

        The texts' code points are hashed as one array (one numpy pass instead of one per text), then
        the shingles that would cross from one text into the next are dropped. A text shorter than a
        shingle is one shingle of its own, hashed apart and put in its place.
        """
        size = self.shingle_size
        lengths = np.fromiter((len(text) for text in texts), dtype=np.intp, count=len(texts))
        counts = np.where(lengths >= size, lengths - size + 1, 1)
        run_starts = _run_starts(counts)
        joined = "".join(texts)
        if len(joined) < size:
            per_text = [shingle_hashes(_codepoints(text), size) for text in texts]
            return np.concatenate(per_text), run_starts
        all_hashes = shingle_hashes(_codepoints(joined), size)
        # Text i's shingles start at its first code point and there are counts[i] of them.
        text_starts = _run_starts(lengths)
        positions = np.arange(int(counts.sum()), dtype=np.intp) + np.repeat(text_starts - run_starts, counts)
        # A short text's one position may lie past the joined text's last shingle: it is replaced below.
        np.minimum(positions, len(all_hashes) - 1, out=positions)
        block_hashes = all_hashes[positions]
        for row in np.flatnonzero(lengths < size).tolist():
            block_hashes[run_starts[row]] = shingle_hashes(_codepoints(texts[row]), size)[0]
        return block_hashes, run_starts


def _run_starts(counts: np.ndarray) -> np.ndarray:
    starts = np.zeros(len(counts), dtype=np.intp)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


# A kept item's signature is kept as one byte per permutation (its low byte): two different 32-bit
# minimums agree on their low byte with probability 1/256, so the share of equal bytes p estimates
# J + (1 - J) / 256 and (p - 1/256) / (255/256) is an unbiased estimate of the Jaccard similarity J,
# at a quarter of the memory (128 bytes per kept item at 128 permutations instead of 512).
FINGERPRINT_FALSE_MATCH = 1 / 256
# Kept items whose band hashes wait in dictionaries before they are merged into the sorted arrays.
MERGE_EVERY = 65_536
FINGERPRINT_CHUNK = 65_536  # kept items per fingerprint array: the store grows without copying
_BAND_MIX = np.uint64(0x9E3779B97F4A7C15)


@lru_cache(maxsize=32)
def _band_ranges(threshold: float, num_perm: int) -> tuple[tuple[int, int], ...]:
    """``MinHashLSH``'s bands for the threshold and width. Cached: datasketch finds them by numerical
    integration over every split of the permutations, about 0.1 s a time, once per build otherwise."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return tuple((int(start), int(end)) for start, end in lsh.hashranges)


class BandIndex:
    """The LSH index of the kept items' signatures: datasketch's bands (``MinHashLSH``'s ``hashranges``
    for the threshold and width), each band hashed to 64 bits.

    datasketch's dict storage keeps a set per bucket and the band's bytes as the key, about 2.7 KB per
    kept item at 128 permutations (3 GB at a million distinct items). Here each band is a sorted array
    of (hash, key), 12 bytes per band per kept item, searched for a whole block at once with
    ``searchsorted``; items kept since the last merge wait in one dictionary per band, which the items
    of the same block are checked against too (an item may duplicate one a few rows above it).
    Two band hashes equal by chance (2**-64) only add a candidate, which the signatures then reject.
    tests/exports/test_dataset_dedup.py pins the candidates to ``MinHashLSH.query``'s.
    """

    def __init__(self, *, threshold: float, num_perm: int):
        self.ranges = _band_ranges(threshold, num_perm)
        self._hashes: list[np.ndarray] = [np.empty(0, dtype=np.uint64) for _ in self.ranges]
        self._keys: list[np.ndarray] = [np.empty(0, dtype=np.uint32) for _ in self.ranges]
        # Per band: band hash -> the key of the kept item, or the keys when several share it.
        self._recent: list[dict[int, int | list[int]]] = [{} for _ in self.ranges]
        self._recent_count = 0

    def band_hashes(self, signatures: np.ndarray) -> np.ndarray:
        """(rows, bands) uint64: each band's values folded into one hash, in the band's column order.

        The bands are folded side by side, one column offset at a time (datasketch's bands all have
        the same width, so that is ``width`` steps over every band instead of one step per column).
        """
        values = signatures.astype(np.uint64)
        starts = np.array([start for start, _end in self.ranges], dtype=np.intp)
        widths = np.array([end - start for start, end in self.ranges], dtype=np.intp)
        mixed = np.repeat(widths.astype(np.uint64)[np.newaxis, :], len(values), axis=0)
        for offset in range(int(widths.max(initial=0))):
            active = widths > offset
            if active.all():
                mixed = (mixed ^ values[:, starts + offset]) * _BAND_MIX
                mixed ^= mixed >> np.uint64(29)
                continue
            part = (mixed[:, active] ^ values[:, starts[active] + offset]) * _BAND_MIX
            mixed[:, active] = part ^ (part >> np.uint64(29))
        return mixed

    def block_candidates(self, hashes: np.ndarray) -> dict[int, set[int]]:
        """The rows of a block that have candidates among the kept items (merged or recent), with them.

        Most rows have none, and those cost no Python object here.
        """
        found: dict[int, set[int]] = {}
        for band in range(len(self.ranges)):
            stored = self._hashes[band]
            column = hashes[:, band]
            if len(stored):
                left = np.searchsorted(stored, column, side="left")
                right = np.searchsorted(stored, column, side="right")
                keys = self._keys[band]
                for row in np.flatnonzero(right > left).tolist():
                    found.setdefault(row, set()).update(keys[left[row] : right[row]].tolist())
            recent = self._recent[band]
            if recent:
                for row, recent_keys in enumerate(map(recent.get, column.tolist())):
                    if recent_keys is None:
                        continue
                    if isinstance(recent_keys, int):
                        found.setdefault(row, set()).add(recent_keys)
                    else:
                        found.setdefault(row, set()).update(recent_keys)
        return found

    def insert_many(self, keys: list[int], hashes: np.ndarray) -> None:
        """Kept items, in key order.

        A recent bucket holds its one key as a plain int, and a list only once a second key shares
        the band hash: a list per bucket made the garbage collector walk a few hundred thousand of them
        over and over, which cost more than the rest of the index.
        """
        for band, recent in enumerate(self._recent):
            for value, key in zip(hashes[:, band].tolist(), keys, strict=True):
                earlier = recent.setdefault(value, key)
                if earlier is key:
                    continue
                if isinstance(earlier, int):
                    recent[value] = [earlier, key]
                else:
                    earlier.append(key)
        self._recent_count += len(keys)

    def merge_if_due(self) -> None:
        """Called between blocks (a block's candidates were read before its items were kept)."""
        if self._recent_count >= MERGE_EVERY:
            self.merge()

    def merge(self) -> None:
        for band, recent in enumerate(self._recent):
            if not recent:
                continue
            values: list[int] = []
            keys: list[int] = []
            for value, bucket in recent.items():
                if isinstance(bucket, int):
                    values.append(value)
                    keys.append(bucket)
                else:
                    values.extend([value] * len(bucket))
                    keys.extend(bucket)
            new_hashes = np.array(values, dtype=np.uint64)
            new_keys = np.array(keys, dtype=np.uint32)
            order = np.argsort(new_hashes, kind="stable")
            new_hashes, new_keys = new_hashes[order], new_keys[order]
            at = np.searchsorted(self._hashes[band], new_hashes, side="right")
            self._hashes[band] = np.insert(self._hashes[band], at, new_hashes)
            self._keys[band] = np.insert(self._keys[band], at, new_keys)
            self._recent[band] = {}
        self._recent_count = 0


class Fingerprints:
    """The kept items' signatures, one byte per permutation, in fixed-size chunks (no copy as it grows)."""

    def __init__(self, num_perm: int):
        self.num_perm = num_perm
        self._chunks: list[np.ndarray] = []
        self.count = 0

    def append(self, signature: np.ndarray) -> int:
        self.extend(signature[np.newaxis, :])
        return self.count - 1

    def extend(self, signatures: np.ndarray) -> None:
        """Rows of signatures, kept under the next keys in order."""
        done = 0
        while done < len(signatures):
            row = self.count % FINGERPRINT_CHUNK
            if row == 0:
                self._chunks.append(np.empty((FINGERPRINT_CHUNK, self.num_perm), dtype=np.uint8))
            take = min(len(signatures) - done, FINGERPRINT_CHUNK - row)
            # The low byte (uint32 -> uint8 wraps).
            self._chunks[-1][row : row + take] = signatures[done : done + take].astype(np.uint8)
            done += take
            self.count += take

    def similarities(self, keys: np.ndarray, signature: np.ndarray) -> np.ndarray:
        """``similarity`` for many keys at once (the same float64 arithmetic, so the same values)."""
        stored = np.empty((len(keys), self.num_perm), dtype=np.uint8)
        chunks, rows = np.divmod(keys, FINGERPRINT_CHUNK)
        for chunk in np.unique(chunks).tolist():
            in_chunk = chunks == chunk
            stored[in_chunk] = self._chunks[chunk][rows[in_chunk]]
        equal = np.count_nonzero(stored == signature.astype(np.uint8), axis=1) / self.num_perm
        return (equal - FINGERPRINT_FALSE_MATCH) / (1 - FINGERPRINT_FALSE_MATCH)

    def similarity(self, key: int, signature: np.ndarray) -> float:
        """The estimated Jaccard similarity of a kept item and a signature (see FINGERPRINT_FALSE_MATCH)."""
        stored = self._chunks[key // FINGERPRINT_CHUNK][key % FINGERPRINT_CHUNK]
        equal = np.count_nonzero(stored == signature.astype(np.uint8)) / self.num_perm
        return (equal - FINGERPRINT_FALSE_MATCH) / (1 - FINGERPRINT_FALSE_MATCH)


def near_step(
    threshold: float,
    *,
    num_perm: int = DEFAULT_NUM_PERM,
    shingle_size: int = DEFAULT_SHINGLE_SIZE,
    seed: int = MINHASH_SEED,
) -> CurationStep:
    """Remove later items whose estimated Jaccard similarity to a kept one is at least ``threshold``."""
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold <= 1:
        raise ApplicationError(
            _("The near-duplicate threshold must be a number above 0 and at most 1."),
            field="dedup",
            code="invalid_threshold",
        )
    if not 2 <= num_perm <= 1024:
        raise ApplicationError(_("num_perm must be between 2 and 1024."), field="dedup")
    if not 1 <= shingle_size <= SHINGLE_SIZE_MAX:
        raise ApplicationError(
            _("The shingle size must be between 1 and %(max)s.") % {"max": SHINGLE_SIZE_MAX}, field="dedup"
        )
    threshold = float(threshold)
    signer = MinHashSigner(num_perm=num_perm, shingle_size=shingle_size, seed=seed)

    def step(
        items: Iterable[DatasetItem], context: DatasetContext, report: StepReport
    ) -> Iterator[DatasetItem]:
        report.details.update(
            {"threshold": threshold, "num_perm": num_perm, "shingle_size": shingle_size, "examples": []}
        )
        index = BandIndex(threshold=threshold, num_perm=num_perm)
        # Kept items' signatures and task ids, by their position among the kept (the LSH key).
        kept = Fingerprints(num_perm)
        kept_task_ids = array("q")

        def decide(
            block: list[DatasetItem], signed: list[int], signatures: Future | None
        ) -> Iterator[DatasetItem]:
            if signatures is None:
                yield from block
                return
            signed_rows = signatures.result()
            band_hashes = index.band_hashes(signed_rows)
            # Candidates among the items kept before this block, for the whole block at once.
            candidates_before = index.block_candidates(band_hashes)
            # A later item of the block may duplicate an earlier one of the same block.
            has_earlier = _shares_a_band_with_an_earlier_row(band_hashes).tolist()
            row_of_position = dict(zip(signed, range(len(signed)), strict=True))
            # Rows kept in this block, in order, and the key each got (keys follow kept.count).
            kept_rows: list[int] = []
            key_of_row: dict[int, int] = {}
            stored_rows = 0  # kept_rows[:stored_rows] are already in ``kept``
            # Items are decided one by one in stream order; most have no candidate at all and are kept
            # without touching the index, which takes the block's kept items in one call at the end.
            for position, item in enumerate(block):
                row = row_of_position.get(position)
                if row is None:
                    yield item
                    continue
                candidates = candidates_before.get(row)
                if has_earlier[row]:
                    sharing = (band_hashes[:row] == band_hashes[row]).any(axis=1)
                    earlier = {
                        key_of_row[other] for other in np.flatnonzero(sharing).tolist() if other in key_of_row
                    }
                    candidates = earlier | candidates if candidates else earlier
                duplicate_of = None
                if candidates:
                    # The similarity is read from ``kept``: this block's kept rows go in first.
                    if stored_rows < len(kept_rows):
                        kept.extend(signed_rows[kept_rows[stored_rows:]])
                        stored_rows = len(kept_rows)
                    duplicate_of = _best_candidate(candidates, signed_rows[row], kept, threshold)
                if duplicate_of is None:
                    key_of_row[row] = kept.count + len(kept_rows) - stored_rows
                    kept_rows.append(row)
                    kept_task_ids.append(item.task_id)
                    yield item
                    continue
                report.removed += 1
                _add_example(report, kept_task_ids[duplicate_of], item.task_id)
            if stored_rows < len(kept_rows):
                kept.extend(signed_rows[kept_rows[stored_rows:]])
            index.insert_many([key_of_row[row] for row in kept_rows], band_hashes[kept_rows])
            index.merge_if_due()

        # The next block is signed in a thread while this one is decided: numpy releases the GIL for
        # the permutations, which are most of the signing, so on two cores the two overlap. Only this
        # thread reads ``items`` (an earlier step's generator) and touches the index, so the output is
        # the same as without the thread.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="minhash") as signing:
            iterator = iter(items)
            pending: tuple[list[DatasetItem], list[int], Future | None] | None = None
            try:
                while True:
                    block = list(islice(iterator, BLOCK_ITEMS))
                    upcoming = None
                    if block:
                        texts = [normalize_text(item_text(item, context)) for item in block]
                        signed = [position for position, text in enumerate(texts) if text]
                        future = (
                            signing.submit(signer.sign, [texts[row] for row in signed]) if signed else None
                        )
                        upcoming = (block, signed, future)
                    if pending is not None:
                        yield from decide(*pending)
                    pending = upcoming
                    if pending is None:
                        break
            finally:
                # A consumer that stops early (or an error) leaves at most one block being signed.
                signing.shutdown(wait=True, cancel_futures=True)

    return step


def _shares_a_band_with_an_earlier_row(hashes: np.ndarray) -> np.ndarray:
    """Per row of a block's band hashes: whether an earlier row has the same hash in some band.

    Sorted per band (stable, so that among equal hashes the earlier row comes first): a few calls per
    band, where comparing every pair of rows grows with the square of the block.
    """
    found = np.zeros(len(hashes), dtype=bool)
    for band in range(hashes.shape[1]):
        column = hashes[:, band]
        order = np.argsort(column, kind="stable")
        repeated = column[order[1:]] == column[order[:-1]]
        found[order[1:][repeated]] = True
    return found


def _best_candidate(
    candidates: set[int], signature: np.ndarray, kept: Fingerprints, threshold: float
) -> int | None:
    """The earliest kept candidate similar enough (earliest, so that the output never depends on set order)."""
    keys = np.array(sorted(candidates), dtype=np.intp)
    similar = np.flatnonzero(kept.similarities(keys, signature) >= threshold)
    return int(keys[similar[0]]) if len(similar) else None

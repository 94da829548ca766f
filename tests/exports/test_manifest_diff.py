"""The diff between two versions' manifests (added, removed, relabeled tasks): read side by side in task-id
order, in flat memory, and the same answer as comparing both manifests held in memory."""

import json
import random
import tracemalloc

from exports.datasets import build
from exports.datasets.build import manifest_diff


def _manifest(path, rows):
    with open(path, "w") as stream:
        for task_id, ids in rows:
            stream.write(
                json.dumps({"annotation_ids": list(ids), "split": "train", "task_id": task_id}) + "\n"
            )
    return path


def _random_pair(tmp_path, seed, tasks=400):
    rng = random.Random(seed)
    old, new = [], []
    for task_id in range(1, tasks + 1):
        ids = tuple(sorted(rng.sample(range(1, 10 * tasks), rng.randint(1, 3))))
        kept_before, kept_after = rng.random() < 0.85, rng.random() < 0.85
        if kept_before:
            old.append((task_id, ids))
        if kept_after:
            new.append((task_id, ids if rng.random() < 0.8 else (*ids, 10 * tasks + task_id)))
    return _manifest(tmp_path / f"old-{seed}.jsonl", old), _manifest(tmp_path / f"new-{seed}.jsonl", new)


def test_the_merged_diff_is_the_in_memory_one(tmp_path):
    for seed in range(5):
        old, new = _random_pair(tmp_path, seed)
        merged = manifest_diff(old, new)
        assert merged == build._diff_in_memory(old, new)
        assert merged["added"] and merged["removed"] and merged["relabeled"]
        assert all(samples == sorted(samples) and len(samples) <= build.SAMPLE_IDS
                   for samples in merged["samples"].values())  # fmt: skip


def test_by_hand(tmp_path):
    old = _manifest(tmp_path / "old.jsonl", [(1, (10,)), (2, (20,)), (4, (40,))])
    new = _manifest(tmp_path / "new.jsonl", [(2, (20, 21)), (3, (30,)), (4, (40,)), (5, (50,))])
    assert manifest_diff(old, new) == {
        "added": 2, "removed": 1, "relabeled": 1,
        "samples": {"added": [3, 5], "removed": [1], "relabeled": [2]},
    }  # fmt: skip
    assert manifest_diff(old, old)["samples"] == {"added": [], "removed": [], "relabeled": []}


def test_a_manifest_out_of_order_is_compared_in_memory(tmp_path):
    old = _manifest(tmp_path / "old.jsonl", [(4, (40,)), (1, (10,)), (2, (20,))])
    new = _manifest(tmp_path / "new.jsonl", [(1, (11,)), (2, (20,)), (3, (30,))])
    assert manifest_diff(old, new) == {
        "added": 1, "removed": 1, "relabeled": 1,
        "samples": {"added": [3], "removed": [4], "relabeled": [1]},
    }  # fmt: skip


def test_memory_stays_flat_whatever_the_size(tmp_path):
    """At 100,000 tasks a side the in-memory comparison traces tens of megabytes; the merge, a few lines."""
    rows = [(task_id, (2 * task_id, 2 * task_id + 1)) for task_id in range(1, 100_001)]
    old = _manifest(tmp_path / "old.jsonl", rows)
    new = _manifest(tmp_path / "new.jsonl", [(task_id, ids[:1]) for task_id, ids in rows[50_000:]])
    tracemalloc.start()
    try:
        diff = manifest_diff(old, new)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (diff["added"], diff["removed"], diff["relabeled"]) == (0, 50_000, 50_000)
    assert peak < 1_000_000, peak

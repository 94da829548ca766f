"""Throughput and peak memory of the generic dataset writers (jsonl, parquet) on generated items.

    .venv/bin/python bench/dataset_writers.py --items 200000

Items look like a labeled NER project's: a few sentences of text with 2 to 6 entity spans, each region
with its own id, every task different, one annotation behind each. Each writer runs in its own child
process so that its peak RSS (``ru_maxrss``) is its own; the items are generated as they are written,
as the build pipeline streams them, and the time spent generating them is measured around each item
and left out of the writer's items/s.
"""

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")

WORDS = (
    "the board approved a merger with shares rising after quarterly results beat estimates while "
    "analysts warned about rates inflation and supply chains in several markets across the region"
).split()
ENTITIES = [("ORG", "Acme Holdings"), ("PER", "Jane Smith"), ("MONEY", "$4.2 billion"), ("LOC", "Tokyo"),
            ("ORG", "株式会社テスト"), ("PER", "山田太郎")]  # fmt: skip
SPLITS = ("train", "train", "train", "train", "train", "train", "train", "train", "validation", "test")


def generate(count: int, seed: int = 0) -> Iterator:
    from exports.datasets.items import DatasetItem, ItemAnnotation

    rng = random.Random(seed)
    for task_id in range(1, count + 1):
        parts: list[str] = []
        result = []
        for region in range(rng.randint(2, 6)):
            parts.append(" ".join(rng.choices(WORDS, k=rng.randint(4, 12))) + " ")
            label, name = rng.choice(ENTITIES)
            start = sum(map(len, parts))
            parts.append(name)
            result.append({
                "id": f"r{task_id}x{region}", "from_name": "label", "to_name": "text", "type": "labels",
                "value": {"start": start, "end": start + len(name), "text": name, "labels": [label]},
            })  # fmt: skip
        parts.append(f" (doc {task_id}).")
        yield DatasetItem(
            task_id=task_id,
            data={"text": "".join(parts), "source": f"news-{task_id % 97}"},
            result=result,
            annotations=[ItemAnnotation(id=task_id * 3, completed_by=task_id % 7 + 1, result=result)],
            split=SPLITS[task_id % len(SPLITS)],
        )


def timed(items: Iterator, spent: list[float]) -> Iterator:
    """The items, adding the wall and CPU time taken to make each one to ``spent``: it is not the
    writer's."""
    clock, cpu_clock = time.perf_counter, time.process_time
    while True:
        started, cpu_started = clock(), cpu_clock()
        try:
            item = next(items)
        except StopIteration:
            return
        finally:
            spent[0] += clock() - started
            spent[1] += cpu_clock() - cpu_started
        yield item


def run_writer(name: str, count: int, queue) -> None:
    import django

    django.setup()
    from exports.datasets.items import DatasetContext
    from exports.formats.datasets import DATASET_FORMATS

    context = DatasetContext(project_id=1, controls={}, data_variables=("text",))
    writer = DATASET_FORMATS[name]
    # The libraries a writer loads on first use (pyarrow) count in the baseline, not in its growth.
    with tempfile.TemporaryFile() as stream:
        writer.write(generate(10), context, stream)
    baseline_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    spent = [0.0, 0.0]
    with tempfile.TemporaryFile() as stream:
        started = time.perf_counter()
        cpu_started = time.process_time()
        writer.write(timed(generate(count), spent), context, stream)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        size = stream.tell()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # On a shared machine the wall clock counts other processes' turns too; the process's CPU time (all
    # its threads), less generating's, says what the writer costs when it has a core to itself.
    queue.put((name, count, elapsed, elapsed - spent[0], cpu - spent[1], size, baseline_mb, peak_mb))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--formats", default="jsonl,parquet")
    args = parser.parse_args()
    context = get_context("spawn")
    for name in args.formats.split(","):
        queue = context.Queue()
        process = context.Process(target=run_writer, args=(name, args.items, queue))
        process.start()
        fmt, count, elapsed, writing, writing_cpu, size, baseline_mb, peak_mb = queue.get()
        process.join()
        print(
            f"{fmt:8} {count:>9,} items  writing {writing:6.2f} s = {count / writing:>7,.0f} items/s "
            f"(CPU {count / writing_cpu:>7,.0f} items/s) "
            f"(with generating them {count / elapsed:>7,.0f}/s)  {size / 1e6:7.1f} MB written  "
            f"peak RSS {peak_mb:6.1f} MB (process before writing {baseline_mb:6.1f} MB)"
        )


if __name__ == "__main__":
    main()

"""Training-shape writers' throughput (issue 11): items a second each writer turns into JSONL, in process.

No database and no queue: N synthetic items per shape (English and Japanese text alternating, every one
different), built before the clock starts, are written to a stream that only counts bytes. The figure
is the writer's own cost, the part of a dataset build that grows with the project besides reading the
tasks. Peak RSS is the process's, items included.

Usage (from the repository root)::

    .venv/bin/python bench/dataset_shapes_bench.py --items 100000
"""

import argparse
import json
import os
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

from annotation.label_config import parse_label_config  # noqa: E402
from exports.datasets.items import DatasetContext, DatasetItem  # noqa: E402
from exports.formats import (  # noqa: E402, F401 - importing registers each shape
    dpo_pairs,
    pretraining_corpus,
    rubric_scores,
    sft_chat,
    text_classification,
    token_classification,
)
from exports.formats.datasets import DATASET_FORMATS  # noqa: E402

CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Labels name="ner" toName="text"><Label value="PER"/><Label value="LOC"/></Labels>
  <Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices>
  <Rating name="fluency" toName="text"/>
  <TextArea name="answer" toName="text"/>
  <Text name="answer1" value="$answer1"/><Text name="answer2" value="$answer2"/>
  <Pairwise name="comparison" toName="answer1,answer2"/>
</View>"""


class ByteCounter:
    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data: bytes) -> int:
        self.bytes += len(data)
        return len(data)


def item(index: int) -> DatasetItem:
    if index % 2:
        text = f"Ada Lovelace met Charles Babbage in London on day {index}, and they talked about engines."
        person, place = "Ada Lovelace", "London"
    else:
        text = f"山田太郎は{index}日に東京のトヨタ本社で新しいエンジンについて話した。"
        person, place = "山田太郎", "東京"
    spans = [(text.index(person), person, "PER"), (text.index(place), place, "LOC")]
    result = [
        {"from_name": "ner", "to_name": "text", "type": "labels",
         "value": {"start": start, "end": start + len(part), "text": part, "labels": [label]}}
        for start, part, label in spans
    ] + [
        {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["Positive"]}},
        {"from_name": "fluency", "to_name": "text", "type": "rating", "value": {"rating": index % 5 + 1}},
        {"from_name": "answer", "to_name": "text", "type": "textarea", "value": {"text": [f"Answer {index}."]}},
        {"from_name": "comparison", "to_name": "comparison", "type": "pairwise",
         "value": {"selected": "left" if index % 3 else "right"}},
    ]  # fmt: skip
    data = {"text": text, "answer1": f"First answer {index}.", "answer2": f"Second answer {index}."}
    return DatasetItem(task_id=index, data=data, result=result)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    schema = parse_label_config(CONFIG, max_bytes=settings.TESSERA_MAX_LABEL_CONFIG_BYTES)
    context = DatasetContext(
        project_id=1, controls=schema.summary(), data_variables=schema.variables, label_config=CONFIG
    )
    items = [item(index) for index in range(args.items)]
    figures: dict[str, dict] = {}
    for name in ("text_classification", "token_classification", "sft_chat", "dpo_pairs", "rubric_scores",
                 "pretraining_corpus"):  # fmt: skip
        fmt = DATASET_FORMATS[name]
        assert fmt.fits(context) is None, name
        stream = ByteCounter()
        started = time.perf_counter()
        fmt.write(items, context, stream)  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        figures[name] = {
            "items_per_s": round(args.items / seconds),
            "seconds": round(seconds, 2),
            "bytes": stream.bytes,
        }
    print(
        json.dumps(
            {
                "items": args.items,
                "shapes": figures,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "load_avg_1m": round(os.getloadavg()[0], 2),
                "date": datetime.now(UTC).date().isoformat(),
            }
        )
    )


if __name__ == "__main__":
    main()

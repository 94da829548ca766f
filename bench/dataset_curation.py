"""Curation steps of a dataset version (issue 11), timed one by one: exact dedup, near dedup, redaction.

Generates N items in memory (no database: the steps are pure code): English or Japanese text of about
200 to 500 characters, built from sentences drawn at random, with a name in each that an NER span
labels, as a text project's items are. Among them, ``--duplicates`` (a fraction) are exact copies of
an earlier item after normalisation (upper case and doubled spaces, or full width), ``--near`` are
near copies (two or three characters changed), and ``--pii`` carry personal data (an e-mail, a phone
number in Japanese or international form, a card number, a My Number, a Japanese address, an IP
address, an IBAN or a bank account number) that the redaction step finds. Each step then reads the
same N items once, and the script prints one JSON line: items/s per step (wall time, and process CPU
time over all threads), what each removed or changed, the process's peak RSS after each step (the
steps run in the order exact, redact, near, so that the near step's index shows as growth), the
machine's load average before each step (the machine may be shared) and the parameters.

Usage (from the repository root)::

    .venv/bin/python bench/dataset_curation.py --items 100000
"""

import argparse
import json
import os
import platform
import random
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")

import django  # noqa: E402

django.setup()

from exports.datasets.dedup import exact_step, near_step  # noqa: E402
from exports.datasets.items import DatasetContext, DatasetItem  # noqa: E402
from exports.datasets.redaction import KINDS, my_number_check_digit, redact_step  # noqa: E402
from exports.datasets.steps import StepReport  # noqa: E402

CONTEXT = DatasetContext(
    project_id=1,
    controls={
        "label": {
            "type": "Labels",
            "to_name": ["text"],
            "inputs": [{"type": "Text", "value": "text"}],
            "labels": ["ORG", "PER", "LOC"],
        }
    },
    data_variables=("text",),
)
ENGLISH_WORDS = (
    "the board approved a new dividend policy after revenue grew while costs stayed flat in the third "
    "quarter analysts expect cloud business across Asia and Europe to expand next year regulators fined "
    "the bank for late reports customers complained about delays at the port storm closed schools on "
    "Tuesday researchers published results of a clinical trial showing fewer side effects than before "
    "engineers replaced the old servers with faster machines inflation slowed for a fourth month"
).split()
JAPANESE_PHRASES = (
    "東京都内の企業",
    "今年の夏のボーナス",
    "前年より平均で三パーセント増えた",
    "情報通信業と製造業",
    "人手不足を背景に",
    "若手社員への配分を厚くする動き",
    "小売業や飲食業では",
    "据え置きとした企業",
    "大阪市で開かれた展示会",
    "新しい電気自動車",
    "家庭用ロボットが注目を集めた",
    "主催者は来年も",
    "台風の影響で",
    "学校が休校になった",
    "研究チームは",
    "臨床試験の結果を発表した",
    "副作用が少ない",
    "物価の上昇が",
    "四か月連続で鈍化した",
    "サーバーを新しい機械に入れ替えた",
)
NAMES = ("Jane Doe", "John Smith", "Acme Bank", "Globex", "山田太郎", "佐藤花子", "東京電機", "大阪商事")


def english_text(rng: random.Random, length: int) -> str:
    words: list[str] = []
    size = 0
    while size < length:
        sentence = " ".join(rng.choice(ENGLISH_WORDS) for _ in range(rng.randint(8, 16)))
        words.append(sentence.capitalize() + ".")
        size += len(sentence) + 2
    return " ".join(words)


def japanese_text(rng: random.Random, length: int) -> str:
    parts: list[str] = []
    size = 0
    while size < length:
        sentence = "、".join(rng.choice(JAPANESE_PHRASES) for _ in range(rng.randint(2, 4))) + "。"
        parts.append(sentence)
        size += len(sentence)
    return "".join(parts)


def my_number(rng: random.Random) -> str:
    first = "".join(rng.choice("0123456789") for _ in range(11))
    return first + str(my_number_check_digit(first))


def pii(rng: random.Random) -> str:
    choices = (
        lambda: f"user{rng.randint(1, 99999)}@example.co.jp",
        lambda: f"0{rng.randint(70, 90)}0-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        lambda: "０３－１２３４－５６７８",
        lambda: f"+81 90-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        lambda: "4111 1111 1111 1111",
        lambda: my_number(rng),
        lambda: f"〒100-0001 東京都千代田区千代田{rng.randint(1, 9)}-{rng.randint(1, 20)}",
        lambda: f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        lambda: "IBAN GB82 WEST 1234 5698 7654 32",
        lambda: f"口座番号：普通 {rng.randint(1000000, 9999999)}",
    )
    return rng.choice(choices)()


def with_name(text: str, rng: random.Random) -> str:
    """The text with a name inserted, which the item's span region labels."""
    position = rng.randint(0, len(text) // 2)
    return text[:position] + rng.choice(NAMES) + " " + text[position:]


def as_item(task_id: int, text: str) -> DatasetItem:
    """The item, with a span over the first name in its text (a near or respelled copy may have none)."""
    result = []
    for name in NAMES:
        start = text.find(name)
        if start >= 0:
            value = {"start": start, "end": start + len(name), "text": name, "labels": ["PER"]}
            result.append(
                {
                    "id": f"r{task_id}",
                    "from_name": "label",
                    "to_name": "text",
                    "type": "labels",
                    "value": value,
                }
            )
            break
    return DatasetItem(task_id=task_id, data={"text": text}, result=result)


def respell(text: str, rng: random.Random) -> str:
    """The same text after normalisation: upper case and doubled spaces, or ASCII made full width."""
    if rng.random() < 0.5:
        return text.upper().replace(" ", "  ")
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text) + "\u3000"


def nudge(text: str, rng: random.Random) -> str:
    """A near copy: two or three characters changed."""
    chars = list(text)
    for position in rng.sample(range(len(chars)), min(len(chars), rng.randint(2, 3))):
        chars[position] = rng.choice("xyz変更")
    return "".join(chars)


def generate(count: int, *, duplicates: float, near: float, pii_share: float, seed: int) -> list[DatasetItem]:
    rng = random.Random(seed)
    texts: list[str] = []
    for _ in range(count):
        roll = rng.random()
        if texts and roll < duplicates:
            text = respell(rng.choice(texts), rng)
        elif texts and roll < duplicates + near:
            text = nudge(rng.choice(texts), rng)
        else:
            length = rng.randint(200, 480)
            text = english_text(rng, length) if rng.random() < 0.5 else japanese_text(rng, length // 2)
            if rng.random() < pii_share:
                position = rng.randint(0, len(text))
                text = text[:position] + " " + pii(rng) + " " + text[position:]
            text = with_name(text, rng)
        texts.append(text)
    return [as_item(task_id, text) for task_id, text in enumerate(texts, start=1)]


def timed(name: str, step, items: list[DatasetItem]) -> dict:
    load = os.getloadavg()[0]
    report = StepReport(name)
    wall, cpu = time.perf_counter(), time.process_time()
    kept = sum(1 for _ in step(items, CONTEXT, report))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        # The process's peak resident memory so far (Linux: kilobytes): the items are in memory all
        # along, so the growth over the previous step's figure is what this step held at its peak.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "items_per_s": round(len(items) / wall),
        "items_per_cpu_s": round(len(items) / cpu),
        "wall_s": round(wall, 3),
        "kept": kept,
        "removed": report.removed,
        "changed": report.changed,
        "details": {key: value for key, value in report.details.items() if key != "examples"},
        "load_before": round(load, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--duplicates", type=float, default=0.05)
    parser.add_argument("--near", type=float, default=0.05)
    parser.add_argument("--pii", type=float, default=0.3)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()

    started = time.perf_counter()
    items = generate(
        options.items,
        duplicates=options.duplicates,
        near=options.near,
        pii_share=options.pii,
        seed=options.seed,
    )
    generate_s = time.perf_counter() - started
    mean_chars = sum(len(item.data["text"]) for item in items) / len(items)
    rss_items_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    steps = {
        "dedup_exact": exact_step({"exact": True}),
        "redact": redact_step(KINDS, text_fields=["text"]),
        "dedup_near": near_step(options.threshold, num_perm=options.num_perm),
    }
    results = {name: timed(name, step, items) for name, step in steps.items()}
    print(
        json.dumps(
            {
                "bench": "dataset_curation",
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "items": len(items),
                "mean_chars": round(mean_chars),
                "generate_s": round(generate_s, 1),
                "peak_rss_mb_with_items": rss_items_mb,
                "options": vars(options),
                "steps": results,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()

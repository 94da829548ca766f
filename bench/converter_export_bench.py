"""Speed and memory of the converter formats' conversion stage (exports/converter.py), without the database.

Builds N labeled tasks as the JSON export writes them (NER spans for CONLL2003, rectangles for COCO, YOLO
and VOC), converts them as ``GET /api/projects/{id}/export?exportType=…`` does, and prints one JSON line per
format: tasks/s and the process's peak RSS (VmHWM) after the run. Reading the tasks from the database is
the JSON export's own cost, measured by bench/api_bench.py.

    .venv/bin/python bench/converter_export_bench.py --tasks 20000 --format CONLL2003
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")

NER = """<View><Labels name="label" toName="text"><Label value="ORG"/><Label value="PER"/></Labels>
<Text name="text" value="$text"/></View>"""
IMAGE = """<View><Image name="image" value="$image"/>
<RectangleLabels name="label" toName="image"><Label value="Car"/><Label value="Person"/></RectangleLabels></View>"""


def task(index: int, fmt: str) -> dict:
    if fmt == "CONLL2003":
        text = f"Acme Bank {index} hired Ann Lee as head of markets in Tokyo."
        result = [
            {"from_name": "label", "to_name": "text", "type": "labels", "value": {"start": 0, "end": 9, "labels": ["ORG"]}},
            {"from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": len(text) - 37, "end": len(text) - 30, "labels": ["PER"]}},
        ]  # fmt: skip
        data = {"text": text}
    else:
        result = [
            {"from_name": "label", "to_name": "image", "type": "rectanglelabels", "original_width": 640,
             "original_height": 480, "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0,
                                               "rectanglelabels": ["Car"]}},
        ]  # fmt: skip
        data = {"image": f"https://images.example/{index}.jpg"}
    return {"id": index, "data": data, "annotations": [{"id": index, "completed_by": 1, "result": result,
            "was_cancelled": False, "created_at": "2026-12-01T00:00:00+00:00"}], "predictions": []}  # fmt: skip


def chunks(count: int, fmt: str):
    yield "["
    for start in range(0, count, 2000):
        body = ",".join(json.dumps(task(i, fmt)) for i in range(start + 1, min(count, start + 2000) + 1))
        yield ("," if start else "") + body
    yield "]"


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--format", default="CONLL2003", choices=["CONLL2003", "COCO", "YOLO", "VOC"])
    args = parser.parse_args()
    import django

    django.setup()
    from exports.converter import convert_for_download

    before = peak_rss_mb()
    started = time.perf_counter()
    converted = convert_for_download(
        label_config=NER if args.format == "CONLL2003" else IMAGE,
        export_type=args.format,
        tasks_text=chunks(args.tasks, args.format),
    )
    seconds = time.perf_counter() - started
    size = converted.file.seek(0, os.SEEK_END)
    converted.file.close()
    print(json.dumps({
        "format": args.format, "tasks": args.tasks, "seconds": round(seconds, 2),
        "tasks_per_s": round(args.tasks / seconds), "output_bytes": size,
        "peak_rss_mb_before": round(before, 1), "peak_rss_mb_after": round(peak_rss_mb(), 1),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_1m": os.getloadavg()[0]},
    }))  # fmt: skip


if __name__ == "__main__":
    main()

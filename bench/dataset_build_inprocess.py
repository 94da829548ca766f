"""A dataset version's build (issue 11): selection, spool, splits, manifest and card, in process.

On a fresh SQLite database in a temporary data directory: one sentiment project with N tasks, each with
one annotation, imported through the import service. Then one version is built with ``--formats`` (a
bench-only JSONL writer, ``bench_jsonl``, stands in for the real writers where they are not installed),
splits 80/10/10 stratified, timing the build and printing tasks/s and the process's peak RSS as one JSON
line. The data directory is removed at the end.

Usage (from the repository root)::

    .venv/bin/python bench/dataset_build_inprocess.py --tasks 50000
"""

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=50_000)
    parser.add_argument("--formats", default="bench_jsonl")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="tessera-bench-datasets-"))
    os.environ["TESSERA_DATA_DIR"] = str(data_dir)
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        run(args)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    from annotation.importing.parsers import to_task_item
    from annotation.services.imports import tasks_import
    from annotation.services.projects import project_create
    from exports.dataset_services import dataset_version_create, dataset_version_run
    from exports.datasets.items import DatasetContext, DatasetItem
    from exports.formats.datasets import DatasetFormat, register
    from exports.models import DatasetVersion
    from tessera.models import Role
    from tessera.services import organization_get_or_create, user_upsert

    def write(items, context: DatasetContext, stream) -> None:
        for item in items:
            assert isinstance(item, DatasetItem)
            record = {"task_id": item.task_id, "split": item.split, "data": item.data, "result": item.result}
            stream.write(json.dumps(record, ensure_ascii=False, sort_keys=True).encode() + b"\n")

    register(DatasetFormat("bench_jsonl", "jsonl", "application/x-ndjson", True, lambda c: None, write))
    org = organization_get_or_create(title="Bench")
    user, _ = user_upsert(email="owner@bench.test", organization=org, role=Role.OWNER)
    config = (
        '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
        '<Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/></Choices></View>'
    )
    project = project_create(organization=org, user=user, fields={"title": "Bench", "label_config": config})
    labels = ("Positive", "Negative", "Neutral")
    started = time.perf_counter()
    for start in range(0, args.tasks, 10_000):
        items = [
            to_task_item(
                {
                    "data": {"text": f"Headline {i}: shares of company {i % 977} moved {i % 13}% on the news."},
                    "annotations": [
                        {"result": [{"from_name": "sentiment", "to_name": "text", "type": "choices",
                                     "value": {"choices": [labels[i % 3]]}}]}
                    ],
                },
                i,
            )
            for i in range(start, min(start + 10_000, args.tasks))
        ]  # fmt: skip
        tasks_import(project=project, user=user, items=items)
    import_s = time.perf_counter() - started
    body = {"formats": args.formats.split(","), "splits": {"train": 0.8, "validation": 0.1, "test": 0.1},
            "stratify": True}  # fmt: skip
    version = dataset_version_create(project=project, user=user, body=body)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    dataset_version_run(version_id=version.pk)
    build_s = time.perf_counter() - started
    version = DatasetVersion.objects.get(pk=version.pk)
    assert version.state == "completed", version.error
    print(
        json.dumps(
            {
                "tasks": args.tasks,
                "formats": body["formats"],
                "import_s": round(import_s, 2),
                "build_s": round(build_s, 2),
                "tasks_per_s": round(args.tasks / build_s),
                "peak_rss_mb_before_build": round(rss_before / 1024),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "files": [(f["format"], f["split"], f["bytes"]) for f in version.files],
            }
        )
    )


if __name__ == "__main__":
    main()

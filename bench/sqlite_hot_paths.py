"""Hot paths on SQLite, the default database, in-process (Django's test client, no HTTP server).

Imports N unlabeled tasks into a project with overlap 3 (50,000 per call), deletes three tasks spread
over it, then times 100 rounds (after 5 untimed) of: ``GET /api/projects/``, a random task page of 100
after those deletes, ``/next``, a submit and the labeling page's progress call. Prints one JSON line
of p50s in ms. The database is a fresh file under the (temporary) ``TESSERA_DATA_DIR`` given.

Usage (from the repository root)::

    env -u DATABASE_URL TESSERA_DATA_DIR=$(mktemp -d) TESSERA_LOG_LEVEL=WARNING \\
        .venv/bin/python bench/sqlite_hot_paths.py 100000
"""

import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tessera.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from annotation.importing.parsers import to_task_item  # noqa: E402
from annotation.models import Task  # noqa: E402
from annotation.services.annotations import task_delete  # noqa: E402
from annotation.services.imports import tasks_import  # noqa: E402
from annotation.services.projects import project_create  # noqa: E402
from tessera.services import api_token_create, organization_get_or_create, user_upsert  # noqa: E402

CONFIG = (
    '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text">'
    '<Choice value="Positive"/><Choice value="Negative"/></Choices></View>'
)
SUBMIT = json.dumps(
    {
        "result": [
            {
                "from_name": "sentiment",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": ["Positive"]},
            }
        ]
    }
)


def timed(client: Client, method: str, path: str, **options):
    started = time.perf_counter()
    response = getattr(client, method)(path, **options)
    if response.status_code >= 400:
        raise RuntimeError(
            f"{method.upper()} {path} answered {response.status_code}: {response.content[:300]!r}"
        )
    return time.perf_counter() - started, response


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        raise SystemExit("Run without DATABASE_URL: this measures the default SQLite database.")
    call_command("migrate", verbosity=0)
    organization = organization_get_or_create(title="Bench")
    owner, _ = user_upsert(
        email="owner@bench.test", organization=organization, role="owner", password="x" * 12
    )
    annotator, _ = user_upsert(
        email="annotator@bench.test", organization=organization, role="annotator", password="x" * 12
    )
    project = project_create(
        organization=organization,
        user=owner,
        fields={"title": "P", "label_config": CONFIG, "maximum_annotations": 3},
    )
    started = time.perf_counter()
    for first in range(0, total, 50_000):
        items = [to_task_item({"text": f"Headline {i}"}, i) for i in range(first, min(total, first + 50_000))]
        tasks_import(project=project, user=owner, items=items)
    import_seconds = time.perf_counter() - started
    for inner_id in (5, total // 3, total // 2):
        task_delete(task=Task.objects.get(project=project, inner_id=inner_id), user=owner)
    manager = Client(HTTP_AUTHORIZATION=f"Token {api_token_create(user=owner)}")
    labeler = Client(HTTP_AUTHORIZATION=f"Token {api_token_create(user=annotator)}")
    rng = random.Random(1)
    timings: dict[str, list[float]] = {
        name: [] for name in ("project_list", "page_after_deletes", "next", "submit", "progress")
    }
    for _ in range(105):
        timings["project_list"].append(timed(manager, "get", "/api/projects/")[0])
        page = rng.randint(1, (total - 3) // 100)
        timings["page_after_deletes"].append(
            timed(manager, "get", f"/api/tasks/?project={project.pk}&page={page}&page_size=100")[0]
        )
        seconds, response = timed(labeler, "get", f"/api/projects/{project.pk}/next")
        timings["next"].append(seconds)
        task_id = response.json()["id"]
        timings["submit"].append(
            timed(
                labeler,
                "post",
                f"/api/tasks/{task_id}/annotations/",
                data=SUBMIT,
                content_type="application/json",
            )[0]
        )
        timings["progress"].append(timed(labeler, "get", f"/api/labeling/projects/{project.pk}")[0])
    p50 = {
        f"{name}_p50_ms": round(statistics.median(values[5:]) * 1000, 2) for name, values in timings.items()
    }
    print(json.dumps({
        "bench": "sqlite_hot_paths", "tasks": total, "load_avg_1m": round(os.getloadavg()[0], 2),
        "import_tasks_per_s": round(total / import_seconds), **p50,
    }))  # fmt: skip


if __name__ == "__main__":
    main()

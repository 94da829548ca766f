"""Dashboard page benchmark (issue 9): time from navigation to the Dashboard tab being drawn.

It sets up the demo (``manage.py tessera_demo``: the financial-news sentiment project) in a fresh data
directory, adds annotators and answers (overlap ``--overlap``, every task answered by that many
annotators, a seeded random sentiment each, spread over the last 30 days so the progress chart has
days), serves it as the demo does (gunicorn, 2 workers x 4 threads, whitenoise after
``collectstatic``), signs in as the demo owner in headless Chromium and loads
``/projects/{id}/dashboard/`` ``--loads`` times (after two warm-up loads).

The time is measured in the page with the User Timing API: the page marks ``tessera:dashboard-ready``
once every section (progress chart, agreement, leaderboard, confusion matrix, backlog) has answered and
is drawn; its ``startTime`` counts from the navigation's start. The target is <= 500 ms.

Prints one JSON line. Every request goes to 127.0.0.1.

Usage (from the repository root, with the frontend built)::

    .venv/bin/python bench/dashboard_load.py --tasks 300 --overlap 3
    .venv/bin/python bench/dashboard_load.py --database-url postgres://postgres@127.0.0.1:5432/tessera_bench_dash
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
from datetime import UTC, datetime

from api_bench import database_drop  # bench/ is the script's folder on sys.path
from browser_submit_latency import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PASSWORD,
    bench_environment,
    demo_project,
    free_port,
    manage,
    percentile,
    start_gunicorn,
    wait_for_server,
)

OWNER = "demo@tessera.local"
WARM_UP = 2

# Run inside ``manage.py shell``: annotators answer every task through the service (as the API would),
# then the rows' dates are spread over 30 days (a benchmark's set-up, not a product path).
SEED = """
import random
from datetime import timedelta
from django.utils import timezone
from annotation.models import Annotation, Project
from annotation.services.annotations import annotation_create
from tessera.models import Role
from tessera.services import user_upsert

project = Project.objects.get(pk={project})
project.maximum_annotations = {overlap}
project.save(update_fields=["maximum_annotations"])
users = [
    user_upsert(email=f"rater{{n}}@tessera.local", organization=project.organization, role=Role.ANNOTATOR,
                password="{password}")[0]
    for n in range({overlap})
]
rng = random.Random(9)
choices = ["Positive", "Negative", "Neutral"]
for task in project.tasks.order_by("inner_id"):
    truth = rng.choice(choices)
    for user in users:
        answer = truth if rng.random() < 0.8 else rng.choice(choices)
        annotation_create(task=task, user=user, lead_time=rng.uniform(2, 20), result=[
            {{"id": "s", "from_name": "sentiment", "to_name": "text", "type": "choices", "value": {{"choices": [answer]}}}}
        ])
now = timezone.now()
for annotation in Annotation.objects.filter(task__project=project).only("pk"):
    Annotation.objects.filter(pk=annotation.pk).update(created_at=now - timedelta(days=rng.randrange(30)))
print(Annotation.objects.filter(task__project=project).count())
"""


def measure(url: str, project_id: int, loads: int) -> tuple[list[float], set[str]]:
    from playwright.sync_api import sync_playwright

    timings = []
    failed: set[str] = set()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1100, "height": 760}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{url}/login/")
        page.fill("#id_username", OWNER)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/projects/")
        for step in range(WARM_UP + loads):
            page.goto(f"{url}/projects/{project_id}/dashboard/")
            page.wait_for_selector(".dashboard[data-state=ready]", timeout=30_000)
            # A section whose endpoint failed is drawn as its error: reported, not hidden.
            for section in page.locator(".dash-section:has([role=alert])").all():
                failed.add(section.get_attribute("id") or "?")
            ready = page.evaluate(
                "() => performance.getEntriesByName('tessera:dashboard-ready').at(-1).startTime"
            )
            if step >= WARM_UP:
                timings.append(ready)
        browser.close()
        if errors:
            raise SystemExit(f"script errors on the page: {errors}")
    return timings, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=300, help="tasks of the demo project")
    parser.add_argument("--overlap", type=int, default=3, help="annotators answering every task")
    parser.add_argument("--loads", type=int, default=20, help="measured page loads (after 2 warm-up ones)")
    parser.add_argument("--database-url", default="", help="default: SQLite in the temporary data directory")
    options = parser.parse_args()
    env, data_dir = bench_environment(options.database_url, "tessera-bench-dash-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = None
    try:
        project_id = demo_project(env, options.tasks)
        seed = SEED.format(project=project_id, overlap=options.overlap, password=PASSWORD)
        annotations = int(manage(env, "shell", "-c", seed).strip().splitlines()[-1])
        server = start_gunicorn(env, port, data_dir)
        wait_for_server(url)
        load_before = os.getloadavg()[0]
        timings, failed = measure(url, project_id, options.loads)
        load_after = os.getloadavg()[0]
        print(
            json.dumps(
                {
                    "benchmark": "dashboard_load",
                    "date": datetime.now(UTC).strftime("%Y-%m-%d"),
                    "tasks": options.tasks,
                    "overlap": options.overlap,
                    "annotations": annotations,
                    "loads_measured": len(timings),
                    "sections_failed": sorted(failed),
                    "navigation_to_drawn_ms": {
                        "p50": round(statistics.median(timings), 1),
                        "p95": round(percentile(timings, 0.95), 1),
                        "max": round(max(timings), 1),
                    },
                    "database": "postgresql" if options.database_url else "sqlite",
                    "server": "gunicorn 2 workers x 4 threads, whitenoise",
                    "browser": subprocess.run(
                        [CHROMIUM, "--version"], capture_output=True, text=True
                    ).stdout.strip(),
                    "machine": {
                        "cpus": os.cpu_count(),
                        "platform": platform.platform(),
                        "load_avg_1m_start_end": [round(load_before, 1), round(load_after, 1)],
                    },
                },
                ensure_ascii=False,
            )
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
        if options.database_url:
            database_drop(options.database_url)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

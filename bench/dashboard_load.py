"""Dashboard page benchmark (issue 9): time from navigation to the Dashboard tab being drawn.

It sets up the demo (``manage.py tessera_demo``: the financial-news sentiment project) in a fresh data
directory, adds an entity (span) control to its config, ``--annotators`` annotators (6) and answers
(overlap ``--overlap``, every task answered by that many of them in turn, a seeded random sentiment and
company span each, spread over the last 30 days so the progress chart has days), serves it as the demo does (gunicorn, 2 workers x 4 threads, whitenoise after
``collectstatic``), signs in as the demo owner in headless Chromium and loads
``/projects/{id}/dashboard/`` ``--loads`` times (after two warm-up loads).

The time is measured in the page with the User Timing API: the page marks ``tessera:dashboard-ready``
once every section (progress chart, agreement, leaderboard, confusion matrix, backlog) has answered and
is drawn; its ``startTime`` counts from the navigation's start. The target is <= 500 ms.

Prints one JSON line. Every request goes to 127.0.0.1.

Usage (from the repository root, with the frontend built)::

    .venv/bin/python bench/dashboard_load.py --tasks 300 --overlap 3
    .venv/bin/python bench/dashboard_load.py --tasks 100000 --database-url postgres://postgres@127.0.0.1:5432/tessera_bench_dash
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
# Above this, the demo project gets this many of its own tasks and the rest imported (SEED).
DEMO_TASKS_MAX = 300
WARM_UP = 2

# Run inside ``manage.py shell``. The demo's tasks are answered through the service (as the API would);
# a project of --tasks above the demo's headlines gets the rest imported with their answers through the
# import service (10,000 tasks a call: the product's own write path, which keeps counters, states,
# labels and agreement); every answer has a region id of its own. Then the answers' dates are spread
# over 30 days in one statement (a benchmark's set-up, not a product path) and the dashboard's running
# totals rebuilt from the rows.
SEED = """
import random
from django.db import connection
from annotation.importing.parsers import TaskItem
from annotation.models import Annotation, Project
from annotation.services.activity_totals import activity_fix
from annotation.services.annotations import annotation_create
from annotation.services.imports import tasks_import
from annotation.services.projects import project_update
from tessera.models import Role
from tessera.services import user_upsert

ENTITIES = '<Labels name="entity" toName="text"><Label value="ORG"/><Label value="MONEY"/></Labels>'
project = Project.objects.get(pk={project})
# Choices and spans: the demo's config with an entity control added (through the service, which checks
# it against the answers already there).
project = project_update(project=project, user=project.created_by, fields={{
    "maximum_annotations": {overlap},
    "label_config": project.label_config.replace("</View>", ENTITIES + "</View>"),
}})
users = [
    user_upsert(email=f"rater{{n}}@tessera.local", organization=project.organization, role=Role.ANNOTATOR,
                password="{password}")[0]
    for n in range({annotators})
]
rng = random.Random(9)
choices = ["Positive", "Negative", "Neutral"]

def raters(position):
    # Each task answered by {overlap} of the {annotators} annotators, in turn.
    return [users[(position + k) % len(users)] for k in range({overlap})]

def answer(truth, index, user, text):
    value = truth if rng.random() < 0.8 else rng.choice(choices)
    # The headline's first word (the company) as an entity; some annotators mark it wider or otherwise.
    end = len(text.split(" ")[0])
    if rng.random() < 0.15:
        end = min(len(text), end + 1 + len(text[end + 1:].split(" ")[0]))
    label = "ORG" if rng.random() < 0.85 else "MONEY"
    return [
        {{"id": f"s{{index}}-{{user.pk}}", "from_name": "sentiment", "to_name": "text", "type": "choices",
          "value": {{"choices": [value]}}}},
        {{"id": f"e{{index}}-{{user.pk}}", "from_name": "entity", "to_name": "text", "type": "labels",
          "value": {{"start": 0, "end": end, "text": text[:end], "labels": [label]}}}},
    ]

texts = []
for position, task in enumerate(project.tasks.order_by("inner_id")):
    texts.append(task.data["text"])
    truth = rng.choice(choices)
    if task.total_annotations:
        continue  # labeled by the demo itself
    for user in raters(position):
        annotation_create(task=task, user=user, lead_time=rng.uniform(2, 20),
                          result=answer(truth, task.pk, user, task.data["text"]))
total, index = {tasks}, len(texts)
while index < total:
    items = []
    for position in range(index, min(index + 10_000, total)):
        truth = rng.choice(choices)
        text = f"{{texts[position % len(texts)]}} ({{position}})"
        items.append(TaskItem(data={{"text": text}}, annotations=[
            {{"completed_by": user.pk, "lead_time": rng.uniform(2, 20),
              "result": answer(truth, position, user, text)}}
            for user in raters(position)
        ]))
    tasks_import(project=project, user=project.created_by, items=items)
    index += len(items)
table = Annotation._meta.db_table
with connection.cursor() as cursor:
    if connection.vendor == "postgresql":
        shifted = '"created_at" - make_interval(days => ("id" %% 30)::int)'
    else:
        shifted = 'datetime(julianday("created_at") - ("id" %% 30))'
    cursor.execute(f'UPDATE "{{table}}" SET "created_at" = {{shifted}} WHERE "project_id" = %s', [project.pk])
# The dates moved beside the services: the dashboard's running totals are rebuilt from the rows.
activity_fix(project.pk)
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
print(Annotation.objects.filter(project=project).count())
"""


def measure(url: str, project_id: int, loads: int) -> tuple[list[float], set[str], dict[str, list[float]]]:
    from playwright.sync_api import sync_playwright

    timings = []
    failed: set[str] = set()
    requests: dict[str, list[float]] = {}
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
                # Each API request's duration in this load (resource timing), to say what the page waits for.
                for name, duration in page.evaluate(
                    "() => performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'))"
                    ".map(e => [new URL(e.name).pathname + new URL(e.name).search, e.duration])"
                ):
                    requests.setdefault(name, []).append(duration)
        browser.close()
        if errors:
            raise SystemExit(f"script errors on the page: {errors}")
    return timings, failed, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=300, help="tasks of the demo project")
    parser.add_argument("--overlap", type=int, default=3, help="annotators answering every task")
    parser.add_argument("--annotators", type=int, default=6, help="annotators of the project")
    parser.add_argument("--loads", type=int, default=20, help="measured page loads (after 2 warm-up ones)")
    parser.add_argument("--database-url", default="", help="default: SQLite in the temporary data directory")
    parser.add_argument(
        "--keep-db", action="store_true", help="leave the PostgreSQL database in place (plans)"
    )
    options = parser.parse_args()
    env, data_dir = bench_environment(options.database_url, "tessera-bench-dash-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = None
    try:
        project_id = demo_project(env, min(options.tasks, DEMO_TASKS_MAX))
        seed = SEED.format(
            project=project_id,
            overlap=options.overlap,
            annotators=options.annotators,
            password=PASSWORD,
            tasks=options.tasks,
        )
        annotations = int(manage(env, "shell", "-c", seed).strip().splitlines()[-1])
        server = start_gunicorn(env, port, data_dir)
        wait_for_server(url)
        load_before = os.getloadavg()[0]
        timings, failed, requests = measure(url, project_id, options.loads)
        load_after = os.getloadavg()[0]
        print(
            json.dumps(
                {
                    "benchmark": "dashboard_load",
                    "date": datetime.now(UTC).strftime("%Y-%m-%d"),
                    "tasks": options.tasks,
                    "overlap": options.overlap,
                    "annotators": options.annotators,
                    "annotations": annotations,
                    "loads_measured": len(timings),
                    "sections_failed": sorted(failed),
                    "navigation_to_drawn_ms": {
                        "p50": round(statistics.median(timings), 1),
                        "p95": round(percentile(timings, 0.95), 1),
                        "max": round(max(timings), 1),
                    },
                    "api_requests_p50_ms": {
                        name: round(statistics.median(durations), 1)
                        for name, durations in sorted(requests.items())
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
        if options.database_url and not options.keep_db:
            database_drop(options.database_url)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

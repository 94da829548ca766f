"""Labeling page benchmark (issue 4): time from pressing submit to the next task being ready for input.

It sets up the demo (``manage.py tessera_demo``: the financial-news sentiment project) in a fresh data
directory, serves it as the demo does (gunicorn, 2 workers x 4 threads, static files through
whitenoise after ``collectstatic``), signs in as the demo annotator in headless Chromium and labels
tasks by keyboard: a number key picks the sentiment, Enter submits.

The time is measured in the page with the User Timing API: the app marks ``tessera:submit`` when the
submit key is handled and ``tessera:ready`` once the next task is rendered and focused (the POST of the
annotation and the POST of /next, which takes the task and its lock, both lie in between; the page's
progress call, a GET of /api/labeling/projects/{id}/, follows once the task is shown). The page takes
tasks with POST only (a session GET of /next takes nothing): the script counts the /next requests by
method, reports them, and stops if the page sent any GET. It also reports the JavaScript and CSS the
labeling page loads (bytes as served, and gzip-compressed for reference).

Prints one JSON line. Every request goes to 127.0.0.1; the loop is bounded by --tasks.

Usage (from the repository root, with the frontend built)::

    .venv/bin/python bench/browser_submit_latency.py --tasks 100
    .venv/bin/python bench/browser_submit_latency.py --database-url postgres://postgres@127.0.0.1:5432/tessera_bench_fe
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api_bench import database_create, database_drop  # bench/ is the script's folder on sys.path

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"
GUNICORN = REPO / ".venv" / "bin" / "gunicorn"
CHROMIUM = os.environ.get("TESSERA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANNOTATOR = "annotator@tessera.local"
PASSWORD = "tessera-demo"  # noqa: S105 - the demo's published sign-in
WARM_UP = 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [str(PYTHON), "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    if done.returncode:
        # The command's own error, not only "returned non-zero exit status".
        raise SystemExit(f"manage.py {args[0]} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return done.stdout


def wait_for_server(url: str, deadline_s: float = 30) -> None:
    until = time.monotonic() + deadline_s
    while time.monotonic() < until:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server at {url} did not start")


def measure(url: str, project_id: int, tasks: int) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1100, "height": 760}).new_page()
        next_path = f"/api/projects/{project_id}/next"
        next_requests: dict[str, int] = {}

        def count_next(request) -> None:
            if urllib.parse.urlsplit(request.url).path == next_path:
                next_requests[request.method] = next_requests.get(request.method, 0) + 1

        page.on("request", count_next)
        page.goto(f"{url}/login/")
        page.fill("#id_username", ANNOTATOR)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/projects/")
        page.goto(f"{url}/projects/{project_id}/label/")
        page.wait_for_selector("body[data-ready]")
        page.wait_for_timeout(300)
        if page.locator(".overlay").count():
            page.keyboard.press("Escape")  # the demo opens its instructions first
        assets = page.evaluate(
            """() => performance.getEntriesByType('resource')
                 .filter((entry) => /\\.(js|css)(\\?|$)/.test(entry.name))
                 .map((entry) => ({name: new URL(entry.name).pathname, bytes: entry.decodedBodySize,
                                   transferred: entry.encodedBodySize}))"""
        )
        timings = []
        for step in range(WARM_UP + tasks):
            before = int(page.evaluate("() => Number(document.body.dataset.ready)"))
            page.keyboard.press(str(step % 3 + 1))
            page.keyboard.press("Enter")
            page.wait_for_function("(n) => Number(document.body.dataset.ready) > n", arg=before)
            elapsed = page.evaluate(
                """() => {
                    const submit = performance.getEntriesByName('tessera:submit').at(-1).startTime;
                    const ready = performance.getEntriesByName('tessera:ready').at(-1).startTime;
                    performance.clearMarks();
                    return ready - submit;
                }"""
            )
            if step >= WARM_UP:
                timings.append(elapsed)
        browser.close()
    # One /next per task shown: the first one and one after each submit, all POSTs.
    if set(next_requests) != {"POST"} or next_requests["POST"] < WARM_UP + tasks + 1:
        raise SystemExit(f"the page did not take its tasks with POST /next: {next_requests}")
    return {"timings": timings, "assets": assets, "next_requests": next_requests}


def asset_sizes(static_root: Path, assets: list[dict]) -> dict:
    sizes: dict[str, Any] = {
        "js_bytes": 0,
        "js_gzip_bytes": 0,
        "css_bytes": 0,
        "css_gzip_bytes": 0,
        "files": [],
    }
    for asset in assets:
        path = static_root / asset["name"].removeprefix("/static/")
        raw = path.read_bytes()
        kind = "js" if asset["name"].endswith(".js") else "css"
        sizes[f"{kind}_bytes"] += len(raw)
        sizes[f"{kind}_gzip_bytes"] += len(gzip.compress(raw, 9))
        sizes["files"].append(asset["name"])
    return sizes


def start_gunicorn(env: dict, port: int, data_dir: Path) -> subprocess.Popen:
    """The app as production serves it (gunicorn, 2 workers x 4 threads), its log in the data directory."""
    log = open(data_dir / "gunicorn.log", "w")  # noqa: SIM115 - the server holds it until it exits
    return subprocess.Popen(
        [str(GUNICORN), "tessera.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def bench_environment(database_url: str, prefix: str) -> tuple[dict, Path]:
    """The server's environment: a fresh data directory, and SQLite there or a fresh database of its own
    on this machine's PostgreSQL (made here, dropped by the caller), as the API benchmark does."""
    if not (REPO / "frontend" / "dist" / ".vite" / "manifest.json").exists():
        raise SystemExit("Build the frontend first: (cd frontend && npm ci && npm run build)")
    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    env = {**os.environ, "TESSERA_DATA_DIR": str(data_dir), "TESSERA_DEBUG": "false"}
    env.pop("DATABASE_URL", None)
    if database_url:
        if re.search(r"@(?!127\.0\.0\.1|localhost)", database_url):
            raise SystemExit("the benchmark only talks to a database on this machine")
        env["DATABASE_URL"] = database_url
        database_create(database_url)
    return env, data_dir


def demo_project(env: dict, tasks: int) -> int:
    """Migrate, collect the static files and make the demo project of ``tasks`` tasks; its id."""
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    demo = manage(env, "tessera_demo", "--tasks", str(tasks))
    named = re.search(r"\(id (\d+),", demo)
    if named is None:
        raise SystemExit(f"tessera_demo did not name its project:\n{demo}")
    return int(named.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=100, help="measured submits (after 5 warm-up ones)")
    parser.add_argument("--database-url", default="", help="default: SQLite in the temporary data directory")
    options = parser.parse_args()
    env, data_dir = bench_environment(options.database_url, "tessera-bench-fe-")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = None
    try:
        project_id = demo_project(env, options.tasks + WARM_UP + 20)
        server = start_gunicorn(env, port, data_dir)
        wait_for_server(url)
        result = measure(url, project_id, options.tasks)
        timings = result["timings"]
        sizes = asset_sizes(data_dir / "static", result["assets"])
        print(
            json.dumps(
                {
                    "benchmark": "browser_submit_latency",
                    "date": datetime.now(UTC).strftime("%Y-%m-%d"),
                    "tasks_measured": len(timings),
                    "next_requests": result["next_requests"],
                    "submit_to_ready_ms": {
                        "p50": round(statistics.median(timings), 1),
                        "p95": round(percentile(timings, 0.95), 1),
                        "max": round(max(timings), 1),
                        "mean": round(statistics.fmean(timings), 1),
                    },
                    **{key: value for key, value in sizes.items()},
                    "database": "postgresql" if options.database_url else "sqlite",
                    "server": "gunicorn 2 workers x 4 threads, whitenoise",
                    "browser": subprocess.run(
                        [CHROMIUM, "--version"], capture_output=True, text=True
                    ).stdout.strip(),
                    "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
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

"""First paint of the data table page (issue 8): Chromium loads ``/projects/{id}/data/`` of a project of N tasks.

The project is filled by the data table benchmark's own set-up (``data_table_bench.py``: a fresh
PostgreSQL database, its varied English and Japanese tasks, annotations and predictions, imported
through the API in batches, then ``VACUUM ANALYZE``), served as in production: gunicorn (gthread) with
the built frontend collected and served by whitenoise. A manager signs in once in headless Chromium
(Debian's, as the browser tests use); then the page is loaded ``--loads`` times, each time in a fresh
browser context that carries only the session cookie (a cold HTTP cache: every script, style sheet and
API answer fetched anew), after ``--warm-up`` loads that are not counted. The same is then done by
reloading one page (a warm cache: hashed assets from the browser's cache).

For each load, measured in the page against its navigation start:

* ``fcp_ms``: first contentful paint (Paint Timing, ``first-contentful-paint``);
* ``rows_ms``: the first page of rows drawn: the first animation frame after the table's first
  ``tbody tr`` is in the document (a MutationObserver, installed before any of the page's scripts, asks
  for the frame as soon as the row appears; the frame's timestamp is when the browser starts drawing it);
* ``tasks_api_ms``: the ``GET /api/tasks/`` that fills the table, from request start to its last byte
  (Resource Timing), to tell the server's share from the browser's.

Reports p50 (and min and max) of each over the counted loads, and the load average at the start and
end (the machine may be shared). Target: first paint of the data table page <= 1 s (p50). One JSON line
is printed. Every request goes to 127.0.0.1; the server and the database are removed at the end.

Usage (from the repository root, with the frontend built and PostgreSQL on 127.0.0.1)::

    .venv/bin/python bench/data_table_first_paint.py --tasks 100000
    .venv/bin/python bench/data_table_first_paint.py --tasks 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_bench  # noqa: E402 - the sibling scripts' server, client and database helpers
import data_table_bench  # noqa: E402
from api_bench import Client  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("TESSERA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MANAGER = "bench@tessera.test"
PASSWORD = "bench-only-password-7"  # noqa: S105 - a throwaway account in a throwaway database
ROW = "table.tasks tbody tr[data-task]"
LOAD_TIMEOUT_MS = 60_000

# Runs before any script of the page (Playwright's init script, outside the page's CSP): note the frame
# in which the first row of the table is drawn.
ROWS_PROBE = """
(() => {
  const row = "__ROW__";
  const seen = () => {
    if (window.__rowsFrame !== undefined || !document.querySelector(row)) return false;
    window.__rowsFrame = null;
    requestAnimationFrame((frame) => { window.__rowsFrame = frame; });
    return true;
  };
  new MutationObserver((_, observer) => { if (seen()) observer.disconnect(); })
    .observe(document, { childList: true, subtree: true });
})();
""".replace("__ROW__", ROW)

READ_TIMINGS = """
() => {
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  const api = performance.getEntriesByType("resource").filter((e) => new URL(e.name).pathname === "/api/tasks/");
  return {
    fcp_ms: fcp ? fcp.startTime : null,
    rows_ms: window.__rowsFrame,
    tasks_api_ms: api.length ? api[0].responseEnd - api[0].requestStart : null,
    rows: document.querySelectorAll("__ROW__").length,
  };
}
""".replace("__ROW__", ROW)


def summary(values: list[float]) -> dict:
    return {
        "p50": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
    }


def load_once(page, url: str) -> dict:
    page.goto(url, wait_until="commit")
    page.wait_for_selector(ROW, timeout=LOAD_TIMEOUT_MS)
    page.wait_for_function("() => typeof window.__rowsFrame === 'number'", timeout=LOAD_TIMEOUT_MS)
    timings = page.evaluate(READ_TIMINGS)
    if timings["fcp_ms"] is None:
        # Paint Timing reports after the frame is presented; give it that frame.
        page.wait_for_function(
            "() => performance.getEntriesByName('first-contentful-paint').length > 0", timeout=LOAD_TIMEOUT_MS
        )
        timings = page.evaluate(READ_TIMINGS)
    return timings


def measure(base_url: str, project_id: int, loads: int, warm_up: int) -> dict:
    from playwright.sync_api import ViewportSize, sync_playwright

    url = f"{base_url}/projects/{project_id}/data/"
    viewport: ViewportSize = {"width": 1280, "height": 800}
    results: dict[str, list[dict]] = {"cold": [], "warm": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        signing_in = browser.new_context(viewport=viewport)
        page = signing_in.new_page()
        page.goto(f"{base_url}/login/")
        page.fill("#id_username", MANAGER)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base_url}/projects/")
        session = signing_in.storage_state()
        signing_in.close()

        # Cold: a fresh context (empty HTTP cache) per load, signed in by its cookie only.
        for step in range(warm_up + loads):
            context = browser.new_context(viewport=viewport, storage_state=session)
            context.add_init_script(ROWS_PROBE)
            timings = load_once(context.new_page(), url)
            context.close()
            if step >= warm_up:
                results["cold"].append(timings)

        # Warm: the same page loaded again and again (assets from the browser's cache).
        context = browser.new_context(viewport=viewport, storage_state=session)
        context.add_init_script(ROWS_PROBE)
        page = context.new_page()
        for step in range(warm_up + loads):
            timings = load_once(page, url)
            if step >= warm_up:
                results["warm"].append(timings)
        context.close()
        version = browser.version
        browser.close()
    figures = {}
    for cache, runs in results.items():
        figures[cache] = {
            key: summary([run[key] for run in runs if run[key] is not None])
            for key in ("fcp_ms", "rows_ms", "tasks_api_ms")
        }
        figures[cache]["rows_drawn"] = runs[0]["rows"]
    return {"figures": figures, "browser": version}


def run(args: argparse.Namespace) -> dict:
    load_at_start = api_bench.load_average()
    data_dir = Path(tempfile.mkdtemp(prefix="tessera-bench-paint-"))
    environment = api_bench.server_environment(args, data_dir)
    if not args.reuse_db:
        api_bench.database_create(args.database_url)
    try:
        api_bench.manage(environment, "migrate", "--no-input")
        api_bench.manage(environment, "collectstatic", "--no-input", "-v0")
        token = api_bench.manage(
            environment, "tessera_user", MANAGER, "--org", "Bench", "--role", "manager", "--password", PASSWORD,
            "--token",
        ).strip().splitlines()[-1]  # fmt: skip
        for email in data_table_bench.ANNOTATORS:
            api_bench.manage(environment, "tessera_user", email, "--org", "Bench", "--role", "annotator")
        with api_bench.benchmark_server(args, environment, data_dir / "gunicorn.log") as server:
            client = Client(server.port, token)
            imported: dict = {"tasks_per_s": None, "reused": True}
            project = data_table_bench._kept_project(args) if args.reuse_db else None
            if project is None:
                project = api_bench.create_project(client, "Data table", data_table_bench.CONFIG)
                imported = api_bench.import_tasks(
                    client, project, args.tasks, args.batch, data_table_bench.make_batch
                )
                api_bench.database_analyze(args.database_url)
            client.close()
            load_after_setup = api_bench.load_average()
            measured = measure(f"http://127.0.0.1:{server.port}", project, args.loads, args.warm_up)
    finally:
        if not (args.keep_db or args.reuse_db):
            api_bench.database_drop(args.database_url)
        shutil.rmtree(data_dir, ignore_errors=True)
    cold = measured["figures"]["cold"]
    return {
        "bench": "data_table_first_paint",
        "tasks": args.tasks,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "load_avg_1m_start_measure_end": [load_at_start, load_after_setup, api_bench.load_average()],
        },
        "server": {"gunicorn_workers": args.workers, "threads": args.threads, "database": "postgresql"},
        "browser": f"Chromium {measured['browser']} (headless)",
        "loads": args.loads,
        "warm_up": args.warm_up,
        "target_first_paint_ms": 1000,
        "met": cold["fcp_ms"]["p50"] <= 1000,
        **measured["figures"],
        "import_tasks_per_s": imported["tasks_per_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks in the project")
    parser.add_argument("--batch", type=int, default=10_000, help="tasks per import request")
    parser.add_argument("--loads", type=int, default=15, help="counted page loads, cold and warm each")
    parser.add_argument("--warm-up", type=int, default=2, help="loads before counting, cold and warm each")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--database-url",
        default=api_bench.DEFAULT_DATABASE_URL.replace("tessera_bench", "tessera_bench_firstpaint"),
    )
    parser.add_argument("--keep-db", action="store_true", help="leave the benchmark database in place")
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="measure the project a --keep-db run of this or data_table_bench.py left (same --tasks; "
        "point --database-url at it), without importing again",
    )
    args = parser.parse_args()
    if args.tasks < 100:
        parser.error("--tasks must be at least 100")
    if args.loads < 1:
        parser.error("--loads must be at least 1")
    if not (REPO / "frontend" / "dist" / ".vite" / "manifest.json").exists():
        raise SystemExit("Build the frontend first: (cd frontend && npm ci && npm run build)")
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: run scripts/install_browser.sh")
    api_bench._database_name(args.database_url)
    print(json.dumps(run(args), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()

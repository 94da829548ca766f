"""Browser tests: Debian's Chromium through Playwright, against pytest-django's live server.

The frontend must be built (``npm ci && npm run build`` in frontend/, as scripts/install.sh does);
when it is not and node_modules is there, it is built here once.
"""

import os
import shutil
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders

from annotation.importing.parsers import to_task_item
from annotation.services.imports import tasks_import
from annotation.services.projects import project_create
from tests.conftest import SENTIMENT_CONFIG

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make between
# browser steps are ordinary blocking calls that Django would otherwise refuse there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("TESSERA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse 42"
FRONTEND = Path(django_settings.BASE_DIR) / "frontend"
SCREENSHOT_DIR = os.environ.get("TESSERA_SCREENSHOT_DIR", "")

SENTIMENT = SENTIMENT_CONFIG

TOPICS = """<View>
  <Text name="text" value="$text"/>
  <Choices name="topic" toName="text" choice="multiple">
    <Choice value="Rates"/><Choice value="Earnings"/><Choice value="Climate"/><Choice value="M&amp;A"/>
  </Choices>
</View>"""

NER = """<View>
  <Labels name="label" toName="text">
    <Label value="ORG"/><Label value="LOC"/><Label value="PER"/><Label value="MONEY"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>"""

SFT = """<View>
  <Header value="Question"/>
  <Text name="prompt" value="$prompt"/>
  <Header value="Retrieved context"/>
  <Text name="context" value="$context"/>
  <Header value="Your answer"/>
  <TextArea name="answer" toName="prompt" rows="5" placeholder="Write the answer an expert would give"/>
</View>"""

PAIRWISE = """<View>
  <Text name="prompt" value="$prompt"/>
  <View>
    <Text name="answer_a" value="$answer_a"/>
    <Text name="answer_b" value="$answer_b"/>
  </View>
  <Choices name="preference" toName="prompt" choice="single">
    <Choice value="A is better"/><Choice value="B is better"/><Choice value="Tie"/>
  </Choices>
  <TextArea name="reason" toName="prompt" rows="2" placeholder="Why? (optional)"/>
</View>"""

# Label Studio's own Pairwise tag: left or right; a tie and a reason are controls next to it.
PAIRWISE_TAG = """<View>
  <Header value="$prompt"/>
  <Text name="left" value="$answer_a"/>
  <Text name="right" value="$answer_b"/>
  <Pairwise name="preference" toName="left,right"/>
  <Choices name="tie" toName="left" choice="single">
    <Choice value="Tie: equally good"/><Choice value="Tie: equally bad"/>
  </Choices>
  <TextArea name="reason" toName="left" rows="2" placeholder="Why? (optional)"/>
</View>"""

RUBRIC = """<View>
  <Text name="question" value="$question"/>
  <Text name="answer" value="$answer"/>
  <Header value="Factuality"/>
  <Rating name="factuality" toName="answer" maxRating="5"/>
  <Header value="Harm avoidance"/>
  <Rating name="harm" toName="answer" maxRating="5"/>
  <Header value="Completeness"/>
  <Rating name="completeness" toName="answer" maxRating="5"/>
  <Header value="Comment"/>
  <TextArea name="comment" toName="answer" rows="2"/>
</View>"""

DIALOGUE = """<View>
  <ParagraphLabels name="intent" toName="dialogue">
    <Label value="Greeting"/><Label value="Request"/><Label value="Answer"/><Label value="Complaint"/>
  </ParagraphLabels>
  <Paragraphs name="dialogue" value="$dialogue" nameKey="author" textKey="text"/>
</View>"""

IMAGES = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image">
    <Label value="Cloud"/><Label value="Coast"/>
  </RectangleLabels>
  <PolygonLabels name="area" toName="image">
    <Label value="Storm"/>
  </PolygonLabels>
</View>"""


def _png(width: int, height: int) -> bytes:
    """A small PNG drawn in code (sea, land, a cloud), so the tests need no image files or downloads."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            if (x - 90) ** 2 + (y - 60) ** 2 < 900:
                pixel = (245, 245, 245)
            elif x > width * 0.65:
                pixel = (120, 160, 90)
            else:
                pixel = (40, 90, 160)
            row.extend(pixel)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="session")
def frontend_built() -> Path:
    manifest = FRONTEND / "dist" / ".vite" / "manifest.json"
    sources = [*FRONTEND.glob("src/**/*"), FRONTEND / "package-lock.json", FRONTEND / "vite.config.ts"]
    newest_source = max(path.stat().st_mtime for path in sources if path.is_file())
    # A build older than the sources would test yesterday's app: rebuild it (a second or so).
    if not manifest.exists() or manifest.stat().st_mtime < newest_source:
        if shutil.which("npm") is None:
            pytest.fail("The frontend is not built and npm is missing: run scripts/install.sh first.")
        if not (FRONTEND / "node_modules").exists():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True)
        subprocess.run(["npm", "run", "build"], cwd=FRONTEND, check=True)
    return FRONTEND / "dist"


@pytest.fixture
def static_files(frontend_built, settings, tmp_path):
    """Serve the built app and a test image from the live server (finders read STATICFILES_DIRS)."""
    images = tmp_path / "static"
    (images / "e2e").mkdir(parents=True)
    (images / "e2e" / "satellite.png").write_bytes(_png(320, 200))
    settings.STATICFILES_DIRS = [str(frontend_built), str(images)]
    finders.get_finder.cache_clear()
    yield
    finders.get_finder.cache_clear()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install_browser.sh")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Session:
    """One signed-in browser: its page, the dialogs it opened and the errors its scripts raised."""

    def __init__(self, context, base_url: str):
        self.context = context
        self.base_url = base_url
        self.page = context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        # What the browser logs as an error: failed requests (a 404), CSP refusals, console.error calls.
        self.console_errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", self._console)
        # Generous: CI runs on two shared cores, where a page that does an import and renders the editor
        # has taken over ten seconds; a hang still fails well within the test's time.
        self.page.set_default_timeout(20_000)

    def _console(self, entry) -> None:
        if entry.type == "error":
            self.console_errors.append(f"{entry.text} at {entry.location.get('url')}")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        self.page.goto(f"{self.base_url}/login/")
        self.page.fill("#id_username", email)
        self.page.fill("#id_password", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{self.base_url}/projects/")

    def label(self, project) -> None:
        """Open the labeling page and wait for the first task (or the end of the queue)."""
        self.page.goto(f"{self.base_url}/projects/{project.pk}/label/")
        self.page.wait_for_selector("body[data-ready]")

    def ready(self) -> int:
        return int(self.page.evaluate("document.body.dataset.ready || '0'"))

    def wait_next(self, before: int) -> None:
        """Wait until the page has shown the next task (or the end) after step ``before``."""
        # A function, not an expression string: the page's CSP forbids eval, which strings would need.
        self.page.wait_for_function("(n) => Number(document.body.dataset.ready || 0) > n", arg=before)

    def task_id(self) -> int | None:
        value = self.page.evaluate("document.body.dataset.task")
        return int(value) if value else None

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)

    def submit(self) -> None:
        before = self.ready()
        self.page.keyboard.press("Control+Enter")
        self.wait_next(before)

    def screenshot(self, name: str) -> None:
        if SCREENSHOT_DIR:
            Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(Path(SCREENSHOT_DIR) / f"{name}.png"))


@pytest.fixture
def open_session(browser, live_server, static_files):
    contexts = []

    sessions: list[Session] = []

    def make(email: str | None = None, locale: str = "en-US") -> Session:
        context = browser.new_context(viewport={"width": 1100, "height": 760}, locale=locale)
        contexts.append(context)
        session = Session(context, live_server.url)
        sessions.append(session)
        if email:
            session.sign_in(email)
        return session

    # Read by pytest_runtest_makereport on a failure.
    make.sessions = sessions
    yield make
    for context in contexts:
        context.close()
    _wait_for_server_requests()


def _wait_for_server_requests(timeout: float = 10.0) -> None:
    """Let requests the closed pages left in flight (a draft saved 0.8 s after a key, a lock released
    on pagehide) finish before the test database is flushed: on PostgreSQL the flush's TRUNCATE and a
    request's transaction can deadlock, and PostgreSQL then cancels the flush."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    # A closed page's last requests (keepalive fetches on pagehide) may reach the server a little after
    # the close: wait until nothing has run for a while, not just for this instant.
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state NOT IN ('idle')"
            )
            if cursor.fetchone()[0]:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= 0.4:
                return
            time.sleep(0.05)


@pytest.fixture
def annotator(open_session, cast):
    return open_session(cast.users["annotator"].email)


@pytest.fixture
def labeling_project(cast):
    """``labeling_project(config, tasks, **fields)``: a project of Acme with imported tasks."""

    def make(config: str, tasks: list[dict], title: str = "Project", **fields):
        owner = cast.users["owner"]
        project = project_create(
            organization=cast.org, user=owner, fields={"title": title, "label_config": config, **fields}
        )
        tasks_import(
            project=project, user=owner, items=[to_task_item(task, i) for i, task in enumerate(tasks)]
        )
        project.refresh_from_db()
        return project

    return make


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, the report says where each of the test's pages was and what it showed: in CI's
    log, an assertion on a timed-out locator says little without the page's own message."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    make = item.funcargs.get("open_session") if hasattr(item, "funcargs") else None
    for number, session in enumerate(getattr(make, "sessions", []), 1):
        try:
            text = session.page.inner_text("body", timeout=2_000)
            url = session.page.url
        except Exception as exc:  # noqa: BLE001 - a closed or crashed page: say so and go on
            text, url = f"(the page could not be read: {exc})", "?"
        report.sections.append(
            (
                f"browser page {number}",
                f"url: {url}\nscript errors: {session.errors}\nconsole errors: {session.console_errors[-10:]}\n"
                f"text:\n{text[:3000]}",
            )
        )

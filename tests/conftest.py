"""Shared fixtures: a fixed cast per role in one organization, plus an outsider from another.

Every endpoint test can ask for ``api(role)`` and check what each role may do,
and that the outsider sees 404s.
"""

import json
from typing import TYPE_CHECKING

import pytest
from rest_framework.test import APIClient

from annotation.importing.parsers import to_task_item
from annotation.services.imports import tasks_import
from annotation.services.projects import project_create
from tessera.models import Role
from tessera.services import api_token_create, organization_get_or_create, user_upsert
from tests.ci_skips import pytest_runtest_makereport  # noqa: F401 - the hook: in CI a skip fails

if TYPE_CHECKING:
    # The test client's answer as django-stubs and the DRF stubs type it (json(), status_code, content).
    from rest_framework.response import _MonkeyPatchedResponse as ClientResponse

SENTIMENT_CONFIG = """<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
</View>"""

NER_CONFIG = """<View>
  <Labels name="label" toName="text">
    <Label value="ORG"/><Label value="PER"/><Label value="MONEY"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>"""


def choice(value: str) -> list[dict]:
    return [{"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": [value]}}]


def span(start: int, end: int, label: str, text: str | None = None) -> dict:
    value = {"start": start, "end": end, "labels": [label]}
    if text is not None:
        value["text"] = text
    return {"from_name": "label", "to_name": "text", "type": "labels", "value": value}


class Cast:
    """The people of a test: one user per role in ``org``, plus ``outsider`` who owns another organization."""

    def __init__(self):
        self.org = organization_get_or_create(title="Acme Finance")
        self.other_org = organization_get_or_create(title="Other Org")
        self.users = {}
        self.tokens = {}
        for role in Role.values:
            self._add(role, f"{role}@acme.test", self.org, role)
        self._add("annotator2", "annotator2@acme.test", self.org, Role.ANNOTATOR)
        self._add("outsider", "owner@other.test", self.other_org, Role.OWNER)

    def _add(self, key: str, email: str, org, role: str) -> None:
        user, _ = user_upsert(email=email, organization=org, role=role, password="correct horse 42")
        self.users[key] = user
        self.tokens[key] = api_token_create(user=user)


@pytest.fixture(scope="session", autouse=True)
def _compiled_translations():
    """Pages are tested in Japanese too: compile the catalogue when it is missing or older than its source
    (scripts/install.sh does this on set-up; a checkout edited since would test stale translations)."""
    from pathlib import Path

    from django.core.management import call_command

    root = Path(__file__).resolve().parent.parent
    for po in (root / "locale").glob("*/LC_MESSAGES/django.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            call_command(
                "compilemessages",
                locale=[po.parent.parent.name],
                ignore_patterns=[".venv", "frontend/node_modules"],
                verbosity=0,
            )


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The cast sets seven passwords; Django's default hasher costs ~0.3 s each, over 2 s a test. MD5
    keeps setup instant (a test about hashing itself sets its own hashers)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _default_language():
    """Django's LocaleMiddleware activates a request's language in the thread that serves it and
    leaves it active; the test client serves in the test's own thread, so without this a Japanese
    request would make every later test's messages Japanese."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _empty_shared_cache():
    """Throttle counts live in the shared cache and user ids repeat across tests on SQLite."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _dashboard_totals_agree(request):
    """After every test that touched the database, the dashboard's running totals of every project
    equal a recount of its rows (annotation/services/activity_totals.py): a write path that forgets
    to keep them fails here, whichever test takes it. The database fixture is set up first, so it is
    torn down after this check."""
    uses_db = request.node.get_closest_marker("django_db") or {"db", "transactional_db", "live_server"} & set(
        request.fixturenames
    )
    if not uses_db or request.node.get_closest_marker("totals_unchecked"):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    yield
    from annotation.models import Project
    from annotation.services.activity_totals import activity_differences

    found = [line for pk in Project.objects.values_list("pk", flat=True) for line in activity_differences(pk)]
    assert not found, "dashboard totals differ from a recount:\n" + "\n".join(found[:20])


@pytest.fixture
def cast(db) -> Cast:
    return Cast()


@pytest.fixture
def api(cast):
    """``api("manager")`` is an APIClient that sends that member's token."""

    def client_for(key: str | None) -> APIClient:
        client = APIClient()
        if key is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {cast.tokens[key]}")
        return client

    return client_for


@pytest.fixture
def make_project(cast):
    def make(config: str = SENTIMENT_CONFIG, *, org=None, tasks=None, **fields):
        owner = cast.users["owner"] if org is None else cast.users["outsider"]
        project = project_create(
            organization=org or cast.org,
            user=owner,
            fields={"title": "Sentiment", "label_config": config, **fields},
        )
        if tasks:
            items = [to_task_item(task, index) for index, task in enumerate(tasks)]
            tasks_import(project=project, user=owner, items=items)
            project.refresh_from_db()
        return project

    return make


def post_json(client: APIClient, url: str, body) -> "ClientResponse":
    return client.post(url, data=json.dumps(body), content_type="application/json")


def patch_json(client: APIClient, url: str, body) -> "ClientResponse":
    return client.patch(url, data=json.dumps(body), content_type="application/json")

"""Fixtures for the training app's tests, plain enough for other suites to reuse: a project with a
Choices config, one with a Labels config, the cast of members of each role, and pre-labelers."""

import pytest

from tests.conftest import NER_CONFIG, SENTIMENT_CONFIG, Cast
from training.models import Prelabeler
from training.prelabelers.registry import BACKEND_CLASSES
from training.services.prelabelers import checked_settings

FINANCIAL_SENTENCES = [
    "Shares of Acme rose 12% after strong quarterly earnings.",
    "The bank cut its profit forecast as loan losses mounted.",
    "Revenue was flat compared with the same quarter last year.",
    "Investors cheered the record dividend announced on Tuesday.",
    "The airline warned of a wider loss on higher fuel costs.",
    "The central bank left interest rates unchanged.",
]

ENTITY_TEXTS = [
    "Acme Corp hired Jane Smith for $5 million.",
    "トヨタ自動車は日本の会社です。",
    "📈 Globex Inc paid 300万円 to 山田太郎.",
    "Nothing to see here.",
]


@pytest.fixture
def members(cast: Cast) -> dict:
    """One user per role of the organization (owner, admin, manager, reviewer, annotator, annotator2),
    and ``outsider``, the owner of another organization."""
    return cast.users


@pytest.fixture
def choices_project(make_project):
    """A sentiment project (Choices over Text) with a few financial sentences."""
    return make_project(SENTIMENT_CONFIG, tasks=[{"text": text} for text in FINANCIAL_SENTENCES])


@pytest.fixture
def labels_project(make_project):
    """An entity project (Labels ORG, PER, MONEY over Text) with English, Japanese and emoji texts."""
    return make_project(NER_CONFIG, title="Entities", tasks=[{"text": text} for text in ENTITY_TEXTS])


@pytest.fixture
def other_org_project(make_project, cast):
    """A project of the outsider's organization."""
    return make_project(NER_CONFIG, org=cast.other_org, tasks=[{"text": "Initech hired Peter."}])


@pytest.fixture
def test_backends(monkeypatch):
    """Registers the small real backends of tests/training/backends.py under their test names."""
    from tests.training.backends import TEST_BACKENDS, FirstChoice, Flaky, Majority

    for name, path in TEST_BACKENDS.items():
        monkeypatch.setitem(BACKEND_CLASSES, name, path)
    FirstChoice.calls.clear()
    Majority.fits.clear()
    Flaky.failures = 1
    return TEST_BACKENDS


@pytest.fixture
def make_prelabeler(cast, settings, tmp_path):
    """``make_prelabeler(project, backend, settings={...})``: a pre-labeler row, its settings checked
    (test backends, whose names the API refuses, are made this way too)."""
    settings.DATA_DIR = tmp_path

    def make(project, backend: str = "span_rules", settings_value: dict | None = None, **fields):
        return Prelabeler.objects.create(
            project=project,
            backend=backend,
            title=fields.pop("title", backend),
            settings=checked_settings(backend, settings_value or {}),
            created_by=cast.users["manager"],
            **fields,
        )

    return make


ENTITY_RULES = {
    "rules": {
        "ORG": {"terms": ["Acme Corp", "Acme", "Globex Inc", "トヨタ自動車", "トヨタ"]},
        "PER": {"terms": ["Jane Smith", "山田太郎"]},
        "MONEY": {"patterns": [r"\$\d+(?: million)?", r"\d+万円"]},
    }
}

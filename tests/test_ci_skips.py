"""The CI rule of tests/ci_skips.py: with CI=true a skipped test fails the run, but for the
races that need PostgreSQL's concurrent writers on the SQLite pass."""

from django.db import connection

pytest_plugins = ["pytester"]

SKIPPING = """
import pytest

def test_needs_redis():
    pytest.skip("Redis at redis://localhost is unreachable")

@pytest.mark.skipif(True, reason="docker-compose is not installed")
def test_needs_compose():
    pass

def test_race():
    pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL's concurrent transactions")

@pytest.mark.xfail(reason="known")
def test_known_failure():
    assert False

def test_runs():
    pass
"""


def test_in_ci_a_skipped_test_fails_the_run(pytester, monkeypatch):
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(test_skipping=SKIPPING)
    result = pytester.runpytest_inprocess("-p", "tests.ci_skips", "-p", "no:django", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    race_skips = 1 if connection.vendor == "sqlite" else 0
    # A skip in a test's body is reported failed; one in its setup (skipif, a fixture) as an error.
    assert outcomes.get("failed", 0) + outcomes.get("errors", 0) == 3 - race_skips
    assert outcomes.get("skipped", 0) == race_skips
    assert outcomes.get("xfailed") == 1 and outcomes.get("passed") == 1
    result.stdout.fnmatch_lines(["*Skipped in CI, where every service is required*Redis*"])
    assert result.ret != 0


def test_outside_ci_a_skip_stays_a_skip(pytester, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(test_skipping=SKIPPING)
    result = pytester.runpytest_inprocess("-p", "tests.ci_skips", "-p", "no:django", "-p", "no:cacheprovider")
    assert result.parseoutcomes().get("skipped") == 3
    assert result.ret == 0

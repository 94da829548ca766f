"""In CI a skipped test fails the run: a green CI must mean that the worker, PostgreSQL, Redis and
browser tests ran, not that they found their service missing and stepped aside.

Loaded by ``tests/conftest.py``; on a laptop (CI unset) a skip stays a skip.
"""

import os

import pytest

# Skips that CI expects, each with why: on the SQLite pass, a race that needs concurrent writers and a
# worker test that needs a database shared with another process skip; both run on the PostgreSQL
# pass, which scripts/test.sh requires in CI.
EXPECTED_ON_SQLITE = (
    "SQLite runs one writer at a time",
    "needs PostgreSQL",
)


def _reason(report) -> str:
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        return str(report.longrepr[2])
    return str(report.longrepr)


def _expected(reason: str) -> bool:
    from django.db import connection

    return connection.vendor == "sqlite" and any(text in reason for text in EXPECTED_ON_SQLITE)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") != "true" or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _reason(report)
    if _expected(reason):
        return
    report.outcome = "failed"
    report.longrepr = f"Skipped in CI, where every service is required ({item.nodeid}): {reason}"

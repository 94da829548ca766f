"""The one wrapper every job's Celery task runs its service through (tessera/job_tasks.py)."""

from types import SimpleNamespace

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError

from tessera.job_tasks import job_task_run


def task(retries: int, *, max_retries: int = 5, soft_time_limit: int | None = 120) -> SimpleNamespace:
    # What the wrapper reads of a bound Celery task: its request's retry count and its limits.
    return SimpleNamespace(
        request=SimpleNamespace(retries=retries), max_retries=max_retries, soft_time_limit=soft_time_limit
    )


def raising(error: BaseException):
    def run() -> None:
        raise error

    return run


@pytest.fixture
def failures():
    calls: list[dict] = []
    return calls, lambda **kwargs: calls.append(kwargs)


def test_past_the_soft_time_limit_the_job_fails_with_its_own_message(failures):
    calls, fail = failures
    job_task_run(task(0), run=raising(SoftTimeLimitExceeded()), fail=fail, time_limit_message="ran {limit} s")
    assert calls == [{"message": "ran 120 s", "code": "time_limit"}]


def test_the_default_soft_limit_is_named_when_the_task_sets_none(failures, settings):
    calls, fail = failures
    job_task_run(
        task(0, soft_time_limit=None),
        run=raising(SoftTimeLimitExceeded()),
        fail=fail,
        time_limit_message="{limit}",
    )
    assert calls[0]["message"] == str(settings.TESSERA_JOB_SOFT_TIME_LIMIT_SECONDS)


def test_a_bug_fails_the_job_at_once_and_is_not_retried(failures):
    calls, fail = failures
    job_task_run(task(0), run=raising(KeyError("text")), fail=fail, time_limit_message="")
    assert calls == [{"message": "KeyError: 'text'"}]


def test_a_transient_fault_is_raised_for_a_retry_without_failing_the_job(failures):
    calls, fail = failures
    with pytest.raises(OperationalError):
        job_task_run(task(2), run=raising(OperationalError("gone")), fail=fail, time_limit_message="")
    assert calls == []


def test_on_its_last_try_a_transient_fault_fails_the_job_and_is_raised(failures):
    calls, fail = failures
    with pytest.raises(OSError):
        job_task_run(task(5), run=raising(OSError("disk full")), fail=fail, time_limit_message="")
    assert calls == [{"message": "OSError: disk full"}]


def test_a_job_that_runs_calls_nothing_else(failures):
    calls, fail = failures
    ran = []
    job_task_run(task(0), run=lambda: ran.append(True), fail=fail, time_limit_message="")
    assert (ran, calls) == ([True], [])

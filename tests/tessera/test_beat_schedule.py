"""The beat schedule's sweep messages live long enough to be delivered.

On the file-system broker, which the worker polls about once a second, a reaper message that expired
after one second (the interval the worker tests use) was often discarded on arrival, so a killed
worker's job was never reaped and the test waited in vain.
"""

import pytest

from tessera.celery import REAPER, SEARCH_SWEEP, TRAINING_REAPER, app, sweep_expiry_seconds


@pytest.mark.parametrize(("interval", "expires"), [(1.0, 15.0), (5.0, 15.0), (60.0, 120.0)])
def test_a_sweep_message_outlives_its_delivery(interval, expires):
    assert sweep_expiry_seconds(interval) == expires


def test_the_schedule_uses_that_expiry():
    app.loader.import_default_modules()
    entries = {entry["task"]: entry for entry in app.conf.beat_schedule.values()}
    for task in (REAPER, SEARCH_SWEEP, TRAINING_REAPER):
        assert entries[task]["options"]["expires"] == sweep_expiry_seconds(entries[task]["schedule"])

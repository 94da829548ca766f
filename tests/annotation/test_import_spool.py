"""The checked rows of a background import, kept in memory or spooled to an unnamed file."""

from annotation.importing.spool import CheckedSpool

BATCHES = [
    (0, ([('{"text": "a"}', "{}", True, 1, 0, 0, '{"sentiment": ["Positive"]}')],
         [(0, 7, '[{"id": "x"}]', False, True, 4.5)], [])),
    (1, ([('{"text": "\\u65e5\\u672c"}', '{"n": 1}', False, 0, 1, 1, "{}")],
         [(1, 7, "[]", True, False, None)], [(1, "v1", "[]", None)])),
    (2, ([("{}", "{}", False, 0, 0, 0, "{}")], [], [(2, "", "[]", 0.25)])),
]  # fmt: skip


def test_batches_under_the_bound_stay_in_memory(tmp_path):
    with CheckedSpool(keep_chars=10_000, directory=tmp_path) as spool:
        for batch in BATCHES:
            spool.add(batch, chars=40)
        assert not spool.on_disk
        assert list(spool) == BATCHES


def test_past_the_bound_every_batch_comes_back_from_disk_in_order(tmp_path):
    directory = tmp_path / "imports"
    with CheckedSpool(keep_chars=50, directory=directory) as spool:
        for batch in BATCHES:
            spool.add(batch, chars=40)
        assert spool.on_disk
        assert list(spool) == BATCHES
        assert list(spool) == BATCHES  # read again from the start
        # The file has no name: nothing to clean up after a crash.
        assert list(directory.iterdir()) == []
    assert list(spool) == []

"""The import's garbage-collector pause nests and crosses threads, and restores what it found."""

import gc
import threading

from annotation.importing.gc_pause import gc_paused


def test_the_collector_comes_back_only_after_the_last_pause_ends():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_pause_in_another_thread_keeps_the_collector_off_until_both_end():
    inside, release = threading.Event(), threading.Event()

    def other_import():
        with gc_paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other_import)
    with gc_paused():
        thread.start()
        inside.wait(5)
    assert not gc.isenabled()  # the other thread's import is still parsing
    release.set()
    thread.join()
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_error_inside_the_pause_still_restores_the_collector():
    try:
        with gc_paused():
            raise ValueError("bad row")
    except ValueError:
        pass
    assert gc.isenabled()


def test_the_collector_does_not_scan_what_was_made_during_the_pause_when_it_comes_back():
    # Left in the youngest generation, a parsed import's objects would all be scanned by the first
    # allocation after the pause (their count is far past the threshold), then again one generation up.
    collections: list[int] = []

    def record(phase: str, info: dict) -> None:
        if phase == "start":
            collections.append(info["generation"])

    try:
        with gc_paused():
            kept = [[index] for index in range(50 * gc.get_threshold()[0])]
            gc.callbacks.append(record)  # no collection runs while paused
        after = [[index] for index in range(gc.get_threshold()[0] // 2)]
    finally:
        gc.callbacks.remove(record)
    assert gc.isenabled()
    assert collections == []
    assert len(kept) > len(after)

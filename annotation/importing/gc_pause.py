"""Pause Python's cyclic garbage collector while an import builds its objects.

Parsing 50,000 labeled tasks makes about half a million dicts and lists, none
of them garbage; the collector, triggered by allocation counts, keeps scanning
them all the same, which costs more than the parsing itself. gunicorn runs
requests in threads of one process, and ``gc`` is process-wide, so pauses are
counted: the collector comes back when the last import in flight is done, and
only if it was on before the first began.
"""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                # Objects made while paused all sit in the youngest generation, whose count has passed
                # its threshold many times over: the first allocation after enable() would scan them all
                # (half a million parsed dicts and lists: 0.1 s), and the next collection again. freeze()
                # then unfreeze() moves every object to the oldest generation and resets the count,
                # without a scan; most of them are freed by reference counting when the request ends.
                gc.freeze()
                gc.unfreeze()
                gc.enable()

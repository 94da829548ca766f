"""Run an iterator in a thread of its own, a few items ahead of the caller.

A large synchronous import checks its rows in Python and writes them with ``COPY``, where the time is
PostgreSQL's: with the checks of the next batch running in this thread while the caller waits on the
database for the last one, the two overlap instead of adding up (the wait on the socket releases the
GIL). The iterator must not touch the database: the caller's transaction lives on the caller's
connection. What the iterator raises is raised in the caller, at the item where it happened, and the
thread runs in the caller's language, so messages read as they would have. Closing the generator (or
leaving it by an exception) stops the thread and waits for it. Plain Python, no ORM.
"""

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

from django.utils import translation

T = TypeVar("T")

_DONE = object()
# Seconds between two looks at the stop flag while the queue is full.
_POLL = 0.05


def read_ahead(items: Iterator[T], *, depth: int = 2) -> Generator[T, None, None]:
    results: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    language = translation.get_language()

    def put(entry: tuple) -> bool:
        while not stop.is_set():
            try:
                results.put(entry, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        with translation.override(language):
            try:
                for item in items:
                    if not put((item, None)):
                        return
            except BaseException as error:  # noqa: BLE001 - handed to the caller, raised there
                put((_DONE, error))
                return
            put((_DONE, None))

    thread = threading.Thread(target=run, name="tessera-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = results.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        thread.join()

"""Forked processes that each work on one part of a CPU-bound pass and stream bytes back to the parent.

The full agreement recompute is Python work on every annotation of a project (parsing, keying, the
per-case cores): one process is bound by one core however many the machine has, while PostgreSQL can
feed several readers at once. Each part runs ``work(part, send)`` in a child forked from the caller
(so it shares the caller's loaded code and read-only data without pickling them); ``send(bytes)``
streams output (COPY text) to the parent, which reads whichever child has output ready
(``Fanout.chunks``), and the value ``work`` returns comes back pickled (``Fanout.results``).

A child must not touch the parent's database connection (it would talk over the parent's socket in
the middle of the parent's transaction): the work opens its own (``own_database_connection`` gives a
child Django's connection anew, so that the ORM and ``connection.cursor()`` work there). Children are forked with ``os.fork``
(not multiprocessing's Process, which refuses to start one from a daemonic process, as a Celery pool
process is), die with the parent (Linux's parent-death signal) and end with ``os._exit``, so nothing
the parent owns is closed or flushed by them. A child that raises, or dies, makes ``chunks`` raise
``WorkerFailed``; the parent's ``close`` (also on error) ends every child still running.
"""

import contextlib
import ctypes
import multiprocessing
import os
import pickle
import signal
import traceback
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from django.db import connections

# The first byte of each message from a child: output, the final value, or a failure's traceback.
_CHUNK, _DONE, _FAILED = b"c", b"d", b"f"

Send = Callable[[bytes], None]


# The parent's connections as a child inherited them: held, never closed nor collected, until the child
# ends with os._exit (closing one would end the parent's session over the shared socket).
_INHERITED: list[Any] = []


def own_database_connection() -> None:
    """In a child: Django's connections open anew on first use, the parent's left as they are. Only for
    a parent outside a transaction: the child reads committed rows over its own connection."""
    for wrapper in connections.all(initialized_only=True):
        if wrapper.connection is not None:
            _INHERITED.append(wrapper.connection)
            wrapper.connection = None


class WorkerFailed(RuntimeError):
    """A child process raised (its traceback is the message) or ended without its result."""


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: the child gets SIGKILL when its parent dies (a killed worker leaves no part running)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _child(work: Callable[[Any, Send], Any], part: Any, writer: Connection) -> None:
    try:
        result = work(part, lambda data: writer.send_bytes(_CHUNK + data))
        writer.send_bytes(_DONE + pickle.dumps(result))
    except BaseException:  # noqa: BLE001 - everything goes back to the parent, which raises it
        writer.send_bytes(_FAILED + traceback.format_exc().encode())
    finally:
        writer.close()


def _forked(work: Callable[[Any, Send], Any], part: Any, reader: Connection, writer: Connection) -> int:
    """The child's pid; the child runs the part and ends, never returning here."""
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        _die_with_parent()
        if os.getppid() != parent:  # the parent died before the signal was asked for
            os._exit(1)
        reader.close()
        _child(work, part, writer)
        code = 0
    finally:
        os._exit(code)


class Fanout:
    """``work(part, send)`` for each of ``parts``, one forked process each; use as a context manager."""

    def __init__(self, work: Callable[[Any, Send], Any], parts: Sequence[Any]) -> None:
        self._work = work
        self._parts = list(parts)
        self._pids: list[int] = []
        self._readers: dict[Connection, int] = {}
        self.results: list[Any] = [None] * len(self._parts)

    def __enter__(self) -> "Fanout":
        try:
            for index, part in enumerate(self._parts):
                reader, writer = multiprocessing.Pipe(duplex=False)
                # Earlier children's pipe ends are inherited by later ones too; each child closes only its
                # own reader, which is enough: a parent's reader sees EOF once its one writer has closed.
                self._pids.append(_forked(self._work, part, reader, writer))
                writer.close()  # the child's end: the parent reads EOF once the child has closed its copy
                self._readers[reader] = index
        except BaseException:
            self.__exit__()
            raise
        return self

    def chunks(self) -> Iterator[bytes]:
        """Output as the children send it, in arrival order, until every child has returned."""
        while self._readers:
            for reader in wait(list(self._readers)):
                assert isinstance(reader, Connection)
                try:
                    message = reader.recv_bytes()
                except EOFError:
                    raise WorkerFailed("A worker process ended without its result.") from None
                kind, body = message[:1], message[1:]
                if kind == _CHUNK:
                    yield body
                elif kind == _DONE:
                    # Our own child over our own pipe, not outside input.
                    self.results[self._readers.pop(reader)] = pickle.loads(body)  # noqa: S301
                    reader.close()
                else:
                    raise WorkerFailed(body.decode(errors="replace"))

    def __exit__(self, *exc_info: object) -> None:
        # Children still running (the parent failed, or one child did) are ended before their pipes
        # close, so that none is left blocked writing to a pipe nobody reads. A child that returned its
        # result has ended or is ending: it is waited for, not killed.
        running = bool(self._readers)
        for pid in self._pids:
            if running:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self._pids.clear()
        for reader in self._readers:
            reader.close()
        self._readers.clear()

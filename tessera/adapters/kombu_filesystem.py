"""kombu's file-system transport (the demo's broker), with messages written atomically.

kombu writes a message by creating its final file, then locking and filling it; the reader moves any
file whose name ends in ``.<queue>.msg`` without taking the lock. A reader that lists the folder
between the two steps takes an empty file, and the worker dies on its JSON
(``JSONDecodeError: Expecting value``): seen when beat sent two messages at once in the same process
as the worker. Here a message is written under a name the reader ignores and renamed into place
(``os.replace``, atomic within one folder), so a reader sees a whole message or none.

Private to kombu: ``Channel._put``, ``data_folder_out`` and the reader's name filter
(``filename.partition('.')[2] == '<queue>.msg'``). tests/tessera/test_kombu_filesystem.py pins them.
"""

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # kombu's own Channel._put takes **kwargs too; its stubs' base class does not.
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # A leading dot: the reader's filter reads the part after the first dot, which is then
        # "<name>.part", never "<queue>.msg".
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb", buffering=0) as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel


def install() -> None:
    """Make ``filesystem://`` broker URLs use this transport (called by tessera/celery.py)."""
    TRANSPORT_ALIASES["filesystem"] = f"{__name__}:Transport"

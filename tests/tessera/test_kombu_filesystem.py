"""The demo broker's atomic message writes (tessera/adapters/kombu_filesystem.py), and the kombu
internals it relies on."""

import os
import threading
from queue import Empty

from kombu import Connection

from tessera.adapters import kombu_filesystem
from tessera.celery import app


def _channel(conn: Connection) -> kombu_filesystem.Channel:
    channel = conn.default_channel
    assert isinstance(channel, kombu_filesystem.Channel)
    return channel


def _connection(folder) -> Connection:
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder)}
    return Connection("filesystem://", transport_options=options)


def test_the_celery_app_uses_the_atomic_transport_for_filesystem_urls(tmp_path):
    assert app.main == "tessera"  # importing the app installs the transport
    with _connection(tmp_path) as conn:
        assert isinstance(conn.transport, kombu_filesystem.Transport)


def test_a_partly_written_message_is_invisible_to_the_reader(tmp_path):
    kombu_filesystem.install()
    with _connection(tmp_path) as conn:
        channel = _channel(conn)
        # What a writer leaves while it writes: the reader's name filter must pass over it.
        (tmp_path / ".1_x.celery.msg.part").write_bytes(b"")
        channel._put("celery", {"body": "whole"})
        assert channel._get("celery") == {"body": "whole"}
        assert (tmp_path / ".1_x.celery.msg.part").exists()


def test_messages_written_while_a_reader_drains_the_folder_are_read_whole(tmp_path):
    kombu_filesystem.install()
    count = 400
    errors: list[BaseException] = []
    received: list[dict] = []

    def write() -> None:
        with _connection(tmp_path) as conn:
            channel = _channel(conn)
            for number in range(count):
                channel._put("celery", {"number": number, "padding": "x" * 4096})

    def read() -> None:
        with _connection(tmp_path) as conn:
            channel = _channel(conn)
            while len(received) < count and not errors:
                try:
                    received.append(channel._get("celery"))
                except Empty:
                    continue
                except Exception as exc:  # noqa: BLE001 - an empty file's JSON error is what is tested
                    errors.append(exc)

    writer, reader = threading.Thread(target=write), threading.Thread(target=read)
    reader.start()
    writer.start()
    writer.join(timeout=60)
    reader.join(timeout=60)
    assert errors == []
    assert sorted(message["number"] for message in received) == list(range(count))
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".part")]


def test_the_demo_broker_polls_its_folder_five_times_a_second(settings):
    # kombu's default (a second) left a job waiting half a second on average before a worker saw it.
    options = app.conf.broker_transport_options
    assert settings.CELERY_BROKER_URL.startswith("filesystem")
    with Connection("filesystem://", transport_options=options) as conn:
        assert conn.transport.polling_interval == 0.2

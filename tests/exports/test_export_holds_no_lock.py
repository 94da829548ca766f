"""An export that a slow client reads holds no transaction: writes anywhere go on while it streams."""

import threading

import pytest
from django.db import connection

from annotation.services.projects import project_update
from exports import selectors as export_selectors


@pytest.mark.django_db(transaction=True)
def test_a_write_succeeds_while_an_export_is_half_read(api, cast, make_project, monkeypatch):
    # Small chunks, so that a dozen tasks make several reads and the client can stop between them.
    monkeypatch.setattr(export_selectors, "CHUNK_TASKS", 3)
    project = make_project(tasks=[{"text": f"Headline {i}"} for i in range(12)])
    other = make_project(tasks=[{"text": "Elsewhere"}])
    response = api("manager").get(
        f"/api/projects/{project.pk}/export?exportType=JSON&download_all_tasks=true"
    )
    assert response.status_code == 200
    stream = iter(response.streaming_content)
    head = b"".join(next(stream) for _ in range(4))
    assert b"Headline 0" in head
    # A slow client: the export stopped between reads holds no transaction (on SQLite, where
    # transactions begin IMMEDIATE, that one would hold the database's write lock).
    assert not connection.in_atomic_block
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with connection.cursor() as cursor:
                # Fail fast instead of waiting out the 20 s busy timeout if the write lock is taken.
                if connection.vendor == "sqlite":
                    cursor.execute("PRAGMA busy_timeout = 500")
                else:
                    cursor.execute("SET lock_timeout = '500ms'")
            project_update(project=other, user=cast.users["owner"], fields={"title": "Renamed meanwhile"})
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    writer = threading.Thread(target=write)
    writer.start()
    writer.join()
    assert errors == []
    rest = b"".join(stream)
    assert (head + rest).count(b"Headline") == 12
    other.refresh_from_db()
    assert other.title == "Renamed meanwhile"

"""A project's Import tab: files handed to the file input, the preview and its column mapping."""


def csv_rows(rows: int) -> bytes:
    """A CSV whose text column is named ``sentence`` (so it needs mapping to ``$text``), quoted commas in it."""
    return (
        "sentence,source\n" + "".join(f'"Headline {i}, with a comma",wire\n' for i in range(rows))
    ).encode()


def upload_file(name: str, raw: bytes, mime: str = "text/plain") -> dict:
    """A file for ``page.set_input_files``."""
    return {"name": name, "mimeType": mime, "buffer": raw}


def open_import(session, project) -> None:
    session.page.goto(f"{session.base_url}/projects/{project.pk}/import/")
    session.page.wait_for_selector("#import-drop")

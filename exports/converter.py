"""Label Studio's converter formats (CoNLL 2003, COCO, YOLO, Pascal VOC) as ``label_studio_sdk.converter``
writes them, shared by ``GET /api/projects/{id}/export`` and the dataset formats of the same names.

Tasks go to the converter as a Label Studio JSON file in a temporary folder; the converter reads it as a
stream (ijson) and writes its output beside it. What the converter may touch is narrowed here, because
task data is untrusted:
- ``download_resources=False`` and the formats that download images (``*_WITH_IMAGES``) are not offered;
  every media request it could still make goes through a session that refuses it, and Local Storage
  paths through a resolver that grants none, so a conversion makes no network request and reads no file.
- The converter checks media values with ``os.path.exists`` and opens them with Pillow to read their
  size (COCO), relative to the process's folder or to its output folder. A value that is a path (no URL
  scheme), or that climbs with ``..``, is handed over under the ``local-path-not-read:`` scheme, which no
  file is named after: the converter then treats it as a remote file it did not download, as it does every
  URL, and keeps only its base name. So no value of task data can make it read, or name, a server file.

The label config is handed over parsed (a dict): given a string, the converter would read it as a file
path when a file of that name exists.
"""

import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import urlsplit

import requests
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from exports.archives import write_tar, write_zip

if TYPE_CHECKING:
    from label_studio_sdk.converter import Converter


@dataclass(frozen=True)
class ConverterFormat:
    name: str  # Label Studio's exportType and the converter's Format name
    # What the config needs for this format, for the 400 that refuses it.
    needs: str
    # The converter's single output file, or None when it writes a folder (answered as an archive).
    single_file: str | None = None


CONVERTER_FORMATS = {
    fmt.name: fmt
    for fmt in (
        ConverterFormat(
            "CONLL2003",
            gettext_noop("one Text object labeled by a Labels control"),
            single_file="result.conll",
        ),
        ConverterFormat(
            "COCO",
            gettext_noop("one Image object labeled by RectangleLabels, PolygonLabels or KeyPointLabels"),
        ),
        ConverterFormat(
            "YOLO",
            gettext_noop("one Image object labeled by RectangleLabels, PolygonLabels or KeyPointLabels"),
        ),
        ConverterFormat(
            "YOLO_OBB", gettext_noop("one Image object labeled by RectangleLabels or PolygonLabels")
        ),
        ConverterFormat("VOC", gettext_noop("one Image object labeled by RectangleLabels")),
    )
}

# Object tags whose value the converter reads as a file or URL.
MEDIA_OBJECTS = frozenset({"Image", "Audio", "AudioPlus", "Video", "Pdf"})
NOT_READ_SCHEME = "local-path-not-read:"

_CONTENT_TYPES = {
    ".conll": "text/plain; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


class _NoRequests(requests.Session):
    """The session the converter's media downloads go through: every request is refused."""

    def request(self, method, url, *args, **kwargs):
        raise requests.exceptions.InvalidURL(f"Tessera's exports make no requests ({url})")


def _no_local_files(path: str) -> None:
    """Local Storage paths: none is readable by an export."""
    return None


class ConversionFailed(Exception):
    """The converter stopped on the tasks' data (a text that is not a string, a data key a task lacks)."""


# label_studio_sdk.converter is imported where it is used: it pulls in nltk, pandas and Pillow (seconds
# of start-up), and this module is imported by every process when the dataset formats register.


def config_schema(label_config: str) -> dict:
    from label_studio_sdk.converter.utils import parse_config

    return parse_config(label_config) if label_config else {}


def converter_for(schema: dict, project_dir: str) -> "Converter":
    from label_studio_sdk.converter import Converter

    return Converter(
        config=schema,
        project_dir=project_dir,
        upload_dir=os.path.join(project_dir, "no-uploads"),
        download_resources=False,
        local_files_resolver=_no_local_files,
        http_session=_NoRequests(),
    )


def misfit_reason(label_config: str, export_type: str) -> str | None:
    """None when the converter supports ``export_type`` for this config, else why not."""
    fmt = CONVERTER_FORMATS[export_type]
    with tempfile.TemporaryDirectory(prefix="tessera-convert-") as folder:
        supported = converter_for(config_schema(label_config), folder).supported_formats
    if fmt.name in supported:
        return None
    return _("%(format)s does not fit this project's labeling config: it needs %(needs)s.") % {
        "format": fmt.name,
        "needs": _(fmt.needs),
    }


def media_keys(schema: dict) -> frozenset[str]:
    """The task data keys the config shows as images, audio or video."""
    keys: set[str] = set()
    for control in schema.values():
        for source in control.get("inputs", []):
            if source.get("type") in MEDIA_OBJECTS:
                keys.update(source[key] for key in ("value", "valueList") if source.get(key))
    return frozenset(keys)


def _climbs(path: str) -> bool:
    return ".." in re.split(r"[/\\]", path)


def safe_media_value(value: str) -> str:
    """A media value the converter cannot resolve to a file here (see the module's docstring)."""
    parts = urlsplit(value)
    # A one-letter scheme is a Windows drive ("C:\\…"), and file: URLs name local files.
    if len(parts.scheme) > 1 and parts.scheme != "file" and not _climbs(value) and "\0" not in value:
        return value
    return NOT_READ_SCHEME + value.replace("\0", "").replace("\\", "/")


def safe_media_data(data: dict, keys: frozenset[str]) -> dict:
    """The task's data with its media values made safe; the same dict when nothing needed it."""
    changed: dict[str, object] = {}
    for key in keys:
        value = data.get(key)
        if isinstance(value, str):
            safe = safe_media_value(value)
            if safe != value:
                changed[key] = safe
        elif isinstance(value, list):
            safe_list = [safe_media_value(v) if isinstance(v, str) else v for v in value]
            if safe_list != value:
                changed[key] = safe_list
    return {**data, **changed} if changed else data


@dataclass
class ConvertedExport:
    """The converter's output: one file, or a folder packed as an archive. ``file`` is open at its start
    and already unlinked: closing it frees the space."""

    file: BinaryIO
    extension: str
    content_type: str


def write_tasks_json(tasks_text: Iterable[str], path: str) -> None:
    """Label Studio JSON (an array of tasks) from text chunks, to a file."""
    with open(path, "w", encoding="utf-8") as out:
        for chunk in tasks_text:
            out.write(chunk)


def _run(schema: dict, export_type: str, folder: str, tasks_path: str) -> str:
    output = os.path.join(folder, "output")
    os.mkdir(output)
    try:
        converter_for(schema, folder).convert(tasks_path, output, export_type, is_dir=False)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        # The converter reads task data as its config says it is; data of another shape stops it, and that
        # is the data's fault, not a server error. The task's content is left out of the message.
        raise ConversionFailed(f"{type(error).__name__}: {error}"[:200]) from error
    return output


def convert_for_download(
    *, label_config: str, export_type: str, tasks_text: Iterable[str]
) -> ConvertedExport:
    """What Label Studio answers for this export: the output file when the converter wrote one file, else
    the output folder as a zip. The temporary folder is gone when this returns."""
    schema = config_schema(label_config)
    with tempfile.TemporaryDirectory(prefix="tessera-convert-") as folder:
        tasks_path = os.path.join(folder, "tasks.json")
        write_tasks_json(tasks_text, tasks_path)
        output = _run(schema, export_type, folder, tasks_path)
        names = os.listdir(output)
        if len(names) == 1 and os.path.isfile(os.path.join(output, names[0])):
            extension = os.path.splitext(names[0])[1]
            # Open before the folder goes: the open file outlives its name.
            file: BinaryIO = open(os.path.join(output, names[0]), "rb")  # noqa: SIM115 - closed by the response
            return ConvertedExport(
                file=file,
                extension=extension.lstrip(".") or "txt",
                content_type=_CONTENT_TYPES.get(extension, "application/octet-stream"),
            )
        archive = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the response
        try:
            write_zip(output, archive)
        except BaseException:
            archive.close()
            raise
        archive.seek(0)
        return ConvertedExport(file=archive, extension="zip", content_type="application/zip")


# The converter writes the time of the run into COCO's and YOLO's notes: a dataset version's bytes must not
# depend on when it was built, so those fields are pinned there (the export endpoint keeps them).
_RUN_TIMES = (
    ("result.json", re.compile(rb'("year": )\d+(,\s*"version": "1.0",)'), rb"\g<1>1980\g<2>"),
    ("result.json", re.compile(rb'("date_created": )"[^"]*"'), rb'\g<1>"1980-01-01 00:00:00"'),
    ("notes.json", re.compile(rb'("year": )\d+(,\s*"version": "1.0",)'), rb"\g<1>1980\g<2>"),
)
_TAIL_BYTES = 4096


def _pin_run_times(output: str) -> None:
    """Rewrite the run's time in the trailing ``info`` object the converter writes last."""
    for name, pattern, replacement in _RUN_TIMES:
        path = os.path.join(output, name)
        if not os.path.isfile(path):
            continue
        with open(path, "r+b") as file:
            size = file.seek(0, io.SEEK_END)
            start = max(0, size - _TAIL_BYTES)
            file.seek(start)
            tail = file.read()
            pinned = pattern.sub(replacement, tail)
            if pinned != tail:
                file.seek(start)
                file.write(pinned)
                file.truncate()


def convert_to_stream(*, label_config: str, export_type: str, tasks: Iterable[dict], out: BinaryIO) -> None:
    """Dataset versions: the same conversion, reproducible. A single-file format writes that file; a folder
    format writes a tar with sorted entries and fixed times. ``tasks``: Label Studio task dicts."""
    schema = config_schema(label_config)
    keys = media_keys(schema)
    with tempfile.TemporaryDirectory(prefix="tessera-convert-") as folder:
        tasks_path = os.path.join(folder, "tasks.json")
        with open(tasks_path, "w", encoding="utf-8") as file:
            file.write("[")
            for index, task in enumerate(tasks):
                if keys:
                    task = {**task, "data": safe_media_data(task["data"], keys)}
                file.write(("," if index else "") + json.dumps(task, ensure_ascii=False))
            file.write("]")
        output = _run(schema, export_type, folder, tasks_path)
        _pin_run_times(output)
        single = CONVERTER_FORMATS[export_type].single_file
        if single is not None:
            with open(os.path.join(output, single), "rb") as source:
                shutil.copyfileobj(source, out)
            return
        write_tar(output, out)

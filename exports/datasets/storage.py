"""Where dataset versions' files live: ``TESSERA_DATASETS_DIR/<project id>/<version id>/<file>``.

Every path is built from ids, format names (checked against a fixed alphabet) and split names (one of
three), never from task data or a version's name, so nothing a user typed can lead a write elsewhere.
"""

import hashlib
import re
import shutil
from pathlib import Path

from django.conf import settings

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
SPLIT_NAMES = ("train", "validation", "test")
_HASH_CHUNK = 1024 * 1024


def root() -> Path:
    return Path(settings.TESSERA_DATASETS_DIR)


def version_dir(*, project_id: int, version_id: int) -> Path:
    return root() / str(int(project_id)) / str(int(version_id))


def file_name(*, format_name: str, split: str | None, extension: str) -> str:
    """``<format>[-<split>].<extension>``; ValueError on a name outside the safe alphabet."""
    for part in (format_name, extension):
        if not _SAFE_NAME.match(part):
            raise ValueError(f"unsafe dataset file name part {part!r}")
    if split is not None and split not in SPLIT_NAMES:
        raise ValueError(f"unknown split {split!r}")
    return f"{format_name}{'-' + split if split else ''}.{extension}"


def resolve(relative: str) -> Path:
    """The absolute path of a stored file, refusing anything that would leave the storage folder."""
    base = root().resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base):
        raise ValueError(f"{relative!r} is outside the datasets folder")
    return path


def relative(path: Path) -> str:
    return path.resolve().relative_to(root().resolve()).as_posix()


def version_files_reset(*, project_id: int, version_id: int) -> Path:
    """An empty folder for a build: a retry starts by removing what an interrupted run left."""
    folder = version_dir(project_id=project_id, version_id=version_id)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    return folder


def version_files_delete(*, project_id: int, version_id: int) -> None:
    shutil.rmtree(version_dir(project_id=project_id, version_id=version_id), ignore_errors=True)


def project_files_delete(*, project_id: int) -> None:
    shutil.rmtree(root() / str(int(project_id)), ignore_errors=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()

"""Folders packed as one file, byte for byte the same for the same files.

Entries go in sorted order with fixed times, owners and modes, so two builds of the same folder give the
same SHA-256 (``shutil.make_archive`` takes the order of ``os.walk`` and each file's mtime).
"""

import os
import tarfile
import zipfile
from typing import BinaryIO

# The earliest time a zip entry can carry; tar uses the same so that both say one thing.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_FIXED_EPOCH = 315532800  # 1980-01-01T00:00:00Z
_COPY_BYTES = 1024 * 1024


def _entries(root: str) -> list[tuple[str, str, bool]]:
    """(path on disk, name in the archive, is a folder) for everything under ``root``, sorted by name."""
    entries = []
    for folder, folders, files in os.walk(root):
        relative = os.path.relpath(folder, root)
        for name in folders:
            path = os.path.join(folder, name)
            entries.append((path, os.path.normpath(os.path.join(relative, name)).replace(os.sep, "/"), True))
        for name in files:
            path = os.path.join(folder, name)
            entries.append((path, os.path.normpath(os.path.join(relative, name)).replace(os.sep, "/"), False))
    return sorted(entries, key=lambda entry: entry[1])


def write_zip(root: str, out: BinaryIO) -> None:
    """The folder as a zip, as Label Studio answers a folder export, with its empty folders kept."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path, name, is_folder in _entries(root):
            info = zipfile.ZipInfo(name + "/" if is_folder else name, date_time=FIXED_TIME)
            info.external_attr = ((0o40755 if is_folder else 0o100644) << 16) | (0x10 if is_folder else 0)
            if is_folder:
                archive.writestr(info, b"")
                continue
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as source, archive.open(info, "w") as target:
                while block := source.read(_COPY_BYTES):
                    target.write(block)


def write_tar(root: str, out: BinaryIO) -> None:
    """The folder as an uncompressed tar (a dataset version's folder formats)."""
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, name, is_folder in _entries(root):
            info = tarfile.TarInfo(name)
            info.mtime = _FIXED_EPOCH
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if is_folder:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                archive.addfile(info)
                continue
            info.mode = 0o644
            info.size = os.path.getsize(path)
            with open(path, "rb") as source:
                archive.addfile(info, source)

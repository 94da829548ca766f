"""Checking a local model folder before it is registered as a base model; no ORM, no download.

A folder is accepted when it resolves (symlinks followed) inside one of the allowed roots, every file in it
resolves there too (a symlinked weights file must not reach the rest of the disk), its ``config.json``
names an architecture the recipes train, and its weights are safetensors only: a pickle (``*.bin``,
``*.pt``, …) runs code when loaded, so a folder holding one is refused even beside safetensors files.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from tessera.errors import ApplicationError
from training.architectures import MODEL_KIND_OF_TYPE as SUPPORTED_MODEL_TYPES

# Files that torch or pickle would load by unpickling, whatever the extension says of their content.
PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".h5", ".msgpack"})
MAX_CONFIG_BYTES = 1024 * 1024
MAX_FILES = 10_000  # a model folder has tens of files; a root given by mistake must not be walked whole


@dataclass(frozen=True)
class ModelFolder:
    path: Path  # resolved
    model_type: str
    kind: str
    config: dict[str, Any]
    parameters: int


def _refuse(message: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(message, field="path", code=code)


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def resolved_roots(roots: list[str | Path]) -> list[Path]:
    """The roots that exist, resolved; a root that does not exist allows nothing."""
    found = []
    for root in roots:
        try:
            found.append(Path(root).resolve(strict=True))
        except (OSError, RuntimeError):
            continue
    return found


def model_folder_check(raw_path: object, *, roots: list[str | Path]) -> ModelFolder:
    """The checked folder, or an ApplicationError naming ``path`` that says what is wrong with it."""
    if not isinstance(raw_path, str) or not raw_path.strip():
        raise _refuse(_("Give the model folder's absolute path."), code="required")
    if "\x00" in raw_path or not Path(raw_path).is_absolute():
        raise _refuse(_("Give the model folder's absolute path."))
    try:
        path = Path(raw_path).resolve(strict=True)
    except (OSError, RuntimeError):
        raise _refuse(_("No such folder: %(path)s") % {"path": raw_path}, code="not_found") from None
    if not path.is_dir():
        raise _refuse(_("No such folder: %(path)s") % {"path": raw_path}, code="not_found")
    allowed = resolved_roots(roots)
    # Compared after resolving: a symlink placed under a root that points elsewhere is outside.
    if not _inside(path, allowed):
        raise _refuse(
            _("The folder is outside the allowed model roots (%(roots)s).")
            % {"roots": ", ".join(str(root) for root in allowed) or "-"},
            code="outside_roots",
        )
    files = []
    for index, entry in enumerate(path.rglob("*")):
        if index >= MAX_FILES:
            raise _refuse(_("The folder holds too many files to be one model."))
        target = entry.resolve()
        if not _inside(target, allowed):
            raise _refuse(
                _("%(name)s links outside the allowed model roots.") % {"name": entry.name},
                code="outside_roots",
            )
        if target.is_file():
            files.append(entry)
    pickles = sorted(entry.name for entry in files if entry.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise _refuse(
            _("Pickle weights are refused (%(names)s): keep safetensors files only.")
            % {"names": ", ".join(pickles[:5])},
            code="pickle_weights",
        )
    if not any(entry.suffix == ".safetensors" for entry in files):
        raise _refuse(_("The folder holds no *.safetensors weights."), code="no_weights")
    config = _config(path)
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or model_type not in SUPPORTED_MODEL_TYPES:
        raise _refuse(
            _("Unsupported architecture %(type)s: use one of %(names)s.")
            % {"type": repr(model_type), "names": ", ".join(sorted(SUPPORTED_MODEL_TYPES))},
            code="unsupported_architecture",
        )
    parameters = sum(safetensors_parameters(entry) for entry in files if entry.suffix == ".safetensors")
    return ModelFolder(
        path=path,
        model_type=str(model_type),
        kind=SUPPORTED_MODEL_TYPES[str(model_type)],
        config=config,
        parameters=parameters,
    )


MAX_HEADER_BYTES = 100 * 1024 * 1024  # the format's own limit on its JSON header


def safetensors_parameters(file: Path) -> int:
    """The elements of every tensor in a safetensors file, read from its header alone (8 bytes of length,
    then JSON naming each tensor's shape), so counting a 70B model reads kilobytes, not its weights."""
    with file.open("rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        if not 0 < size <= MAX_HEADER_BYTES:
            raise _refuse(_("%(name)s is not a safetensors file.") % {"name": file.name})
        try:
            header = json.loads(handle.read(size))
        except (UnicodeDecodeError, ValueError):
            raise _refuse(_("%(name)s is not a safetensors file.") % {"name": file.name}) from None
    if not isinstance(header, dict):
        raise _refuse(_("%(name)s is not a safetensors file.") % {"name": file.name})
    total = 0
    for name, tensor in header.items():
        if name == "__metadata__":
            continue
        count = 1
        for dimension in tensor.get("shape", []) if isinstance(tensor, dict) else []:
            count *= int(dimension)
        total += count
    return total


def _config(path: Path) -> dict[str, Any]:
    config_file = path / "config.json"
    if not config_file.is_file():
        raise _refuse(_("The folder holds no config.json."), code="no_config")
    if config_file.stat().st_size > MAX_CONFIG_BYTES:
        raise _refuse(_("config.json is too large to be a model's configuration."))
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _refuse(_("config.json is not valid JSON.")) from None
    if not isinstance(config, dict):
        raise _refuse(_("config.json is not valid JSON."))
    return config

"""Find the built JavaScript and CSS of the browser app through Vite's manifest (hashed file names)."""

import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

ENTRY = "src/main.ts"
_cache: dict[str, tuple[float, "BuiltAssets"]] = {}


@dataclass(frozen=True)
class BuiltAssets:
    scripts: tuple[str, ...]
    styles: tuple[str, ...]


def _manifest_path() -> Path:
    return Path(settings.FRONTEND_DIST_DIR) / ".vite" / "manifest.json"


def built_assets() -> BuiltAssets | None:
    """Static paths of the entry script and its CSS, or None when the frontend has not been built.

    Read again when the manifest changes on disk, so a rebuild needs no server restart.
    """
    path = _manifest_path()
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return None
    cached = _cache.get(str(path))
    if cached and cached[0] == mtime:
        return cached[1]
    manifest = json.loads(path.read_text())
    entry = manifest[ENTRY]
    assets = BuiltAssets(scripts=(entry["file"],), styles=tuple(entry.get("css", ())))
    _cache[str(path)] = (mtime, assets)
    return assets

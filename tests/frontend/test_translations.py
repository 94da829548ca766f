"""Every string of the UI has its Japanese translation.

The server-rendered pages go through Django's i18n: a string marked for translation and missing from
locale/ja/LC_MESSAGES/django.po, or there without a translation, fails here. The TypeScript app's
catalogues are typed so that a message without Japanese does not compile (scripts/test.sh runs tsc).
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "ja" / "LC_MESSAGES" / "django.po"
SOURCES = ("tessera", "annotation", "exports", "training", "frontend")


def entries(po: Path) -> dict[str, tuple[str, bool]]:
    """msgid -> (msgstr, fuzzy) of a .po file (plural forms: the first msgstr)."""
    found: dict[str, tuple[str, bool]] = {}
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        msgstr = re.search(r'^msgstr(?:\[0\])? ((?:".*"\n?)+)', block, re.M)
        if not msgid or not msgstr:
            continue
        key = "".join(re.findall(r'"(.*)"', msgid.group(1)))
        if key:
            found[key] = ("".join(re.findall(r'"(.*)"', msgstr.group(1))), "#, fuzzy" in block)
    return found


def test_every_japanese_entry_is_translated():
    untranslated = [msgid for msgid, (msgstr, fuzzy) in entries(PO).items() if not msgstr or fuzzy]
    assert not untranslated, f"no Japanese translation in {PO.relative_to(ROOT)}: {untranslated}"


def test_every_marked_string_is_in_the_japanese_catalogue(tmp_path):
    # makemessages over a copy of the sources, so the catalogue in the tree is not touched.
    copy = tmp_path / "src"
    ignore = shutil.ignore_patterns("node_modules", "dist", "__pycache__", "*.mo")
    for name in SOURCES:
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    shutil.copytree(ROOT / "locale", copy / "locale", ignore=ignore)
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "ja", "--no-obsolete", "--verbosity", "0"],
        cwd=copy,
        check=True,
        env={"PATH": "/usr/bin:/bin", "TESSERA_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(copy)},
    )
    fresh = entries(copy / "locale" / "ja" / "LC_MESSAGES" / "django.po")
    # A changed string comes back from makemessages as fuzzy, carrying the old string's translation: missing too.
    missing = [msgid for msgid, (msgstr, fuzzy) in fresh.items() if not msgstr or fuzzy]
    assert not missing, (
        f"marked for translation but not in {PO.relative_to(ROOT)} (run makemessages, translate): {missing}"
    )

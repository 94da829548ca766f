"""Fill untranslated entries of a gettext catalogue from a JSON table {msgid: msgstr}.

A translator's tool: `manage.py makemessages -l ja --no-obsolete …` adds the new strings with empty
translations, this writes them in, `manage.py compilemessages` builds the .mo (scripts/install.sh).
Usage: .venv/bin/python scripts/translate_po.py locale/ja/LC_MESSAGES/django.po table.json
"""

import json
import re
import sys
from pathlib import Path

# "#, fuzzy" alone or among other flags ("#, fuzzy, python-format"), which the entry keeps.
FUZZY = re.compile(
    r'^#, fuzzy((?:, [\w-]+)*)\n(?:#\| .*\n)*(msgid (?:".+"\n|""\n(?:".*"\n)+))msgstr (?:".*"\n)+', re.M
)
ENTRY = re.compile(r'^(msgid (?:".*"\n)+)msgstr ""\n(?!")', re.M)


def po_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def unquote(block: str) -> str:
    joined = "".join(re.findall(r'"(.*)"', block))
    return joined.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")


def unfuzzy(match: re.Match[str]) -> str:
    """A fuzzy entry with its guess dropped and its other flags kept."""
    flags = f"#{match.group(1)}\n" if match.group(1) else ""
    return f'{flags}{match.group(2)}msgstr ""\n'


def main(po_path: str, table_path: str) -> int:
    table = json.loads(Path(table_path).read_text(encoding="utf-8"))
    po = Path(po_path)
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        msgid = unquote(match.group(1)[len("msgid ") :])
        if not msgid:
            return match.group(0)
        if msgid not in table:
            missing.append(msgid)
            return match.group(0)
        return f"{match.group(1)}msgstr {po_string(table[msgid])}\n"

    text = po.read_text(encoding="utf-8")
    # msgmerge's fuzzy guesses (a similar older string's translation) are wrong more often than not:
    # drop them, so the entry is translated from the table or reported.
    text = FUZZY.sub(unfuzzy, text)
    po.write_text(ENTRY.sub(fill, text), encoding="utf-8")
    for msgid in missing:
        print(f"untranslated: {msgid!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

"""The one place that says what input the database and the API can hold. Plain Python, no ORM.

Every endpoint and import path checks its input here, so that one rule holds everywhere and no value
reaches a write that would fail there with a 500:

- text: no U+0000 (PostgreSQL's text and jsonb cannot hold it) and no lone UTF-16 surrogate such as
  ``"\\ud800"`` (a JSON escape can make one, and no UTF-8 encoder, the database driver's or the
  response renderer's, can write it);
- numbers: finite; inside JSON documents integers within a float's range (some 308 digits: beyond it
  JavaScript, SQLite's JSON functions and float() all overflow), and every number the server reads
  (lead_time, score, overlap) within its own bounds;
- ids: a JSON integer or a string of ASCII digits within signed 64 bits (the databases' bigint; SQLite
  refuses a larger integer as a query parameter), in paths, query strings and bodies;
- nesting: at most ``MAX_JSON_DEPTH`` levels, checked without recursion, because the C encoder and
  decoder and our own walkers recurse once per level and a few hundred levels already exhaust the
  interpreter's stack under a request's frames.

Each check raises ApplicationError (a 400 naming the field), or NotFound for an id in a path.

Values that walkers test with ``type(value) is …`` (exact types, faster than isinstance) are typed
``Any``: the type checker narrows only on isinstance.
"""

import math
import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tessera.errors import ApplicationError, NotFound

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Integers inside JSON documents stay below 1e308, within a float's range (float() of anything larger
# raises OverflowError): 308 digits at most.
JSON_INT_LIMIT = 10**308
# Label Studio's results nest five or six levels; task data rarely more. A hundred leaves room and
# keeps every recursive walker far from Python's recursion limit.
MAX_JSON_DEPTH = 100
# An annotation's lead_time is the seconds spent on it: a day is more than any real one.
LEAD_TIME_MAX_SECONDS = 86_400.0

NUL_MESSAGE = gettext_noop("Text may not contain the NUL character (\\u0000).")
SURROGATE_MESSAGE = gettext_noop("Text may not contain a lone UTF-16 surrogate (\\ud800 to \\udfff).")

_BAD_CHARACTER = re.compile("[\x00\ud800-\udfff]")
_DIGITS = re.compile(r"-?[0-9]+")
# In JSON text a NUL is written \u0000 after an even number of backslashes (after an odd number the
# text held a backslash followed by "u0000", which is fine); a lone surrogate, written raw by an
# encoder with ensure_ascii=False, is a character of its own.
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_SURROGATE = re.compile("[\ud800-\udfff]")
# An integer of 309 digits or more (at least 1e308) somewhere in JSON text, or digits in a string.
_LONG_DIGITS = re.compile("[0-9]{309}")


def printable(text: str) -> str:
    """``text`` with NUL and lone surrogates written as \\u escapes, for an error message or field name:
    a key holding one must not make the error response itself unencodable."""
    return _BAD_CHARACTER.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _text_error(value: str, *, field: str | None) -> ApplicationError | None:
    found = _BAD_CHARACTER.search(value)
    if found is None:
        return None
    field = printable(field) if field else field
    if found.group() == "\x00":
        return ApplicationError(_(NUL_MESSAGE), field=field, code="nul_character")
    return ApplicationError(_(SURROGATE_MESSAGE), field=field, code="surrogate_character")


def check_text(value: str, *, field: str | None) -> str:
    """``value`` if it holds neither NUL nor a lone surrogate; else a 400 naming ``field``."""
    error = _text_error(value, field=field)
    if error is not None:
        raise error
    return value


def _path(parts: tuple) -> str | None:
    """("result", 0, "value") as ``result[0].value``; None for the top of the document."""
    rendered = ""
    for part in parts:
        if isinstance(part, int):
            rendered += f"[{part}]"
        else:
            rendered += f".{part}" if rendered else str(part)
    return rendered or None


def _json_ok(document: Any, max_depth: int) -> bool:
    """Whether the document passes, as fast as a walk can be: no paths, strings checked in line. It runs
    on every task of an import (3 to 4 µs for a task with two labeled spans)."""
    stack = [(document, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        kind = type(value)
        if kind is dict or kind is list:
            if depth >= max_depth:
                return False
            depth += 1
            if kind is dict:
                for key in value:
                    if type(key) is not str or not key.isascii() or "\x00" in key:
                        return False
                children = value.values()
            else:
                children = value
            for item in children:
                if type(item) is str:
                    if not item.isascii() or "\x00" in item:
                        return False
                elif item is not None and item is not True and item is not False:
                    push((item, depth))
        elif kind is str:
            if not value.isascii() or "\x00" in value:
                return False
        elif kind is int:
            if not -JSON_INT_LIMIT < value < JSON_INT_LIMIT:
                return False
        elif kind is float:
            if not math.isfinite(value):
                return False
        elif value is not None and kind is not bool:
            return False
    return True


def _raise_json_error(document: Any, *, field: str | None, max_depth: int) -> None:
    """Walk again, with paths, to name the first offending value; non-ASCII text that is fine passes."""
    stack = [(document, 0, (field,) if field else ())]
    while stack:
        value, depth, path = stack.pop()
        kind = type(value)
        if kind is str:
            check_text(value, field=_path(path))
        elif kind is dict or kind is list:
            if depth >= max_depth:
                raise ApplicationError(
                    _("The JSON is nested more than %(max_depth)s levels deep.") % {"max_depth": max_depth},
                    field=_path(path),
                    code="too_deep",
                )
            if kind is dict:
                for key, item in value.items():
                    if type(key) is not str:
                        raise ApplicationError(_("Object keys must be strings."), field=_path(path))
                    check_text(key, field=_path((*path, key)))
                    stack.append((item, depth + 1, (*path, key)))
            else:
                for index, item in enumerate(value):
                    stack.append((item, depth + 1, (*path, index)))
        elif kind is int:
            if not -JSON_INT_LIMIT < value < JSON_INT_LIMIT:
                raise ApplicationError(
                    _("Integers must have at most 308 digits (below 1e308)."),
                    field=_path(path),
                    code="out_of_range",
                )
        elif kind is float:
            if not math.isfinite(value):
                raise ApplicationError(_("Numbers must be finite."), field=_path(path), code="out_of_range")
        elif value is not None and kind is not bool:
            raise ApplicationError(
                _("%(type_name)s is not a JSON value.") % {"type_name": kind.__name__}, field=_path(path)
            )


def check_json(document: object, *, field: str | None = None, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Check a decoded JSON document: depth, text (keys too), integers within a float's range, finite floats.

    Iterative, with an explicit stack, so that any depth is reported as a 400 rather than overflowing
    Python's stack. The error names the path of the first offending value (``result[0].value``).
    """
    if not _json_ok(document, max_depth):
        _raise_json_error(document, field=field, max_depth=max_depth)


def check_encoded_json(encoded: str, value: object, *, field: str, max_depth: int = MAX_JSON_DEPTH) -> str:
    """check_json for ``value`` already encoded as ``encoded`` (ensure_ascii=False), at C speed: scans of
    the text, and the walk only when one trips, to decide and name the path. Brackets or digits inside
    strings only cause a walk, never a false refusal."""
    if (
        ("\\u0000" in encoded and _NUL_ESCAPE.search(encoded))
        or (not encoded.isascii() and _SURROGATE.search(encoded))
        or encoded.count("[") + encoded.count("{") > max_depth
        or _LONG_DIGITS.search(encoded)
    ):
        check_json(value, field=field, max_depth=max_depth)
    return encoded


def number(
    value: Any, *, field: str, low: float | None = None, high: float | None = None, message: str | None = None
) -> float | None:
    """None, or a finite JSON number (not true/false) within [low, high], as a float.

    Integers too large for a float (hundreds of digits) are out of any range here, never an
    OverflowError later.
    """
    if value is None:
        return None
    valid = not isinstance(value, bool) and isinstance(value, (int, float))
    if valid and isinstance(value, int):
        valid = -JSON_INT_LIMIT < value < JSON_INT_LIMIT
    if valid:
        valid = math.isfinite(value) and (low is None or value >= low) and (high is None or value <= high)
    if not valid:
        if message is None:
            message = (
                _("must be a finite number from %(low)g to %(high)g.") if low is not None and high is not None
                else _("must be a finite number of at least %(low)g.") if low is not None
                else _("must be a finite number of at most %(high)g.") if high is not None
                else _("must be a finite number.")
            ) % {"low": low, "high": high}  # fmt: skip
        raise ApplicationError(message, field=field)
    return float(value)


def lead_time(value: object, *, field: str = "lead_time") -> float | None:
    """Seconds spent on an annotation or draft: None, or a number from 0 to a day."""
    return number(
        value,
        field=field,
        low=0,
        high=LEAD_TIME_MAX_SECONDS,
        message=_("must be a non-negative number of seconds, at most %(limit)g (a day).")
        % {"limit": LEAD_TIME_MAX_SECONDS},
    )


def score(value: object, *, field: str = "score") -> float | None:
    """A prediction's score: None, or a number from 0 to 1 (true/false are not numbers here)."""
    return number(value, field=field, low=0, high=1, message=_("must be a number between 0 and 1."))


def flag(value: object, *, field: str, default: bool | None = None) -> bool:
    """true or false; None reads as ``default`` when one is given."""
    if value is None and default is not None:
        return default
    if not isinstance(value, bool):
        raise ApplicationError(_("must be true or false."), field=field)
    return value


def query_integer(value: object, *, field: str, low: int = 1, high: int = INT64_MAX) -> int:
    """An integer query parameter (page, page_size, limit): ASCII digits only, within [low, high].

    int() would also read "+1", "1_000", " 1 " and Arabic-Indic digits, and spend quadratic time on
    thousands of digits before its own limit refuses them.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        number_value = value
    elif isinstance(value, str) and len(value) <= 20 and _DIGITS.fullmatch(value):
        number_value = int(value)
    else:
        number_value = None
    if number_value is None or not low <= number_value <= high:
        raise ApplicationError(
            _("%(field)s must be an integer from %(low)s to %(high)s.")
            % {"field": field, "low": low, "high": high},
            field=field,
        )
    return number_value


def object_id(value: object, *, field: str | None = None) -> int:
    """An id as a JSON integer or a string of ASCII digits, within the database's signed 64 bits.

    Python's int() would also read true as 1, 1.9 as 1 and Arabic-Indic digits, so that a body naming
    no object would reach one. With ``field`` (a body or query parameter) a bad id is a 400 naming it;
    without (a path), a 404: no object has that id.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        number_value = value
    elif isinstance(value, str) and len(value) <= 40 and _DIGITS.fullmatch(value.strip()):
        number_value = int(value)
    else:
        number_value = None
    if number_value is not None and INT64_MIN <= number_value <= INT64_MAX:
        return number_value
    if field:
        raise ApplicationError(_("%(field)s must be an integer id.") % {"field": field}, field=field)
    raise NotFound()

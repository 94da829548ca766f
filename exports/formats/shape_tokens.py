"""Tokens of a text for the training shapes: words, or the project's tokenizer, with character offsets.

Without a tokenizer a token is a run of letters and digits, one punctuation mark, or one CJK character
(kanji, hiragana, katakana): Japanese and Chinese are written without spaces, so a character is the
only split that needs no dictionary, and it is the usual unit of Japanese and Chinese NER corpora.
With a tokenizer (a local Hugging Face tokenizer folder, ``DatasetContext.tokenizer``) tokens are its
pieces, read back as the original characters through its offset mapping.
"""

import re
import threading
from functools import cache
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from tessera.errors import ApplicationError

# Kanji (unified, extension A, compatibility, and the supplementary planes), hiragana, katakana and its
# phonetic extensions, halfwidth katakana, and the iteration mark 々.
_CJK = "\u3005\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f"
# One CJK character; else a run of word characters that are not CJK; else one mark that is neither
# a word character nor a space.
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|[^\w\s]")

Token = tuple[str, int, int]  # (text, start, end): text == source[start:end]


def word_tokens(text: str) -> list[Token]:
    return [(match[0], *match.span()) for match in _TOKEN.finditer(text)]


_load_lock = threading.Lock()


@cache
def _tokenizer(path: str) -> Any:
    # Imported here: transformers takes seconds to import, and most builds never need it.
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ApplicationError(
            _("The project's tokenizer at %(path)s cannot be loaded: %(error)s")
            % {"path": path, "error": exc},
            field="tokenizer",
            code="tokenizer_unavailable",
        ) from exc
    if not tokenizer.is_fast:
        raise ApplicationError(
            _("The project's tokenizer has no fast version; its offsets cannot be read."),
            field="tokenizer",
            code="tokenizer_not_fast",
        )
    return tokenizer


def tokenizer_problem(path: str) -> str | None:
    """Why the project's tokenizer folder cannot serve, checked without loading it; None when it may.

    A format's ``fits`` asks this, so a recipe naming a missing tokenizer is refused up front rather
    than failing its build halfway.
    """
    if not path:
        return None
    folder = Path(path)
    if not (folder / "tokenizer.json").is_file() and not (folder / "tokenizer_config.json").is_file():
        return _(
            "The project's tokenizer folder %(path)s holds no tokenizer.json or tokenizer_config.json."
        ) % {"path": path}
    return None


def load_tokenizer(path: str) -> Any:
    # Loaded once per process and path; the lock keeps two threads of one worker from loading it twice.
    with _load_lock:
        return _tokenizer(path)


def tokens(text: str, tokenizer_path: str = "") -> list[Token]:
    """The tokens of ``text``, each with its character offsets into it."""
    if not tokenizer_path:
        return word_tokens(text)
    encoded = load_tokenizer(tokenizer_path)(text, add_special_tokens=False, return_offsets_mapping=True)
    # A piece with an empty span (a bare "##" continuation on nothing, a normaliser's insertion) names no
    # characters of the text, so it can carry no tag and is left out.
    return [(text[start:end], start, end) for start, end in encoded["offset_mapping"] if end > start]


def token_count(text: str, tokenizer_path: str = "") -> int:
    """How many tokens ``text`` holds: the tokenizer's ids when there is one (no special tokens), else
    words, marks and CJK characters."""
    if not tokenizer_path:
        return len(_TOKEN.findall(text))
    return len(load_tokenizer(tokenizer_path)(text, add_special_tokens=False)["input_ids"])

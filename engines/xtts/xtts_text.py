"""Text for XTTS: 17 languages, and sentences kept under XTTS's per-language character limits
(coqui's tokenizer warns above them and quality drops) and its 400-token limit (coqui asserts
and the request dies above it), split at sentence, then clause, then word boundaries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Callable

LANGUAGES = ["en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja", "hi"]
# coqui TTS/tts/layers/xtts/tokenizer.py char_limits.
CHAR_LIMITS = {"en": 250, "de": 253, "fr": 273, "es": 239, "it": 213, "pt": 203, "pl": 224, "zh": 82, "ar": 166, "cs": 186, "ru": 182, "nl": 251, "tr": 226, "ja": 71, "hu": 224, "ko": 95, "hi": 150}
MAX_TOKENS = 400

_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")
_CLAUSE = re.compile(r"(?<=[,;:，、；：])\s*")


def normalise_language(language: str | None) -> str | None:
    """'en-US' -> 'en', 'zh' / 'zh-CN' -> 'zh-cn'; None for a language XTTS lacks."""
    if not language:
        return None
    tag = language.strip().lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh-cn"
    base = tag.split("-")[0]
    return base if base in LANGUAGES else None


# Scripts that name one XTTS language (checked in this order: kana before the ideographs Japanese shares with Chinese).
_SCRIPTS = [
    ("ja", re.compile(r"[\u3040-\u30ff]")),
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("zh-cn", re.compile(r"[\u4e00-\u9fff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
]


def guess_language(text: str, default: str) -> str:
    """AllTalk's `language=auto`: the language a text's script names (Japanese kana, Hangul,
    Chinese, Cyrillic as Russian, Arabic, Devanagari as Hindi), else `default` (the engine's
    language setting: Latin-script languages are not told apart without a detector)."""
    for language, pattern in _SCRIPTS:
        if pattern.search(text):
            return language
    return default


def char_limit(language: str) -> int:
    return CHAR_LIMITS.get(language.split("-")[0], 250)


def _pieces(text: str, pattern: re.Pattern[str]) -> list[str]:
    return [p.strip() for p in pattern.split(text) if p and p.strip()]


def _by_words(text: str, limit: int) -> list[str]:
    out: list[str] = []
    current = ""
    for word in text.split(" ") if " " in text else list(text):
        joiner = " " if current and " " in text else ""
        if len(current) + len(joiner) + len(word) <= limit:
            current += joiner + word
            continue
        if current:
            out.append(current)
        while len(word) > limit:  # one word longer than the limit (or CJK text without spaces)
            out.append(word[:limit])
            word = word[limit:]
        current = word
    if current:
        out.append(current)
    return out


def _pack(parts: list[str], limit: int, sep: str) -> list[str]:
    """Joins consecutive parts while they fit, so clauses are not needlessly split apart."""
    out: list[str] = []
    for part in parts:
        if out and len(out[-1]) + len(sep) + len(part) <= limit:
            out[-1] = out[-1] + sep + part
        else:
            out.append(part)
    return out


def split_text(text: str, language: str, tokens: Callable[[str], int] | None = None) -> Iterator[str]:
    """Sentences of at most the language's character limit (and MAX_TOKENS when `tokens`
    counts them), in order; nothing is dropped but whitespace. Lazily: each piece is counted
    (coqui's tokenizer runs the language's text front-end: num2words, pypinyin, cutlet) only
    when it is next, so the first sentence is spoken before a long text has been tokenized."""
    limit = char_limit(language)
    sep = "" if language in ("zh-cn", "ja") else " "
    for sentence in _pieces(text, _SENTENCE):
        if len(sentence) <= limit:
            pieces = [sentence]
        else:
            clauses: list[str] = []
            for clause in _pieces(sentence, _CLAUSE):
                clauses.extend([clause] if len(clause) <= limit else _by_words(clause, limit))
            pieces = _pack(clauses, limit, sep)
        for piece in pieces:
            if tokens is None:
                yield piece
            else:
                yield from _under_tokens(piece, tokens)


def _under_tokens(piece: str, tokens: Callable[[str], int]) -> list[str]:
    if tokens(piece) < MAX_TOKENS or len(piece) < 2:
        return [piece]
    cut = piece.rfind(" ", 0, len(piece) // 2 + 1)
    cut = cut if cut > 0 else len(piece) // 2
    return _under_tokens(piece[:cut].strip(), tokens) + _under_tokens(piece[cut:].strip(), tokens)

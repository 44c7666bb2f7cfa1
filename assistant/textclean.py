"""Raw extracted text → clean page text.

PDF extraction leaves artefacts that hurt both search and the quotes we show: words split
by a hyphen at a line break, ligature glyphs, running headers and page numbers, odd bullets.
Everything here is a pure function on strings.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

LIGATURES = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
}
BULLETS = "•◦▪▫‣●○■□➢➤►▶✓✔\uf0b7\uf0a7\uf0d8"
#: Words that follow a "real" hyphen in Norwegian coordinated compounds ("natur- og artsmangfold").
CONJUNCTIONS = {"og", "eller", "samt", "enn", "til", "som", "and", "or"}
MAX_PAGE_CHARS = 200_000

_HYPHEN_BREAK = re.compile(r"(\w)-[ \t]*\n[ \t]*([a-zæøåäöü]\w*)")
_BULLET_LINE = re.compile(rf"^[ \t]*[{re.escape(BULLETS)}][ \t]*", re.MULTILINE)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_PAGE_NUMBER = re.compile(r"^(side|page|s\.)?\s*\d{1,4}(\s*(av|/|of)\s*\d{1,4})?$", re.I)


def decode_text(raw: bytes) -> str:
    """UTF-8 if it is, else Windows-1252 (a superset of Latin-1 that old Norwegian files use)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _join_hyphenated(match: re.Match) -> str:
    word = match.group(2)
    if word.lower() in CONJUNCTIONS:
        return f"{match.group(1)}- {word}"
    return match.group(1) + word


def clean_page_text(text: str) -> str:
    """Ligatures, hyphenation at line ends, bullets and white space, in that order."""
    for glyph, letters in LIGATURES.items():
        text = text.replace(glyph, letters)
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00ad", "")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    text = _HYPHEN_BREAK.sub(_join_hyphenated, text)
    text = _BULLET_LINE.sub("• ", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return text[:MAX_PAGE_CHARS]


def drop_repeated_lines(pages: list[str], min_share: float = 0.6) -> list[str]:
    """Remove running headers/footers and bare page numbers from a multi-page document.

    A line counts as running when it appears (digits ignored) among the first or last two
    lines of at least ``min_share`` of the pages; with fewer than three pages nothing is
    dropped, since repetition cannot be told from content there.
    """
    if len(pages) < 3:
        return [_drop_page_numbers(page) for page in pages]

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", line.strip().lower())

    counts: Counter[str] = Counter()
    for page in pages:
        lines = [line for line in page.split("\n") if line.strip()]
        depth = 2 if len(lines) > 4 else 1
        edge = set(key(line) for line in lines[:depth] + lines[-depth:])
        counts.update(edge)
    running = {k for k, n in counts.items() if n >= max(2, min_share * len(pages)) and k}
    cleaned = []
    for page in pages:
        lines = page.split("\n")
        kept = [line for line in lines if not (line.strip() and key(line) in running)]
        cleaned.append(_drop_page_numbers("\n".join(kept)).strip())
    return cleaned


def _drop_page_numbers(page: str) -> str:
    lines = page.split("\n")
    while lines and (not lines[-1].strip() or _PAGE_NUMBER.match(lines[-1].strip())):
        lines.pop()
    while lines and (not lines[0].strip() or _PAGE_NUMBER.match(lines[0].strip())):
        lines.pop(0)
    return "\n".join(lines)

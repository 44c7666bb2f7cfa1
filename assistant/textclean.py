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
BULLETS = "•◦▪▫‣●○■□➢➤►▶✓✔∙·\uf0b7\uf0a7\uf0d8"
#: Words that follow a "real" hyphen in Norwegian coordinated compounds ("natur- og artsmangfold").
CONJUNCTIONS = {"og", "eller", "samt", "enn", "til", "som", "and", "or"}
#: A page longer than this is not prose (a normal dense A4 page holds 3 000–8 000
#: characters) but an extraction accident or a data dump. Sentence splitting grows faster
#: than linearly with page length, so longer pages are cut (and the cut is reported).
MAX_PAGE_CHARS = 20_000
#: Raw text beyond this is not even cleaned: it could never survive the cut above.
MAX_RAW_CHARS = 10 * MAX_PAGE_CHARS

# A hyphen (ASCII, U+2010 or a soft hyphen) at a line end, then a lower-case continuation.
_HYPHEN_BREAK = re.compile(r"\b(\w+)[-\u2010\u00ad][ \t]*\n[ \t]*([a-zæøåäöü]\w*)")
_BULLET_LINE = re.compile(rf"^[ \t]*[{re.escape(BULLETS)}][ \t]*", re.MULTILINE)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_PAGE_NUMBER = re.compile(
    r"^[-–—]?\s*(side|page|s\.)?\s*\d{1,4}(\s*(av|/|of)\s*\d{1,4})?\s*[-–—]?$", re.I
)


def decode_text(raw: bytes) -> str:
    """UTF-8 if it is, else Windows-1252 (a superset of Latin-1 that old Norwegian files use).

    Files saved as "Unicode" by Windows tools are UTF-16 with a byte-order mark.
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


_HYPHENATED_WORD = re.compile(r"\b\w+-\w+\b")


def _join_hyphenated(match: re.Match, spelled_with_hyphen: set[str]) -> str:
    left, word = match.group(1), match.group(2)
    if word.lower() in CONJUNCTIONS:  # "natur-\nog artsmangfold": a real hyphen
        return f"{left}- {word}"
    if any(ch.isdigit() for ch in left) or (len(left) > 1 and left.isupper()):
        return f"{left}-{word}"  # "E18-\nkorridoren", "EU-\ndirektiv": hyphen is spelling
    if f"{left}-{word}".lower() in spelled_with_hyphen:
        return f"{left}-{word}"  # the page writes "Oslo-regionen" elsewhere too
    return left + word


def join_hyphenation(text: str) -> str:
    """Join words split by a hyphen at a line end, keeping hyphens that are spelling."""
    spelled = {w.lower() for w in _HYPHENATED_WORD.findall(text)}
    return _HYPHEN_BREAK.sub(lambda m: _join_hyphenated(m, spelled), text)


def truncate_text(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars``: after a sentence or line if one ends near the
    cut, else at a space, so the last passage indexed is not a broken word."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    floor = max_chars * 0.9
    sentence_end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "), cut.rfind(".\n"))
    if sentence_end > floor:
        return cut[: sentence_end + 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > floor:
        cut = cut[:space]
    return cut.rstrip()


def clean_page(text: str, max_chars: int = MAX_PAGE_CHARS) -> tuple[str, bool]:
    """Clean page text and whether it had to be cut to ``max_chars`` (so it can be reported)."""
    raw_too_long = len(text) > MAX_RAW_CHARS
    text = text[:MAX_RAW_CHARS]
    for glyph, letters in LIGATURES.items():
        text = text.replace(glyph, letters)
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    text = join_hyphenation(text)
    text = text.replace("\u00ad", "")
    text = _BULLET_LINE.sub("• ", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return truncate_text(text, max_chars), raw_too_long or len(text) > max_chars


def split_long_text(text: str, max_chars: int = MAX_PAGE_CHARS) -> list[str]:
    """Cut a long text without page breaks into parts of at most ``max_chars``.

    Cuts fall at a paragraph break if there is one in the last half of a part, else at a
    line break or a space, so that no sentence is cut in the middle unless it must be.
    """
    parts = []
    while len(text) > max_chars:
        window = text[:max_chars]
        cut = -1
        for separator in ("\n\n", "\n", ". ", " "):
            cut = window.rfind(separator)
            if cut > max_chars // 2:
                cut += len(separator)
                break
        if cut <= max_chars // 2:
            cut = max_chars
        parts.append(text[:cut])
        text = text[cut:]
    parts.append(text)
    return parts


def drop_repeated_lines(pages: list[str], min_share: float = 0.6) -> list[str]:
    """Remove running headers/footers and bare page numbers from a multi-page document.

    A line counts as running when it appears (digits ignored) among the first or last three
    lines of at least ``min_share`` of the pages (and at least three pages); with fewer than
    three pages nothing is dropped, since repetition cannot be told from content there.
    Three lines, because PDFs often put the footer before the header in reading order.
    """
    if len(pages) < 3:
        return [_drop_page_numbers(page) for page in pages]

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", line.strip().lower())

    counts: Counter[str] = Counter()
    for page in pages:
        lines = [line for line in page.split("\n") if line.strip()]
        edge = set(key(line) for line in lines[:3] + lines[-3:])
        counts.update(edge)
    running = {k for k, n in counts.items() if n >= max(3, min_share * len(pages)) and k}
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

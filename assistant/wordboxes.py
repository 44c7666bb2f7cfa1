"""Where a sentence stands on a PDF page: its words found among the page's word boxes.

The index keeps each page's *cleaned* text (hyphenation at line ends joined, ligatures
spelt out, headers dropped), so a sentence is not a substring of what the PDF draws. Both
are therefore reduced to their letters and digits, lower-cased, and matched as one
character stream; each character of the page's stream knows which word box it came from.
The result is one box per line of the sentence, in PDF points, which the viewer draws
over the page image. Pure functions: poppler's output in, boxes out.
"""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from difflib import SequenceMatcher

#: A sentence that is not found exactly is taken from the closest run of the page when
#: at least this share of its characters match (OCR'd or oddly encoded text).
MIN_FUZZY_SHARE = 0.7


@dataclass(frozen=True)
class Word:
    """A word as poppler places it: text and box in PDF points, and its line's number."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    line: int


@dataclass(frozen=True)
class PageLayout:
    """The size of a page (PDF points) and its words in reading order."""

    width: float
    height: float
    words: tuple[Word, ...]


@dataclass(frozen=True)
class Box:
    """A rectangle on the page, in PDF points from the top left."""

    x: float
    y: float
    width: float
    height: float


def parse_bbox_layout(xhtml: str) -> PageLayout | None:
    """The first page of ``pdftotext -bbox-layout`` output; None if there is none."""
    root = ET.fromstring(xhtml)
    page = next((e for e in root.iter() if _tag(e) == "page"), None)
    if page is None:
        return None
    words, line_no = [], 0
    for line in (e for e in page.iter() if _tag(e) == "line"):
        for word in (e for e in line if _tag(e) == "word"):
            words.append(Word(word.text or "", float(word.get("xMin", 0)), float(word.get("yMin", 0)),
                              float(word.get("xMax", 0)), float(word.get("yMax", 0)), line_no))
        line_no += 1
    return PageLayout(float(page.get("width", 0)), float(page.get("height", 0)), tuple(words))


def _tag(element: ET.Element) -> str:
    """An element's name without its XML namespace (poppler writes XHTML)."""
    return element.tag.rsplit("}", 1)[-1]


def normalized(text: str) -> str:
    """Letters and digits only, lower-cased, compatibility forms folded (ﬁ → fi)."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if c.isalnum())


def find_words(words: tuple[Word, ...] | list[Word], sentence: str,
               near: float = 0.0) -> list[int]:
    """The indices of the words that make up ``sentence`` on the page, or [] if it is not
    there. When it occurs more than once, the occurrence nearest ``near`` (where the
    sentence starts in the page's text, 0–1) is taken."""
    target = normalized(sentence)
    if not target:
        return []
    stream, owner = [], []
    for i, word in enumerate(words):
        text = normalized(word.text)
        stream.append(text)
        owner.extend([i] * len(text))
    page = "".join(stream)
    if not page:
        return []
    starts = []
    at = page.find(target)
    while at >= 0:
        starts.append(at)
        at = page.find(target, at + 1)
    if starts:
        start = min(starts, key=lambda s: abs(s / len(page) - near))
        end = start + len(target)
    else:
        span = _fuzzy_span(page, target)
        if span is None:
            return []
        start, end = span
    return list(range(owner[start], owner[end - 1] + 1))


def _fuzzy_span(page: str, target: str) -> tuple[int, int] | None:
    """The span of ``page`` that best matches ``target`` when it is not found exactly:
    the matching blocks around the longest one, if they cover enough of ``target``."""
    matcher = SequenceMatcher(None, page, target, autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size >= 3]
    if not blocks:
        return None
    longest = max(blocks, key=lambda b: b.size)
    # Blocks consistent with the longest: where it says the target starts, give or take.
    origin = longest.a - longest.b
    slack = max(8, len(target) // 4)
    kept = [b for b in blocks if abs((b.a - b.b) - origin) <= slack]
    if sum(b.size for b in kept) < MIN_FUZZY_SHARE * len(target):
        return None
    return min(b.a for b in kept), max(b.a + b.size for b in kept)


def line_boxes(words: tuple[Word, ...] | list[Word], indices: list[int],
               pad: float = 1.5) -> list[Box]:
    """One box per line over the chosen words (a sentence over three lines: three boxes)."""
    lines: dict[int, list[Word]] = {}
    for i in indices:
        lines.setdefault(words[i].line, []).append(words[i])
    boxes = []
    for members in lines.values():
        x0 = min(w.x0 for w in members) - pad
        y0 = min(w.y0 for w in members) - pad
        x1 = max(w.x1 for w in members) + pad
        y1 = max(w.y1 for w in members) + pad
        boxes.append(Box(x0, y0, x1 - x0, y1 - y0))
    return boxes


def sentence_boxes(layout: PageLayout, sentence: str, near: float = 0.0) -> list[Box]:
    """Boxes over ``sentence`` on the page, clipped to the page; [] if it is not found."""
    boxes = line_boxes(layout.words, find_words(layout.words, sentence, near))
    return [clip(box, layout.width, layout.height) for box in boxes]


def clip(box: Box, width: float, height: float) -> Box:
    """``box`` cut to the page, so that no highlight is drawn outside the image."""
    x0, y0 = max(0.0, box.x), max(0.0, box.y)
    x1, y1 = min(width, box.x + box.width), min(height, box.y + box.height)
    return Box(x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0))

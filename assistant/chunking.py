"""Documents → chunks: sentence-aware passages within a token budget, with overlap.

Chunks are built from whole sentences (or bullet lines, for slide-like text) so that a
passage never starts or ends mid-sentence, and every sentence remembers its page and its
character offsets in that page. That is what lets an answer quote and highlight the exact
sentence and cite the page it stands on, even when a chunk runs over a page break.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .config import ChunkConfig
from .documents import Document

#: Lower-cased abbreviations (without the final period) after which a period does not end
#: a sentence. Norwegian usage, from Språkrådet's list of common abbreviations.
ABBREVIATIONS = frozenset(
    """
    f.eks bl.a ca nr jf jfr mill mrd kr pst dvs d.v.s osv o.s.v mv m.v m.m o.l e.l evt ev
    inkl ekskl iflg ifølge mht m.h.t ift vedr ang tlf tel kl kap pkt avd adm dir prof dr
    st s ref red utg vol bd ill tab fig hhv h.h.v t.o.m f.o.m etc mrk merk sml pga p.g.a
    jan feb mar apr jun jul aug sep sept okt nov des ltd as asa sa ks stk km mnd år
    """.split()
)

#: Bumped when the rules below cut sentences differently. The answer quotes sentences,
#: so an index cut by older rules is cut again by the next ``index`` (unchanged
#: documents too; their vectors are kept wherever a chunk's text is unchanged).
SENTENCE_RULES = 3

_BOUNDARY = re.compile(r"[.!?…][\"»”')\]]*\s+(?=[«\"„(\[]?[A-ZÆØÅÄÖÜ0-9•–])")
#: A photo credit, "Foto: Elliott Spagat, AP / NTB scanpix": news pages run it into the
#: next sentence without a period, which made the sentence look like a caption (chrome,
#: never quoted). A credit ends with the agency; one without an agency stays as it is.
_CREDIT = re.compile(
    r"(?i:\b(?:arkiv)?foto|\bphoto|\billustrasjon|\bgrafikk)\s*:\s*[^.!?\n]{0,80}?"
    r"\b(?i:ntb\s+scanpix|scanpix|reuters|ap\s+photo|afp|bildbyrån|getty\s+images|ntb)\)?"
    r"\s+(?=[«\"„(]?[A-ZÆØÅ])")
#: A single letter or initials: "D.W. Griffith" is one name, not two sentences.
_INITIALS = re.compile(r"(?:[^\W\d_]\.)*[^\W\d_]")
_LIST_ITEM = re.compile(r"^((•|–|-|\*|[a-z]\))\s|\d{1,2}[.)]\s+[A-ZÆØÅ])")


@dataclass(frozen=True)
class Sentence:
    """A sentence or bullet line: its page and character span in that page's text."""

    page: int
    start: int
    end: int
    #: A heading line of its own ("Organisering" over a section of a web page).
    heading: bool = False


class ChunkSentence(NamedTuple):
    """A sentence of a chunk: its span in its page's text (for the source view) and in the
    chunk's ``text`` (for quoting and highlighting in the passage). A named tuple, not a
    dataclass: an index of 100 000 chunks loads ~800 000 of them, and making that many
    frozen dataclasses cost about a second of the nine the loading took."""

    page: int
    page_start: int
    page_end: int
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    """A passage to embed and cite, with where each of its sentences stands."""

    doc_id: str
    text: str
    page_start: int
    page_end: int
    char_start: int  # offset in the text of page_start
    char_end: int  # offset in the text of page_end
    sentences: tuple[ChunkSentence, ...]
    n_tokens: int

    def sentence_texts(self) -> list[str]:
        return [self.text[s.start : s.end] for s in self.sentences]


# --------------------------------------------------------------------------- sentences


#: A line of at most this many words, without closing punctuation, that is much shorter
#: than the page's typical line and followed by a capitalised line, is a heading: its own
#: block, never glued to the sentence after it (a headline is not part of the lead).
HEADING_MAX_WORDS = 8
HEADING_MAX_WIDTH = 0.6


#: Words a sentence or list item never ends with: a line ending in one of them is wrapped,
#: and the next line continues it even when that line starts with a capital ("med
#: spesiell fokus på" / "Oslofjorden og tilhørende vassdrag" on a slide).
DANGLING_WORDS = frozenset(
    """
    og eller men samt på i for fra til med av om ved mot under over etter før hos uten
    mellom gjennom innen langs blant en et ei den det de som at å både enten
    """.split()
)


def _dangles(line: str) -> bool:
    """Whether ``line`` stops mid-sentence: on a hyphen or a word like "på" or "og"."""
    text = line.rstrip()
    if text.endswith("-") and not text.endswith(" -"):
        return True
    last = text.rsplit(None, 1)[-1] if text else ""
    return last in DANGLING_WORDS


def _is_heading_line(line: str, next_line: str, typical_width: float) -> bool:
    text = line.strip()
    following = next_line.strip()
    return (bool(text) and bool(following) and following[0].isupper() and not _dangles(text)
            and len(text.split()) <= HEADING_MAX_WORDS
            and (text.endswith(":") or not re.search(r"[.!?;,–-]$", text))
            and len(text) < HEADING_MAX_WIDTH * typical_width)


def _blocks(text: str) -> Iterable[tuple[int, int, bool]]:
    """Spans of paragraphs and list items, and whether each is a heading line; a wrapped
    line continues its block, a heading line does not."""
    lines = text.split("\n")
    widths = sorted(len(line.strip()) for line in lines if line.strip())
    typical = widths[len(widths) // 2] if widths else 0
    # The next non-blank line after each line, found in one pass from the end.
    following = [""] * len(lines)
    upcoming = ""
    for i in range(len(lines) - 1, -1, -1):
        following[i] = upcoming
        if lines[i].strip():
            upcoming = lines[i]
    start = None
    previous_blank = True
    previous_heading = False
    previous_dangles = False
    heading = False
    offset = 0
    for i, line in enumerate(lines):
        line_start, line_end = offset, offset + len(line)
        offset = line_end + 1
        stripped = line.strip()
        if not stripped:
            previous_blank = True
            continue
        starts_block = (
            start is None
            or _LIST_ITEM.match(stripped) is not None
            or (previous_blank and not stripped[0].islower() and not previous_dangles)
            or previous_heading
        )
        line_is_heading = _is_heading_line(line, following[i], typical)
        if starts_block:
            if start is not None:
                yield start, block_end, heading
            start = line_start
        heading = starts_block and line_is_heading  # a heading is a block of one line
        block_end = line_end
        previous_blank = False
        previous_heading = line_is_heading
        previous_dangles = _dangles(stripped)
    if start is not None:
        yield start, block_end, heading


def _is_abbreviation(text: str, period_index: int) -> bool:
    if text[period_index] != ".":
        return False
    start = period_index  # scan back over the word (no slicing of the whole page: linear time)
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    token = text[start:period_index].lstrip("(«\"„[").lower()
    if not token:
        return False
    return token in ABBREVIATIONS or _INITIALS.fullmatch(token) is not None


def _rstrip_end(text: str, start: int, end: int) -> int:
    """``end`` moved left over white space, not below ``start``."""
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _boundaries(text: str, start: int, end: int) -> list[int]:
    """Where the sentences of ``text[start:end]`` (one block) begin, after the first: after
    a full stop that is not an abbreviation's, and after a photo credit."""
    stops = {m.end() for m in _BOUNDARY.finditer(text, start, end)
             if not _is_abbreviation(text, m.start())}
    return sorted(stops | {m.end() for m in _CREDIT.finditer(text, start, end)})


def split_sentences(text: str, page: int = 1) -> list[Sentence]:
    """Sentences and list items of a page, as character spans of ``text``."""
    sentences = []
    for block_start, block_end, heading in _blocks(text):
        start = block_start
        for end in _boundaries(text, block_start, block_end):
            sentence_end = _rstrip_end(text, start, end)
            if sentence_end > start:
                sentences.append(Sentence(page, start, sentence_end))
            start = end
        if block_end > start:
            sentences.append(Sentence(page, start, block_end, heading and start == block_start))
    return [s for s in sentences if text[s.start : s.end].strip()]


def split_long(sentence: Sentence, text: str, n_tokens: int, max_tokens: int) -> list[Sentence]:
    """Cut an over-long sentence (a table row, a run-on line) at spaces into fitting parts."""
    parts = math.ceil(n_tokens / (max_tokens * 0.9))
    if parts <= 1:
        return [sentence]
    words = [m.start() for m in re.finditer(r"\S+", text[sentence.start : sentence.end])]
    if len(words) < parts:  # no spaces to cut at: cut by characters
        width = math.ceil((sentence.end - sentence.start) / parts)
        cuts = [sentence.start + i * width for i in range(parts)] + [sentence.end]
    else:
        per_part = math.ceil(len(words) / parts)
        cuts = [sentence.start + words[i] for i in range(0, len(words), per_part)]
        cuts.append(sentence.end)
    pieces = []
    for a, b in zip(cuts, cuts[1:]):
        end = _rstrip_end(text, a, b)
        if end > a:
            pieces.append(Sentence(sentence.page, a, end))
    return pieces


# --------------------------------------------------------------------------- chunks

TokenCounter = Callable[[Sequence[str]], list[int]]


def _make_chunk(doc_id: str, pages: dict[int, str], members: list[tuple[Sentence, int]]) -> Chunk:
    parts: list[str] = []
    refs = []
    length = 0
    previous: Sentence | None = None
    for sentence, _ in members:
        if previous is not None and previous.page == sentence.page:
            gap = pages[sentence.page][previous.end : sentence.start]
        elif previous is not None:
            gap = "\n\n"
        else:
            gap = ""
        parts.append(gap)
        length += len(gap)
        body = pages[sentence.page][sentence.start : sentence.end]
        refs.append(ChunkSentence(sentence.page, sentence.start, sentence.end,
                                  length, length + len(body)))
        parts.append(body)
        length += len(body)
        previous = sentence
    first, last = members[0][0], members[-1][0]
    return Chunk(
        doc_id=doc_id,
        text="".join(parts),
        page_start=first.page,
        page_end=last.page,
        char_start=first.start,
        char_end=last.end,
        sentences=tuple(refs),
        n_tokens=sum(n for _, n in members),
    )


def chunk_document(document: Document, count_tokens: TokenCounter,
                   config: ChunkConfig) -> list[Chunk]:
    """Pack a document's sentences into chunks of at most ``config.max_tokens`` tokens.

    When a chunk is full, the next one starts with the last sentences of the previous one
    (up to ``overlap_tokens``), so that an answer near a border is whole in one chunk. A
    page break or a heading also ends a chunk once it holds ``min_tokens``: a passage about
    one slide, page or section is easier to find and cite than one spread over several
    (a short web page's "Organisering" section is a better match for "Hvor ligger
    sekretariatet?" than the whole page).
    """
    pages = {page.number: page.text for page in document.pages}
    sentences = [s for page in document.pages for s in split_sentences(page.text, page.number)]
    if not sentences:
        return []
    counts = count_tokens([pages[s.page][s.start : s.end] for s in sentences])
    measured: list[tuple[Sentence, int]] = []
    for sentence, n in zip(sentences, counts):
        if n > config.max_tokens:
            pieces = split_long(sentence, pages[sentence.page], n, config.max_tokens)
            piece_counts = count_tokens([pages[p.page][p.start : p.end] for p in pieces])
            measured.extend(zip(pieces, piece_counts))
        else:
            measured.append((sentence, n))

    chunks: list[Chunk] = []
    current: list[tuple[Sentence, int]] = []
    tokens = 0
    for sentence, n in measured:
        # a new page or section starts a new chunk: a passage about one thing
        boundary = bool(current) and (sentence.page != current[-1][0].page
                                      or sentence.heading)
        full = tokens + n > config.max_tokens
        if current and (full or (boundary and tokens >= config.min_tokens)):
            chunks.append(_make_chunk(document.doc_id, pages, current))
            carry: list[tuple[Sentence, int]] = []
            if full and not boundary:
                carried = 0
                for item in reversed(current[1:]):
                    if carried + item[1] > config.overlap_tokens:
                        break
                    carry.insert(0, item)
                    carried += item[1]
            while carry and sum(c[1] for c in carry) + n > config.max_tokens:
                carry.pop(0)
            current, tokens = carry, sum(c[1] for c in carry)
        current.append((sentence, n))
        tokens += n
    if current:
        chunks.append(_make_chunk(document.doc_id, pages, current))
    return chunks

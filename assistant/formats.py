"""Word, PowerPoint and web pages → page texts, for :mod:`assistant.documents`.

Each reader returns an :class:`~assistant.documents.Extracted` like the PDF and text
readers do, with raw page texts laid out so that the chunker sees the document's own
structure: a heading is a line of its own between blank lines, every bullet is one line
starting with "•" (or "–" one level down) however many lines it wraps over, and every
table row is one line "cell | cell". What a "page" is:

* **.docx** – the pages as Word last laid them out, when the file remembers that (Word
  writes a marker where each page began when it saves). Otherwise the author's own page
  breaks, "page break before" and section breaks that start a new page. A paragraph that
  runs over a page break belongs to the page it starts on. A document without any of
  that is one page, cut into parts at paragraphs when it is long, like a text file.
* **.pptx** – one page per slide, numbered as the slide; the speaker notes come last on
  the slide's page, as a line starting with "Notater:".
* **.html/.htm** – the whole page is one page (parts, when it is long); only the main
  content is read (trafilatura), without menus, breadcrumbs, cookie banners, footers and
  "Hopp til innhold". The page's own title, canonical address and publication date become
  fallback metadata, which a sidecar overrides.

OpenDocument (.odt/.odp) is not read yet: they are reported with a hint to save as
.docx/.pptx, as are the old binary Office formats and spreadsheets.
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .textclean import MAX_PAGE_CHARS, split_long_text

if TYPE_CHECKING:
    from .documents import DocumentError, Extracted

# assistant.documents imports this module to fill its READERS, so its names are imported
# where they are used, not at the top (either module may be imported first).

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
#: Word elements whose text is not part of the running text (drawings, text boxes, old
#: VML shapes, embedded objects, and the fallback copies of them).
_DOCX_SKIP = {f"{_W}drawing", f"{_W}pict", f"{_W}object", f"{_W}delText", f"{_W}instrText",
              "{http://schemas.openxmlformats.org/markup-compatibility/2006}AlternateContent"}
BULLET = "•"
SUB_BULLET = "–"
NOTES_LABEL = "Notater:"

#: Suffixes that are known but not read, with why and what to do (Norwegian).
UNSUPPORTED_HINTS: dict[str, tuple[str, str]] = {
    ".doc": ("det gamle Word-formatet (.doc) støttes ikke", "hoppet over – lagre filen som .docx"),
    ".ppt": ("det gamle PowerPoint-formatet (.ppt) støttes ikke", "hoppet over – lagre filen som .pptx"),
    ".odt": ("OpenDocument-tekst (.odt) støttes ikke ennå", "hoppet over – lagre filen som .docx eller PDF"),
    ".odp": ("OpenDocument-presentasjoner (.odp) støttes ikke ennå",
             "hoppet over – lagre filen som .pptx eller PDF"),
    ".rtf": ("RTF-filer støttes ikke", "hoppet over – lagre filen som .docx"),
    ".xls": ("regneark støttes ikke", "hoppet over – legg inn innholdet som PDF om det skal kunne søkes i"),
    ".xlsx": ("regneark støttes ikke", "hoppet over – legg inn innholdet som PDF om det skal kunne søkes i"),
    ".ods": ("regneark støttes ikke", "hoppet over – legg inn innholdet som PDF om det skal kunne søkes i"),
}


def unsupported_reason(suffix: str) -> tuple[str, str] | None:
    """(problem, action) for a file type that is known not to be read, else ``None``."""
    return UNSUPPORTED_HINTS.get(suffix.lower())


def _squash(text: str) -> str:
    """White space (including PowerPoint's soft line break, a vertical tab) as single spaces."""
    return " ".join(text.replace("\v", " ").split())


def _open_failed(kind: str, exc: BaseException) -> DocumentError:
    """The error for an Office file that does not open; the libraries' own messages name
    the full path ("Package not found at '/…'"), so only their kind of error is kept."""
    from .documents import DocumentError

    detail = "ikke en gyldig zip-pakke" if isinstance(exc, zipfile.BadZipFile) or (
        type(exc).__name__ == "PackageNotFoundError") else type(exc).__name__
    return DocumentError(f"{kind}-filen kan ikke åpnes, den er trolig skadet eller ikke en ekte "
                         f"{kind}-fil ({detail})", action="hoppet over – legg inn filen på nytt")


def _core_info(properties, doc_type: str = "") -> dict:
    """Title, author and year from an Office file's core properties (fallback metadata)."""
    info: dict = {"doc_type": doc_type} if doc_type else {}
    try:
        if (properties.title or "").strip():
            info["title"] = properties.title.strip()
        author = (properties.author or "").strip()
        # The blank templates of python-docx/-pptx carry their own author and a 2013 date.
        template = (author.lower() in {"python-docx", "python-pptx"}
                    or (properties.last_modified_by or "") == "Steve Canny")
        if author and not template:
            info["publisher"] = author
        created = properties.created
        if created is not None and not template and 1900 < created.year < 2200:
            info["year"] = created.year
    except Exception:  # a damaged core.xml: the sidecar or the file name will do
        pass
    return info


def _long_single_page(pages: list[str]) -> Extracted:
    """A document with no page information: long ones are cut into parts at paragraphs."""
    from .documents import Extracted, Note, _count

    if len(pages) != 1 or len(pages[0]) <= MAX_PAGE_CHARS:
        return Extracted(pages)
    parts = split_long_text(pages[0], int(MAX_PAGE_CHARS * 0.9))
    note = Note(f"dokumentet har {_count(len(pages[0]))} tegn uten sideinndeling",
                f"indeksert i {len(parts)} deler («sider»)")
    return Extracted(parts, notes=[note])


# --------------------------------------------------------------------------- page assembly


@dataclass
class _Pages:
    """Blocks of text collected page by page; a page break on an empty page is ignored,
    so a hard break and Word's own marker of the same page count once."""

    pages: list[list[str]] = field(default_factory=lambda: [[]])

    def add(self, block: str) -> None:
        if block.strip():
            self.pages[-1].append(block)

    def new_page(self) -> None:
        if self.pages[-1]:
            self.pages.append([])

    def texts(self) -> list[str]:
        texts = ["\n\n".join(blocks) for blocks in self.pages]
        return texts if len(texts) == 1 or texts[-1] else texts[:-1]


def _join_items(lines: list[str]) -> str:
    """Paragraphs between blank lines, list items (and table rows) on consecutive lines."""
    out: list[str] = []
    for line in lines:
        if out and not (line.startswith((BULLET, SUB_BULLET)) and out[-1].startswith((BULLET, SUB_BULLET))):
            out.append("")
        out.append(line)
    return "\n".join(out)


# --------------------------------------------------------------------------- Word


@dataclass(frozen=True)
class _StyleKind:
    heading: bool = False
    listed: bool = False


def _docx_styles(document) -> dict[str, _StyleKind]:
    """Paragraph style id → whether it is a heading or a list style (following "based on")."""
    raw: dict[str, tuple[str, bool, bool, str | None]] = {}
    for style in document.styles.element.findall(f"{_W}style"):
        style_id = style.get(f"{_W}styleId")
        if not style_id:
            continue
        name_el = style.find(f"{_W}name")
        name = (name_el.get(f"{_W}val") if name_el is not None else "") or ""
        ppr = style.find(f"{_W}pPr")
        outline = ppr is not None and ppr.find(f"{_W}outlineLvl") is not None
        numbered = ppr is not None and ppr.find(f"{_W}numPr") is not None
        based = style.find(f"{_W}basedOn")
        raw[style_id] = (name.lower(), outline, numbered, based.get(f"{_W}val") if based is not None else None)

    def resolve(style_id: str, depth: int = 0) -> _StyleKind:
        name, outline, numbered, based = raw[style_id]
        heading = outline or name in {"title", "subtitle"} or name.startswith("heading")
        listed = numbered or name.startswith("list")
        if based in raw and depth < 10 and not (heading and listed):
            parent = resolve(based, depth + 1)
            heading, listed = heading or parent.heading, listed or parent.listed
        return _StyleKind(heading, listed and not heading)

    return {style_id: resolve(style_id) for style_id in raw}


def _docx_walk_text(element, out: list[str], events: list[int], use_rendered: bool) -> None:
    """Text of a paragraph's runs in order; page breaks as offsets into ``out`` (events)."""
    for child in element:
        tag = child.tag
        if tag in _DOCX_SKIP:
            continue
        if tag == f"{_W}t":
            out.append(child.text or "")
        elif tag == f"{_W}tab":
            out.append("\t")
        elif tag in (f"{_W}cr",):
            out.append("\n")
        elif tag == f"{_W}br":
            kind = child.get(f"{_W}type")
            if kind == "page":
                if not use_rendered:
                    events.append(len("".join(out).strip()))
            elif kind != "column":
                out.append("\n")
        elif tag == f"{_W}lastRenderedPageBreak":
            if use_rendered:
                events.append(len("".join(out).strip()))
        elif tag == f"{_W}pPr":
            continue
        else:
            _docx_walk_text(child, out, events, use_rendered)


def _docx_paragraph(p, styles: dict[str, _StyleKind], use_rendered: bool) -> tuple[str, bool, bool]:
    """(text as a block, page break before, page break after) of one ``w:p``."""
    parts: list[str] = []
    events: list[int] = []
    _docx_walk_text(p, parts, events, use_rendered)
    text = "\n".join(_squash(line) for line in "".join(parts).split("\n"))
    text = text.strip("\n")
    ppr = p.find(f"{_W}pPr")
    kind = _StyleKind()
    before = any(e == 0 for e in events)
    after = any(e > 0 for e in events)
    if ppr is not None:
        style = ppr.find(f"{_W}pStyle")
        if style is not None:
            kind = styles.get(style.get(f"{_W}val"), kind)
        if ppr.find(f"{_W}numPr") is not None and not kind.heading:
            kind = _StyleKind(listed=True)
        if ppr.find(f"{_W}outlineLvl") is not None:
            kind = _StyleKind(heading=True)
        pbb = ppr.find(f"{_W}pageBreakBefore")
        if not use_rendered and pbb is not None and pbb.get(f"{_W}val", "true") not in ("0", "false", "off"):
            before = True
    if not text.strip():
        return "", before, after
    if kind.heading:
        text = _squash(text)
    elif kind.listed:
        level = 0
        if ppr is not None and ppr.find(f"{_W}numPr/{_W}ilvl") is not None:
            level = int(ppr.find(f"{_W}numPr/{_W}ilvl").get(f"{_W}val", "0") or 0)
        text = f"{BULLET if level == 0 else SUB_BULLET} {_squash(text)}"
    return text, before, after


def _docx_table(tbl, styles: dict[str, _StyleKind], use_rendered: bool) -> Iterator[tuple[str, bool]]:
    """(row as "cell | cell", page break before the row) for each row of a ``w:tbl``."""
    for tr in tbl.iter(f"{_W}tr"):
        cells: list[str] = []
        broke = False
        for tc in tr.findall(f"{_W}tc"):
            texts = []
            for p in tc.iter(f"{_W}p"):
                text, before, after = _docx_paragraph(p, styles, use_rendered)
                broke = broke or before or after
                if text:
                    texts.append(_squash(text))
            # A merged cell is one w:tc (gridSpan) or empty continuations (vMerge), so
            # unlike python-docx's table.cell() no text is repeated.
            cells.append(" ".join(texts))
        while cells and not cells[-1]:
            cells.pop()
        if any(cells):
            yield " | ".join(cells), broke


def read_docx_pages(path: Path) -> Extracted:
    """A Word file: paragraphs in order, headings and list items kept, tables as rows."""
    import docx

    from .documents import DocumentError

    if path.stat().st_size == 0:
        raise DocumentError("filen er tom")
    try:
        document = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise _open_failed("Word", exc) from exc
    except Exception as exc:  # lxml and python-docx raise many types for broken parts
        raise _open_failed("Word", exc) from exc
    body = document.element.body
    styles = _docx_styles(document)
    use_rendered = next(body.iter(f"{_W}lastRenderedPageBreak"), None) is not None
    section_types = [s.find(f"{_W}type") for s in body.iter(f"{_W}sectPr")]
    section_starts = [t.get(f"{_W}val") if t is not None else "nextPage" for t in section_types]
    section_index = 0
    pages = _Pages()
    pending: list[str] = []

    def flush() -> None:
        if pending:
            pages.add(_join_items(pending))
            pending.clear()

    def visit(container) -> None:
        nonlocal section_index
        for child in container:
            if child.tag == f"{_W}p":
                text, before, after = _docx_paragraph(child, styles, use_rendered)
                if before:
                    flush()
                    pages.new_page()
                if text:
                    pending.append(text)
                if child.find(f"{_W}pPr/{_W}sectPr") is not None:
                    section_index += 1
                    following = section_starts[section_index] if section_index < len(section_starts) else "nextPage"
                    if not use_rendered and following != "continuous":
                        after = True
                if after:
                    flush()
                    pages.new_page()
            elif child.tag == f"{_W}tbl":
                flush()
                rows: list[str] = []
                for row, broke in _docx_table(child, styles, use_rendered):
                    if broke and rows:
                        pages.add("\n\n".join(rows))
                        rows = []
                        pages.new_page()
                    rows.append(row)
                pages.add("\n\n".join(rows))
            elif child.tag == f"{_W}sdt":
                content = child.find(f"{_W}sdtContent")
                if content is not None:
                    visit(content)

    visit(body)
    flush()
    extracted = _long_single_page(pages.texts())
    extracted.info = _core_info(document.core_properties)
    return extracted


# --------------------------------------------------------------------------- PowerPoint


def _pptx_bulleted(shape, paragraph) -> bool:
    """Whether a slide paragraph is a bullet: marked in the paragraph itself, or inherited
    from a body or content placeholder (whose bullets come from the slide master)."""
    ppr = paragraph._p.pPr
    if ppr is not None:
        if ppr.find(f"{_A}buNone") is not None:
            return False
        if ppr.find(f"{_A}buChar") is not None or ppr.find(f"{_A}buAutoNum") is not None:
            return True
    if not shape.is_placeholder:
        return False
    from pptx.enum.shapes import PP_PLACEHOLDER

    try:
        return shape.placeholder_format.type in (PP_PLACEHOLDER.BODY, PP_PLACEHOLDER.OBJECT)
    except ValueError:
        return False


def _pptx_text_frame(shape) -> list[str]:
    """Lines of a text frame: each paragraph is one line, a bullet marked as an item."""
    lines = []
    for paragraph in shape.text_frame.paragraphs:
        text = _squash(paragraph.text)
        if not text:
            continue
        if _pptx_bulleted(shape, paragraph):
            marker = BULLET if (paragraph.level or 0) == 0 else SUB_BULLET
            if not text.startswith((BULLET, SUB_BULLET, "-", "*")):
                text = f"{marker} {text}"
        lines.append(text)
    return lines


def _pptx_table_rows(table) -> list[str]:
    rows = []
    for row in table.rows:
        cells = []
        for cell in row.cells:
            cells.append("" if cell.is_spanned else _squash(cell.text))
        while cells and not cells[-1]:
            cells.pop()
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def _reading_order(shapes) -> list:
    """Shapes top to bottom, then left to right (the XML order is the stacking order)."""
    return sorted(shapes, key=lambda s: ((s.top or 0) // 100_000, s.left or 0))


def _pptx_shape_blocks(shape, title_id: int | None) -> Iterator[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    if shape.shape_id == title_id:
        return
    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        for inner in _reading_order(shape.shapes):
            yield from _pptx_shape_blocks(inner, title_id)
    elif getattr(shape, "has_table", False) and shape.has_table:
        rows = _pptx_table_rows(shape.table)
        if rows:
            yield "\n\n".join(rows)
    elif shape.has_text_frame:
        lines = _pptx_text_frame(shape)
        if lines:
            yield _join_items(lines)


def _pptx_slide_text(slide) -> str:
    blocks = []
    title_shape = slide.shapes.title
    title_id = None
    if title_shape is not None and title_shape.has_text_frame:
        title_id = title_shape.shape_id
        title = _squash(title_shape.text_frame.text)
        if title:
            blocks.append(title)
    for shape in _reading_order(slide.shapes):
        blocks.extend(_pptx_shape_blocks(shape, title_id))
    if slide.has_notes_slide:
        frame = slide.notes_slide.notes_text_frame
        notes = _squash(" ".join(p.text for p in frame.paragraphs)) if frame is not None else ""
        if notes:
            blocks.append(f"{NOTES_LABEL} {notes}")
    return "\n\n".join(blocks)


def read_pptx_pages(path: Path) -> Extracted:
    """A PowerPoint file: one page per slide (title, text, bullets, tables, notes)."""
    from pptx import Presentation

    from .documents import DocumentError, Extracted

    if path.stat().st_size == 0:
        raise DocumentError("filen er tom")
    try:
        presentation = Presentation(str(path))
    except Exception as exc:  # zipfile, lxml and python-pptx raise many types
        raise _open_failed("PowerPoint", exc) from exc
    texts = [_pptx_slide_text(slide) for slide in presentation.slides]
    if not texts:
        raise DocumentError("presentasjonen har ingen lysbilder")
    return Extracted(texts, info=_core_info(presentation.core_properties, "presentasjon"))


# --------------------------------------------------------------------------- HTML


@dataclass(frozen=True)
class PageMeta:
    """What a web page says about itself (its own metadata, not guesses from the text)."""

    title: str = ""
    url: str = ""
    date: str = ""


def _html_blocks(body) -> list[str]:
    """trafilatura's output tree (head, p, list/item, table/row/cell) as text blocks."""
    blocks: list[str] = []

    def text_of(element, skip: tuple[str, ...] = ()) -> str:
        parts = [element.text or ""]
        for child in element:
            if child.tag not in skip:
                parts.append(text_of(child, skip))
            parts.append(child.tail or "")
        return "".join(parts)

    def items(element, level: int) -> list[str]:
        lines = []
        for item in element:
            if item.tag != "item":
                continue
            text = _squash(text_of(item, skip=("list",)))
            if text:
                lines.append(f"{BULLET if level == 0 else SUB_BULLET} {text}")
            for nested in item.findall("list"):
                lines.extend(items(nested, level + 1))
        return lines

    for element in body:
        tag = element.tag
        if tag == "list":
            lines = items(element, 0)
            if lines:
                blocks.append("\n".join(lines))
        elif tag == "table":
            rows = []
            for row in element.iter("row"):
                cells = [_squash(text_of(cell)) for cell in row.findall("cell")]
                while cells and not cells[-1]:
                    cells.pop()
                if any(cells):
                    rows.append(" | ".join(cells))
            if rows:
                blocks.append("\n\n".join(rows))
        else:  # head, p, quote, code, …
            text = _squash(text_of(element))
            if text:
                blocks.append(text)
    return blocks


#: Landmarks that are site chrome wherever trafilatura would otherwise keep them: page
#: header and footer outside the article, menus, sidebars, dialogs (cookie banners), search
#: forms and the screen-reader "skip to content" links.
CHROME_XPATHS = [
    "//header[not(ancestor::article) and not(ancestor::main)]",
    "//footer[not(ancestor::article) and not(ancestor::main)]",
    "//nav", "//aside", "//form",
    "//*[@role='banner' or @role='navigation' or @role='contentinfo' or @role='dialog'"
    " or @role='alertdialog' or @role='search' or @role='complementary']",
    "//*[contains(concat(' ', normalize-space(@class), ' '), ' skip-link ')"
    " or contains(concat(' ', normalize-space(@class), ' '), ' screen-reader-text ')]",
    "//*[contains(translate(@id, 'COKIE', 'cokie'), 'cookie')"
    " or contains(translate(@class, 'COKIE', 'cokie'), 'cookie')]",
]


def extract_html(html: bytes | str, url: str | None = None) -> tuple[PageMeta, list[str]]:
    """The page's own metadata and its main content as text blocks (no site chrome).

    Landmarks that are always chrome are pruned first (:data:`CHROME_XPATHS`), and
    trafilatura runs in its precision mode: in its default mode a short article, the
    common case on a council site, is "rescued" with a recall pass that brings back the
    skip link or a one-paragraph blob of the whole page.

    The date is only taken from the page's markup (meta tags, structured data), never
    guessed from the text, since a wrong year in a citation is worse than none.
    """
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.ERROR)
    logging.getLogger("htmldate").setLevel(logging.ERROR)
    extracted = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=True,
        include_images=False, include_links=False, output_format="python", favor_precision=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
        prune_xpath=CHROME_XPATHS,
    )
    if extracted is None or extracted.body is None:
        return PageMeta(), []
    meta = PageMeta(title=_squash(extracted.title or ""), url=(extracted.url or "").strip(),
                    date=(extracted.date or "").strip())
    return meta, _html_blocks(extracted.body)


def read_html_pages(path: Path) -> Extracted:
    """A saved web page: the main content only, with the page's title, address and date."""
    from .documents import DocumentError, _short

    raw = path.read_bytes()
    if not raw.strip():
        raise DocumentError("filen er tom")
    try:
        meta, blocks = extract_html(raw)
    except Exception as exc:  # lxml or trafilatura on a file that is not really HTML
        raise DocumentError(f"nettsiden kan ikke leses ({_short(exc)})") from exc
    if not blocks:
        raise DocumentError("fant ingen hovedtekst på nettsiden (bare meny, topp- og bunntekst)")
    if meta.title and _squash(blocks[0]).lower() != meta.title.lower():
        blocks.insert(0, meta.title)
    info: dict = {"doc_type": "nettside"}
    if meta.title:
        info["title"] = meta.title
    if meta.url.startswith(("http://", "https://")):
        info["url"] = meta.url
    if re.match(r"^\d{4}-\d{2}-\d{2}$", meta.date):
        info["date"] = meta.date
    extracted = _long_single_page(["\n\n".join(blocks)])
    extracted.info = info
    return extracted


#: Suffix → reader, merged into :data:`assistant.documents.READERS`.
FORMAT_READERS: dict[str, Callable[[Path], Extracted]] = {
    ".docx": read_docx_pages,
    ".pptx": read_pptx_pages,
    ".html": read_html_pages,
    ".htm": read_html_pages,
}

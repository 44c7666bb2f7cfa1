"""HTML for the web app: answers, citations, the source view, search hits, the document list.

Pure functions from the service's values to HTML strings, apart from Gradio so that they
can be read and tested on their own. All text from documents is HTML-escaped here; the
only markup is the app's own (citation numbers, highlights, links, copy buttons).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import quote as url_quote

from .answer import Answer, Citation, exact_spans
from .chunking import Chunk
from .lexical import analyze
from .links import ANSWER_ANCHOR, is_site_root, public_url, viewer_path
from .search import Hit
from .store import StoredDocument

#: Where the server serves the corpus files (see :mod:`assistant.server`).
SOURCE_ROUTE = "/kilde"

Span = tuple[int, int]


# --------------------------------------------------------------------------- text


def highlighted(text: str, spans: Iterable[Span]) -> str:
    """``text`` escaped, with the given character spans wrapped in ``<mark>``; a span that
    lies inside another (the exact number, date or name asked for) in ``<strong>``."""
    outer, inner = _nested(sorted(spans))
    parts, position = [], 0
    for start, end in outer:
        start = max(start, position)
        parts.append(html.escape(text[position:start]))
        parts.append(f"<mark>{_strong_within(text, start, end, inner)}</mark>")
        position = max(position, end)
    parts.append(html.escape(text[position:]))
    return "".join(parts)


def _nested(spans: list[Span]) -> tuple[list[Span], list[Span]]:
    """The spans split into the outermost ones and those that lie inside another."""
    outer = [s for s in spans if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in spans)]
    inner = [s for s in spans if s not in outer]
    return outer, inner


def _strong_within(text: str, start: int, end: int, inner: list[Span]) -> str:
    """``text[start:end]`` escaped, with the inner spans that lie within it in ``<strong>``."""
    parts, position = [], start
    for a, b in inner:
        if start <= a and b <= end and a >= position:
            parts.append(html.escape(text[position:a]))
            parts.append(f'<strong class="svar">{html.escape(text[a:b])}</strong>')
            position = b
    parts.append(html.escape(text[position:end]))
    return "".join(parts)


def highlight_terms(text: str, query: str) -> str:
    """``text`` escaped, with the words that match the query's terms in ``<mark>``."""
    terms = set(analyze(query))
    spans = []
    for match in re.finditer(r"\w+", text):
        stems = analyze(match.group(0))
        if stems and stems[0] in terms:
            spans.append((match.start(), match.end()))
    return highlighted(text, spans)


def compact(escaped: str) -> str:
    """Escaped passage HTML laid out for reading: paragraphs kept, wrapped lines joined."""
    paragraphs = re.split(r"\n\s*\n", escaped)
    return "<br>".join(" ".join(p.split("\n")) for p in paragraphs)


def _year(year: int | None) -> str:
    """" (2022)" after a title, or nothing when the year is unknown."""
    return f" ({year})" if year else ""


_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def safe_href(href: str) -> str | None:
    """``href`` if it is an http(s) URL or a path on this site, else None.

    Why: a document's ``url`` comes from its metadata file, and ``javascript:`` or
    ``data:`` there would run in the reader's browser on a click. Browsers drop spaces and
    control characters around a URL and tabs and newlines inside it (``java\tscript:``),
    so the check is made on the URL as the browser would read it, and that URL is used.
    """
    cleaned = re.sub(r"[\t\n\r]", "", (href or "").strip(_C0_AND_SPACE))
    if _CONTROL.search(cleaned):
        return None
    if re.match(r"https?://[^/\\]", cleaned, re.IGNORECASE):
        return cleaned
    if cleaned.startswith("/") and not cleaned.startswith(("//", "/\\")):
        return cleaned
    return None


def _link(href: str, text: str, title: str = "") -> str:
    """A link that opens in a new tab; ``text`` must already be HTML. Anything but an
    http(s) URL or a path on this site stays plain text (:func:`safe_href`)."""
    safe = safe_href(href)
    if safe is None:
        return text
    hint = f' title="{html.escape(title, quote=True)}"' if title else ""
    return (f'<a href="{html.escape(safe, quote=True)}" target="_blank" '
            f'rel="noopener noreferrer"{hint}>{text}</a>')


def pages_text(pages: Iterable[int], word: str = "side") -> str:
    """"side 2", "side 2 og 4", "side 2, 4 og 7" for the pages cited."""
    numbers = [str(p) for p in pages]
    if len(numbers) <= 1:
        return f"{word} {''.join(numbers)}"
    return f"{word} {', '.join(numbers[:-1])} og {numbers[-1]}"


def public_link(url: str) -> str:
    """A document's public address beside the viewer link: "Utgiverens nettsted" when it
    is only the publisher's front page, "Offentlig utgave" when it is the document;
    nothing when the URL is not http(s)."""
    safe = public_url(url)
    if safe is None:
        return ""
    if is_site_root(safe):
        shown = safe.split("://", 1)[1].rstrip("/")
        return f"Utgiverens nettsted: {_link(safe, html.escape(shown))}"
    return _link(safe, "Offentlig utgave")


# --------------------------------------------------------------------------- citations


def source_link(doc_id: str, page: int | None = None) -> str:
    """The app's own link to a document file (PDFs open at the page)."""
    anchor = f"#page={page}" if page else ""
    return f"{SOURCE_ROUTE}/{url_quote(doc_id, safe='')}{anchor}"


def citation_label(citation: Citation) -> str:
    """How a citation is named in the answer and in the "Vis kilde" choices (not escaped)."""
    return f"[{citation.n}] {citation.title}{_year(citation.year)}, {pages_text(citation.pages)}"


def viewer_links(citation: Citation) -> str:
    """"Vis i dokumentet: side 2, side 4", each page a link to the app's viewer."""
    links = ", ".join(
        _link(citation.viewer(page), f"side {page}", f"Åpne {citation.title}, side {page}")
        for page in citation.pages)
    return f'<span class="vis-dokument">Vis i dokumentet: {links}</span>'


def citation_links(citation: Citation, document: StoredDocument | None,
                   with_file: bool = False) -> str:
    """Links to open a citation: the app's viewer at each cited page, the public URL
    beside it, and (``with_file``) the app's own copy of a PDF."""
    links = [viewer_links(citation)]
    if citation.url:
        links.append(public_link(citation.url))
    if with_file and document is not None and document.kind == "pdf":
        links.append(_link(source_link(document.doc_id, citation.page), "Åpne PDF-en her"))
    return '<p class="kildelenker">' + " · ".join(link for link in links if link) + "</p>"


def citation_html(citation: Citation, document: StoredDocument | None = None) -> str:
    """One source under an answer: its label, the passage with the quote marked, links."""
    return (
        f'<details class="kilde"><summary>{html.escape(citation_label(citation))}</summary>'
        f"<blockquote>{compact(highlighted(citation.text, citation.highlights))}</blockquote>"
        f"{citation_links(citation, document)}</details>"
    )


def answer_html(answer: Answer, documents: dict[str, StoredDocument] | None = None) -> str:
    """A chat answer: the quoted sentences with the exact answer marked, then the sources.

    ``documents`` (by id) lets a citation of a PDF link to the app's own copy.
    """
    if not answer.found:
        return html.escape(answer.answer)
    documents = documents or {}
    asked = answer.searched_for or answer.question
    by_n = {c.n: c for c in answer.citations}
    quotes = " ".join(
        f"«{highlighted(q.text, exact_spans(asked, q.text))}» "
        f"<sup>{_marker(q.n, by_n.get(q.n), q.viewer)}</sup>"
        for q in answer.quotes
    )
    sources = "".join(citation_html(c, documents.get(c.doc_id)) for c in answer.citations)
    return f"<p>{quotes}</p><p><strong>Kilder</strong></p>{sources}"


def _marker(n: int, citation: Citation | None, viewer: str = "") -> str:
    """An inline ``[n]``: a link to the cited page in the viewer, marking the quote
    (``viewer``) or else the citation's best passage."""
    if citation is None:
        return f"[{n}]"
    return _link(viewer or citation.viewer(), f"[{n}]", f"Åpne kilde {n} i dokumentet")


# --------------------------------------------------------------------------- source view


def source_html(document: StoredDocument, chunk: Chunk, citation: Citation) -> str:
    """The whole page a citation points at, with the passage and its sentence highlighted."""
    page = citation.page
    text = document.pages[page - 1] if 0 < page <= len(document.pages) else ""
    meta = document.meta
    return (
        f'<div class="kildevisning" role="region" aria-label="Kildevisning">'
        f"<h3>{html.escape(meta.title)}{_year(meta.year)}, side {page}</h3>"
        f"<p>{compact(_marked_page(text, chunk, citation))}</p>"
        f"{citation_links(citation, document, with_file=True)}</div>"
    )


def _marked_page(text: str, chunk: Chunk, citation: Citation) -> str:
    """The page text escaped: the chunk's sentences on it in ``<span class="utdrag">``,
    those the citation quotes also in ``<mark>``."""
    page = citation.page
    passage = [(s.page_start, s.page_end) for s in chunk.sentences if s.page == page]
    quoted = [(s.page_start, s.page_end) for s in chunk.sentences
              if s.page == page and any(s.start < h1 and h0 < s.end
                                        for h0, h1 in citation.highlights)]
    return marked_page(text, passage, quoted)


def marked_page(text: str, passage: list[Span], quoted: list[Span], anchor: bool = False) -> str:
    """Page text escaped: the passage's sentence spans in ``<span class="utdrag">``, the
    quoted ones also in ``<mark>`` (the first with ``id="svar"`` when ``anchor``, for
    the viewer to scroll to). Spans are sorted, non-overlapping offsets into ``text``."""
    parts, position = [], 0
    for span in sorted(passage):
        start, end = max(span[0], position), span[1]
        parts.append(html.escape(text[position:start]))
        body = html.escape(text[start:end])
        if span in quoted:
            target = f' id="{ANSWER_ANCHOR}"' if anchor else ""
            anchor = False
            body = f"<mark{target}>{body}</mark>"
        parts.append(f'<span class="utdrag">{body}</span>')
        position = max(position, end)
    parts.append(html.escape(text[position:]))
    return "".join(parts)


# --------------------------------------------------------------------------- search hits


def page_span(chunk: Chunk, word: str = "side") -> str:
    """"side 3" or "side 3–4" for the pages a chunk spans."""
    if chunk.page_start == chunk.page_end:
        return f"{word} {chunk.page_start}"
    return f"{word} {chunk.page_start}–{chunk.page_end}"


def reference(hit: Hit) -> str:
    """A citation a staff member can paste: title, publisher, year, page, and the public
    URL when it is the document's own (a publisher's front page says nothing). The copy
    button adds the viewer's full address (``data-viewer``), which only the browser knows."""
    meta = hit.document.meta
    pages = page_span(hit.chunk, "s.")
    url = public_url(hit.document.link(hit.chunk.page_start))
    own_url = url if url and not is_site_root(url) else ""
    parts = [meta.title, meta.publisher, str(meta.year) if meta.year else "", pages, own_url]
    return ", ".join(p for p in parts if p)


def hit_viewer(hit: Hit) -> str:
    """The viewer at a hit's first page, with its passage marked."""
    return viewer_path(hit.document.doc_id, hit.chunk.page_start, hit.chunk_id)


def hits_html(query: str, hits: list[Hit]) -> str:
    """The staff search's result list, or why it is empty."""
    if not query.strip():
        return "<p>Skriv inn et søk.</p>"
    if not hits:
        return '<p role="status">Ingen treff som ligner nok på søket. Prøv andre ord.</p>'
    return (f'<p role="status">{len(hits)} treff, det beste først</p>'
            + "".join(hit_html(hit, query) for hit in hits))


def score_text(score: float) -> str:
    """A hit's score as a Norwegian decimal number: "0,87"."""
    return f"{score:.2f}".replace(".", ",")


def hit_html(hit: Hit, query: str) -> str:
    """One search hit: title, pages, the passage with the query's words marked, a copy button."""
    meta = hit.document.meta
    internal = " <em>(internt)</em>" if meta.visibility == "internal" else ""
    ref = html.escape(reference(hit), quote=True)
    viewer = hit_viewer(hit)
    return (
        f'<div class="treff"><strong>{hit.rank}. {html.escape(meta.title)}{_year(meta.year)}</strong>, '
        f"{page_span(hit.chunk)}{internal} "
        f'<span class="poeng">(poengsum {score_text(hit.score)})</span>'
        f"<blockquote>{compact(highlight_terms(hit.chunk.text, query))}</blockquote>"
        f'{_link(viewer, "Vis i dokumentet", f"Åpne {meta.title}, {page_span(hit.chunk)}")} '
        f'<button type="button" class="kopier" data-ref="{ref}" '
        f'data-viewer="{html.escape(viewer, quote=True)}" '
        f'aria-label="Kopier referanse til treff {hit.rank}">Kopier referanse</button></div>'
    )


# --------------------------------------------------------------------------- documents


def documents_html(documents: Iterable[StoredDocument]) -> str:
    """The table of documents the assistant answers from, newest first."""
    rows = "".join(_document_row(document) for document in
                   sorted(documents, key=lambda d: (-(d.meta.year or 0), d.meta.title)))
    # The box scrolls sideways on its own on a narrow screen (keyboard too: tabindex).
    return ('<div class="tabellboks" role="region" aria-label="Dokumenter assistenten svarer fra" '
            'tabindex="0"><table><caption>Dokumenter assistenten svarer fra</caption><thead><tr>'
            "<th>Tittel</th><th>År</th><th>Sider</th><th>Type</th></tr></thead><tbody>"
            + rows + "</tbody></table></div>")


def _document_row(document: StoredDocument) -> str:
    meta = document.meta
    title = _link(viewer_path(document.doc_id), html.escape(meta.title))
    public = public_link(meta.url)
    if public:
        title += f" <small>({public})</small>"
    return (f"<tr><td>{title}</td><td>{meta.year or ''}</td><td>{len(document.pages)}</td>"
            f"<td>{html.escape(meta.doc_type)}</td></tr>")

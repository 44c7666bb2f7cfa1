"""The document viewer: one page of a document, with the cited passage and its sentence marked.

``GET /dokument/<dokument-id>?side=N&bit=K&setning=A-B`` shows page N of a document with
the sentences of chunk K marked as the passage and sentences A–B of that chunk as the
answer, scrolled into view. A PDF page is shown as the real page: an image rendered by
poppler, with the marks drawn over the words (:mod:`assistant.pdfpages`,
:mod:`assistant.wordboxes`); other formats as the page's text.

Who sees what is one function of the request (``filters_for``): the public sees public
documents, and a staff session can later pass its own filters. A document is looked up
by id in the index, never used as a path; the page number is checked against the
document; all text is escaped; only http(s) URLs become links.
"""

import html
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from urllib.parse import quote, urlencode

from .chunking import Chunk
from .links import (
    ANSWER_ANCHOR,
    VIEWER_ROUTE,
    is_site_root,
    parse_sentences,
    public_url,
)
from .pdfpages import PageImage, PageUnavailable, PdfPages, poppler_available
from .render import SOURCE_ROUTE, marked_page
from .search import PUBLIC, Filters
from .service import Assistant
from .store import StoredDocument
from .wordboxes import Box, PageLayout, sentence_boxes

APP_NAME = "Osloregionen-assistenten"
#: The viewer's stylesheet and script, served by the app (no inline script or style sheet).
ASSETS_ROUTE = "/dokumentvisning"
ASSETS = {"visning.css": "text/css; charset=utf-8", "visning.js": "text/javascript; charset=utf-8"}
ASSET_FILES = {"visning.css": "viewer.css", "visning.js": "viewer.js"}

NOT_FOUND_TITLE = "Fant ikke siden"
NO_DOCUMENT = ("Vi fant ikke dokumentet. Lenken kan være feil, eller dokumentet er fjernet "
               "eller ikke offentlig.")
STALE_PASSAGE = ("Utdraget i lenken finnes ikke lenger i dokumentet, trolig fordi dokumentene "
                 "er lest inn på nytt. Siden vises uten markering. Still spørsmålet på nytt "
                 "for å få utdraget markert.")
NO_POPPLER = ("Sidebildet kan ikke vises, fordi serveren mangler programmet som tegner "
              "PDF-sider (poppler-utils). Her er teksten på siden i stedet.")
RENDER_FAILED = "Sidebildet kunne ikke lages. Her er teksten på siden i stedet."
NOT_ON_IMAGE = ("Setningen ble ikke funnet i sidebildet. Den er uthevet i teksten på siden "
                "under bildet.")
LEGEND = ('<p class="forklaring"><span class="utdrag-farge">Blått</span> er utdraget svaret '
          'er hentet fra, og <span class="svar-farge">gult</span> er setningen som svarer.</p>')

Span = tuple[int, int]
FiltersFor = Callable[[object], Filters]


def public_only(request: object) -> Filters:
    """Everybody sees public documents only (until a staff session says otherwise)."""
    return PUBLIC


# --------------------------------------------------------------------------- what to mark


@dataclass(frozen=True)
class Marks:
    """What to mark on one page: the passage's sentences and the quoted ones, as spans of
    the page's text; ``stale`` when the link named a passage the index no longer has."""

    passage: tuple[Span, ...] = ()
    quoted: tuple[Span, ...] = ()
    stale: bool = False


def page_marks(chunk: Chunk | None, page: int, sentences: tuple[int, int] | None,
               stale: bool = False) -> Marks:
    """The spans of ``chunk``'s sentences that stand on ``page``; those with an index in
    ``sentences`` (first, last) are the quoted ones."""
    if chunk is None:
        return Marks(stale=stale)
    passage, quoted = [], []
    for i, s in enumerate(chunk.sentences):
        if s.page != page:
            continue
        passage.append((s.page_start, s.page_end))
        if sentences is not None and sentences[0] <= i <= sentences[1]:
            quoted.append((s.page_start, s.page_end))
    return Marks(tuple(passage), tuple(quoted), stale)


def parse_page(value: str | None, pages: int, default: int = 1) -> int | None:
    """The page asked for (1-based, plain digits), ``default`` when absent, None when it
    is malformed or outside the document."""
    if value is None or value == "":
        return default if 1 <= default <= pages else None
    if not value.isascii() or not value.isdigit() or len(value) > 6:
        return None
    page = int(value)
    return page if 1 <= page <= pages else None


# --------------------------------------------------------------------------- page html


def page_document(title: str, body: str) -> str:
    """A complete viewer page in Norwegian, with the app's stylesheet and script."""
    return (
        '<!DOCTYPE html><html lang="nb"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} – {APP_NAME}</title>"
        f'<link rel="stylesheet" href="{ASSETS_ROUTE}/visning.css">'
        f'<script src="{ASSETS_ROUTE}/visning.js" defer></script></head><body>'
        f'<header class="topp"><a href="/">← Til {APP_NAME}</a></header>'
        f"<main>{body}</main></body></html>"
    )


def not_found_page(message: str = NO_DOCUMENT) -> str:
    return page_document(NOT_FOUND_TITLE, f"<h1>{NOT_FOUND_TITLE}</h1><p>{html.escape(message)}</p>")


def page_missing_message(document: StoredDocument, asked: str | None) -> str:
    """Why a page number gives 404: the document's page count and what was asked for."""
    count = len(document.pages)
    asked_text = f"«{asked[:20]}»" if asked is not None else "denne"
    return (f"Side {asked_text} finnes ikke i «{document.meta.title}». "
            f"Dokumentet har {count} {'side' if count == 1 else 'sider'}.")


def viewer_href(doc_id: str, page: int, chunk_id: int | None,
                sentences: tuple[int, int] | None) -> str:
    """A link to another page of the same document, keeping the passage to mark."""
    params = {"side": str(page)}
    if chunk_id is not None:
        params["bit"] = str(chunk_id)
        if sentences is not None:
            params["setning"] = f"{sentences[0]}-{sentences[1]}"
    return f"{VIEWER_ROUTE}/{quote(doc_id, safe='')}?{urlencode(params)}"


def header_html(document: StoredDocument, page: int) -> str:
    """Title, year, type and publisher, and the public URL when there is a safe one."""
    meta = document.meta
    about = [str(meta.year) if meta.year else "", meta.doc_type, meta.publisher]
    out = [f"<h1>{html.escape(meta.title)}</h1>"]
    shown = " · ".join(html.escape(part) for part in about if part)
    if shown:
        out.append(f'<p class="om">{shown}</p>')
    links = []
    url = public_url(document.link(page))
    if url:
        label = "Utgiverens nettsted" if is_site_root(url) else "Offentlig utgave"
        links.append(f'{label}: <a href="{html.escape(url, quote=True)}" rel="noopener">'
                     f"{html.escape(url)}</a>")
    if document.kind == "pdf" and document.meta.visibility == "public":
        href = f"{SOURCE_ROUTE}/{quote(document.doc_id, safe='')}#page={page}"
        links.append(f'<a href="{html.escape(href, quote=True)}">Last ned PDF-en</a>')
    if links:
        out.append(f'<p class="adresse">{" · ".join(links)}</p>')
    return "".join(out)


def navigation_html(document: StoredDocument, page: int, chunk_id: int | None,
                    sentences: tuple[int, int] | None) -> str:
    """Previous and next page, where we are, and a field to go to any page."""
    count = len(document.pages)
    parts = []
    if page > 1:
        parts.append(f'<a rel="prev" href="{html.escape(viewer_href(document.doc_id, page - 1, chunk_id, sentences))}">'
                     "← Forrige side</a>")
    parts.append(f'<span class="her" aria-current="page">Side {page} av {count}</span>')
    if page < count:
        parts.append(f'<a rel="next" href="{html.escape(viewer_href(document.doc_id, page + 1, chunk_id, sentences))}">'
                     "Neste side →</a>")
    hidden = ""
    if chunk_id is not None:
        hidden += f'<input type="hidden" name="bit" value="{chunk_id}">'
        if sentences is not None:
            hidden += f'<input type="hidden" name="setning" value="{sentences[0]}-{sentences[1]}">'
    action = html.escape(f"{VIEWER_ROUTE}/{quote(document.doc_id, safe='')}", quote=True)
    parts.append(
        f'<form method="get" action="{action}"><label for="ga-til-side">Gå til side</label>'
        f'<input id="ga-til-side" name="side" type="number" min="1" max="{count}" '
        f'value="{page}" inputmode="numeric">{hidden}<button type="submit">Vis</button></form>')
    return f'<nav class="sider" aria-label="Sidene i dokumentet">{"".join(parts)}</nav>'


def text_html(text: str, marks: Marks, anchor: bool = True) -> str:
    """The page's text, escaped, with the passage and the answering sentence marked."""
    return f'<div class="sidetekst">{marked_page(text, list(marks.passage), list(marks.quoted), anchor)}</div>'


def image_html(document: StoredDocument, page: int, image: PageImage, layout: PageLayout,
               marks: Marks) -> tuple[str, bool]:
    """The page image with the marks drawn over it, and whether the quoted sentence was
    found on it. The overlay is an SVG in the page's own coordinates (PDF points), so
    it scales with the image and needs no inline style."""
    text = document.pages[page - 1]

    def boxes(span: Span) -> list[Box]:  # "near": where the sentence starts in the page text
        return sentence_boxes(layout, text[span[0]:span[1]], span[0] / len(text) if text else 0.0)

    passage = [b for span in marks.passage if span not in marks.quoted for b in boxes(span)]
    quoted = [b for span in marks.quoted for b in boxes(span)]
    rects = "".join(_rect(b, "utdrag") for b in passage)
    if quoted:
        rects += f'<g class="svar" id="{ANSWER_ANCHOR}">{"".join(_rect(b) for b in quoted)}</g>'
    src = (f"{VIEWER_ROUTE}/{quote(document.doc_id, safe='')}/sidebilde?"
           f"{urlencode({'side': page, 'v': document.content_hash[:12]})}")
    alt = f"Side {page} av «{document.meta.title}»"
    figure = (
        '<figure><div class="ark">'
        f'<img src="{html.escape(src, quote=True)}" width="{image.width}" height="{image.height}" '
        f'alt="{html.escape(alt, quote=True)}">'
        f'<svg viewBox="0 0 {layout.width:.2f} {layout.height:.2f}" preserveAspectRatio="none" '
        f'aria-hidden="true" focusable="false">{rects}</svg></div></figure>'
    )
    return figure, bool(quoted) or not marks.quoted


def _rect(box: Box, css_class: str = "") -> str:
    attribute = f' class="{css_class}"' if css_class else ""
    return (f'<rect{attribute} x="{box.x:.2f}" y="{box.y:.2f}" width="{box.width:.2f}" '
            f'height="{box.height:.2f}"/>')


def viewer_body(document: StoredDocument, page: int, marks: Marks, chunk_id: int | None,
                sentences: tuple[int, int] | None, figure: str | None, notice: str = "",
                text_anchor: bool = True) -> str:
    """The viewer's content: header, notices, navigation, the page (image or text)."""
    notices = [STALE_PASSAGE] if marks.stale else []
    if notice:
        notices.append(notice)
    parts = [header_html(document, page)]
    parts += [f'<p class="merknad" role="status">{html.escape(n)}</p>' for n in notices]
    parts.append(navigation_html(document, page, chunk_id, sentences))
    if marks.quoted or marks.passage:
        parts.append(LEGEND)
    text = document.pages[page - 1]
    if figure is None:
        parts.append(text_html(text, marks, anchor=True))
    else:
        parts.append(figure)
        opened = " open" if text_anchor and marks.quoted else ""
        parts.append(f'<details class="tekst"{opened}><summary>Teksten på siden</summary>'
                     f"{text_html(text, marks, anchor=text_anchor)}</details>")
    return "".join(parts)


# --------------------------------------------------------------------------- files


def page_images(assistant: Assistant) -> PdfPages:
    """Where page images are cached: the index folder, outside the builds."""
    settings = assistant.settings
    return PdfPages(settings.index_dir / settings.viewer.cache_folder, settings.viewer)


def pdf_view(assistant: Assistant, document: StoredDocument, page: int,
             marks: Marks) -> tuple[str | None, str, bool]:
    """(figure HTML or None for a text fallback, a notice, whether the text view holds
    the anchor) for a PDF page."""
    if not poppler_available():
        return None, NO_POPPLER, True
    path = assistant.document_file(document)
    if path is None:
        return None, RENDER_FAILED, True
    pages = page_images(assistant)
    try:
        image = pages.image(path, document.content_hash, page)
        layout = pages.layout(path, document.content_hash, page)
    except PageUnavailable:
        return None, RENDER_FAILED, True
    figure, found = image_html(document, page, image, layout, marks)
    if not found:
        return figure, NOT_ON_IMAGE, True
    return figure, "", False


# --------------------------------------------------------------------------- routes


def view_page(assistant: Assistant, filters: Filters, doc_id: str, side: str | None,
              bit: str | None, setning: str | None) -> tuple[int, str]:
    """(status, HTML) of the viewer for one request."""
    document = assistant.document(doc_id, filters)
    if document is None or not document.pages:
        return 404, not_found_page()
    chunk, stale, chunk_id = None, False, None
    if bit:
        if bit.isascii() and bit.isdigit() and len(bit) <= 9:
            found = assistant.passage(doc_id, int(bit), filters)
            if found.document is not None:
                chunk, chunk_id = found.chunk, int(bit)
        stale = chunk is None
    sentences = parse_sentences(setning) if chunk is not None else None
    page = parse_page(side, len(document.pages), chunk.page_start if chunk else 1)
    if page is None:
        return 404, not_found_page(page_missing_message(document, side))
    marks = page_marks(chunk, page, sentences, stale)
    figure, notice, text_anchor = None, "", True
    if document.kind == "pdf":
        figure, notice, text_anchor = pdf_view(assistant, document, page, marks)
    body = viewer_body(document, page, marks, chunk_id, sentences, figure, notice, text_anchor)
    return 200, page_document(f"{document.meta.title}, side {page}", body)


def register_viewer(server, assistant: Assistant, filters_for: FiltersFor = public_only) -> None:
    """Add the viewer's routes to a FastAPI app (before Gradio is mounted at ``/``).

    (This module has no ``from __future__ import annotations``: FastAPI reads the
    routes' annotations, and ``Request`` is imported here, not at module level.)

    ``filters_for(request)`` decides which documents the request may see; the default
    is the public's. A staff session passes a function that returns ``STAFF`` for a
    logged-in staff member's requests.
    """
    from fastapi import Request
    from fastapi.responses import HTMLResponse, PlainTextResponse, Response

    private = {"Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"}

    @server.get(VIEWER_ROUTE + "/{doc_id}", response_class=HTMLResponse)
    def view(doc_id: str, request: Request, side: str | None = None, bit: str | None = None,
             setning: str | None = None):
        status, body = view_page(assistant, filters_for(request), doc_id, side, bit, setning)
        return HTMLResponse(body, status_code=status, headers=private)

    @server.get(VIEWER_ROUTE + "/{doc_id}/sidebilde")
    def page_image(doc_id: str, request: Request, side: str | None = None):
        document = assistant.document(doc_id, filters_for(request))
        page = parse_page(side, len(document.pages), 0) if document is not None else None
        path = assistant.document_file(document) if page and document.kind == "pdf" else None
        if path is None:
            return PlainTextResponse("Fant ikke sidebildet.", status_code=404)
        try:
            image = page_images(assistant).image(path, document.content_hash, page)
            data = image.path.read_bytes()
        except (PageUnavailable, OSError):
            return PlainTextResponse("Sidebildet kunne ikke lages.", status_code=404)
        return Response(data, media_type="image/png",
                        headers={"Cache-Control": "private, max-age=86400",
                                 "X-Content-Type-Options": "nosniff"})

    @server.get(VIEWER_ROUTE + "/{rest:path}", response_class=HTMLResponse)
    def anything_else(rest: str):
        """Any other path under the viewer (``..%2F..``, extra segments): the same 404,
        in Norwegian, instead of falling through to Gradio."""
        return HTMLResponse(not_found_page(), status_code=404, headers=private)

    @server.get(ASSETS_ROUTE + "/{name:path}")
    def asset(name: str):
        if name not in ASSETS:
            return PlainTextResponse("Fant ikke filen.", status_code=404)
        text = resources.files("assistant").joinpath("data", ASSET_FILES[name]).read_text("utf-8")
        return Response(text, media_type=ASSETS[name],
                        headers={"Cache-Control": "public, max-age=3600",
                                 "X-Content-Type-Options": "nosniff"})

"""The Gradio app: a Norwegian chat for citizens, a search view for staff, and an overview.

All text that comes from documents is HTML-escaped before it is shown; the only markup
in an answer is the app's own (citation numbers, the highlighted sentence, links).
"""

from __future__ import annotations

import html
import re

from .answer import Answer, Citation
from .lexical import analyze
from .search import MODE_LABELS, MODES, PUBLIC, Filters, Hit
from .service import Assistant

TITLE = "Osloregionen-assistenten"
DISCLAIMER = (
    "Svarene er utdrag ordrett fra Osloregionens dokumenter, ikke tekst skrevet av en "
    "språkmodell. Hvert svar viser kilden, så du kan sjekke det selv."
)
EXAMPLES = [
    "Hvor mange kommuner er med i Osloregionen?",
    "Hva gjør regionen for lading av tunge kjøretøy?",
    "Hva er det høyeste organet i Osloregionen?",
    "Hvilke rapporter kom ut av gods- og logistikkprosjektet?",
    "Hva er målene i areal- og transportstrategien?",
]
CSS = """
.kilde mark { background: #fff2a8; padding: 0 2px; }
.kilde blockquote { margin: 4px 0 8px 0; white-space: pre-wrap; }
.treff { border-bottom: 1px solid #ddd; padding: 8px 0; }
"""


# --------------------------------------------------------------------------- rendering


def highlighted(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    """``text`` escaped, with the given character spans wrapped in ``<mark>``."""
    parts, position = [], 0
    for start, end in sorted(spans):
        parts.append(html.escape(text[position:start]))
        parts.append(f"<mark>{html.escape(text[start:end])}</mark>")
        position = end
    parts.append(html.escape(text[position:]))
    return "".join(parts)


def citation_label(citation: Citation) -> str:
    year = f" ({citation.year})" if citation.year else ""
    return f"[{citation.n}] {html.escape(citation.title)}{year}, side {citation.page}"


def citation_html(citation: Citation) -> str:
    link = (
        f'<a href="{html.escape(citation.url, quote=True)}" target="_blank" '
        f'rel="noopener">Åpne kilden (side {citation.page})</a>'
        if citation.url
        else ""
    )
    return (
        f'<details class="kilde"><summary>{citation_label(citation)}</summary>'
        f"<blockquote>{highlighted(citation.text, citation.highlights)}</blockquote>"
        f"{link}</details>"
    )


def answer_html(answer: Answer) -> str:
    if not answer.found:
        return html.escape(answer.answer)
    quotes = " ".join(
        f"«{html.escape(sentence)}» <sup>[{n}]</sup>" for sentence, n in answer.quotes
    )
    sources = "".join(citation_html(c) for c in answer.citations)
    return f"<p>{quotes}</p><p><strong>Kilder</strong></p>{sources}"


def reference(hit: Hit) -> str:
    """A citation a staff member can paste: title, publisher, year, page, link."""
    meta = hit.document.meta
    page = hit.chunk.page_of(hit.chunk.sentences[0][3]) if hit.chunk.sentences else hit.chunk.page_start
    parts = [meta.title, meta.publisher, str(meta.year) if meta.year else "", f"s. {page}",
             hit.document.link(page)]
    return ", ".join(p for p in parts if p)


def highlight_terms(text: str, query: str) -> str:
    """``text`` escaped, with the words that match the query's terms in ``<mark>``."""
    terms = set(analyze(query))
    parts, position = [], 0
    for match in re.finditer(r"\w+", text):
        stems = analyze(match.group(0))
        if stems and stems[0] in terms:
            parts.append(html.escape(text[position:match.start()]))
            parts.append(f"<mark>{html.escape(match.group(0))}</mark>")
            position = match.end()
    parts.append(html.escape(text[position:]))
    return "".join(parts)


def hits_html(query: str, hits: list[Hit]) -> str:
    if not query.strip():
        return "<p>Skriv inn et søk.</p>"
    if not hits:
        return "<p>Ingen treff.</p>"
    rows = []
    for hit in hits:
        meta = hit.document.meta
        year = f" ({meta.year})" if meta.year else ""
        pages = (f"side {hit.chunk.page_start}" if hit.chunk.page_start == hit.chunk.page_end
                 else f"side {hit.chunk.page_start}–{hit.chunk.page_end}")
        rows.append(
            f'<div class="treff"><strong>{hit.rank}. {html.escape(meta.title)}{year}</strong>, '
            f"{pages}<blockquote>{highlight_terms(hit.chunk.text, query)}</blockquote>"
            f'<code class="referanse">{html.escape(reference(hit))}</code></div>'
        )
    return f"<p>{len(hits)} treff</p>" + "".join(rows)


# --------------------------------------------------------------------------- app


def create_app(assistant: Assistant):
    import gradio as gr

    def ask_api(question: str, mode: str = "hybrid") -> dict:
        """The public question endpoint: the same JSON as ``ask --json``."""
        return assistant.ask(question or "", mode=mode or None, filters=PUBLIC).to_json()

    def chat(message: str, history: list[dict]):
        answer = assistant.ask(message or "", filters=PUBLIC)
        history = list(history or [])
        if message and message.strip():
            history.append({"role": "user", "content": message.strip()})
        history.append({"role": "assistant", "content": answer_html(answer)})
        return "", history

    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"# {TITLE}\nSpør om Osloregionen, og få svar hentet fra rådets egne dokumenter.")
        with gr.Tab("Spør"):
            chatbot = gr.Chatbot(label="Samtale", height=480, elem_id="samtale",
                                 feedback_options=None)
            question = gr.Textbox(label="Ditt spørsmål", placeholder="Skriv spørsmålet ditt her …",
                                  elem_id="sporsmal", lines=1, max_lines=4)
            send = gr.Button("Spør", variant="primary", elem_id="spor-knapp")
            gr.Examples(EXAMPLES, inputs=question, label="Eksempler på spørsmål")
            gr.Markdown(f"*{DISCLAIMER}*", elem_id="forbehold")
            send.click(chat, [question, chatbot], [question, chatbot], api_visibility="private")
            question.submit(chat, [question, chatbot], [question, chatbot], api_visibility="private")
        with gr.Tab("Søk i dokumentene"):
            with gr.Row():
                query = gr.Textbox(label="Søk", placeholder="Ord, navn eller setning …",
                                   elem_id="sok", scale=4)
                mode = gr.Radio([(MODE_LABELS[m], m) for m in MODES], value="hybrid",
                                label="Søkemåte", elem_id="sokemodus", scale=2)
            search_button = gr.Button("Søk", variant="primary", elem_id="sok-knapp")
            results = gr.HTML(elem_id="treffliste")

            def staff_search(text: str, chosen_mode: str) -> str:
                found = assistant.search(text or "", k=25, mode=chosen_mode or None, filters=PUBLIC)
                return hits_html(found.query, found.hits)

            search_button.click(staff_search, [query, mode], results, api_visibility="private")
            query.submit(staff_search, [query, mode], results, api_visibility="private")
        gr.api(ask_api, api_name="ask")
    return app


def serve(assistant: Assistant, block: bool = True):
    """Start the app on the configured host and port (127.0.0.1:7860 by default)."""
    app = create_app(assistant)
    app.queue(default_concurrency_limit=4)
    settings = assistant.settings
    print(f"Osloregionen-assistenten kjører på http://{settings.host}:{settings.port}")
    return app.launch(
        server_name=settings.host,
        server_port=settings.port,
        prevent_thread_lock=not block,
        show_error=False,
        quiet=True,
        css=CSS,
        footer_links=["api"],
    )

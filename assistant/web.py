"""The Gradio app: a chat for citizens, a search view for staff, and an overview for new members.

Three ways in, one :class:`~assistant.service.Assistant` behind them:

* **Spør** – chat with short extractive answers, numbered citations, a source view next
  to the chat, follow-up questions and 👍/👎 feedback.
* **Søk i dokumentene** – many hits with highlighted query terms, filters, search mode,
  one-click references, and a login that opens internal documents to staff.
* **Om Osloregionen** – the indexed documents and suggested questions by topic.

All text from documents is HTML-escaped before it is shown; the only markup is the app's
own (citation numbers, highlights, links).
"""

from __future__ import annotations

import html
import re
from dataclasses import replace
from urllib.parse import quote as url_quote

from .answer import Answer, Citation, exact_spans
from .chunking import Chunk
from .lexical import analyze
from .search import MODE_LABELS, MODES, PUBLIC, STAFF, Hit
from .service import Assistant
from .staff import StaffAccounts
from .store import StoredDocument

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
]
#: Suggested questions for new council members, by topic.
TOPICS = {
    "Organisasjonen": [
        "Når ble Osloregionen etablert?",
        "Hvor mange kommuner er med i Osloregionen?",
        "Hva er det høyeste organet i Osloregionen?",
        "Når ble Osloregionen omdannet til interkommunalt politisk råd?",
    ],
    "Strategier og satsinger": [
        "Hvilke innsatsområder har Osloregionen for 2021–2024?",
        "Hva er målene i areal- og transportstrategien?",
        "Hva er hovedprioriteringene for klima og miljø i 2022?",
    ],
    "Prosjekter": [
        "Hva var målet med gods- og logistikkprosjektet?",
        "Hvem har skrevet rapportene i gods- og logistikkprosjektet?",
        "Når kom sluttrapporten fra gods- og logistikkprosjektet?",
    ],
}
SOURCE_ROUTE = "/kilde"
SOURCE_HINT = "<p><em>Velg en kilde over for å se siden den står på, med utdraget markert.</em></p>"
CSS = """
.kilde mark, .treff mark, .kildevisning mark { background: #ffe066; color: #000; padding: 0 2px; }
.kildevisning .utdrag { background: #e7f1ff; }
.kilde blockquote, .treff blockquote { margin: 4px 0 8px 0; }
.treff { border-bottom: 1px solid #ccc; padding: 8px 0; }
.treff button.kopier { cursor: pointer; margin-left: 6px; }
@media (max-width: 480px) { .gradio-container { padding: 4px !important; } }
"""
#: Copies a hit's reference when its "Kopier referanse" button is clicked (one listener).
COPY_JS = """
element.addEventListener('click', async (event) => {
  const button = event.target.closest('button.kopier');
  if (!button) return;
  const text = button.dataset.ref;
  try { await navigator.clipboard.writeText(text); }
  catch (error) {
    const area = document.createElement('textarea');
    area.value = text; document.body.appendChild(area); area.select();
    document.execCommand('copy'); area.remove();
  }
  button.textContent = 'Kopiert ✓';
});
"""


# --------------------------------------------------------------------------- rendering


def highlighted(text: str, spans) -> str:
    """``text`` escaped, with the given character spans wrapped in ``<mark>``; a span that
    lies inside another (the exact number, date or name asked for) in ``<strong>``."""
    spans = sorted(spans)
    outer = [s for s in spans if not any(o != s and o[0] <= s[0] and s[1] <= o[1] for o in spans)]
    inner = [s for s in spans if s not in outer]

    def plain(start: int, end: int) -> str:
        parts, position = [], start
        for a, b in inner:
            if start <= a and b <= end and a >= position:
                parts.append(html.escape(text[position:a]))
                parts.append(f'<strong class="svar">{html.escape(text[a:b])}</strong>')
                position = b
        parts.append(html.escape(text[position:end]))
        return "".join(parts)

    parts, position = [], 0
    for start, end in outer:
        start = max(start, position)
        parts.append(html.escape(text[position:start]))
        parts.append(f"<mark>{plain(start, end)}</mark>")
        position = max(position, end)
    parts.append(html.escape(text[position:]))
    return "".join(parts)


def compact(escaped: str) -> str:
    """Escaped passage HTML laid out for reading: paragraphs kept, wrapped lines joined."""
    paragraphs = re.split(r"\n\s*\n", escaped)
    return "<br>".join(" ".join(p.split("\n")) for p in paragraphs)


def source_link(doc_id: str, page: int | None = None) -> str:
    """The app's own link to a document file (PDFs open at the page)."""
    anchor = f"#page={page}" if page else ""
    return f"{SOURCE_ROUTE}/{url_quote(doc_id, safe='')}{anchor}"


def citation_label(citation: Citation) -> str:
    year = f" ({citation.year})" if citation.year else ""
    return f"[{citation.n}] {citation.title}{year}, side {citation.page}"


def citation_links(citation: Citation, document: StoredDocument | None) -> str:
    links = []
    if citation.url:
        links.append(f'<a href="{html.escape(citation.url, quote=True)}" target="_blank" '
                     f'rel="noopener">Åpne kilden (side {citation.page})</a>')
    if document is not None and document.kind == "pdf":
        links.append(f'<a href="{html.escape(source_link(document.doc_id, citation.page), quote=True)}" '
                     f'target="_blank" rel="noopener">Åpne PDF-en her</a>')
    return " · ".join(links)


def citation_html(citation: Citation, document: StoredDocument | None = None) -> str:
    return (
        f'<details class="kilde"><summary>{html.escape(citation_label(citation))}</summary>'
        f"<blockquote>{compact(highlighted(citation.text, citation.highlights))}</blockquote>"
        f"{citation_links(citation, document)}</details>"
    )


def answer_html(answer: Answer, documents: dict[str, StoredDocument] | None = None) -> str:
    if not answer.found:
        return html.escape(answer.answer)
    documents = documents or {}
    asked = answer.searched_for or answer.question
    quotes = " ".join(
        f"«{highlighted(q.text, exact_spans(asked, q.text))}» <sup>[{q.n}]</sup>"
        for q in answer.quotes
    )
    sources = "".join(citation_html(c, documents.get(c.doc_id)) for c in answer.citations)
    return f"<p>{quotes}</p><p><strong>Kilder</strong></p>{sources}"


def source_html(document: StoredDocument, chunk: Chunk, citation: Citation) -> str:
    """The whole page a citation points at, with the passage and its sentence highlighted."""
    page = citation.page
    text = document.pages[page - 1] if 0 < page <= len(document.pages) else ""
    passage = [(s.page_start, s.page_end) for s in chunk.sentences if s.page == page]
    quoted = [(s.page_start, s.page_end) for s in chunk.sentences
              if s.page == page and any(s.start < h1 and h0 < s.end
                                        for h0, h1 in citation.highlights)]
    parts, position = [], 0
    for start, end in passage:
        parts.append(html.escape(text[position:start]))
        body = html.escape(text[start:end])
        if (start, end) in quoted:
            body = f"<mark>{body}</mark>"
        parts.append(f'<span class="utdrag">{body}</span>')
        position = end
    parts.append(html.escape(text[position:]))
    meta = document.meta
    year = f" ({meta.year})" if meta.year else ""
    return (
        f'<div class="kildevisning" role="region" aria-label="Kildevisning">'
        f"<h3>{html.escape(meta.title)}{year}, side {page}</h3>"
        f"<p>{compact(''.join(parts))}</p>{citation_links(citation, document)}</div>"
    )


def page_span(chunk: Chunk, word: str = "side") -> str:
    """"side 3" or "side 3–4" for the pages a chunk spans."""
    if chunk.page_start == chunk.page_end:
        return f"{word} {chunk.page_start}"
    return f"{word} {chunk.page_start}–{chunk.page_end}"


def reference(hit: Hit) -> str:
    """A citation a staff member can paste: title, publisher, year, page, link."""
    meta = hit.document.meta
    pages = page_span(hit.chunk, "s.")
    parts = [meta.title, meta.publisher, str(meta.year) if meta.year else "", pages,
             hit.document.link(hit.chunk.page_start)]
    return ", ".join(p for p in parts if p)


def highlight_terms(text: str, query: str) -> str:
    """``text`` escaped, with the words that match the query's terms in ``<mark>``."""
    terms = set(analyze(query))
    spans = []
    for match in re.finditer(r"\w+", text):
        stems = analyze(match.group(0))
        if stems and stems[0] in terms:
            spans.append((match.start(), match.end()))
    return highlighted(text, spans)


def hits_html(query: str, hits: list[Hit]) -> str:
    if not query.strip():
        return "<p>Skriv inn et søk.</p>"
    if not hits:
        return "<p>Ingen treff.</p>"
    rows = []
    for hit in hits:
        meta = hit.document.meta
        year = f" ({meta.year})" if meta.year else ""
        pages = page_span(hit.chunk)
        internal = " <em>(internt)</em>" if meta.visibility == "internal" else ""
        ref = html.escape(reference(hit), quote=True)
        rows.append(
            f'<div class="treff"><strong>{hit.rank}. {html.escape(meta.title)}{year}</strong>, '
            f"{pages}{internal}<blockquote>{compact(highlight_terms(hit.chunk.text, query))}</blockquote>"
            f'<button type="button" class="kopier" data-ref="{ref}" '
            f'aria-label="Kopier referansen til treff {hit.rank}">Kopier referanse</button></div>'
        )
    return f'<p role="status">{len(hits)} treff</p>' + "".join(rows)


def documents_html(documents: list[StoredDocument]) -> str:
    rows = []
    for document in sorted(documents, key=lambda d: (-(d.meta.year or 0), d.meta.title)):
        meta = document.meta
        if meta.url:
            href = meta.url
        elif document.kind == "pdf":
            href = source_link(document.doc_id)
        else:
            href = ""
        title = html.escape(meta.title)
        if href:
            title = f'<a href="{html.escape(href, quote=True)}" target="_blank" rel="noopener">{title}</a>'
        rows.append(f"<tr><td>{title}</td><td>{meta.year or ''}</td><td>{len(document.pages)}</td>"
                    f"<td>{html.escape(meta.doc_type)}</td></tr>")
    return ('<table><caption>Dokumenter assistenten svarer fra</caption><thead><tr><th>Tittel</th>'
            "<th>År</th><th>Sider</th><th>Type</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


# --------------------------------------------------------------------------- app


def create_app(assistant: Assistant, staff: StaffAccounts | None = None):
    """The Gradio Blocks app; ``staff`` enables login to internal documents."""
    import gradio as gr

    def public_documents() -> list[StoredDocument]:
        return [d for d in assistant.index.documents.values() if PUBLIC.allows(d)]

    def ask_api(question: str, mode: str = "hybrid") -> dict:
        """The public question endpoint: the same JSON as ``ask --json``; public documents only."""
        mode = mode if mode in MODES else None
        return assistant.ask(question or "", mode=mode, filters=PUBLIC).to_json()

    def chat(message: str, history: list[dict], context: str | None):
        history = list(history or [])
        answer = assistant.ask(message or "", filters=PUBLIC, context=context)
        answer_id = None
        if answer.question:
            history.append({"role": "user", "content": answer.question})
            answer_id = assistant.feedback.record_answer(answer.question, answer.to_json(),
                                                         assistant.settings.search.mode)
        history.append({"role": "assistant", "content": answer_html(answer, assistant.index.documents)})
        choices = [(citation_label(c), c.n) for c in answer.citations]
        next_context = (answer.searched_for or context) if answer.found else context
        return ("", history, next_context, answer, answer_id,
                gr.update(choices=choices, value=None, visible=bool(choices)),
                SOURCE_HINT if choices else "", gr.update(visible=answer_id is not None), "")

    def show_source(n: int | None, answer: Answer | None) -> str:
        if not n or answer is None:
            return SOURCE_HINT
        citation = next((c for c in answer.citations if c.n == n), None)
        index = assistant.index
        if citation is None or not (0 <= citation.chunk_id < len(index.chunks)):
            return "<p>Fant ikke kilden. Still spørsmålet på nytt.</p>"
        chunk = index.chunks[citation.chunk_id]
        document = index.documents.get(citation.doc_id)
        if document is None or chunk.doc_id != citation.doc_id or not PUBLIC.allows(document):
            return "<p>Dokumentet er oppdatert siden svaret ble gitt. Still spørsmålet på nytt.</p>"
        return source_html(document, chunk, citation)

    def give_feedback(rating: str, comment: str, answer_id):
        if answer_id is None:
            return "Still et spørsmål først."
        assistant.feedback.record_feedback(answer_id, rating, (comment or "").strip() or None)
        return "Takk for tilbakemeldingen!"

    def staff_search(text, chosen_mode, doc_ids, years, doc_types, user):
        filters = replace(
            STAFF if user else PUBLIC,
            doc_ids=frozenset(doc_ids) if doc_ids else None,
            years=frozenset(int(y) for y in years) if years else None,
            doc_types=frozenset(doc_types) if doc_types else None,
        )
        found = assistant.search(text or "", k=25, mode=chosen_mode or None, filters=filters)
        return hits_html(found.query, found.hits)

    def filter_choices(user):
        allowed = STAFF if user else PUBLIC
        documents = [d for d in assistant.index.documents.values() if allowed.allows(d)]
        return (
            gr.update(choices=sorted(((d.meta.title, d.doc_id) for d in documents))),
            gr.update(choices=sorted({str(d.meta.year) for d in documents if d.meta.year}, reverse=True)),
            gr.update(choices=sorted({d.meta.doc_type for d in documents if d.meta.doc_type})),
        )

    def login(name: str, password: str):
        if staff is not None and staff.check(name, password):
            return (name.strip(), f"Logget inn som {name.strip()}. Interne dokumenter er med i søket.",
                    gr.update(visible=False), gr.update(visible=True), "", *filter_choices(name))
        message = ("Innlogging er ikke satt opp på denne serveren." if staff is None
                   else "Feil brukernavn eller passord.")
        return (None, message, gr.update(visible=True), gr.update(visible=False), "", *filter_choices(None))

    def logout():
        return (None, "Du er logget ut. Bare offentlige dokumenter er med i søket.",
                gr.update(visible=True), gr.update(visible=False), "", *filter_choices(None))

    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"# {TITLE}\nSpør om Osloregionen og få svar hentet fra rådets egne dokumenter.")
        context = gr.State(None)
        last_answer = gr.State(None)
        answer_id = gr.State(None)
        user = gr.State(None)
        with gr.Tabs(selected="spor", overflow_behavior="wrap") as tabs:
            with gr.Tab("Spør", id="spor"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=300):
                        chatbot = gr.Chatbot(label="Samtale", height=460, elem_id="samtale",
                                             feedback_options=None, buttons=["copy"])
                        question = gr.Textbox(label="Ditt spørsmål", elem_id="sporsmal",
                                              placeholder="Skriv spørsmålet ditt her …",
                                              lines=1, max_lines=4)
                        with gr.Row():
                            send = gr.Button("Spør", variant="primary", elem_id="spor-knapp")
                            clear = gr.Button("Ny samtale", elem_id="ny-samtale")
                        gr.Markdown(f"*{DISCLAIMER}*", elem_id="forbehold")
                        with gr.Group(visible=False, elem_id="tilbakemelding") as feedback_box:
                            comment = gr.Textbox(label="Kommentar til svaret (valgfritt)",
                                                 elem_id="kommentar", lines=1)
                            with gr.Row():
                                thumbs_up = gr.Button("👍 Svaret var nyttig", elem_id="tommel-opp")
                                thumbs_down = gr.Button("👎 Svaret var ikke nyttig", elem_id="tommel-ned")
                            feedback_status = gr.Markdown(elem_id="tilbakemelding-status")
                        gr.Examples(EXAMPLES, inputs=question, label="Eksempler på spørsmål")
                    with gr.Column(scale=2, min_width=280):
                        sources = gr.Radio([], label="Vis kilde", elem_id="vis-kilde",
                                           type="value", visible=False)
                        source_view = gr.HTML(elem_id="kildevisning")
            with gr.Tab("Søk i dokumentene", id="sok-fane"):
                with gr.Row():
                    query = gr.Textbox(label="Søk i dokumentene", elem_id="sok", scale=4,
                                       placeholder="Ord, navn eller en hel setning …")
                    mode = gr.Radio([(MODE_LABELS[m], m) for m in MODES], value="hybrid",
                                    label="Søkemåte", elem_id="sokemodus", scale=2)
                with gr.Row():
                    doc_filter = gr.Dropdown([], multiselect=True, label="Dokument", elem_id="filter-dokument")
                    year_filter = gr.Dropdown([], multiselect=True, label="År", elem_id="filter-ar")
                    type_filter = gr.Dropdown([], multiselect=True, label="Dokumenttype", elem_id="filter-type")
                search_button = gr.Button("Søk", variant="primary", elem_id="sok-knapp")
                results = gr.HTML(elem_id="treffliste", js_on_load=COPY_JS)
                with gr.Accordion("Innlogging for ansatte", open=False, elem_id="innlogging"):
                    with gr.Group() as login_box:
                        name = gr.Textbox(label="Brukernavn", elem_id="brukernavn")
                        password = gr.Textbox(label="Passord", type="password", elem_id="passord")
                        login_button = gr.Button("Logg inn", elem_id="logg-inn")
                    logout_button = gr.Button("Logg ut", visible=False, elem_id="logg-ut")
                    login_status = gr.Markdown(
                        "Ansatte kan logge inn for å søke også i interne dokumenter."
                        if staff is not None else
                        "Innlogging er ikke satt opp; bare offentlige dokumenter er søkbare.",
                        elem_id="innlogging-status")
            with gr.Tab("Om Osloregionen", id="om"):
                gr.Markdown("Her er dokumentene assistenten henter svarene sine fra, og forslag "
                            "til spørsmål for deg som er ny i rådet. Trykk på et spørsmål for å "
                            "stille det i samtalen.")
                document_table = gr.HTML(elem_id="dokumentliste")
                topic_buttons = []
                for topic, questions in TOPICS.items():
                    gr.Markdown(f"### {topic}")
                    with gr.Row():
                        for text in questions:
                            topic_buttons.append((gr.Button(text, size="sm"), text))

        chat_outputs = [question, chatbot, context, last_answer, answer_id, sources, source_view,
                        feedback_box, feedback_status]
        send.click(chat, [question, chatbot, context], chat_outputs, api_visibility="private")
        question.submit(chat, [question, chatbot, context], chat_outputs, api_visibility="private")
        clear.click(lambda: ([], None, None, None, gr.update(choices=[], visible=False), "",
                             gr.update(visible=False)),
                    None, [chatbot, context, last_answer, answer_id, sources, source_view, feedback_box],
                    api_visibility="private")
        sources.change(show_source, [sources, last_answer], source_view, api_visibility="private")
        thumbs_up.click(lambda c, a: give_feedback("up", c, a), [comment, answer_id], feedback_status,
                        api_visibility="private")
        thumbs_down.click(lambda c, a: give_feedback("down", c, a), [comment, answer_id],
                          feedback_status, api_visibility="private")

        search_inputs = [query, mode, doc_filter, year_filter, type_filter, user]
        search_button.click(staff_search, search_inputs, results, api_visibility="private")
        query.submit(staff_search, search_inputs, results, api_visibility="private")
        login_outputs = [user, login_status, login_box, logout_button, password,
                         doc_filter, year_filter, type_filter]
        login_button.click(login, [name, password], login_outputs, api_visibility="private")
        password.submit(login, [name, password], login_outputs, api_visibility="private")
        logout_button.click(logout, None, login_outputs, api_visibility="private")

        for button, text in topic_buttons:
            button.click(lambda h, c, text=text: (gr.Tabs(selected="spor"), *chat(text, h, c)),
                         [chatbot, context], [tabs, *chat_outputs], api_visibility="private")

        app.load(lambda: (documents_html(public_documents()), *filter_choices(None)), None,
                 [document_table, doc_filter, year_filter, type_filter], api_visibility="private")
        gr.api(ask_api, api_name="ask")
    return app

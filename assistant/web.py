"""The Gradio app: a chat for citizens, a search view for staff, and an overview for new members.

Three ways in, one :class:`~assistant.service.Assistant` behind them:

* **Spør** – chat with short extractive answers, numbered citations, a source view next
  to the chat, follow-up questions and 👍/👎 feedback.
* **Søk i dokumentene** – many hits with highlighted query terms, filters, search mode,
  one-click references, and a login that opens internal documents to staff.
* **Om Osloregionen** – the indexed documents and suggested questions by topic.

The HTML shown in the app is made by :mod:`assistant.render`, which escapes all text from
documents; this module holds the layout, what each event does and how they are wired. It
only reads the index through the service's view methods, so what a citizen can see is
decided by the filters passed to the service (public documents unless staff logged in).

Every UI event can also be called directly (``/gradio_api/queue/join`` with its function
number), so no handler trusts what the page sends: whether the caller is staff is decided
from the login cookie of that very request (:class:`~assistant.access.StaffAccess`),
text is cut and cleaned before use, and the chat history is kept on the server.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .access import StaffAccess, logged_in_message
from .answer import Answer
from .config import MAX_QUESTION_CHARS
from .render import answer_html, citation_label, documents_html, hits_html, source_html
from .search import MODE_LABELS, MODES, PUBLIC, STAFF, Filters
from .service import Assistant

if TYPE_CHECKING:  # Gradio is imported when an app is built, not when this module is
    import gradio as gr

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
SOURCE_HINT = "<p><em>Velg en kilde over for å se siden den står på, med utdraget markert.</em></p>"
#: What the source view says when the index was rebuilt since the answer was given.
SOURCE_MISSING = "<p>Fant ikke kilden. Still spørsmålet på nytt.</p>"
SOURCE_OUTDATED = "<p>Dokumentet er oppdatert siden svaret ble gitt. Still spørsmålet på nytt.</p>"
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
  const viewer = button.dataset.viewer && new URL(button.dataset.viewer, location.href).href;
  const text = [button.dataset.ref, viewer].filter(Boolean).join(', ');
  try { await navigator.clipboard.writeText(text); }
  catch (error) {
    const area = document.createElement('textarea');
    area.value = text; document.body.appendChild(area); area.select();
    document.execCommand('copy'); area.remove();
  }
  button.textContent = 'Kopiert ✓';
});
"""


LOGGED_OUT = "Du er logget ut. Bare offentlige dokumenter er med i søket."
LOGIN_HINT = "Ansatte kan logge inn for å søke også i interne dokumenter."
NO_LOGIN = "Innlogging er ikke satt opp; bare offentlige dokumenter er søkbare."
FEEDBACK_THANKS = "Takk for tilbakemeldingen!"
FEEDBACK_FAILED = "Tilbakemeldingen kunne ikke lagres akkurat nå. Prøv gjerne igjen senere."
#: Fields longer than this are cut before anything else looks at them (the request body
#: limit in :mod:`assistant.webguard` is the hard cap; this keeps the work per call small).
MAX_FIELD_CHARS = 4 * MAX_QUESTION_CHARS
MAX_FILTER_VALUES = 200
#: Calls the login cookie routes from the page, then hands the outcome to the handler, so
#: the password goes to ``/ansatt/logg-inn`` only, never into Gradio's queue or state.
LOGIN_JS = """
async (name, password) => {
  let message;
  try {
    const response = await fetch('ansatt/logg-inn', {
      method: 'POST', credentials: 'same-origin',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({navn: name || '', passord: password || ''})});
    message = (await response.json()).melding;
  } catch (error) {
    message = 'Fikk ikke kontakt med serveren. Prøv igjen.';
  }
  return [name, message];
}
"""
LOGOUT_JS = """
async () => {
  try { await fetch('ansatt/logg-ut', {method: 'POST', credentials: 'same-origin'}); }
  catch (error) {}
  return [];
}
"""

log = logging.getLogger(__name__)
_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_text(text: object, limit: int = MAX_FIELD_CHARS) -> str:
    """A field from the page as safe text: a string, at most ``limit`` characters, with
    lone surrogates (which UTF-8 cannot encode) and NUL removed."""
    if not isinstance(text, str):
        return ""
    return _SURROGATES.sub("", text[:limit]).replace("\x00", "")


def _cut_notice(question: str) -> str:
    """What the chat says when a question was longer than the assistant reads."""
    if len(" ".join(question.split())) <= MAX_QUESTION_CHARS:
        return ""
    return (f"<p><em>Spørsmålet var på over {MAX_QUESTION_CHARS:,} tegn, så bare de første "
            f"{MAX_QUESTION_CHARS:,} ble brukt.</em></p>").replace(",", "\u00a0")


def _requesting(method):
    """``method`` with its ``request`` parameter annotated as ``gr.Request``, which is how
    Gradio knows to pass the request. This module's annotations are strings and Gradio is
    imported only when an app is built, so Gradio cannot resolve them itself."""
    import gradio as gr

    @functools.wraps(method)
    def call(*args, **kwargs):
        return method(*args, **kwargs)
    call.__annotations__ = {**method.__annotations__, "request": gr.Request}
    return call


def _cookies(request) -> dict[str, str]:
    """The cookies of the HTTP request behind a Gradio call (none without one)."""
    inner = getattr(request, "request", None) if request is not None else None
    cookies = getattr(inner, "cookies", None)
    return dict(cookies) if cookies else {}


@dataclass(frozen=True)
class FeedbackTrouble:
    """The last time the feedback store failed: shown to staff, logged, never to citizens."""

    when: float
    error: str


def _update(**changes):
    """A Gradio component update (Gradio is imported only once an app is built)."""
    import gradio as gr

    return gr.update(**changes)


def _visible_to(user: str | None) -> Filters:
    """Logged-in staff see internal documents too; everybody else public ones."""
    return STAFF if user else PUBLIC


# --------------------------------------------------------------------------- handlers


class Handlers:
    """What the app's events do, as plain methods over the service; no layout here.

    Per-session values (the conversation so far, its context, the last answer, its
    feedback id) come in and go out through Gradio state, never kept on this object. Who
    is staff is never session state: it is looked up from the request's cookie each call.
    """

    def __init__(self, assistant: Assistant, access: StaffAccess | None = None):
        self.assistant = assistant
        self.access = access
        self._trouble: FeedbackTrouble | None = None
        self._trouble_lock = threading.Lock()

    @property
    def max_messages(self) -> int:
        """Chat messages kept per session: a question and an answer per turn."""
        return 2 * self.assistant.settings.web.chat_turns

    def user(self, request) -> str | None:
        """The staff member logged in with this request's cookie, or None.

        A staff call also binds the Gradio session hash to the login, so the hash cannot be
        used without the cookie afterwards (:meth:`~assistant.sessions.StaffSessions.bind`).
        """
        if self.access is None or request is None:
            return None
        cookies = _cookies(request)
        user = self.access.user(cookies)
        session_hash = getattr(request, "session_hash", None)
        if user is not None and session_hash:
            self.access.sessions.bind(self.access.token(cookies), session_hash)
        return user

    def ask_api(self, question: str, mode: str = "hybrid") -> dict:
        """The public question endpoint: the same JSON as ``ask --json``; public documents only."""
        mode = mode if mode in MODES else None
        return self.assistant.ask(clean_text(question), mode=mode, filters=PUBLIC).to_json()

    # ---------------------------------------------------------------- feedback store

    def _feedback(self, method: str, *args) -> tuple[bool, object]:
        """A call to the feedback store that cannot stop an answer: (True, its result), or
        (False, None) after logging the error and keeping it for the staff view."""
        try:
            return True, getattr(self.assistant.feedback, method)(*args)
        except Exception as error:  # feedback is a side matter: whatever fails, answer on
            log.exception("Tilbakemeldingslageret feilet")
            with self._trouble_lock:
                self._trouble = FeedbackTrouble(time.time(), f"{type(error).__name__}: {error}")
            return False, None

    def feedback_trouble(self) -> FeedbackTrouble | None:
        with self._trouble_lock:
            return self._trouble

    def trouble_text(self) -> str:
        """One line for staff about the feedback store's last failure, or nothing."""
        trouble = self.feedback_trouble()
        if trouble is None:
            return ""
        when = time.strftime("%d.%m.%Y kl. %H:%M", time.localtime(trouble.when))
        return (f"Tilbakemeldinger kunne ikke lagres ({when}: {trouble.error[:300]}). "
                "Svarene gis som før; se serverloggen.")

    def _trouble_html(self) -> str:
        import html

        text = self.trouble_text()
        return f'<p class="advarsel" role="alert">{html.escape(text)}</p>' if text else ""

    # ---------------------------------------------------------------- chat

    def chat(self, message: str, history: list[dict] | None, context: str | None) -> tuple:
        """One turn of the chat: the values for :func:`_chat_outputs`.

        ``history`` is the server's own copy (a ``gr.State``), never the page's; it keeps
        the last ``chat_turns`` turns.
        """
        message = clean_text(message)
        context = clean_text(context, MAX_QUESTION_CHARS) or None
        history = list(history or [])
        answer = self.assistant.ask(message, filters=PUBLIC, context=context)
        answer_id = None
        if answer.question:
            history.append({"role": "user", "content": answer.question})
            _, answer_id = self._feedback("record_answer", answer.question, answer.to_json(),
                                          self.assistant.settings.search.mode)
        history.append({"role": "assistant",
                        "content": _cut_notice(message)
                        + answer_html(answer, self.assistant.documents(PUBLIC))})
        history = history[-self.max_messages:]
        choices = [(citation_label(c), c.n) for c in answer.citations]
        next_context = (answer.searched_for or context) if answer.found else context
        return ("", history, history, next_context, answer, answer_id,
                _update(choices=choices, value=None, visible=bool(choices)),
                SOURCE_HINT if choices else "", _update(visible=answer_id is not None), "")

    def ask_suggested(self, text: str, history: list[dict] | None, context: str | None) -> tuple:
        """A suggested question from the about tab, asked in the chat tab."""
        import gradio as gr

        return (gr.Tabs(selected="spor"), *self.chat(text, history, context))

    def clear(self) -> tuple:
        """A new conversation: no history, context, answer or sources."""
        return ([], [], None, None, None, _update(choices=[], visible=False), "",
                _update(visible=False))

    def show_source(self, n: int | None, answer: Answer | None) -> str:
        """The page that citation ``n`` of the last answer points at."""
        if not n or answer is None or not isinstance(n, int):
            return SOURCE_HINT
        citation = next((c for c in answer.citations if c.n == n), None)
        if citation is None:
            return SOURCE_MISSING
        found = self.assistant.source(citation, PUBLIC)
        if found.chunk is None:
            return SOURCE_MISSING
        if found.document is None:
            return SOURCE_OUTDATED
        return source_html(found.document, found.chunk, citation)

    def give_feedback(self, rating: str, comment: str, answer_id: int | None) -> str:
        if answer_id is None:
            return "Still et spørsmål først."
        comment = clean_text(comment).strip() or None
        saved, _ = self._feedback("record_feedback", answer_id, rating, comment)
        return FEEDBACK_THANKS if saved else FEEDBACK_FAILED

    def thumbs_up(self, comment: str, answer_id: int | None) -> str:
        return self.give_feedback("up", comment, answer_id)

    def thumbs_down(self, comment: str, answer_id: int | None) -> str:
        return self.give_feedback("down", comment, answer_id)

    # ---------------------------------------------------------------- staff search

    def staff_search(self, text: str, mode: str | None, doc_ids: list[str] | None,
                     years: list[str] | None, doc_types: list[str] | None,
                     request=None) -> str:
        """The search tab's hits, among internal documents too when the request carries a
        valid staff login cookie."""
        user = self.user(request)
        filters = replace(
            _visible_to(user),
            doc_ids=_values(doc_ids),
            years=frozenset(int(y) for y in _values(years) or () if str(y).isdigit()) or None,
            doc_types=_values(doc_types),
        )
        mode = mode if mode in MODES else None
        found = self.assistant.search(clean_text(text), k=25, mode=mode, filters=filters)
        warning = self._trouble_html() if user else ""
        return warning + hits_html(found.query, found.hits)

    def filter_choices(self, user: str | None) -> tuple:
        """Updates for the document, year and type filters: only what the user may see."""
        choices = self.assistant.filter_choices(_visible_to(user))
        return (
            _update(choices=choices.documents),
            _update(choices=[str(year) for year in choices.years]),
            _update(choices=choices.doc_types),
        )

    def login_state(self, user: str | None, message: str | None = None) -> tuple:
        """The values for :func:`_login_outputs`: logged in as ``user``, or not (with why)."""
        if user is not None:
            trouble = self.trouble_text()
            status = logged_in_message(user) + (f"\n\n**Merk:** {trouble}" if trouble else "")
            return (status, _update(visible=False),
                    _update(visible=True), "", *self.filter_choices(user))
        if message is None:
            message = LOGIN_HINT if self.access is not None and self.access.enabled else NO_LOGIN
        return (message, _update(visible=True), _update(visible=False), "",
                *self.filter_choices(None))

    def login(self, name: str, message: str, request=None) -> tuple:
        """After the page has posted the login (:data:`LOGIN_JS`): the state the cookie
        gives. ``message`` is what the login route answered, shown when not logged in."""
        user = self.user(request)
        if user is None:
            message = clean_text(message, 300).strip() or "Feil brukernavn eller passord."
            return self.login_state(None, message)
        return self.login_state(user)

    def logout(self, request=None) -> tuple:
        """Ends the login behind the cookie here too, so it is over even if the page's own
        call to the logout route did not get through."""
        if self.access is not None and request is not None:
            self.access.logout(_cookies(request))
        return self.login_state(None, LOGGED_OUT)

    # ---------------------------------------------------------------- about

    def load(self, request=None) -> tuple:
        """On page load: the public document list, and the login state the cookie gives."""
        return (documents_html(self.assistant.documents(PUBLIC).values()),
                *self.login_state(self.user(request)))


def _values(values: list | None) -> frozenset[str] | None:
    """A multiselect filter from the page: strings only, a bounded number, or None."""
    if not isinstance(values, list) or not values:
        return None
    kept = frozenset(clean_text(str(v), 300) for v in values[:MAX_FILTER_VALUES]
                     if isinstance(v, str | int))
    return kept or None


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Session:
    """Per-browser-session values, kept by Gradio on the server between events.

    No login here: who is staff comes from the cookie of each request.
    """

    history: gr.State
    context: gr.State
    last_answer: gr.State
    answer_id: gr.State


@dataclass(frozen=True)
class ChatTab:
    chatbot: gr.Chatbot
    question: gr.Textbox
    send: gr.Button
    clear: gr.Button
    feedback_box: gr.Group
    comment: gr.Textbox
    thumbs_up: gr.Button
    thumbs_down: gr.Button
    feedback_status: gr.Markdown
    sources: gr.Radio
    source_view: gr.HTML


@dataclass(frozen=True)
class SearchTab:
    query: gr.Textbox
    mode: gr.Radio
    doc_filter: gr.Dropdown
    year_filter: gr.Dropdown
    type_filter: gr.Dropdown
    search: gr.Button
    results: gr.HTML
    login_box: gr.Group
    name: gr.Textbox
    password: gr.Textbox
    login: gr.Button
    logout: gr.Button
    login_status: gr.Markdown

    @property
    def filters(self) -> list:
        return [self.doc_filter, self.year_filter, self.type_filter]


@dataclass(frozen=True)
class AboutTab:
    document_table: gr.HTML
    #: One button per suggested question, with its question.
    topic_buttons: list[tuple[gr.Button, str]]


def _session() -> Session:
    import gradio as gr

    return Session(history=gr.State([]), context=gr.State(None), last_answer=gr.State(None),
                   answer_id=gr.State(None))


def _chat_tab() -> ChatTab:
    import gradio as gr

    with gr.Tab("Spør", id="spor"):
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                chatbot = gr.Chatbot(label="Samtale", height=460, elem_id="samtale",
                                     feedback_options=None, buttons=["copy"])
                question = gr.Textbox(label="Ditt spørsmål", elem_id="sporsmal",
                                      placeholder="Skriv spørsmålet ditt her …",
                                      lines=1, max_lines=4, max_length=MAX_FIELD_CHARS)
                with gr.Row():
                    send = gr.Button("Spør", variant="primary", elem_id="spor-knapp")
                    clear = gr.Button("Ny samtale", elem_id="ny-samtale")
                gr.Markdown(f"*{DISCLAIMER}*", elem_id="forbehold")
                with gr.Group(visible=False, elem_id="tilbakemelding") as feedback_box:
                    comment = gr.Textbox(label="Kommentar til svaret (valgfritt)",
                                         elem_id="kommentar", lines=1, max_length=2000)
                    with gr.Row():
                        thumbs_up = gr.Button("👍 Svaret var nyttig", elem_id="tommel-opp")
                        thumbs_down = gr.Button("👎 Svaret var ikke nyttig", elem_id="tommel-ned")
                    feedback_status = gr.Markdown(elem_id="tilbakemelding-status")
                gr.Examples(EXAMPLES, inputs=question, label="Eksempler på spørsmål")
            with gr.Column(scale=2, min_width=280):
                sources = gr.Radio([], label="Vis kilde", elem_id="vis-kilde",
                                   type="value", visible=False)
                source_view = gr.HTML(elem_id="kildevisning")
    return ChatTab(chatbot, question, send, clear, feedback_box, comment, thumbs_up,
                   thumbs_down, feedback_status, sources, source_view)


def _search_tab(login_enabled: bool) -> SearchTab:
    import gradio as gr

    with gr.Tab("Søk i dokumentene", id="sok-fane"):
        with gr.Row():
            query = gr.Textbox(label="Søk i dokumentene", elem_id="sok", scale=4,
                               max_length=MAX_FIELD_CHARS,
                               placeholder="Ord, navn eller en hel setning …")
            mode = gr.Radio([(MODE_LABELS[m], m) for m in MODES], value="hybrid",
                            label="Søkemåte", elem_id="sokemodus", scale=2)
        with gr.Row():
            doc_filter = gr.Dropdown([], multiselect=True, label="Dokument", elem_id="filter-dokument")
            year_filter = gr.Dropdown([], multiselect=True, label="År", elem_id="filter-ar")
            type_filter = gr.Dropdown([], multiselect=True, label="Dokumenttype", elem_id="filter-type")
        search = gr.Button("Søk", variant="primary", elem_id="sok-knapp")
        results = gr.HTML(elem_id="treffliste", js_on_load=COPY_JS)
        with gr.Accordion("Innlogging for ansatte", open=False, elem_id="innlogging"):
            with gr.Group() as login_box:
                name = gr.Textbox(label="Brukernavn", elem_id="brukernavn", max_length=200)
                password = gr.Textbox(label="Passord", type="password", elem_id="passord",
                                      max_length=200)
                login = gr.Button("Logg inn", elem_id="logg-inn")
            logout = gr.Button("Logg ut", visible=False, elem_id="logg-ut")
            login_status = gr.Markdown(LOGIN_HINT if login_enabled else NO_LOGIN,
                                       elem_id="innlogging-status")
    return SearchTab(query, mode, doc_filter, year_filter, type_filter, search, results,
                     login_box, name, password, login, logout, login_status)


def _about_tab() -> AboutTab:
    import gradio as gr

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
    return AboutTab(document_table, topic_buttons)


# --------------------------------------------------------------------------- events


def _on(event, fn, inputs, outputs, js: str | None = None) -> None:
    """Wire one UI event; only ``ask`` is part of the public API, so every UI event is private
    (hidden from the API page; the handlers are safe to call directly all the same)."""
    event(fn, inputs, outputs, api_visibility="private", js=js)


def _chat_outputs(chat: ChatTab, session: Session) -> list:
    """What a chat turn updates, in the order :meth:`Handlers.chat` returns them."""
    return [chat.question, chat.chatbot, session.history, session.context, session.last_answer,
            session.answer_id, chat.sources, chat.source_view, chat.feedback_box,
            chat.feedback_status]


def _login_outputs(search: SearchTab) -> list:
    """What a login or logout updates, in the order :meth:`Handlers.login_state` returns them."""
    return [search.login_status, search.login_box, search.logout, search.password, *search.filters]


def _wire_chat(chat: ChatTab, session: Session, handlers: Handlers) -> None:
    # the history is the server's (session.history), not the chatbot's value from the page
    inputs = [chat.question, session.history, session.context]
    outputs = _chat_outputs(chat, session)
    _on(chat.send.click, handlers.chat, inputs, outputs)
    _on(chat.question.submit, handlers.chat, inputs, outputs)
    _on(chat.clear.click, handlers.clear, None,
        [chat.chatbot, session.history, session.context, session.last_answer, session.answer_id,
         chat.sources, chat.source_view, chat.feedback_box])
    _on(chat.sources.change, handlers.show_source, [chat.sources, session.last_answer], chat.source_view)
    feedback_inputs = [chat.comment, session.answer_id]
    _on(chat.thumbs_up.click, handlers.thumbs_up, feedback_inputs, chat.feedback_status)
    _on(chat.thumbs_down.click, handlers.thumbs_down, feedback_inputs, chat.feedback_status)


def _wire_search(search: SearchTab, handlers: Handlers) -> None:
    inputs = [search.query, search.mode, *search.filters]
    staff_search = _requesting(handlers.staff_search)
    _on(search.search.click, staff_search, inputs, search.results)
    _on(search.query.submit, staff_search, inputs, search.results)
    login_outputs = _login_outputs(search)
    login = _requesting(handlers.login)
    # LOGIN_JS posts the password to the login route and passes on its answer instead
    for event in (search.login.click, search.password.submit):
        _on(event, login, [search.name, search.password], login_outputs, js=LOGIN_JS)
    _on(search.logout.click, _requesting(handlers.logout), None, login_outputs, js=LOGOUT_JS)


def _wire_about(about: AboutTab, chat: ChatTab, session: Session, tabs: gr.Tabs,
                handlers: Handlers) -> None:
    outputs = [tabs, *_chat_outputs(chat, session)]
    for button, text in about.topic_buttons:
        _on(button.click, _asker(handlers, text), [session.history, session.context], outputs)


def _asker(handlers: Handlers, text: str):
    """The click handler of one suggested question (a function of the chat's inputs).

    Not named ``ask``: Gradio names events after their function, and a second ``ask``
    would move the public endpoint to ``/ask_1``.
    """
    def suggested(history: list[dict] | None, context: str | None) -> tuple:
        return handlers.ask_suggested(text, history, context)
    return suggested


# --------------------------------------------------------------------------- app


def create_app(assistant: Assistant, access: StaffAccess | None = None):
    """The Gradio Blocks app; ``access`` with accounts enables login to internal documents."""
    import gradio as gr

    handlers = Handlers(assistant, access)
    with gr.Blocks(title=TITLE) as app:
        gr.Markdown(f"# {TITLE}\nSpør om Osloregionen og få svar hentet fra rådets egne dokumenter.")
        session = _session()
        with gr.Tabs(selected="spor", overflow_behavior="wrap") as tabs:
            chat = _chat_tab()
            search = _search_tab(login_enabled=access is not None and access.enabled)
            about = _about_tab()
        _wire_chat(chat, session, handlers)
        _wire_search(search, handlers)
        _wire_about(about, chat, session, tabs, handlers)
        _on(app.load, _requesting(handlers.load), None,
            [about.document_table, *_login_outputs(search)])
        gr.api(handlers.ask_api, api_name="ask")
    return app

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
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .access import StaffAccess, logged_in_message
from .answer import Answer
from .config import CONTACT_URL, FEEDBACK_RETENTION_DAYS, MAX_QUESTION_CHARS
from .render import answer_html, citation_label, documents_html, hits_html, source_html
from .search import MODE_LABELS, MODES, PUBLIC, STAFF, Filters
from .service import Assistant
from .userinput import without_surrogates

if TYPE_CHECKING:  # Gradio is imported when an app is built, not when this module is
    import gradio as gr

TITLE = "Osloregionen-assistenten"
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
#: The landing page's plain statement of what the assistant is, what it keeps, and where a
#: person can be reached (issue #14: public-service basics).
ABOUT_SERVICE = f"""\
**Slik virker assistenten.** Svarene er sitater fra Osloregionens egne dokumenter, funnet
automatisk av et dataprogram. Ingen person har lest spørsmålet ditt eller sjekket svaret
før du ser det, og sitatet kan være galt valgt: kilden står under hvert svar.

**Dette lagres.** Spørsmålene og tilbakemeldingene dine lagres i
{FEEDBACK_RETENTION_DAYS // 30} måneder, så vi kan forbedre tjenesten. Vi lagrer ikke
hvem du er. Fødselsnumre, e-postadresser og telefonnumre fjernes automatisk før noe lagres.

**Ikke skriv personopplysninger** om deg selv eller andre, som navn, adresse eller
helseopplysninger.

**Vil du snakke med et menneske?** Kontakt Osloregionen: [{CONTACT_URL.split("://", 1)[-1].rstrip("/")}]({CONTACT_URL}).
"""
SOURCE_HINT = "<p><em>Velg en kilde over for å se siden den står på, med utdraget markert.</em></p>"
#: What the chat says about feedback, and when an answer could not be given.
RATE_HINT = ("Trykk på 👍 eller 👎 under et svar for å si om det var nyttig. "
             "Du kan ombestemme deg.")
NOT_RATEABLE = "Dette svaret kan ikke vurderes. Still et spørsmål først."
FEEDBACK_FAILED = "Tilbakemeldingen kunne ikke lagres akkurat nå. Prøv gjerne igjen senere."
COMMENT_NEEDS_RATING = "Trykk på 👍 eller 👎 under svaret før du skriver en kommentar."
TIMED_OUT = ("Svaret tok for lang tid, så vi ga opp. Spørsmålet ditt står fortsatt i feltet: "
             "prøv igjen om litt.")
RATING_SIGNS = {"up": "👍", "down": "👎"}
#: What the source view says when the index was rebuilt since the answer was given.
SOURCE_MISSING = "<p>Fant ikke kilden. Still spørsmålet på nytt.</p>"
SOURCE_OUTDATED = "<p>Dokumentet er oppdatert siden svaret ble gitt. Still spørsmålet på nytt.</p>"
CSS = """
.kilde mark, .treff mark, .kildevisning mark { background: #ffe066; color: #000; padding: 0 2px; }
.kildevisning .utdrag { background: #e7f1ff; }
.kilde blockquote, .treff blockquote { margin: 4px 0 8px 0; }
.treff { border-bottom: 1px solid #ccc; padding: 8px 0; }
.treff button.kopier, button.kopier-svar { cursor: pointer; margin-left: 6px; }
.tabellboks { overflow-x: auto; max-width: 100%; }
.tabellboks table { min-width: 32em; }
/* Contrast (axe, WCAG AA): white text on the primary buttons at least 4.5:1, links and
   muted text dark enough, and a focus ring that stands out (at least 3:1). */
:root, .dark {
  --button-primary-background-fill: #b93d0c;
  --button-primary-background-fill-hover: #8f2f09;
  --button-primary-text-color: #ffffff;
  --button-primary-text-color-hover: #ffffff;
  --link-text-color: #1d4ed8;
  --body-text-color-subdued: #4b5563;
  --block-info-text-color: #4b5563;
  --input-placeholder-color: #5b6370;
  --ring-color: #1d4ed8;
  --color-accent: #1d4ed8;
}
:focus-visible, button:focus-visible, .gradio-container button:focus-visible {
  outline: 3px solid #1d4ed8 !important; outline-color: #1d4ed8 !important; outline-offset: 2px;
}
footer, footer a, footer button { color: #374151 !important; }
/* Phone: the sources right under the chat, not below the examples. */
@media (max-width: 640px) {
  .gradio-container { padding: 4px !important; }
  #spor-rad { flex-direction: column; flex-wrap: nowrap; }
  #spor-kolonne { display: contents; }
  #spor-kolonne > * { order: 9; }
  /* Gradio wraps some components (text boxes in a .form): order the wrapper then. */
  #spor-kolonne > :is(#samtale, :has(#samtale)) { order: 1; }
  #spor-kolonne > :is(#sporsmal, :has(#sporsmal)) { order: 2; }
  #spor-kolonne > :is(#spor-knapper, :has(#spor-knapper)) { order: 3; }
  #spor-kolonne > :is(#samtale-status, :has(#samtale-status)) { order: 4; }
  #spor-kolonne > :is(#tilbakemelding-status, :has(#tilbakemelding-status)) { order: 5; }
  #spor-kolonne > :is(#tilbakemelding, :has(#tilbakemelding)) { order: 6; }
  #kilde-kolonne { order: 7; min-width: 0 !important; }
  #spor-kolonne > :is(#forbehold, :has(#forbehold)) { order: 8; }
}
"""
#: Under every answer: copies the bubble as plain text (Gradio's own copy gives HTML).
COPY_ANSWER_BUTTON = '<p><button type="button" class="kopier-svar">Kopier svaret</button></p>'
#: Runs before Gradio's own scripts (see :func:`assistant.server.norwegian_page`): Gradio
#: takes its language from the browser's, so it is pinned to bokmål here; chat bubbles get
#: screen-reader names without markup; Gradio's English error toasts are said in Norwegian;
#: and "Kopier svaret" copies an answer as plain text.
HEAD_JS = """
(() => {
  const pin = {language: 'nb', languages: ['nb', 'no']};
  for (const [key, value] of Object.entries(pin)) {
    try { Object.defineProperty(navigator, key, {get: () => value, configurable: true}); }
    catch (error) {}
  }
  document.documentElement.lang = 'nb';
  const NORWEGIAN = [
    [/connection|connect|fetch|network/i,
     'Fikk ikke kontakt med serveren. Sjekk nettforbindelsen og prøv igjen om litt.'],
  ];
  function plain(element) {
    return (element.innerText || '').replace(/Kopier svaret|Kopiert ✓/g, '').replace(/\\s+/g, ' ').trim();
  }
  function fix(root) {
    for (const element of root.querySelectorAll(`[aria-label*="'s message: "], [data-melding]`)) {
      const label = element.getAttribute('aria-label') || '';
      if (!element.dataset.melding) {
        element.dataset.melding = label.startsWith('user') ? 'Ditt spørsmål' : 'Svar';
      }
      const name = `${element.dataset.melding}: ${plain(element).slice(0, 300)}`;
      if (label !== name) element.setAttribute('aria-label', name);
    }
    for (const element of root.querySelectorAll('[aria-label="chatbot conversation"]')) {
      element.setAttribute('aria-label', 'Samtale');
    }
    for (const title of root.querySelectorAll('.toast-title')) {
      const text = {Error: 'Feil', Warning: 'Advarsel', Info: 'Melding'}[title.textContent.trim()];
      if (text) title.textContent = text;
    }
    for (const toast of root.querySelectorAll('.toast-body .toast-text, [data-testid="toast-text"]')) {
      for (const [pattern, text] of NORWEGIAN) {
        if (pattern.test(toast.textContent) && toast.textContent !== text) toast.textContent = text;
      }
    }
  }
  // "Kopier svaret" under an answer (plain text) and "Kopier referanse" on a search hit.
  function copied(button) {
    if (button.classList.contains('kopier-svar')) {
      return plain(button.closest('.message, [data-testid="bot"], .bot') || button.parentElement);
    }
    const viewer = button.dataset.viewer && new URL(button.dataset.viewer, location.href).href;
    return [button.dataset.ref, viewer].filter(Boolean).join(', ');
  }
  document.addEventListener('click', async (event) => {
    const button = event.target.closest('button.kopier-svar, button.kopier');
    if (!button) return;
    const text = copied(button);
    try { await navigator.clipboard.writeText(text); }
    catch (error) {
      const area = document.createElement('textarea');
      area.value = text; document.body.appendChild(area); area.select();
      document.execCommand('copy'); area.remove();
    }
    button.textContent = 'Kopiert ✓';
  });
  const start = () => {
    fix(document);
    new MutationObserver(() => fix(document)).observe(document.body, {
      subtree: true, childList: true, characterData: true, attributes: true,
      attributeFilter: ['aria-label']});
  };
  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
})();
"""


LOGGED_OUT = "Du er logget ut. Bare offentlige dokumenter er med i søket."
LOGIN_HINT = "Ansatte kan logge inn for å søke også i interne dokumenter."
NO_LOGIN = "Innlogging er ikke satt opp; bare offentlige dokumenter er søkbare."
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
def clean_text(text: object, limit: int = MAX_FIELD_CHARS) -> str:
    """A field from the page as safe text: a string, at most ``limit`` characters, lone
    surrogates (which UTF-8 cannot encode) replaced as everywhere else
    (:func:`~assistant.userinput.without_surrogates`), NUL removed."""
    if not isinstance(text, str):
        return ""
    return without_surrogates(text[:limit]).replace("\x00", "")


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


def _skip():
    """"Leave this output as it is" (Gradio is imported only once an app is built)."""
    import gradio as gr

    return gr.skip()


def cut_notice(question: str) -> str:
    """The note above an answer when the question was longer than the assistant reads."""
    length = len(" ".join((question or "").split()))
    if length <= MAX_QUESTION_CHARS:
        return ""
    return (f'<p class="merknad"><em>Spørsmålet ditt var på {_thousands(length)} tegn. '
            f"Bare de første {_thousands(MAX_QUESTION_CHARS)} tegnene er brukt.</em></p>")


def _thousands(n: int) -> str:
    """5 000 with a no-break space, as numbers are written in Norwegian."""
    return f"{n:,}".replace(",", "\u00a0")


def _question_before(history: list[dict], index: int, limit: int = 60) -> str:
    """The question answered by bubble ``index`` (the user message before it), shortened."""
    for message in reversed((history or [])[:index]):
        if message.get("role") == "user":
            text = " ".join(_text_of(message.get("content")).split())
            return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return "spørsmålet"


def _answer_ids(values: object) -> dict[int, int]:
    """The session's bubble → answer id map, as ints only (it is server state, but a
    handler is callable directly, so nothing it is given is trusted)."""
    if not isinstance(values, dict):
        return {}
    return {int(k): int(v) for k, v in values.items()
            if isinstance(k, int) and isinstance(v, int)}


def _keep_last(history: list[dict], answer_ids: dict[int, int],
               n: int) -> tuple[list[dict], dict[int, int]]:
    """The last ``n`` messages, and the answer ids moved with their bubbles."""
    drop = max(0, len(history) - n)
    return history[drop:], {i - drop: a for i, a in answer_ids.items() if i >= drop}


def login_line_text(user: str | None, login_enabled: bool) -> str:
    """Who is logged in, shown above the hits (the login panel itself is folded away)."""
    if user:
        return f"**Logget inn som {user}.** Interne dokumenter er med i søket."
    if login_enabled:
        return "Ikke logget inn: bare offentlige dokumenter er med i søket."
    return "Bare offentlige dokumenter er med i søket."


def _text_of(content) -> str:
    """A chat message's text: Gradio sends it back as a list of parts (``{"text": …}``)."""
    if isinstance(content, list):
        return " ".join(_text_of(part) for part in content)
    if isinstance(content, dict):
        return str(content.get("text") or "")
    return str(content or "")


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
        self.timeout_s = assistant.settings.chat_timeout_s
        #: Answers are computed here, so a hung one can be given up (as many as the queue
        #: runs at once: see ``default_concurrency_limit`` in :mod:`assistant.server`).
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="svar")

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

    def chat(self, message: str, history: list[dict] | None, context: str | None,
             answer_ids: dict[int, int] | None = None) -> tuple:
        """One turn of the chat: the values for :func:`_chat_outputs`.

        ``history`` is the server's own copy (a ``gr.State``), never the page's; it keeps
        the last ``chat_turns`` turns. An empty question changes nothing (no new bubble). A
        question that takes longer than ``Settings.chat_timeout_s`` is given up: the
        question stays in the box, with a message.
        """
        message = clean_text(message)
        context = clean_text(context, MAX_QUESTION_CHARS) or None
        if not message.strip():
            return tuple(_skip() for _ in range(CHAT_OUTPUTS))
        try:
            answer = self._ask_in_time(message, context)
        except FutureTimeout:
            return (message, *(_skip() for _ in range(CHAT_OUTPUTS - 2)), TIMED_OUT)
        history, answer_ids = list(history or []), _answer_ids(answer_ids)
        history.append({"role": "user", "content": answer.question})
        content = (cut_notice(message) + answer_html(answer, self.assistant.documents(PUBLIC))
                   + COPY_ANSWER_BUTTON)
        history.append({"role": "assistant", "content": content})
        _, answer_id = self._feedback("record_answer", answer.question, answer.to_json(),
                                      self.assistant.settings.search.mode)
        if answer_id is not None:
            answer_ids[len(history) - 1] = answer_id
        history, answer_ids = _keep_last(history, answer_ids, self.max_messages)
        choices = [(citation_label(c), c.n) for c in answer.citations]
        next_context = (answer.searched_for or context) if answer.found else context
        return ("", history, history, next_context, answer, answer_ids,
                _update(choices=choices, value=None, visible=bool(choices)),
                SOURCE_HINT if choices else "", RATE_HINT, "")

    def _ask_in_time(self, message: str, context: str | None) -> Answer:
        """The answer, or :class:`TimeoutError` after ``timeout_s`` seconds (the worker thread is
        left to finish on its own: Python cannot stop it, and the answer is then cached)."""
        future = self._pool.submit(self.assistant.ask, message, filters=PUBLIC, context=context)
        return future.result(timeout=self.timeout_s)

    def ask_suggested(self, text: str, history: list[dict] | None, context: str | None,
                      answer_ids: dict[int, int] | None) -> tuple:
        """A suggested question from the about tab, asked in the chat tab."""
        import gradio as gr

        return (gr.Tabs(selected="spor"), *self.chat(text, history, context, answer_ids))

    def clear(self) -> tuple:
        """A new conversation: no history, context, answer, ratings or sources."""
        return ([], [], None, None, {}, {}, None, _update(choices=[], visible=False), "", "",
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

    # ---------------------------------------------------------------- feedback

    def rate(self, index: int, liked: bool | str, history: list[dict],
             answer_ids: dict[int, int] | None, ratings: dict[int, str] | None) -> tuple:
        """A 👍/👎 under answer bubble ``index``: stored for the answer that bubble shows.

        Returns the status line, the new ratings, the bubble the comment box now belongs
        to, and updates for the comment group and box. A second click on the other thumb changes the
        rating and says so; clicking the chosen thumb again withdraws it.
        """
        ratings = dict(ratings or {})
        answer_id = (answer_ids or {}).get(index)
        if answer_id is None:
            return NOT_RATEABLE, ratings, None, _update(visible=False), _skip()
        asked = _question_before(history, index)
        earlier = ratings.get(index)
        if liked in (True, False):
            rating = "up" if liked else "down"
            saved, _ = self._feedback("record_feedback", answer_id, rating)
            if saved:
                ratings[index] = rating
        else:
            saved, _ = self._feedback("withdraw", answer_id)
            if saved:
                ratings.pop(index, None)
        if not saved:
            return FEEDBACK_FAILED, ratings, None, _update(visible=False), _skip()
        rating = ratings.get(index)
        if rating is None:
            return (f"Du har trukket tilbake vurderingen av svaret på «{asked}».", ratings,
                    None, _update(visible=False), _skip())
        if earlier and earlier != rating:
            status = (f"Vurderingen av svaret på «{asked}» er endret fra "
                      f"{RATING_SIGNS[earlier]} til {RATING_SIGNS[rating]}.")
        else:
            status = f"Takk! Du ga svaret på «{asked}» {RATING_SIGNS[rating]}."
        return (status, ratings, index, _update(visible=True),
                _update(label=f"Kommentar til svaret på «{asked}» (valgfritt)"))

    def send_comment(self, comment: str, index: int | None, history: list[dict],
                     answer_ids: dict[int, int] | None, ratings: dict[int, str] | None) -> tuple:
        """The comment for the answer last rated; the box is emptied once it is stored."""
        text = (comment or "").strip()
        answer_id = (answer_ids or {}).get(index) if index is not None else None
        rating = (ratings or {}).get(index) if index is not None else None
        if answer_id is None or rating is None:
            return comment, COMMENT_NEEDS_RATING
        if not text:
            return "", "Skriv en kommentar først, eller la feltet stå tomt."
        saved, _ = self._feedback("record_feedback", answer_id, rating, clean_text(text, 2000))
        if not saved:
            return comment, FEEDBACK_FAILED
        asked = _question_before(history, index)
        return "", f"Takk! Kommentaren er lagret sammen med vurderingen av svaret på «{asked}»."

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

    def login_line(self, request=None) -> str:
        """The status line above the hits: whether internal documents are searched (from
        the request's login cookie, like everything about staff)."""
        return login_line_text(self.user(request),
                               self.access is not None and self.access.enabled)

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
    """Per-browser-session values, kept by Gradio between events (on the server).

    ``answer_ids`` maps each answer bubble (its index in the chat history) to the logged
    answer it shows, so a 👍 under an older bubble rates that answer; ``ratings`` holds
    the rating given per bubble, ``rated`` the bubble the comment box belongs to. No
    login here: who is staff comes from the cookie of each request.
    """

    history: gr.State
    context: gr.State
    last_answer: gr.State
    history: gr.State
    answer_ids: gr.State
    ratings: gr.State
    rated: gr.State


@dataclass(frozen=True)
class ChatTab:
    chatbot: gr.Chatbot
    question: gr.Textbox
    send: gr.Button
    clear: gr.Button
    status: gr.Markdown
    comment_box: gr.Group
    comment: gr.Textbox
    send_comment: gr.Button
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
    login_line: gr.Markdown
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
                   answer_ids=gr.State({}), ratings=gr.State({}), rated=gr.State(None))


def _chat_tab() -> ChatTab:
    import gradio as gr

    with gr.Tab("Spør", id="spor"):
        with gr.Row(equal_height=False, elem_id="spor-rad"):
            with gr.Column(scale=3, min_width=300, elem_id="spor-kolonne"):
                chatbot = gr.Chatbot(label="Samtale", elem_id="samtale", height="auto",
                                     min_height=120, max_height=560, buttons=[],
                                     feedback_options=("Like", "Dislike"),
                                     placeholder="Svarene kommer her.")
                question = gr.Textbox(label="Ditt spørsmål", elem_id="sporsmal",
                                      placeholder="Skriv spørsmålet ditt her …",
                                      lines=1, max_lines=4, max_length=MAX_FIELD_CHARS)
                with gr.Row(elem_id="spor-knapper"):
                    send = gr.Button("Spør", variant="primary", elem_id="spor-knapp")
                    clear = gr.Button("Ny samtale", elem_id="ny-samtale")
                status = gr.Markdown(elem_id="samtale-status")
                feedback_status = gr.Markdown(elem_id="tilbakemelding-status")
                with gr.Group(visible=False, elem_id="tilbakemelding") as comment_box:
                    comment = gr.Textbox(label="Kommentar til svaret (valgfritt)",
                                         elem_id="kommentar", lines=1, max_lines=4,
                                         max_length=2000)
                    send_comment = gr.Button("Send kommentar", elem_id="send-kommentar")
                gr.Markdown(ABOUT_SERVICE, elem_id="forbehold")
                gr.Examples(EXAMPLES, inputs=question, label="Eksempler på spørsmål")
            with gr.Column(scale=2, min_width=280, elem_id="kilde-kolonne"):
                sources = gr.Radio([], label="Vis kilde", elem_id="vis-kilde",
                                   type="value", visible=False)
                source_view = gr.HTML(elem_id="kildevisning")
    return ChatTab(chatbot, question, send, clear, status, comment_box, comment, send_comment,
                   feedback_status, sources, source_view)


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
        login_line = gr.Markdown(login_line_text(None, login_enabled), elem_id="innlogget")
        results = gr.HTML(elem_id="treffliste")  # copy buttons: HEAD_JS
        with gr.Accordion("Innlogging for ansatte", open=False, elem_id="innlogging"):
            with gr.Group() as login_box:
                name = gr.Textbox(label="Brukernavn", elem_id="brukernavn", max_length=200)
                password = gr.Textbox(label="Passord", type="password", elem_id="passord",
                                      max_length=200)
                login = gr.Button("Logg inn", elem_id="logg-inn")
            logout = gr.Button("Logg ut", visible=False, elem_id="logg-ut")
            login_status = gr.Markdown(LOGIN_HINT if login_enabled else NO_LOGIN,
                                       elem_id="innlogging-status")
    return SearchTab(query, mode, doc_filter, year_filter, type_filter, search, login_line, results,
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
            gr.Markdown(f"## {topic}")
            with gr.Row():
                for text in questions:
                    topic_buttons.append((gr.Button(text, size="sm"), text))
    return AboutTab(document_table, topic_buttons)


# --------------------------------------------------------------------------- events


def _on(event, fn, inputs, outputs, **options):
    """Wire one UI event; only ``ask`` is part of the public API, so every UI event is private."""
    return event(fn, inputs, outputs, api_visibility="private", **options)


#: How many values :meth:`Handlers.chat` returns (the outputs of :func:`_chat_outputs`).
CHAT_OUTPUTS = 10
#: Brings the source view into sight once it shows the chosen source (on a phone it lies
#: below the chat).
SCROLL_TO_SOURCE = """() => {
  document.getElementById('kildevisning')?.scrollIntoView({behavior: 'smooth', block: 'start'});
}"""


def _chat_outputs(chat: ChatTab, session: Session) -> list:
    """What a chat turn updates, in the order :meth:`Handlers.chat` returns them."""
    return [chat.question, chat.chatbot, session.history, session.context, session.last_answer,
            session.answer_ids, chat.sources, chat.source_view, chat.feedback_status, chat.status]


def _login_outputs(search: SearchTab) -> list:
    """What a login or logout updates, in the order :meth:`Handlers.login_state` returns them."""
    return [search.login_status, search.login_box, search.logout, search.password, *search.filters]


def _liker(handlers: Handlers):
    """The chatbot's 👍/👎 handler, with the ``gr.LikeData`` annotation Gradio looks for
    (this module's annotations are strings, and Gradio is imported late)."""
    import gradio as gr

    def rate(history: list[dict], answer_ids: dict, ratings: dict, data) -> tuple:
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        return handlers.rate(int(index), data.liked, history, answer_ids, ratings)
    rate.__annotations__ = {**rate.__annotations__, "data": gr.LikeData}
    return rate


def _wire_chat(chat: ChatTab, session: Session, handlers: Handlers) -> None:
    # the history is the server's (session.history), not the chatbot's value from the page
    inputs = [chat.question, session.history, session.context, session.answer_ids]
    outputs = _chat_outputs(chat, session)
    for event in (chat.send.click, chat.question.submit):  # the box is never covered
        _on(event, handlers.chat, inputs, outputs, show_progress_on=[chat.chatbot])
    _on(chat.clear.click, handlers.clear, None,
        [chat.chatbot, session.history, session.context, session.last_answer, session.answer_ids,
         session.ratings, session.rated, chat.sources, chat.source_view, chat.feedback_status,
         chat.comment_box])
    _on(chat.sources.change, handlers.show_source, [chat.sources, session.last_answer],
        chat.source_view).then(None, None, None, js=SCROLL_TO_SOURCE)
    _on(chat.chatbot.like, _liker(handlers), [session.history, session.answer_ids, session.ratings],
        [chat.feedback_status, session.ratings, session.rated, chat.comment_box, chat.comment])
    comment_inputs = [chat.comment, session.rated, session.history, session.answer_ids,
                      session.ratings]
    for event in (chat.send_comment.click, chat.comment.submit):
        _on(event, handlers.send_comment, comment_inputs, [chat.comment, chat.feedback_status])


def _wire_search(search: SearchTab, handlers: Handlers) -> None:
    inputs = [search.query, search.mode, *search.filters]
    staff_search = _requesting(handlers.staff_search)
    for event in (search.search.click, search.query.submit, search.mode.change):
        _on(event, staff_search, inputs, search.results)
    login_outputs = _login_outputs(search)
    login_line = _requesting(handlers.login_line)
    login = _requesting(handlers.login)
    # LOGIN_JS posts the password to the login route and passes on its answer instead
    for event in (search.login.click, search.password.submit):
        _on(event, login, [search.name, search.password], login_outputs, js=LOGIN_JS).then(
            login_line, None, search.login_line, api_visibility="private")
    _on(search.logout.click, _requesting(handlers.logout), None, login_outputs,
        js=LOGOUT_JS).then(login_line, None, search.login_line, api_visibility="private")


def _wire_about(about: AboutTab, chat: ChatTab, session: Session, tabs: gr.Tabs,
                handlers: Handlers) -> None:
    outputs = [tabs, *_chat_outputs(chat, session)]
    for button, text in about.topic_buttons:
        _on(button.click, _asker(handlers, text), [session.history, session.context,
                                                   session.answer_ids],
            outputs, show_progress_on=[chat.chatbot])


def _asker(handlers: Handlers, text: str):
    """The click handler of one suggested question (a function of the chat's inputs).

    Not named ``ask``: Gradio names events after their function, and a second ``ask``
    would move the public endpoint to ``/ask_1``.
    """
    def suggested(history: list[dict] | None, context: str | None, answer_ids: dict | None) -> tuple:
        return handlers.ask_suggested(text, history, context, answer_ids)
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

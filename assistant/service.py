"""The assistant as one object: settings + model + index → answers.

The CLI and the web app are thin layers over :class:`Assistant`. It loads the model
once, follows the index on disk (a rebuild is picked up without a restart), and keeps
a small cache so that a repeated question is answered without searching again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import cached_property

from .answer import EMPTY_QUESTION, Answer, Citation, compose_answer
from .chunking import Chunk
from .config import Settings
from .conversation import contextualize
from .embedding import Embedder
from .feedback import FILENAME as FEEDBACK_FILE, FeedbackStore
from .index import (
    BuildReport, Index, IndexMissing, StoredDocument, build_index, current_build, load_index,
)
from .selection import AnswerModels, default_models
from .search import MAX_QUESTION_CHARS, PUBLIC, Filters, Hit, Searcher

CACHE_SIZE = 256


@dataclass(frozen=True)
class CacheInfo:
    """How the answer cache has done since the index in use was loaded."""

    hits: int
    misses: int
    size: int
    maxsize: int = CACHE_SIZE


@dataclass(frozen=True)
class SearchResult:
    """Hits of a staff search, with the mode that produced them."""

    query: str
    mode: str
    hits: list[Hit]


@dataclass(frozen=True)
class CitedSource:
    """What the source view shows for a citation, looked up in the index in use.

    ``chunk`` is None when that index has no such chunk any more; ``document`` is None when
    the document is gone, no longer holds the chunk, or is not allowed by the filters.
    """

    chunk: Chunk | None
    document: StoredDocument | None


@dataclass(frozen=True)
class FilterChoices:
    """What the staff search can be narrowed to: the visible documents' ids, years, types."""

    documents: list[tuple[str, str]]  # (title, doc_id), by title
    years: list[int]  # newest first
    doc_types: list[str]


def normalize_question(question: str) -> str:
    """Collapse white space and cut very long questions instead of failing on them."""
    return " ".join((question or "").split())[:MAX_QUESTION_CHARS]


class Assistant:
    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 answer_models: AnswerModels | None = None):
        self.settings = settings
        self.embedder = embedder or Embedder(settings.model)
        #: The learned sentence scorers and answerability (shipped weights by default).
        self.answer_models = answer_models or default_models()
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._build = None
        self._cache: OrderedDict[tuple, Answer] = OrderedDict()
        self._hits = self._misses = 0

    # ----------------------------------------------------------------- index

    def build(self, rebuild: bool = False, progress: bool = True) -> BuildReport:
        report = build_index(self.settings, self.embedder, rebuild=rebuild, progress=progress)
        self.refresh()
        return report

    def ensure_index(self, progress: bool = True) -> BuildReport | None:
        """Build the index when there is none yet (first start of ``serve``)."""
        if current_build(self.settings.index_dir) is None:
            return self.build(progress=progress)
        return None

    def refresh(self) -> None:
        """Load the current build if it is not the one in use (after a rebuild)."""
        build = current_build(self.settings.index_dir)
        if build is None:
            raise IndexMissing(
                f"Fant ingen indeks i {self.settings.index_dir}. "
                "Bygg den med `python -m assistant index`."
            )
        with self._lock:
            if build == self._build and self._searcher is not None:
                return
            index = load_index(self.settings.index_dir, self.settings)
            self._searcher = Searcher(index, self.embedder, self.settings.search)
            self._build = build
            self._clear_cache()

    @property
    def searcher(self) -> Searcher:
        self.refresh()
        assert self._searcher is not None
        return self._searcher

    @property
    def index(self) -> Index:
        return self.searcher.index

    @cached_property
    def feedback(self) -> FeedbackStore:
        """👍/👎 and unanswered questions, in the index folder but outside the builds a
        rebuild swaps (see :mod:`assistant.feedback`); made on first use, once."""
        return FeedbackStore(self.settings.index_dir / FEEDBACK_FILE)

    # ----------------------------------------------------------------- questions

    def ask(self, question: str, mode: str | None = None, filters: Filters = PUBLIC,
            context: str | None = None) -> Answer:
        """An extractive answer with citations; never raises for odd questions.

        ``context`` is what the previous turn searched for: a follow-up such as
        "Når kom den?" is searched together with it (see :mod:`assistant.conversation`).
        """
        original = normalize_question(question)
        if not original:
            return Answer(question="", answer=EMPTY_QUESTION, found=False)
        question = normalize_question(contextualize(original, context))
        focus = original if question != original else None
        answer = self._answer(question, mode or self.settings.search.mode, filters, focus)
        return replace(answer, question=original, searched_for=question)

    def _answer(self, question: str, mode: str, filters: Filters,
                focus: str | None = None) -> Answer:
        """The answer to the (normalised, contextualised) question, cached."""
        searcher = self.searcher
        key = (question.lower(), mode, filters, (focus or "").lower())
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._hits += 1
                self._cache.move_to_end(key)
                return cached
            self._misses += 1
        query_vector = searcher.embed_query(question)
        hits = searcher.search(question, k=self.settings.search.top_k, mode=mode,
                               filters=filters, query_vector=query_vector)
        answer = compose_answer(question, hits, query_vector, self.embedder,
                                self.settings.search, mode, self.answer_models,
                                idf=searcher.index.lexical.idf, focus=focus)
        with self._lock:
            if self._searcher is searcher:  # not if a rebuild was loaded meanwhile
                self._cache[key] = answer
                if len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return answer

    def cache_info(self) -> CacheInfo:
        """Hits and misses of the answer cache (emptied whenever another build is loaded)."""
        with self._lock:
            return CacheInfo(self._hits, self._misses, len(self._cache))

    def clear_cache(self) -> None:
        """Forget cached answers (benchmarks measure uncached questions this way)."""
        with self._lock:
            self._clear_cache()

    def _clear_cache(self) -> None:
        self._cache.clear()
        self._hits = self._misses = 0

    def search(self, query: str, k: int = 20, mode: str | None = None,
               filters: Filters = PUBLIC) -> SearchResult:
        query = normalize_question(query)
        mode = mode or self.settings.search.mode
        return SearchResult(query, mode, self.searcher.search(query, k=k, mode=mode, filters=filters))

    # ----------------------------------------------------------------- views

    def documents(self, filters: Filters = PUBLIC) -> dict[str, StoredDocument]:
        """The indexed documents the filters allow, by id (the web app's document list)."""
        return {doc_id: document for doc_id, document in self.index.documents.items()
                if filters.allows(document)}

    def document(self, doc_id: str, filters: Filters = PUBLIC) -> StoredDocument | None:
        """One indexed document, or None if there is none by that id or the filters hide it."""
        document = self.index.documents.get(doc_id)
        if document is None or not filters.allows(document):
            return None
        return document

    def source(self, citation: Citation, filters: Filters = PUBLIC) -> CitedSource:
        """The chunk and document a citation of an earlier answer points at, if the index
        in use still has them (a rebuild may have changed both since)."""
        index = self.index  # one build for both look-ups
        if not 0 <= citation.chunk_id < len(index.chunks):
            return CitedSource(None, None)
        chunk = index.chunks[citation.chunk_id]
        document = index.documents.get(citation.doc_id)
        if document is None or chunk.doc_id != citation.doc_id or not filters.allows(document):
            return CitedSource(chunk, None)
        return CitedSource(chunk, document)

    def filter_choices(self, filters: Filters = PUBLIC) -> FilterChoices:
        """The staff search's filter choices among the documents ``filters`` allows."""
        documents = self.documents(filters).values()
        return FilterChoices(
            documents=sorted((d.meta.title, d.doc_id) for d in documents),
            years=sorted({d.meta.year for d in documents if d.meta.year}, reverse=True),
            doc_types=sorted({d.meta.doc_type for d in documents if d.meta.doc_type}),
        )

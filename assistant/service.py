"""The assistant as one object: settings + model + index → answers.

The CLI and the web app are thin layers over :class:`Assistant`. It loads the model
once, follows the index on disk (a rebuild is picked up without a restart), and keeps
a small cache so that a repeated question is answered without searching again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from .answer import EMPTY_QUESTION, Answer, Citation, compose_answer
from .chunking import Chunk
from .config import MAX_QUESTION_CHARS, Settings
from .conversation import contextualize
from .embedding import Embedder, Encoder
from .feedback import FILENAME as FEEDBACK_FILE
from .feedback import FeedbackStore
from .indexer import BuildReport, build_index
from .lru import LruCache
from .reader import CrossEncoderReader, Reader
from .search import PUBLIC, Filters, Hit, Searcher, relevant
from .selection import AnswerModels, default_models
from .store import (
    Index,
    IndexMissing,
    StoredDocument,
    current_build,
    load_index,
    missing_index_message,
    recover_current,
)
from .timing import NO_CLOCK, StageClock
from .userinput import cut, without_surrogates

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
    """Collapse white space, replace undecodable characters, and cut very long questions
    at a word boundary instead of failing on them (the cut never splits a number)."""
    return cut(" ".join(without_surrogates(question or "").split()), MAX_QUESTION_CHARS)


class Assistant:
    def __init__(self, settings: Settings, embedder: Encoder | None = None,
                 answer_models: AnswerModels | None = None, clock: StageClock | None = None,
                 reader: Reader | None = None):
        self.settings = settings
        #: Times the stages of each question when given (the benchmark's hook).
        self.clock = clock or NO_CLOCK
        self.embedder = embedder or Embedder(settings.model, settings.models_dir)
        #: The learned sentence scorers and answerability (shipped weights by default).
        self.answer_models = answer_models or default_models()
        #: Reads question and sentence together to find the sentence that answers; its
        #: export sits next to the embedding model's (the same cache).
        self.reader = reader or CrossEncoderReader(
            getattr(self.embedder, "models_dir", settings.models_dir))
        self._lock = threading.Lock()
        self._searcher: Searcher | None = None
        self._build = None
        self._cache: LruCache[tuple, Answer] = LruCache(CACHE_SIZE)

    # ----------------------------------------------------------------- index

    def build(self, rebuild: bool = False, progress: bool = True) -> BuildReport:
        report = build_index(self.settings, self.embedder, rebuild=rebuild, progress=progress)
        self.refresh()
        return report

    def recover_index(self) -> Path | None:
        """Point a lost ``current`` link at the newest intact build; the build, or None."""
        return recover_current(self.settings.index_dir)

    def ensure_index(self, progress: bool = True) -> BuildReport | None:
        """Build the index when there is none yet (first start of ``serve``)."""
        if current_build(self.settings.index_dir) is None:
            return self.build(progress=progress)
        return None

    def refresh(self) -> None:
        """Load the current build if it is not the one in use (after a rebuild)."""
        build = current_build(self.settings.index_dir)
        if build is None:
            if self._searcher is not None:  # the link is gone, the index in memory is not:
                return  # a running server keeps answering from it
            raise IndexMissing(missing_index_message(self.settings.index_dir))
        with self._lock:
            if build == self._build and self._searcher is not None:
                return
            index = load_index(self.settings.index_dir, self.settings)
            self._searcher = Searcher(index, self.embedder, self.settings.search, self.clock)
            self._build = build
            self._cache.clear()

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
        mode = mode or self.settings.search.mode
        answer = self._answer(question, mode, filters, focus)
        if focus is not None and not answer.found:
            # Taken for a follow-up, it found nothing: it may be a new question
            # ("Hva er kontingenten?" after a question about the strategy).
            alone = self._answer(original, mode, filters)
            if alone.found:
                answer, question = alone, original
        return replace(answer, question=original, searched_for=question)

    def _answer(self, question: str, mode: str, filters: Filters,
                focus: str | None = None) -> Answer:
        """The answer to the (normalised, contextualised) question, cached."""
        searcher = self.searcher
        key = (question.lower(), mode, filters, (focus or "").lower())
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        query_vector = searcher.embed_query(question)
        hits = searcher.search(question, k=self.settings.search.top_k, mode=mode,
                               filters=filters, query_vector=query_vector)
        with self.clock("answer"):
            answer = compose_answer(question, hits, query_vector, self.embedder, self.reader,
                                    self.settings.search, mode, self.answer_models,
                                    idf=searcher.index.lexical.idf, focus=focus)
        with self._lock:
            if self._searcher is searcher:  # not if a rebuild was loaded meanwhile
                self._cache.put(key, answer)
        return answer

    def cache_info(self) -> CacheInfo:
        """Hits and misses of the answer cache (emptied whenever another build is loaded)."""
        return CacheInfo(self._cache.hits, self._cache.misses, len(self._cache))

    def clear_cache(self) -> None:
        """Forget cached answers (benchmarks measure uncached questions this way)."""
        self._cache.clear()

    def search(self, query: str, k: int = 20, mode: str | None = None,
               filters: Filters = PUBLIC) -> SearchResult:
        """The staff search: the ``k`` best chunks, after the relevance cut
        (:func:`~assistant.search.relevant`), so a query nothing matches finds nothing."""
        query = normalize_question(query)
        mode = mode or self.settings.search.mode
        hits = self.searcher.search(query, k=k, mode=mode, filters=filters)
        return SearchResult(query, mode, relevant(hits, mode, self.settings.search))

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

    def document_file(self, document: StoredDocument) -> Path | None:
        """A document's file, if it lies inside the corpus folder; None otherwise (a
        symbolic link out of the corpus, a file gone since indexing). The one place the
        web routes turn a document into a path."""
        root = self.settings.corpus_dir.resolve()
        try:
            path = (root / document.path).resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        return path if path.is_relative_to(root) and path.is_file() else None

    def source(self, citation: Citation, filters: Filters = PUBLIC) -> CitedSource:
        """The chunk and document a citation of an earlier answer points at, if the index
        in use still has them (a rebuild may have changed both since)."""
        return self.passage(citation.doc_id, citation.chunk_id, filters)

    def passage(self, doc_id: str, chunk_id: int, filters: Filters = PUBLIC) -> CitedSource:
        """Chunk ``chunk_id`` and document ``doc_id`` from one build (the viewer's ``bit``):
        the document only when it holds that chunk and the filters allow it."""
        index = self.index  # one build for both look-ups
        if not 0 <= chunk_id < len(index.chunks):
            return CitedSource(None, None)
        chunk = index.chunks[chunk_id]
        document = index.documents.get(doc_id)
        if document is None or chunk.doc_id != doc_id or not filters.allows(document):
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

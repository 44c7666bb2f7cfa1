"""Question → hits: dense, lexical or hybrid search over an :class:`~assistant.index.Index`.

Dense search (the embedding model) finds paraphrases; lexical search (BM25) finds exact
terms, names and numbers. Hybrid search takes the best candidates of both, gives every
candidate both scores, and ranks by a weighted sum of the min-max normalised scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .chunking import Chunk
from .config import MAX_QUESTION_CHARS, SearchConfig
from .embedding import Encoder
from .store import Index, StoredDocument
from .timing import NO_CLOCK, StageClock

MODES = ("hybrid", "dense", "lexical")
MODE_LABELS = {"hybrid": "kombinert", "dense": "semantisk", "lexical": "nøkkelord"}


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk with the scores that ranked it."""

    rank: int
    chunk_id: int
    chunk: Chunk
    document: StoredDocument
    score: float
    dense: float
    lexical: float


@dataclass(frozen=True)
class Filters:
    """Restrictions on which chunks may be returned (``None`` = no restriction)."""

    visibility: frozenset[str] = frozenset({"public"})
    doc_ids: frozenset[str] | None = None
    years: frozenset[int] | None = None
    doc_types: frozenset[str] | None = None

    def allows(self, document: StoredDocument) -> bool:
        meta = document.meta
        return (
            meta.visibility in self.visibility
            and (self.doc_ids is None or document.doc_id in self.doc_ids)
            and (self.years is None or meta.year in self.years)
            and (self.doc_types is None or meta.doc_type in self.doc_types)
        )


#: Who may see what: everybody public documents, logged-in staff internal ones too.
PUBLIC = Filters()
STAFF = Filters(visibility=frozenset({"public", "internal"}))


def _ranks(values: np.ndarray) -> np.ndarray:
    """1-based rank of each value, highest first; zero scores rank last."""
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    return ranks


def fuse(dense: np.ndarray, lexical: np.ndarray, method: str, weight: float,
         rrf_k: int = 60, lexical_ceiling: float = 0.0) -> np.ndarray:
    """One score per candidate from its dense and lexical scores.

    ``minmax``: weighted sum of the scores scaled to [0, 1] within the candidates.
    ``bounded``: dense scaled within the candidates, BM25 divided by its upper bound for
    the query (``lexical_ceiling``), so weak keyword matches are not inflated to 1.
    ``rrf``: weighted reciprocal rank fusion, ``w/(k + rank)``; a candidate without
    lexical match gets no lexical share.
    """
    if method == "rrf":
        lexical_share = np.where(lexical > 0, 1.0 / (rrf_k + _ranks(lexical)), 0.0)
        return weight / (rrf_k + _ranks(dense)) + (1 - weight) * lexical_share
    if method == "bounded":
        scaled = lexical / lexical_ceiling if lexical_ceiling > 0 else np.zeros_like(lexical)
        return weight * _minmax(dense) + (1 - weight) * np.clip(scaled, 0.0, 1.0)
    return weight * _minmax(dense) + (1 - weight) * _minmax(lexical)


def _minmax(values: np.ndarray) -> np.ndarray:
    if len(values) == 0:
        return values
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        return np.ones_like(values) if high > 0 else np.zeros_like(values)
    return (values - low) / (high - low)


@dataclass
class _MaskInfo:
    """How many chunks a mask allows, and its FAISS selector, made once per mask: a
    bitmap is a bit test per id, where an ``IDSelectorBatch`` hash set cost ms per question."""

    mask: np.ndarray
    allowed: int
    _selector: tuple | None = None

    def selector(self):
        import faiss

        if self._selector is None:
            bitmap = np.packbits(self.mask, bitorder="little")
            self._selector = (faiss.IDSelectorBitmap(bitmap), bitmap)  # bitmap outlives it
        return self._selector[0]


class Searcher:
    """Searches one loaded index with one embedder; cheap to create, safe to share."""

    def __init__(self, index: Index, embedder: Encoder, config: SearchConfig,
                 clock: StageClock | None = None):
        self.index = index
        self.embedder = embedder
        self.config = config
        self.clock = clock or NO_CLOCK
        self._chunk_doc = [index.documents[c.doc_id] for c in index.chunks]
        self._allowed_cache: dict[Filters, np.ndarray] = {}
        self._masks: dict[int, _MaskInfo] = {}  # by id(mask); the info keeps the mask alive

    def allowed(self, filters: Filters) -> np.ndarray:
        """Boolean mask over chunks that ``filters`` lets through (cached per filter)."""
        mask = self._allowed_cache.get(filters)
        if mask is None:
            mask = np.fromiter((filters.allows(d) for d in self._chunk_doc), dtype=bool,
                               count=len(self._chunk_doc))
            self._allowed_cache[filters] = mask
        return mask

    def embed_query(self, question: str) -> np.ndarray:
        with self.clock("embed"):
            return self.embedder.encode_queries([question[:MAX_QUESTION_CHARS]])[0]

    def dense_candidates(self, query_vector: np.ndarray, n: int, mask: np.ndarray) -> dict[int, float]:
        """The ``n`` chunks allowed by ``mask`` nearest to ``query_vector``, with cosines.

        An HNSW index is searched through its graph, with ``hnsw_ef_search`` (at least
        ``n``) as the effort. When a filter leaves fewer than ``hnsw_min_chunks`` chunks,
        the graph would have to walk past mostly forbidden neighbours, so the allowed
        vectors are searched exactly instead, which is cheap for that few.
        """
        import faiss

        total = len(mask)
        info = self._mask_info(mask)
        allowed = info.allowed
        if total == 0 or allowed == 0:
            return {}
        n = min(n, allowed)
        index = self.index.vectors
        graph = isinstance(index, faiss.IndexHNSW)
        if graph and allowed < self.config.hnsw_min_chunks:
            index, graph = faiss.downcast_index(index.storage), False
        selector = info.selector() if allowed < total else None
        if graph:
            params = faiss.SearchParametersHNSW(efSearch=max(self.config.hnsw_ef_search, n))
            if selector is not None:
                params.sel = selector
        else:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        # One question is too little work to share: two OpenMP threads on two shared cores
        # made an exact search at 10 000 chunks take 11 ms instead of 1.2 ms.
        faiss.omp_set_num_threads(1)  # for this (calling) thread only
        scores, ids = index.search(query_vector[None, :], n, params=params)
        return {int(i): float(s) for i, s in zip(ids[0], scores[0]) if i >= 0}

    def _mask_info(self, mask: np.ndarray) -> "_MaskInfo":
        info = self._masks.get(id(mask))
        if info is None or info.mask is not mask:
            if len(self._masks) > 64:  # masks are cached per filter, so this stays small
                self._masks.clear()
            info = self._masks[id(mask)] = _MaskInfo(mask, int(mask.sum()))
        return info

    def dense_scores(self, query_vector: np.ndarray, ids: list[int]) -> np.ndarray:
        if not ids:
            return np.zeros(0, dtype=np.float32)
        vectors = self.index.vectors.reconstruct_batch(np.asarray(ids, dtype=np.int64))
        return vectors @ query_vector

    def search(
        self,
        question: str,
        k: int = 10,
        mode: str | None = None,
        filters: Filters = PUBLIC,
        query_vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """The ``k`` best chunks for ``question`` among those ``filters`` allows."""
        with self.clock("search"):
            return self._search(question, k, mode, filters, query_vector)

    def _search(self, question: str, k: int, mode: str | None, filters: Filters,
                query_vector: np.ndarray | None) -> list[Hit]:
        mode = mode or self.config.mode
        if mode not in MODES:
            raise ValueError(f"Ukjent søkemodus «{mode}»; velg en av {', '.join(MODES)}.")
        question = question.strip()[:MAX_QUESTION_CHARS]
        mask = self.allowed(filters)
        if not question or not mask.any():
            return []
        pool = max(self.config.candidates, k)

        lexical_all = np.zeros(len(mask), dtype=np.float32)
        lexical_top: list[int] = []
        if mode in ("lexical", "hybrid"):
            with self.clock("lexical"):
                lexical_all = np.where(mask, self.index.lexical.scores(question), 0.0)
            positive = np.flatnonzero(lexical_all > 0)
            if len(positive) > pool:
                positive = positive[np.argpartition(-lexical_all[positive], pool)[:pool]]
            lexical_top = positive.tolist()

        dense: dict[int, float] = {}
        if mode in ("dense", "hybrid"):
            if query_vector is None:
                query_vector = self.embed_query(question)
            with self.clock("dense"):
                dense = self.dense_candidates(query_vector, pool, mask)

        if mode == "lexical":
            ids = lexical_top
            scores = lexical_all[ids] if ids else np.zeros(0)
            dense_values = np.zeros(len(ids))
        elif mode == "dense":
            ids = list(dense)
            scores = np.array([dense[i] for i in ids])
            dense_values = scores
        else:
            ids = list(dict.fromkeys([*dense, *lexical_top]))
            missing = [i for i in ids if i not in dense]
            with self.clock("dense"):
                missing_scores = self.dense_scores(query_vector, missing)
            for i, s in zip(missing, missing_scores):
                dense[i] = float(s)
            dense_values = np.array([dense[i] for i in ids])
            lexical_values = lexical_all[ids]
            ceiling = self.index.lexical.ceiling(question) if self.config.fusion == "bounded" else 0.0
            scores = fuse(dense_values, lexical_values, self.config.fusion,
                          self.config.hybrid_weight, lexical_ceiling=ceiling)

        order = np.argsort(-np.asarray(scores), kind="stable")[:k]
        hits = []
        for rank, position in enumerate(order, start=1):
            chunk_id = ids[position]
            hits.append(
                Hit(
                    rank=rank,
                    chunk_id=chunk_id,
                    chunk=self.index.chunks[chunk_id],
                    document=self._chunk_doc[chunk_id],
                    score=float(scores[position]),
                    dense=float(dense.get(chunk_id, 0.0)) if mode != "lexical" else 0.0,
                    lexical=float(lexical_all[chunk_id]),
                )
            )
        return hits


def relevant(hits: list[Hit], mode: str, config: SearchConfig) -> list[Hit]:
    """The hits worth showing a staff member: none when even the best one is weak, and
    never those far below the best.

    Search always returns ``k`` chunks if the corpus has them, so without this cut any
    query, nonsense too, gives "25 treff". Evidence is judged on the best hit: a
    keyword match (BM25 ``min_lexical``) or a close meaning (cosine ``min_dense``); a
    keyword search has found its words in every hit, which is evidence enough. Then hits
    scoring below ``relevance_ratio`` of the best (or, in semantic mode, more than
    ``dense_margin`` below its cosine) are dropped. Hits are expected best first.
    """
    if not hits:
        return []
    best = hits[0]
    if mode != "lexical" and best.dense < config.min_dense and best.lexical < config.min_lexical:
        return []
    if mode == "dense":
        return [h for h in hits if h.score >= best.score - config.dense_margin]
    return [h for h in hits if h.score >= config.relevance_ratio * best.score]

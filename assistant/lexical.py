"""Chunks → keyword index: BM25 with a Norwegian analyzer.

Staff search for exact terms, names and numbers that a small embedding model blurs.
The analyzer lower-cases, keeps æøå and numbers (``2,3``, ``2019``), drops Norwegian
stop words (bokmål and nynorsk) and reduces words with the Snowball Norwegian stemmer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

#: BM25 term-frequency saturation; a term adds at most idf·(k1 + 1) to a score.
BM25_K1 = 1.2


def bm25_ceiling(idfs: Iterable[float], k1: float = BM25_K1) -> float:
    """An upper bound of any chunk's BM25 score for query terms of these idfs."""
    return sum(idfs) * (k1 + 1)

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:\d+)?", re.UNICODE)


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_NORWEGIAN

    return frozenset(STOPWORDS_NORWEGIAN)


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("norwegian")


def words(text: str) -> list[str]:
    """Lower-cased word and number tokens, stop words included."""
    return _TOKEN.findall(text.lower())


def analyze(text: str) -> list[str]:
    """The terms BM25 indexes: words without stop words, stemmed; numbers as they are."""
    stop = _stopwords()
    kept = [w for w in words(text) if w not in stop]
    return _stemmer().stemWords(kept) if kept else []


class LexicalIndex:
    """BM25 over chunk texts (bm25s), persisted next to the FAISS index."""

    def __init__(self, retriever):
        self.retriever = retriever
        self.vocab = retriever.vocab_dict
        indptr = np.asarray(retriever.scores["indptr"])
        self.n_docs = int(retriever.scores["num_docs"])
        self.doc_freq = np.diff(indptr)  # chunks containing each term (CSC columns = terms)

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency; unknown terms count as the rarest."""
        position = self.vocab.get(term)
        df = int(self.doc_freq[position]) if position is not None else 0
        return float(np.log(1 + (self.n_docs - df + 0.5) / (df + 0.5)))

    @classmethod
    def build(cls, texts: Sequence[str]) -> "LexicalIndex":
        import bm25s

        retriever = bm25s.BM25(k1=BM25_K1, b=0.75)
        retriever.index([analyze(text) for text in texts], show_progress=False)
        return cls(retriever)

    def save(self, directory: Path) -> None:
        self.retriever.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> "LexicalIndex":
        import bm25s

        return cls(bm25s.BM25.load(str(directory), show_progress=False, mmap=False))

    def ceiling(self, query: str) -> float:
        """An upper bound of any chunk's BM25 score for ``query``: sum of idf·(k1 + 1).

        Dividing by it puts lexical scores on an absolute 0–1 scale, so a chunk that only
        matches a common word stays low even when nothing matches better.
        """
        terms = [t for t in analyze(query) if t in self.vocab]
        return bm25_ceiling((self.idf(t) for t in terms), float(self.retriever.k1))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (zeros when no query term is known)."""
        terms = [t for t in analyze(query) if t in self.vocab]
        if not terms:
            return np.zeros(self.retriever.scores["num_docs"], dtype=np.float32)
        return np.asarray(self.retriever.get_scores(terms), dtype=np.float32)

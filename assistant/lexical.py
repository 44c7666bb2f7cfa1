"""Chunks → keyword index: BM25 with a Norwegian analyzer.

Staff search for exact terms, names and numbers that a small embedding model blurs.
The analyzer lower-cases, keeps æøå and numbers (``2,3``, ``2019``), drops Norwegian
stop words (bokmål and nynorsk) and reduces words with the Snowball Norwegian stemmer.
Compounds are also indexed by their parts (:class:`Decompounder`): Norwegian writes
"godsprosjektet" where a report says "gods- og logistikkprosjekt".
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


def analyze(text: str, decompounder: "Decompounder | None" = None) -> list[str]:
    """The terms BM25 indexes: words without stop words, stemmed; numbers as they are;
    with a ``decompounder``, each compound followed by its parts."""
    stop = _stopwords()
    kept = [w for w in words(text) if w not in stop]
    terms = _stemmer().stemWords(kept) if kept else []
    return decompounder.expand(terms) if decompounder else terms


#: Compound parts: the head (last part) has at least ``MIN_HEAD`` letters, the first part
#: at least ``MIN_MODIFIER``, and both are terms found in at least ``MIN_PART_DF``
#: chunks of the corpus (a word seen once is as likely a typo as a word).
MIN_HEAD = 4
MIN_MODIFIER = 3
MIN_PART_DF = 2
#: Letters that join the parts of a Norwegian compound ("arbeid-s-liv", "barn-e-hage").
LINKING = "se"


@dataclass(frozen=True)
class Decompounder:
    """Splits a stemmed compound into two terms the corpus knows, without a dictionary:
    the corpus' own vocabulary is the lexicon. Of the possible splits the one with the
    longest head wins ("sluttrapport" → "slutt" + "rapport", not "sluttrap" + "port")."""

    known: frozenset[str]

    def parts(self, term: str) -> tuple[str, ...]:
        if len(term) < MIN_MODIFIER + MIN_HEAD or not term.isalpha():
            return ()
        for cut in range(MIN_MODIFIER, len(term) - MIN_HEAD + 1):
            head, modifier = term[cut:], term[:cut]
            if head not in self.known:
                continue
            if modifier in self.known:
                return modifier, head
            if (modifier[-1] in LINKING and len(modifier) > MIN_MODIFIER
                    and modifier[:-1] in self.known):
                return modifier[:-1], head
        return ()

    def expand(self, terms: Sequence[str]) -> list[str]:
        out = []
        for term in terms:
            out.append(term)
            out.extend(self.parts(term))
        return out

    @classmethod
    def from_counts(cls, doc_freq: Counter) -> "Decompounder":
        return cls(frozenset(t for t, n in doc_freq.items()
                             if n >= MIN_PART_DF and len(t) >= MIN_MODIFIER and t.isalpha()))


#: How the index analysed its texts, next to bm25s' files in the index folder.
ANALYZER_FILE = "analyzer.json"


class LexicalIndex:
    """BM25 over chunk texts (bm25s), persisted next to the FAISS index."""

    def __init__(self, retriever, decompound: bool = False):
        self.retriever = retriever
        self.vocab = retriever.vocab_dict
        indptr = np.asarray(retriever.scores["indptr"])
        self.n_docs = int(retriever.scores["num_docs"])
        self.doc_freq = np.diff(indptr)  # chunks containing each term (CSC columns = terms)
        # An index built before compounds were split is queried without splitting.
        self.decompounder = (Decompounder.from_counts(Counter(
            {t: int(self.doc_freq[i]) for t, i in self.vocab.items() if i < len(self.doc_freq)}))
            if decompound else None)

    def analyze(self, text: str) -> list[str]:
        """:func:`analyze` as this index did it."""
        return analyze(text, self.decompounder)

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency; unknown terms count as the rarest."""
        position = self.vocab.get(term)
        df = int(self.doc_freq[position]) if position is not None else 0
        return float(np.log(1 + (self.n_docs - df + 0.5) / (df + 0.5)))

    @classmethod
    def build(cls, texts: Sequence[str]) -> "LexicalIndex":
        import bm25s

        analyzed = [analyze(text) for text in texts]
        doc_freq = Counter(t for terms in analyzed for t in set(terms))
        decompounder = Decompounder.from_counts(doc_freq)
        retriever = bm25s.BM25(k1=BM25_K1, b=0.75)
        retriever.index([decompounder.expand(terms) for terms in analyzed], show_progress=False)
        return cls(retriever, decompound=True)

    def save(self, directory: Path) -> None:
        self.retriever.save(str(directory), show_progress=False)
        (directory / ANALYZER_FILE).write_text(json.dumps({"decompound": True}), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "LexicalIndex":
        import bm25s

        path = directory / ANALYZER_FILE
        analyzer = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        return cls(bm25s.BM25.load(str(directory), show_progress=False, mmap=False),
                   decompound=bool(analyzer.get("decompound")))

    def ceiling(self, query: str) -> float:
        """An upper bound of any chunk's BM25 score for ``query``: sum of idf·(k1 + 1).

        Dividing by it puts lexical scores on an absolute 0–1 scale, so a chunk that only
        matches a common word stays low even when nothing matches better.
        """
        terms = [t for t in self.analyze(query) if t in self.vocab]
        return bm25_ceiling((self.idf(t) for t in terms), float(self.retriever.k1))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (zeros when no query term is known)."""
        terms = [t for t in self.analyze(query) if t in self.vocab]
        if not terms:
            return np.zeros(self.retriever.scores["num_docs"], dtype=np.float32)
        return np.asarray(self.retriever.get_scores(terms), dtype=np.float32)

"""Hits → answer: the sentences from the documents that answer, with numbered citations.

The assistant is extractive. It never writes text of its own about the subject: the
answer is made of sentences quoted from the retrieved passages, each followed by the
number of its citation, and every citation points at a document, a page and a link.
When the best passage is not relevant enough, it says so and points to Osloregionen.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from .config import CONTACT_URL, SearchConfig
from .lexical import analyze
from .search import Hit

NOT_FOUND = (
    "Jeg fant ikke noe svar på dette i dokumentene jeg har tilgang til. "
    f"Du kan spørre Osloregionen direkte via {CONTACT_URL}."
)
EMPTY_QUESTION = (
    "Skriv et spørsmål, for eksempel «Hvor mange kommuner er med i Osloregionen?»"
)
#: How much a sentence's (IDF-weighted) share of the question's words adds to its cosine.
LEXICAL_WEIGHT = 0.3
#: Headings and one-word lines rarely answer anything, however similar they look.
SHORT_SENTENCE_WORDS = 3
SHORT_SENTENCE_PENALTY = 0.05
#: A sentence from a second document joins the answer when it scores this close to the best
#: (another page of the same document is already in the list of sources).
SECOND_QUOTE_MARGIN = 0.003
MAX_SENTENCES_SCORED = 64

_BULLET = re.compile(r"^[•–\-*]\s*")


@dataclass(frozen=True)
class Citation:
    """A numbered source: where the quoted sentence stands and how to open it."""

    n: int
    doc_id: str
    title: str
    year: int | None
    page: int
    url: str
    text: str
    highlights: tuple[tuple[int, int], ...] = ()
    chunk_id: int = -1
    score: float = 0.0

    def to_json(self) -> dict:
        data = asdict(self)
        data["highlights"] = [list(span) for span in self.highlights]
        return data


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    citations: tuple[Citation, ...] = ()
    found: bool = False
    quotes: tuple[tuple[str, int], ...] = field(default=(), repr=False)  # (sentence, citation n)
    #: What was searched for: the question, or for a follow-up the question with its context.
    searched_for: str = ""

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "citations": [c.to_json() for c in self.citations],
            "found": self.found,
        }


def quote(sentence: str) -> str:
    """A sentence as it is shown in an answer: one line, without its bullet."""
    return _BULLET.sub("", " ".join(sentence.split()))


def _matches(term: str, sentence_terms: set[str]) -> bool:
    """A question term matches a sentence term that equals it or ends with it.

    Norwegian writes compounds as one word, so "rapport" should find "delrapporter".
    """
    if term in sentence_terms:
        return True
    return len(term) >= 5 and any(t.endswith(term) for t in sentence_terms)


def _weighted_overlap(question_terms: list[str], weights: list[float], sentence_terms: set[str],
                      matches=None) -> float:
    if not question_terms:
        return 0.0
    total = sum(weights)
    if total <= 0:
        return 0.0
    matches = matches or _matches
    return sum(w for t, w in zip(question_terms, weights) if matches(t, sentence_terms)) / total


#: A question term of at least this many letters also matches a compound that starts with
#: it ("tung" → "tungtransport"), when choosing which sentences the model scores.
LOOSE_PREFIX = 4


def _loose_matches(term: str, sentence_terms: set[str]) -> bool:
    """:func:`_matches`, or the first part of a compound: wider, for the cheap first stage."""
    return _matches(term, sentence_terms) or (
        len(term) >= LOOSE_PREFIX and any(t.startswith(term) for t in sentence_terms))


def sentence_score(cosine: float, overlap: float, sentence: str) -> float:
    short = len(sentence.split()) < SHORT_SENTENCE_WORDS
    return cosine + LEXICAL_WEIGHT * overlap - (SHORT_SENTENCE_PENALTY if short else 0.0)


#: Below every sentence the model scored: one it did not score can only be highlighted
#: in its own passage, never chosen over a scored one.
UNSCORED = 1.0


def score_sentences(
    question: str,
    hits: list[Hit],
    query_vector: np.ndarray | None,
    embedder,
    dense_sentences: int,
    idf=None,
) -> dict[tuple[int, int], float]:
    """A score for each (hit, sentence) of ``hits``, in two stages to keep the model cheap.

    First every sentence gets a cheap score: word overlap with the question plus the cosine
    of its whole passage. Then only the ``dense_sentences`` best are encoded and scored with
    their own cosine; the others drop below them (``UNSCORED``). With 0 the cheap score
    is final.
    """
    question_terms = analyze(question)
    weights = [idf(t) if idf else 1.0 for t in question_terms]
    candidates: list[tuple[int, int]] = []
    texts: list[str] = []
    for h, hit in enumerate(hits):
        for s, sentence in enumerate(hit.chunk.sentence_texts()):
            candidates.append((h, s))
            texts.append(sentence)
    candidates, texts = candidates[:MAX_SENTENCES_SCORED], texts[:MAX_SENTENCES_SCORED]
    terms = [set(analyze(text)) for text in texts]
    overlaps = [_weighted_overlap(question_terms, weights, t) for t in terms]
    if dense_sentences <= 0 or not texts:
        return {c: sentence_score(hits[c[0]].dense, overlap, quote(text))
                for c, overlap, text in zip(candidates, overlaps, texts)}
    cheap = [sentence_score(hits[h].dense,
                            _weighted_overlap(question_terms, weights, t, _loose_matches), quote(text))
             for (h, _), t, text in zip(candidates, terms, texts)]
    chosen = sorted(range(len(texts)), key=lambda i: -cheap[i])[:dense_sentences]
    if query_vector is None:
        query_vector = embedder.encode_queries([question])[0]
    cosine = embedder.encode_sentences([texts[i] for i in chosen]) @ query_vector
    scores = [score - UNSCORED for score in cheap]
    for i, c in zip(chosen, cosine):
        scores[i] = sentence_score(float(c), overlaps[i], quote(texts[i]))
    return dict(zip(candidates, scores))


#: A passage is cited only when it is nearly as relevant as the best one.
CITATION_DENSE_MARGIN = 0.04
CITATION_LEXICAL_SHARE = 0.5


def citable(hits: list[Hit], mode: str) -> list[Hit]:
    """The hits worth citing: the best, and those close to it (not the long tail)."""
    if not hits:
        return []
    if mode == "lexical":
        floor = hits[0].lexical * CITATION_LEXICAL_SHARE
        return [hits[0], *(h for h in hits[1:] if h.lexical >= floor)]
    floor = max(h.dense for h in hits) - CITATION_DENSE_MARGIN
    return [hits[0], *(h for h in hits[1:] if h.dense >= floor)]


def is_relevant(hits: list[Hit], mode: str, config: SearchConfig) -> bool:
    if not hits:
        return False
    if mode == "lexical":
        return hits[0].lexical > 0
    return max(hit.dense for hit in hits) >= config.min_dense_score


def pick_quotes(quotes: list[tuple[str, int, float, str]],
                margin: float = SECOND_QUOTE_MARGIN) -> list[tuple[str, int, float, str]]:
    """The best quote, and the first other one that is nearly as good, says something
    else and comes from another document. ``quotes`` are (sentence, citation number,
    score, doc_id), best first."""
    best_sentence, _, best_score, best_doc = quotes[0]
    for other in quotes[1:]:
        sentence, _, score, doc_id = other
        if (score >= best_score - margin and doc_id != best_doc
                and quote(sentence) != quote(best_sentence)):
            return [quotes[0], other]
    return [quotes[0]]


def compose_answer(
    question: str,
    hits: list[Hit],
    query_vector: np.ndarray | None,
    embedder,
    config: SearchConfig = SearchConfig(),
    mode: str = "hybrid",
    idf=None,
) -> Answer:
    """Pick the answering sentence of each top passage and build numbered citations."""
    if not is_relevant(hits, mode, config):
        return Answer(question=question, answer=NOT_FOUND, found=False)

    hits = citable(hits[: config.top_k], mode)
    scores = score_sentences(question, hits[: config.answer_passages], query_vector, embedder,
                             config.answer_dense_sentences, idf)

    best_by_hit: dict[int, tuple[float, int]] = {}
    for (h, s), score in scores.items():
        if h not in best_by_hit or score > best_by_hit[h][0]:
            best_by_hit[h] = (score, s)
    # Second stage: the passage whose sentence answers best is cited first, whatever its
    # rank, since one sentence that fits says more than a long passage that mostly doesn't.
    primary = max(best_by_hit, key=lambda h: best_by_hit[h][0]) if best_by_hit else 0
    order = [primary, *(h for h in range(len(hits)) if h != primary)]

    citations: list[Citation] = []
    seen_pages: set[tuple[str, int]] = set()
    quotes: list[tuple[str, int, float, str]] = []
    for h in order:
        hit = hits[h]
        chunk = hit.chunk
        score, s = best_by_hit.get(h, (hit.score, 0))
        page, _, _, c0, c1 = chunk.sentences[s]
        key = (chunk.doc_id, page)
        if key in seen_pages:
            continue
        seen_pages.add(key)
        n = len(citations) + 1
        citations.append(
            Citation(
                n=n,
                doc_id=chunk.doc_id,
                title=hit.document.meta.title,
                year=hit.document.meta.year,
                page=page,
                url=hit.document.link(page),
                text=chunk.text,
                highlights=((c0, c1),),
                chunk_id=hit.chunk_id,
                score=hit.score,
            )
        )
        if h in best_by_hit:
            quotes.append((chunk.text[c0:c1], n, score, chunk.doc_id))

    chosen = pick_quotes(quotes)
    text = " ".join(f"{quote(sentence)} [{n}]" for sentence, n, _, _ in chosen)
    return Answer(
        question=question,
        answer=text,
        citations=tuple(citations),
        found=True,
        quotes=tuple((quote(sentence), n) for sentence, n, _, _ in chosen),
    )

"""Which sentence answers, and whether anything does: learned scorers over plain features.

The answer stage reads the top passages sentence by sentence. Hand-set weights (cosine +
0.3·overlap) quoted the sentence next to the answer about a third of the time, and a
fixed cosine threshold could not tell an off-topic question from a real one. Here both
decisions are small logistic models learned from NorQuAD's training split
(``scripts/train_answer_model.py``), over features a Norwegian reader would use:

* what the question asks for (*hvor mange* → a number, *når* → a date or year, *hvem* → a
  name, *hvor kan jeg lese* → a web address, *hvor* → a place) against what the sentence
  holds that the question does not;
* the question's words in the sentence and in its neighbours, weighted by rarity (IDF),
  compounds matched by their parts ("lading" finds "ladeinfrastruktur");
* the passage's retrieval scores;
* for the best few, the reader's score (:mod:`assistant.reader`, a cross-encoder that
  reads question and sentence together).

Scoring is in two stages to keep the model's cost down: every candidate gets the cheap
score, the best few are read and get the full score. Everything here is pure (numpy),
apart from the weights file that ships with the package.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources

import numpy as np

from .lexical import LINKING, MIN_HEAD, MIN_MODIFIER, analyze, words

# --------------------------------------------------------------------------- questions

#: What a question asks for, recognised by its question words (bokmål, nynorsk, English).
_TYPE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("number", re.compile(
        r"\b(hvor|kor|how)\s+(mange|mye|mykje|many|much|stor|store|høy|høye|lang|lange|"
        r"langt|gammel|gamle|tung|dyr|dyrt|bred|dyp|ofte|often|fort|raskt)\b|\bantall\b|"
        r"\bhva koster\b|"
        r"\bkva kostar\b|\bhvilken (andel|prosent|sum)\b|\bhvor (høyt|lavt)\b")),
    ("date", re.compile(
        r"\bnår\b|\bkor tid\b|\bwhen\b|\b(hvilket|hvilke|kva|what|i hvilket)\s+(år|årstall|"
        r"dato|year|date|tiår|århundre|måned)\b|\bhvilken (dato|dag|måned)\b|\bhvor lenge\b")),
    ("name", re.compile(
        r"\bhvem\b|\bkven\b|\bwho\b|\bhva (heter|het)\b|\bkva (heiter|heitte)\b|"
        r"\bhvilke[nt]? (organisasjon|bedrift|firma|selskap|forfatter|person|parti|lag|"
        r"klubb|konsulent|aktør)\w*\b")),
    # "Hvor kan jeg lese rapportene?" asks where to find something: a web address or a
    # page, not a place ("Osloregionens" in a list of reports is no answer).
    ("link", re.compile(
        r"\b(hvor|kvar)\s+(kan|får)\s+(jeg|eg|man|ein|en|du|vi|me)\s+(\w+\s+)?"
        r"(lese|laste ned|få tak i|få vite|få vete)\b|"
        r"\b(hvor|kvar)\s+(kan|får)\s+(jeg|eg)\s+(\w+\s+)?(finne|finna|søke|søkje)\b|"
        r"\b(hvor|kvar)\s+(finner|finn)\s+(jeg|eg)\b|"
        r"\bwhere\s+(can|do)\s+(i|you|we)\s+(read|find|download)\b")),
    ("place", re.compile(
        r"\bhvor\b|\bkvar\b|\bwhere\b|\bhvilke[nt]? (land|by|byen|kommune|fylke|sted|"
        r"stad|region|område)\w*\b|\bhvorfra\b")),
)
ANSWER_TYPES = ("number", "date", "name", "link", "place")

#: "Hvilke …", "Hva er målene …", "What are the …": the answer is a list, so a heading
#: with its items. English says the plural in the verb, Norwegian in the noun's ending.
_LIST_QUESTION = re.compile(
    r"^\s*(hvilke|kva for nokre|which|list)\b|\b(hva|kva|what)\s+(er|var|are)\s+\S*"
    r"(ene|ane|rne|ne)\b|\bwhat\s+(are|were)\b", re.IGNORECASE)


def answer_type(question: str) -> str | None:
    """``number``, ``date``, ``name``, ``link``, ``place``, or ``None`` when the question
    asks for something else (a reason, a description)."""
    text = " ".join(question.lower().split())
    for name, pattern in _TYPE_PATTERNS:
        if pattern.search(text):
            return name
    return None


def is_list_question(question: str) -> bool:
    return _LIST_QUESTION.search(question) is not None


# --------------------------------------------------------------------------- sentences

_MONTHS = ("januar|februar|mars|april|mai|juni|juli|august|september|oktober|november|"
           "desember|jan|feb|mar|apr|jun|jul|aug|sep|sept|okt|nov|des")
_DATE = re.compile(
    rf"\b\d{{1,2}}\.\s*(?:{_MONTHS})\w*(?:\s+(?:1[5-9]|20)\d\d)?\b|"
    rf"\b(?:{_MONTHS})\w*\s+(?:1[5-9]|20)\d\d\b|\b\d{{1,2}}\.\d{{1,2}}\.(?:\d{{2}}|\d{{4}})\b|"
    r"\b(?:1[5-9]|20)\d\d(?:\s*[-–]\s*(?:1[5-9]|20)?\d\d)?\b", re.IGNORECASE)
_NUMBER = re.compile(
    r"(?<![\w,.])(?:\d{1,3}(?:[ \u00a0.]\d{3})+|\d+)(?:[.,]\d+)?"
    r"(?:\s*(?:%|prosent|kroner|kr\.?|nok|mill\.?|millioner|milliarder|mrd\.?|"
    r"tusen|km|meter|m|kilometer|kvadratmeter|tonn|innbyggere|kommuner|"
    r"medlemmer|personer|år)\b)?", re.IGNORECASE)
_NUMBER_WORDS = re.compile(
    r"\b(to|tre|fire|fem|seks|sju|syv|åtte|ni|ti|elleve|tolv|tjue|tretti|førti|femti|"
    r"hundre|tusen|million|millioner|milliard|milliarder|dusin)\b|"
    # how often: "årlig", "hvert fjerde år", "hver måned"
    r"\b(daglig|ukentlig|månedlig|årlig|kvartalsvis)\b|"
    r"\bhvert?(\s+\w+e)?\s+(dag|uke|veke|måned|månad|kvartal|år)\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-ZÆØÅ][\wæøåÆØÅ.\-]*(?:\s+(?:[A-ZÆØÅ][\wæøåÆØÅ.\-]*|og|&|von|van|de))*"
                   r"(?<![\s&])")
#: A web address, and the words for a web page or site (the answer when no address is
#: given: "på kommunens nettsider").
_URL = re.compile(r"\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)]|\bwww\.[^\s<>\"]+[^\s<>\".,;:!?)]",
                  re.IGNORECASE)
_WEB_PAGE = re.compile(r"\b(nettside|nettsted|hjemmeside|nettstad|heimeside|website|webside)\w*",
                       re.IGNORECASE)
_SENTENCE_START = re.compile(r"^[\W\d_]*")
#: Finite verbs after which the sentence's first word is its subject: "Flowchange har
#: levert …" names who did it, though a sentence's first word is capitalised anyway.
_SUBJECT_VERB = re.compile(r"\s+(har|hadde|er|var|ble|blir|skal|vil|kan|fikk|får|leverte|"
                           r"laget|lagde|skrev|ledet|leder|eier|eide|står|stod|sto)\b")

#: Site chrome and contact blocks: searchable, never an answer. A sentence that only
#: mentions e-mail or a phone is not chrome; a contact line (a label with a number, an
#: address, "Send meg en e-post") is.
_CHROME = re.compile(
    r"^(hopp til (hoved)?innhold|gå til (hoved)?innhold|skip to (main )?content|meny|"
    r"hovedmeny|søk|del (på|denne)|print|skriv ut|tilbake|les mer|les også|cookies?|"
    r"informasjonskapsler|personvern(erklæring)?|kontakt( ?oss)?|følg oss|til toppen)\W*$|"
    r"^((arkiv)?foto|photo|illustrasjon|grafikk)\s*:|"
    r"^(tlf|telefon|mobil|sentralbord)\.?(\s*:\s*|\s+)[+\d]|"
    r"\bsend (meg )?(en )?e-post\b|[\w.+-]+@[\w-]+\.[\w.]+|\+47\s?\d|"
    r"\b(godta (alle )?(informasjonskapsler|cookies)|vi bruker (informasjonskapsler|cookies))\b",
    re.IGNORECASE)


def spans(sentence: str, kind: str) -> list[tuple[int, int]]:
    """Character spans of ``sentence`` that could be an answer of ``kind``."""
    if kind == "date":
        return [m.span() for m in _DATE.finditer(sentence)]
    if kind == "number":
        found = [m.span() for m in _NUMBER.finditer(sentence)]
        return found + [m.span() for m in _NUMBER_WORDS.finditer(sentence)]
    if kind == "link":  # the address itself, when the sentence gives one
        return ([m.span() for m in _URL.finditer(sentence)]
                or [m.span() for m in _WEB_PAGE.finditer(sentence)])
    if kind in ("name", "place"):
        skip = _SENTENCE_START.match(sentence).end()
        out = []
        for m in _NAME.finditer(sentence):
            start = m.start()
            if start == skip and not _SUBJECT_VERB.match(sentence, m.end()):
                # the sentence's first word is capitalised anyway
                rest = m.group().split(maxsplit=1)
                if len(rest) < 2:
                    continue
                start = m.start() + m.group().index(rest[1])
            end = m.end()
            while end > start and sentence[end - 1] in ".-":
                end -= 1  # "… fra Klimasats." ends the sentence, not the name
            out.append((start, end))
        return out
    return []


def new_spans(sentence: str, kind: str, question_words: set[str]) -> list[tuple[int, int]]:
    """:func:`spans` that say something the question does not already say."""
    out = []
    for start, end in spans(sentence, kind):
        tokens = words(sentence[start:end])
        if tokens and not all(t in question_words for t in tokens):
            out.append((start, end))
    return out


def is_chrome(sentence: str) -> bool:
    """Navigation, cookie notices, contact lines: never quoted as an answer."""
    return _CHROME.search(" ".join(sentence.split())) is not None


#: A label ending in a colon is a heading up to this many words; longer, it is a sentence
#: that introduces a list.
HEADING_WORDS = 6
_LIST_MARKER = re.compile(r"^\s*([•–\-*])\s+")


def list_marker(text: str) -> str | None:
    """The bullet a list item starts with ("•", "–" …), or ``None`` for other text
    (a "-5 grader" is not an item)."""
    match = _LIST_MARKER.match(text)
    return match.group(1) if match else None


def strip_marker(text: str) -> str:
    """``text`` without its leading bullet."""
    return _LIST_MARKER.sub("", text, count=1)


def quote(sentence: str) -> str:
    """A sentence as it is shown in an answer, and read by the reader: one line, without
    its bullet."""
    return strip_marker(" ".join(sentence.split()))


#: A field that names someone or something: a label of one to three words, a colon and
#: a name of capitalised words ("Prosjektleder: Kari Nordvik", "Sted: Storvik Rådhus").
#: Short and capitalised, it looks like a title, but it answers "who" or "where".
_NAMED_FIELD = re.compile(r"^[^\W\d_]+(?:[ -][^\W\d_]+){0,2}:"  # the label
                          r"\s+[A-ZÆØÅ][\w.-]*(?:\s+[A-ZÆØÅ][\w.-]*)+$")  # the name


def is_heading(sentence: str, next_sentence: str = "") -> bool:
    """A heading or list label ("Politiske organer:", "Medlemmer", a slide title over
    its bullets): it names a subject but says nothing about it, so it is quoted only
    together with its items."""
    text = " ".join(sentence.split()).lstrip("•–-* ")
    n_words = len(text.split())
    if text.endswith(":"):  # "Flowchange har levert 3 delrapporter …:" says something
        return n_words <= HEADING_WORDS
    if (next_sentence and list_marker(next_sentence) and not list_marker(sentence)
            and not re.search(r"[.!?]$", text) and n_words <= HEADING_WORDS + 2):
        return True
    if _NAMED_FIELD.match(text):  # "Prosjektleder: Kari Nordvik" says who
        return False
    tokens = text.split()
    return (len(tokens) <= 4 and not re.search(r"[.!?]$", text)
            and not re.search(r"\d", text) and not any(t.islower() for t in tokens[1:2]))


# --------------------------------------------------------------------------- features


#: No analysed term has a space in it, so the index never knows this one.
UNKNOWN_TERM = " "


@dataclass(frozen=True)
class Question:
    """What the features need to know about a question, computed once."""

    text: str
    terms: tuple[str, ...]
    weights: tuple[float, ...]
    words: frozenset[str]
    kind: str | None
    #: The weight of a term the corpus does not have (the highest IDF there is).
    unknown_weight: float = 1.0

    @classmethod
    def of(cls, text: str, idf: Callable[[str], float] | None = None) -> "Question":
        terms = tuple(dict.fromkeys(analyze(text)))
        weights = tuple(idf(t) if idf else 1.0 for t in terms)
        unknown = idf(UNKNOWN_TERM) if idf else 1.0
        return cls(text, terms, weights, frozenset(words(text)), answer_type(text), unknown)


def _matches(term: str, sentence_terms: set[str]) -> bool:
    """Equal, or a compound ending with it ("rapport" → "delrapporter")."""
    if term in sentence_terms:
        return True
    return len(term) >= 5 and any(t.endswith(term) for t in sentence_terms)


def _loose_matches(term: str, sentence_terms: set[str]) -> bool:
    """:func:`_matches`, or a compound starting with it ("tung" → "tungtransport"). A
    verbal noun starts a compound as its verb ("lading" → "ladeinfrastruktur",
    "bygging" → "byggeprosjekt")."""
    if _matches(term, sentence_terms):
        return True
    if len(term) < 4:
        return False
    prefixes = [term[:max(4, len(term) - 2)] if len(term) >= 5 else term]
    if term.endswith("ing") and len(term) >= 6:
        prefixes.append(term[:-3] + "e")
    return any(t.startswith(prefix) for t in sentence_terms for prefix in prefixes)


def _parts_match(term: str, sentence_terms: set[str]) -> bool:
    """Whether a compound of the question is written in parts: "godsprosjekt" by "gods-
    og logistikkprosjekt" (the head ends a term, the first part, perhaps with a linking
    -s- or -e-, starts one). Only the answerability uses it: it looks at one sentence and
    its passages, where a loop over the cuts costs nothing."""
    if len(term) < MIN_MODIFIER + MIN_HEAD or not term.isalpha():
        return False
    for cut in range(MIN_MODIFIER, len(term) - MIN_HEAD + 1):  # the same cuts as BM25's
        modifier, head = term[:cut], term[cut:]
        if not any(t.endswith(head) for t in sentence_terms):
            continue
        linked = modifier[-1] in LINKING and cut > MIN_MODIFIER
        stems = [modifier] + ([modifier[:-1]] if linked else [])
        if any(t.startswith(stem) for t in sentence_terms for stem in stems):
            return True
    return False


def covers(term: str, sentence_terms: set[str]) -> bool:
    """:func:`_loose_matches`, or the term's parts are there (:func:`_parts_match`)."""
    return _loose_matches(term, sentence_terms) or _parts_match(term, sentence_terms)


def matched(question: Question, terms: set[str], loose: bool = False) -> frozenset[int]:
    """Which of the question's terms (by position) are found among ``terms``. Matching
    is per term, so the matches of a union are the union of the matches."""
    match = _loose_matches if loose else _matches
    return frozenset(i for i, t in enumerate(question.terms) if match(t, terms))


def share(question: Question, positions: frozenset[int]) -> float:
    """The IDF-weighted share of the question's terms at ``positions``."""
    total = sum(question.weights)
    if total <= 0:
        return 0.0
    return sum(question.weights[i] for i in positions) / total


def overlap(question: Question, terms: set[str], loose: bool = False) -> float:
    """The IDF-weighted share of the question's terms found among ``terms``."""
    return share(question, matched(question, terms, loose))


@dataclass(frozen=True)
class Candidate:
    """A sentence that might answer: where it stands and its neighbours' text."""

    hit: int  # index into the hits
    sentence: int  # index into the hit's chunk sentences
    text: str
    before: str = ""
    after: str = ""


CHEAP_FEATURES = (
    "overlap", "overlap_loose", "overlap_window", "overlap_before", "overlap_after",
    "bigrams", "novelty", "log_words", "short", "heading", "first_in_passage",
    "type_match", "type_missing", "type_in_window", "passage_dense", "passage_rank",
    "passage_share", "list_item",
)
#: The reader's score (:mod:`assistant.reader`), its gap to the best and its rank.
READER_FEATURES = ("reader", "reader_gap", "reader_rank")


def _bigrams(tokens: Sequence[str]) -> set[tuple[str, str]]:
    return set(zip(tokens, tokens[1:]))


def cheap_features(question: Question, candidates: Sequence[Candidate],
                   hit_dense: Sequence[float], hit_scores: Sequence[float]) -> np.ndarray:
    """One row of :data:`CHEAP_FEATURES` per candidate (no model needed)."""
    rows = []
    q_bigrams = _bigrams(question.terms)
    q_terms = set(question.terms)
    best_score = max(hit_scores) if len(hit_scores) else 1.0
    # A sentence is a candidate and the neighbour of two others: analyse each text once.
    seen: dict[str, tuple[list[str], frozenset[int]]] = {}

    def analysed(text: str) -> tuple[list[str], frozenset[int]]:
        if text not in seen:
            terms_list = analyze(text)
            seen[text] = (terms_list, matched(question, set(terms_list)))
        return seen[text]

    for c in candidates:
        terms_list, in_sentence = analysed(c.text)
        terms = set(terms_list)
        in_before, in_after = analysed(c.before)[1], analysed(c.after)[1]
        n_words = len(c.text.split())
        novel = [t for t in terms if not _matches(t, q_terms)]
        kind = question.kind
        has_type = bool(kind) and bool(new_spans(c.text, kind, question.words))
        window_match = bool(kind) and bool(new_spans(f"{c.before} {c.after}", kind, question.words))
        rows.append([
            share(question, in_sentence),
            overlap(question, terms, loose=True),
            share(question, in_sentence | in_before | in_after),
            share(question, in_before),
            share(question, in_after),
            len(q_bigrams & _bigrams(terms_list)) / max(1, len(q_bigrams)),
            len(novel) / max(1, len(terms)),
            math.log1p(n_words),
            float(n_words < 4),
            float(is_heading(c.text)),
            float(c.sentence == 0),
            float(has_type),
            float(bool(kind) and not has_type),
            float(window_match and not has_type),
            hit_dense[c.hit],
            1.0 / (1 + c.hit),
            hit_scores[c.hit] / best_score if best_score > 0 else 0.0,
            float(list_marker(c.text) is not None),
        ])
    return np.asarray(rows, dtype=np.float64).reshape(len(candidates), len(CHEAP_FEATURES))


def reader_features(scores: np.ndarray) -> np.ndarray:
    """One row of :data:`READER_FEATURES` for each candidate the reader scored."""
    scores = np.asarray(scores, dtype=np.float64)
    if not len(scores):
        return np.zeros((0, len(READER_FEATURES)))
    order = np.argsort(-scores, kind="stable")
    rank = np.empty(len(scores))
    rank[order] = np.arange(len(scores))
    return np.stack([scores, scores - scores.max(), 1.0 / (1 + rank)], axis=1)


ANSWERABILITY_FEATURES = (
    "best_logit", "best_margin", "max_dense", "dense_top_agrees", "lexical_share",
    "rare_coverage_sentence", "rare_coverage_passage", "max_missing_idf", "missing_terms",
    "type_asked", "type_found", "n_terms",
    "dense_over_reference_top20",
)

#: A question term this rare names the thing asked about: if no passage has it, the
#: passages are probably about something else. Rarity is the term's IDF as a share of the
#: IDF of a term the corpus does not have at all, so it means the same in a corpus of ten
#: passages as in one of a hundred thousand.
RARE_SHARE = 0.4


def answerability_features(question: Question, best: Candidate, logits: np.ndarray,
                           hit_texts: Sequence[str], hit_dense: Sequence[float],
                           hit_lexical_share: float, type_found: bool,
                           reference_scores: np.ndarray) -> np.ndarray:
    """One row of :data:`ANSWERABILITY_FEATURES` for the chosen answer of a question.

    ``reference_scores`` are the question's cosines to passages about other things
    (:attr:`AnswerModels.reference`). e5's cosines sit between 0.75 and 0.9 for almost
    anything, so a fixed threshold cannot tell; whether the best passage beats the best
    unrelated ones can: an off-topic question is as close to random news as to the corpus.
    The best one alone is noisy ("Når ble … etablert?" is close to every founding story),
    and so were the top 5 (with them, that question was declined although the reader was
    sure of "• Etablert i 2004"): the feature is the margin over the mean of the top 20.
    The chosen sentence's own
    cosine is not a feature: it falls with the sentence's length ("• Etablert i 2004"
    scores 0.77), which says nothing about whether it answers.
    """
    ordered = np.sort(np.asarray(logits, dtype=np.float64))[::-1]
    margin = ordered[0] - ordered[1] if len(ordered) > 1 else 4.0
    sentence_terms = set(analyze(f"{best.before} {best.text} {best.after}"))
    hit_terms = [set(analyze(t)) for t in hit_texts]
    passage_terms = hit_terms[best.hit] if hit_terms else set()
    rare = [(t, w) for t, w in zip(question.terms, question.weights)
            if w >= RARE_SHARE * question.unknown_weight]
    rare_total = sum(w for _, w in rare)

    def coverage(terms: set[str]) -> float:
        if not rare:
            return 1.0
        return sum(w for t, w in rare if covers(t, terms)) / rare_total

    all_terms = set().union(*hit_terms)
    missing = [w / question.unknown_weight for t, w in zip(question.terms, question.weights)
               if not covers(t, all_terms)]
    max_dense = max(hit_dense) if len(hit_dense) else 0.0
    reference = np.sort(np.asarray(reference_scores, dtype=np.float64))[::-1]

    def over(top: int) -> float:
        """How far the best hit is above the ``top`` best unrelated passages (their mean)."""
        return max_dense - float(reference[:top].mean()) if len(reference) else 0.0

    return np.asarray([
        ordered[0],
        min(margin, 4.0),
        max_dense,
        float(len(hit_dense) > 0 and int(np.argmax(hit_dense)) == best.hit),
        hit_lexical_share,
        coverage(sentence_terms),
        coverage(passage_terms),
        max(missing, default=0.0),
        float(len(missing)),
        float(question.kind is not None),
        float(type_found),
        float(len(question.terms)),
        over(20),
    ], dtype=np.float64)


# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class LogisticModel:
    """``sigmoid(w · (x − mean) / scale + b)``: standardised features, one weight each."""

    features: tuple[str, ...]
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    threshold: float = 0.5

    def logits(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).reshape(-1, len(self.features))
        return ((x - self.mean) / self.scale) @ self.weights + self.bias

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logits(x)))

    def to_json(self) -> dict:
        return {"features": list(self.features), "weights": self.weights.tolist(),
                "bias": self.bias, "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "threshold": self.threshold}

    @classmethod
    def from_json(cls, data: dict) -> "LogisticModel":
        return cls(tuple(data["features"]), np.asarray(data["weights"], dtype=np.float64),
                   float(data["bias"]), np.asarray(data["mean"], dtype=np.float64),
                   np.asarray(data["scale"], dtype=np.float64), float(data.get("threshold", 0.5)))


def _standardisation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread of each feature (a constant feature keeps scale 1)."""
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    return x.mean(axis=0), scale


def fit_logistic(x: np.ndarray, y: np.ndarray, features: Sequence[str], l2: float = 1.0,
                 sample_weight: np.ndarray | None = None, iterations: int = 50) -> LogisticModel:
    """Regularised logistic regression by Newton's method (small, exact, no dependency)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    mean, scale = _standardisation(x)
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    sw = np.ones(len(x)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], l2)
    penalty[-1] = 0.0  # no penalty on the bias
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(z @ w)))
        gradient = z.T @ (sw * (p - y)) + penalty * w
        hessian = (z * (sw * p * (1 - p))[:, None]).T @ z + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return LogisticModel(tuple(features), w[:-1], float(w[-1]), mean, scale)


def fit_listwise(groups: Sequence[tuple[np.ndarray, np.ndarray]], features: Sequence[str],
                 l2: float = 1.0) -> LogisticModel:
    """A linear scorer trained to put a sentence with the answer first among the candidates
    of its question (softmax over each question's candidates), not to score sentences one
    by one: only the order within a question is ever used."""
    from scipy.optimize import (
        minimize,  # training only (scipy comes with sentence-transformers)
    )

    x_all = np.vstack([x for x, _ in groups])
    mean, scale = _standardisation(x_all)
    standard = [((x - mean) / scale, y.astype(bool)) for x, y in groups]

    def loss(w):
        total, gradient = 0.5 * l2 * w @ w, l2 * w
        for x, y in standard:
            s = x @ w
            top = s.max()
            p_all = np.exp(s - top)
            p_pos = p_all * y
            total += np.log(p_all.sum()) - np.log(p_pos.sum())
            gradient = gradient + x.T @ (p_all / p_all.sum() - p_pos / p_pos.sum())
        return total, gradient

    result = minimize(loss, np.zeros(x_all.shape[1]), jac=True, method="L-BFGS-B")
    return LogisticModel(tuple(features), result.x, 0.0, mean, scale)


#: The sure-answer logit for weights saved before it was saved with them (chosen for
#: those weights on NorQuAD validation, 2 December 2026).
DEFAULT_READ_MORE_BELOW = 3.0


@dataclass(frozen=True)
class AnswerModels:
    """The three learned scorers: cheap sentence score, full sentence score, answerability."""

    cheap: LogisticModel
    full: LogisticModel
    answerable: LogisticModel
    trained_on: str = ""
    #: Vectors of passages about other things (NorQuAD training passages, by the default
    #: model), for the answerability's background (:func:`answerability_features`).
    reference: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32),
                                  repr=False)
    #: A full logit this high is a sure answer: the reader reads no more of the shortlist
    #: (:func:`assistant.answer.read_shortlist`). ``None``: it always reads all of it. A
    #: logit means something only for the weights it came with, so the training script
    #: chooses it with them (``choose_read_more_below``).
    read_more_below: float | None = DEFAULT_READ_MORE_BELOW

    def reference_scores(self, query_vector: np.ndarray) -> np.ndarray:
        if self.reference.size == 0 or self.reference.shape[1] != len(query_vector):
            return np.zeros(0, dtype=np.float32)  # another model: no background
        return self.reference.astype(np.float32) @ query_vector

    def to_json(self) -> dict:
        return {"cheap": self.cheap.to_json(), "full": self.full.to_json(),
                "answerable": self.answerable.to_json(), "trained_on": self.trained_on,
                "read_more_below": self.read_more_below}

    @classmethod
    def from_json(cls, data: dict) -> "AnswerModels":
        return cls(LogisticModel.from_json(data["cheap"]), LogisticModel.from_json(data["full"]),
                   LogisticModel.from_json(data["answerable"]), data.get("trained_on", ""),
                   read_more_below=data.get("read_more_below", DEFAULT_READ_MORE_BELOW))


WEIGHTS_FILE = "answer_model.json"
REFERENCE_FILE = "reference_passages.npy"


@lru_cache(maxsize=1)
def default_models() -> AnswerModels:
    """The weights shipped with the package (``assistant/data/``)."""
    data = resources.files("assistant").joinpath("data")
    models = AnswerModels.from_json(json.loads(data.joinpath(WEIGHTS_FILE).read_text(encoding="utf-8")))
    for model, features in ((models.cheap, CHEAP_FEATURES), (models.full, CHEAP_FEATURES + READER_FEATURES),
                            (models.answerable, ANSWERABILITY_FEATURES)):
        if model.features != features:  # weights from before a change of the features
            raise RuntimeError(f"{WEIGHTS_FILE} passer ikke til trekkene i koden; lær dem på nytt "
                               "med `python scripts/train_answer_model.py`")
    with data.joinpath(REFERENCE_FILE).open("rb") as fh:
        return replace(models, reference=np.load(fh))

"""Hits → answer: the sentences from the documents that answer, with numbered citations.

The assistant is extractive. It never writes text of its own about the subject: the
answer is made of sentences quoted from the retrieved passages, each followed by the
number of its citation, and every citation points at a document, a page and a link.
When the best passage is not relevant enough, it says so and points to Osloregionen.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from .config import CONTACT_URL, SearchConfig
from .embedding import Encoder
from .lexical import analyze, bm25_ceiling
from .links import viewer_path
from .reader import Reader
from .search import Hit
from .selection import (
    AnswerModels,
    Candidate,
    Question,
    answerability_features,
    cheap_features,
    is_chrome,
    is_heading,
    is_list_question,
    list_marker,
    new_spans,
    overlap,
    quote,
    reader_features,
)

NOT_FOUND = (
    "Jeg fant ikke noe svar på dette i dokumentene jeg har tilgang til. "
    f"Du kan spørre Osloregionen direkte via {CONTACT_URL}."
)
EMPTY_QUESTION = (
    "Skriv et spørsmål, for eksempel «Hvor mange kommuner er med i Osloregionen?»"
)
#: A sentence from a second document joins the answer when its logit is this close to the
#: best one (another page of the same document is already in the list of sources).
SECOND_QUOTE_MARGIN = 0.003
#: Sentences of the top passages that compete to be quoted (cheap score for all).
MAX_SENTENCES_SCORED = 64
#: A list quoted as an answer stops after this many items.
MAX_LIST_ITEMS = 8


@dataclass(frozen=True)
class CitedPassage:
    """One passage of a cited document: its page, its chunk and which of the chunk's
    sentences it quotes (first and last index), so the viewer can mark them."""

    page: int
    chunk_id: int
    sentences: tuple[int, int] | None = None

    def viewer(self, doc_id: str) -> str:
        """The app's viewer at this passage's page, marking its sentences."""
        return viewer_path(doc_id, self.page, self.chunk_id, self.sentences)


@dataclass(frozen=True)
class Citation:
    """A numbered source: one document, where the quoted sentence stands and how to open it.

    ``page``, ``text`` and ``highlights`` are those of the document's best passage;
    ``passages`` has one entry per cited page (``pages``), the best passage's page first.
    """

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
    passages: tuple[CitedPassage, ...] = ()

    @property
    def pages(self) -> tuple[int, ...]:
        """The pages cited, in page order."""
        return tuple(sorted({p.page for p in self.passages} | {self.page}))

    def passage(self, page: int | None = None) -> CitedPassage:
        """The passage cited on ``page`` (the best passage when None or not cited)."""
        for passage in self.passages:
            if page is None or passage.page == page:
                return passage
        return CitedPassage(self.page, self.chunk_id)

    def viewer(self, page: int | None = None) -> str:
        """The app's viewer at a cited page, with its passage and sentence to mark."""
        return self.passage(page).viewer(self.doc_id)

    def to_json(self) -> dict:
        data = asdict(self)
        data["highlights"] = [list(span) for span in self.highlights]
        data["pages"] = list(self.pages)
        data["viewer"] = self.viewer()
        data["passages"] = [
            {"page": p.page, "chunk_id": p.chunk_id, "viewer": self.viewer(p.page)}
            for p in sorted(self.passages, key=lambda p: p.page)]
        return data


@dataclass(frozen=True)
class Quote:
    """A sentence quoted in an answer (as shown), the citation it comes from, and why it
    was chosen: its learned score and its document."""

    text: str
    n: int
    score: float = 0.0
    doc_id: str = ""
    #: ``score`` as if its passage had ranked first (:func:`wherever_ranked`): what the
    #: figures of different sources are compared by.
    comparable: float | None = None
    #: The viewer's address marking this quote, when it is not the one its citation marks
    #: (a second sentence of the same passage); empty: the citation's.
    viewer: str = ""

    def compared_by(self) -> float:
        return self.score if self.comparable is None else self.comparable


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    citations: tuple[Citation, ...] = ()
    found: bool = False
    quotes: tuple[Quote, ...] = field(default=(), repr=False)
    #: What was searched for: the question, or for a follow-up the question with its context.
    searched_for: str = ""
    #: The learned answerability: how likely the documents answer the question (0–1).
    confidence: float = 0.0

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.answer,
            "citations": [c.to_json() for c in self.citations],
            "found": self.found,
            "confidence": round(self.confidence, 3),
        }


@dataclass(frozen=True)
class Selection:
    """What the answer stage decided for one question, with the evidence it used (the
    training script and ``eval`` read the same numbers the product acts on)."""

    candidates: tuple[Candidate, ...]
    scored: tuple[int, ...]  # candidates the reader read, best cheap score first
    full: np.ndarray  # cheap + reader features of the scored candidates
    logits: np.ndarray  # full-model logits of the scored candidates
    best: int  # index into candidates
    evidence: np.ndarray  # answerability features
    probability: float  # that the documents answer the question
    found: bool


def answer_candidates(hits: list[Hit], list_question: bool = False) -> list[Candidate]:
    """Every sentence of the hits that may be quoted: no headings alone (nor the
    document's title: "Energistasjoner for tungtransport" looks like a sentence), no site
    chrome.

    A sentence that introduces a list is read with its items (:func:`introduced_items`),
    and for a ``list_question`` so is a heading. Neighbours are given even when they are
    headings: "Politiske organer:" says what the items under it are about.

    Chunks overlap, so a sentence is often in two hits: it is a candidate once, from the
    better hit, and the reader's few reads go to different sentences.
    """
    out = []
    seen: set[str] = set()
    for h, hit in enumerate(hits):
        chunk = hit.chunk
        texts = chunk.sentence_texts()
        title = quote(hit.document.meta.title or "").casefold()
        for s, text in enumerate(texts):
            last = introduced_items(texts, chunk.sentences, s, list_question)
            after = texts[last + 1] if last + 1 < len(texts) else ""
            if is_chrome(text) or (last == s and (is_heading(text, after)
                                                   or quote(text).casefold() == title)):
                continue
            if last > s:  # a sentence that introduces a list is read with its items
                text = chunk.text[chunk.sentences[s].start:chunk.sentences[last].end]
            key = quote(text)  # the same text to the reader
            if key in seen:
                continue
            seen.add(key)
            out.append(Candidate(h, s, text, texts[s - 1] if s > 0 else "", after))
    return out[:MAX_SENTENCES_SCORED]


def introduced_items(texts: list[str], refs, sentence: int, list_question: bool) -> int:
    """The last item of the list that sentence ``sentence`` introduces, or ``sentence``
    itself when it introduces none.

    A sentence ending in a colon ("Flowchange har levert 3 delrapporter og en
    sluttrapport:") says little without the items under it. A heading ("Politiske
    organer:", a slide title) is read with its items only for a question that asks for a
    list: for "Hva er det høyeste organet?" the one item that says so is the answer.
    ``texts`` and ``refs`` are a chunk's sentence texts and spans (computed once by the
    caller: this runs for every candidate sentence of every question).
    """
    if sentence + 1 >= len(texts):
        return sentence
    text, after = texts[sentence], texts[sentence + 1]
    marker = list_marker(after)
    if marker is None or list_marker(text) == marker:
        return sentence
    heading = is_heading(text, after)
    if not (list_question if heading else text.rstrip().endswith(":")):
        return sentence
    return list_end(texts, refs, sentence, sentence, marker)


def list_end(texts: list[str], refs, first: int, last: int, marker: str) -> int:
    """``last`` moved on over the items after it that carry ``marker`` on its page: one
    list, at most :data:`MAX_LIST_ITEMS` sentences on from ``first``."""
    page = refs[last].page
    while (last + 1 < len(texts) and last - first < MAX_LIST_ITEMS
           and list_marker(texts[last + 1]) == marker and refs[last + 1].page == page):
        last += 1
    return last


def list_start(texts: list[str], refs, item: int, marker: str) -> int:
    """The first item of the list that ``item`` is in: :func:`list_end` backwards, over
    the items before it that carry ``marker`` on its page (no limit: the start of a list
    is where its heading is)."""
    page = refs[item].page
    while item > 0 and list_marker(texts[item - 1]) == marker and refs[item - 1].page == page:
        item -= 1
    return item


def lexical_share(question: Question, hits: list[Hit]) -> float:
    """The best BM25 score over its ceiling for the question (0–1): the ceiling counts
    every question term, also those the corpus lacks
    (``selection.UNKNOWN_TERM``), which lowers it."""
    ceiling = bm25_ceiling(question.weights)
    best = max((h.lexical for h in hits), default=0.0)
    return min(1.0, best / ceiling) if ceiling > 0 else 0.0


def shortlist(candidates: list[Candidate], logits: np.ndarray, n: int) -> list[int]:
    """The candidates the reader reads: the best of each passage first (a slide ranked
    fourth may hold the answer, and the cheap score alone would fill the list from one
    passage), then the best of the rest, ``n`` in all."""
    order = [int(i) for i in np.argsort(-logits, kind="stable")]
    chosen: list[int] = []
    seen_hits: set[int] = set()
    for i in order:
        if candidates[i].hit not in seen_hits:
            seen_hits.add(candidates[i].hit)
            chosen.append(i)
    chosen = chosen[:n]
    chosen += [i for i in order if i not in chosen][: n - len(chosen)]
    return sorted(chosen, key=lambda i: -logits[i])


@dataclass(frozen=True)
class Shortlist:
    """The first, cheap stage of the answer: every candidate sentence with its cheap
    features, and the few the reader will read."""

    question: Question
    candidates: tuple[Candidate, ...]
    cheap: np.ndarray  # cheap features of every candidate
    scored: tuple[int, ...]  # the candidates the reader reads, best cheap score first


def first_stage(question: str, hits: list[Hit], config: SearchConfig, cheap_model,
                idf=None, focus: str | None = None) -> Shortlist | None:
    """Candidates, cheap features and the reader's shortlist: what :func:`select` does
    before the reader, and what the training script learns the reader on.

    ``focus`` is what a follow-up itself asks ("Og nestleder?" searched as "Og nestleder?
    (valgt leder 2020)"): when some sentences hold its words, only they compete, so the
    follow-up gets the new information and not the previous answer again.
    ``None`` when no sentence can be quoted at all.
    """
    q = Question.of(question, idf)
    candidates = answer_candidates(hits[: config.answer_passages], is_list_question(question))
    if focus:
        asked = Question.of(focus, idf)
        about = [c for c in candidates if overlap(asked, set(analyze(c.text)), loose=True) > 0]
        candidates = about or candidates
    if not candidates:
        return None
    cheap = cheap_features(q, candidates, [h.dense for h in hits], [h.score for h in hits])
    scored = shortlist(candidates, cheap_model.logits(cheap), max(1, config.answer_read_sentences))
    return Shortlist(q, tuple(candidates), cheap, tuple(scored))


def select(question: str, hits: list[Hit], query_vector: np.ndarray | None, embedder: Encoder,
           reader: Reader, config: SearchConfig, models: AnswerModels, idf=None,
           focus: str | None = None) -> Selection | None:
    """Score the sentences of ``hits`` in two stages and decide whether one answers:
    the cheap score for every candidate (:func:`first_stage`), the reader for the best
    few (:func:`read_shortlist`). ``None`` when no sentence can be quoted at all.
    """
    stage = first_stage(question, hits, config, models.cheap, idf, focus)
    if stage is None:
        return None
    q, candidates, scored = stage.question, stage.candidates, stage.scored
    if query_vector is None:
        query_vector = embedder.encode_queries([question])[0]
    scored, full, logits = read_shortlist(question, stage, reader, models, config)
    best = scored[int(np.argmax(logits))]
    type_found = bool(q.kind) and bool(new_spans(candidates[best].text, q.kind, q.words))
    evidence = answerability_features(
        q, candidates[best], logits, [h.chunk.text for h in hits[:config.answer_passages]],
        [h.dense for h in hits], lexical_share(q, hits), type_found,
        models.reference_scores(query_vector))
    probability = float(models.answerable.probabilities(evidence)[0])
    return Selection(candidates, scored, full, logits, best, evidence, probability,
                     probability >= models.answerable.threshold)


def read_shortlist(question: str, stage: Shortlist, reader: Reader, models: AnswerModels,
                   config: SearchConfig) -> tuple[tuple[int, ...], np.ndarray, np.ndarray]:
    """The reader's reads and the full score: the best few by the cheap score first, and
    twice as many (up to the whole shortlist) each time none of those read is a sure
    answer. Most questions are settled by the first few, and a read is most of the
    answer's time.

    Returns the candidates read, their full features and their full logits.
    """
    scored = stage.scored
    texts = [stage.candidates[i].text for i in scored]
    read = reader.score(question, texts[:max(1, config.answer_read_first)])
    while True:
        full = np.hstack([stage.cheap[list(scored[:len(read)])], reader_features(read)])
        logits = models.full.logits(full)
        sure = models.read_more_below is not None and logits.max() >= models.read_more_below
        if len(read) == len(scored) or sure:
            return scored[:len(read)], full, logits
        more = texts[len(read):2 * len(read)]
        read = np.concatenate([read, reader.score(question, more)])


def answer_unit(question: str, chunk, sentence: int,
                with_antecedent: bool = True) -> tuple[int, int]:
    """The span of ``chunk.text`` to quote for its sentence number ``sentence``.

    A sentence (with the one before when it opens with "Han", "Det består …", unless
    ``with_antecedent`` is false), or for a question that asks for a list ("Hvilke
    innsatsområder …?") and a sentence that is a list item: the list's heading with all
    its items.
    """
    refs = chunk.sentences
    texts = chunk.sentence_texts()
    list_question = is_list_question(question)
    introduced = introduced_items(texts, refs, sentence, list_question)
    if introduced > sentence:
        return refs[sentence].start, refs[introduced].end
    marker = list_marker(texts[sentence])
    if not (marker and list_question):
        # "Han ble sekretær i 1970." says who only with the sentence before
        before = (with_antecedent and starts_with_pronoun(texts[sentence])
                  and _antecedent_fits(texts, refs, sentence))
        return refs[sentence - before].start, refs[sentence].end

    first = list_start(texts, refs, sentence, marker)
    if first > 0 and (is_heading(texts[first - 1], texts[first])
                      or introduced_items(texts, refs, first - 1, True) > first - 1):
        first -= 1  # the list's heading or the sentence that introduces it
    return refs[first].start, refs[list_end(texts, refs, first, sentence, marker)].end


#: A sentence that opens with a pronoun is about someone or something named in the one
#: before: a personal pronoun ("Han ble sekretær …"), or a demonstrative one followed by a
#: verb ("Det består av ordførerne …", "Dette har gitt …"). Followed by anything else the
#: word is an article ("Den tyske invasjonen …", "Den 16. juni 1815 …"), and the sentence
#: stands alone. Verbs: the common irregular ones, and words ending in the present tense
#: or passive -er/-es, except a few such words that are not verbs.
_PRONOUN_START = re.compile(
    r"^\W*(?:(?:han|hun|ho|hen|de|dei|he|she|they)\s"
    r"|(?:den|det|dette|denne|disse|it|this|these)\s+"
    r"(?!(?:mer|over|under|etter|senere|tidligere|andre)\b)"
    r"(?:er|var|har|hadde|kan|kunne|skal|skulle|vil|ville|må|måtte|bør|blir|ble|vart|får|"
    r"fikk|går|gikk|står|sto|stod|ser|gir|ga|tar|tok|kom|ligger|lå|består|fins|is|was|has|"
    r"had|\w+(?:er|es))\b)",
    re.IGNORECASE)
#: The sentence before is quoted along only when it is no longer than this.
ANTECEDENT_WORDS = 40


def starts_with_pronoun(sentence: str) -> bool:
    return _PRONOUN_START.match(sentence) is not None


def _antecedent_fits(texts: list[str], refs, sentence: int) -> bool:
    """Whether the sentence before ``sentence`` can be quoted with it: on the same page,
    a sentence (not a heading, a list item or site chrome) and short enough to read."""
    if sentence == 0 or refs[sentence - 1].page != refs[sentence].page:
        return False
    before = texts[sentence - 1]
    return (len(before.split()) <= ANTECEDENT_WORDS and not is_heading(before, texts[sentence])
            and list_marker(before) is None and not is_chrome(before))


def exact_spans(question: str, text: str) -> list[tuple[int, int]]:
    """Where in ``text`` (the quoted sentence) the number, date or name asked for stands:
    of the candidates, the one nearest to the question's own words."""
    q = Question.of(question)
    if q.kind is None:
        return []
    found = new_spans(text, q.kind, q.words)
    if not found:
        return []
    terms = set(q.terms)
    anchors = [m.start() for m in re.finditer(r"\w+", text) if set(analyze(m.group())) & terms]
    if not anchors:
        return found[:1]
    return [min(found, key=lambda span: min(abs(span[0] - a) for a in anchors))]


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


def says_more(other: Quote, best: Quote) -> bool:
    """Whether ``other`` says something ``best`` does not (neither holds the other)."""
    return other.text not in best.text and best.text not in other.text


def pick_quotes(quotes: list[Quote], margin: float = SECOND_QUOTE_MARGIN) -> list[Quote]:
    """The best quote, and the first other one that is nearly as good, says something
    else and comes from another document (``quotes`` best first)."""
    best = quotes[0]
    for other in quotes[1:]:
        if (other.score >= best.score - margin and other.doc_id != best.doc_id
                and says_more(other, best)):
            return [best, other]
    return [best]


#: When the reader's second choice is this close to its first (in full logits: at most
#: e^1 ≈ 2.7 times lower odds), the answer quotes both, the best first. The model cannot
#: tell which of the two answers, and for a citizen a quote that does not answer is the
#: worst outcome; reading one sentence more is cheap. On NorQuAD validation one answer in
#: seven gets a second sentence (README, «Svarkvalitet», has the figures for 0.5–2.0).
RUNNER_UP_MARGIN = 1.0


def runner_up(selection: "Selection",
              margin: float = RUNNER_UP_MARGIN) -> tuple[Candidate, float] | None:
    """The candidate read second best and its full logit, when that is within ``margin``
    of the best one's; else None."""
    if len(selection.logits) < 2:
        return None
    order = np.argsort(-np.asarray(selection.logits), kind="stable")
    second = float(selection.logits[order[1]])
    if float(selection.logits[order[0]]) - second >= margin:
        return None
    return selection.candidates[selection.scored[int(order[1])]], second


def unit_quote(question: str, chunk, sentence: int, n: int, score: float,
               comparable: float | None = None,
               with_antecedent: bool = True) -> tuple[tuple[tuple[int, int], ...], Quote]:
    """The spans to highlight in ``chunk.text`` for its sentence ``sentence`` (the answer
    unit, then the exact number, date or name asked for) and its quote for citation ``n``."""
    c0, c1 = answer_unit(question, chunk, sentence, with_antecedent)
    exact = tuple((c0 + a, c0 + b) for a, b in exact_spans(question, chunk.text[c0:c1]))
    return ((c0, c1), *exact), Quote(quote(chunk.text[c0:c1]), n, score, chunk.doc_id, comparable)


def second_in_passage(question: str, hit: Hit, best_unit: tuple[int, int], second: int,
                      score: float) -> tuple[tuple[tuple[int, int], ...], Quote] | None:
    """The highlights and quote for sentence ``second`` of the answering passage, quoted
    in citation 1 (the answering passage is always cited first), with a viewer address
    marking it; None when the best sentence's unit (``best_unit``, its span in the
    passage) already holds it (a list and one of its items). A second sentence that
    leans on the best one ("Det var hans 17. mål.") is quoted without it: the best
    is quoted right before."""
    def overlaps(span: tuple[int, int]) -> bool:
        return span[0] < best_unit[1] and best_unit[0] < span[1]

    spans, second_quote = unit_quote(question, hit.chunk, second, 1, score)
    if overlaps(spans[0]):
        spans, second_quote = unit_quote(question, hit.chunk, second, 1, score,
                                         with_antecedent=False)
        if overlaps(spans[0]):
            return None
    pick = Pick(-1, hit.chunk.doc_id, hit.chunk.sentences[second].page, score, second)
    marked = cited_passage(question, hit, pick)
    return spans, replace(second_quote, viewer=marked.viewer(hit.chunk.doc_id))


@dataclass(frozen=True)
class Pick:
    """A cited hit before citations are numbered: its document, the page of its best
    sentence (or first page) and that sentence's learned score (``-inf`` if unscored)."""

    hit: int
    doc_id: str
    page: int
    score: float
    sentence: int | None = None
    #: ``score`` as if the passage had ranked first (:func:`wherever_ranked`).
    comparable: float = float("-inf")


def group_by_document(picks: list[Pick]) -> list[tuple[Pick, tuple[Pick, ...]]]:
    """One citation per document, in the order documents first appear in ``picks``.

    Each is (the document's best pick, one pick per cited page with the best one's page
    first): an answer that quotes a presentation lists it once, with its pages, instead
    of one "source" per slide.
    """
    groups: dict[str, list[Pick]] = {}
    for pick in picks:
        groups.setdefault(pick.doc_id, []).append(pick)
    cited = []
    for group in groups.values():
        primary = max(group, key=lambda p: p.score)  # the first of equals: the higher rank
        by_page: dict[int, Pick] = {primary.page: primary}
        for pick in group:
            if pick.page not in by_page or pick.score > by_page[pick.page].score:
                by_page[pick.page] = pick
        cited.append((primary, tuple(by_page.values())))
    return cited


def cited_passage(question: str, hit: Hit, pick: Pick) -> CitedPassage:
    """Where the viewer marks a pick: its chunk and the sentences of its quoted unit."""
    if pick.sentence is None:
        return CitedPassage(pick.page, hit.chunk_id)
    c0, c1 = answer_unit(question, hit.chunk, pick.sentence)
    inside = [i for i, s in enumerate(hit.chunk.sentences) if s.start < c1 and c0 < s.end]
    return CitedPassage(pick.page, hit.chunk_id, (inside[0], inside[-1]) if inside else None)


#: Another source's quote competes as an answer to "how many" when its learned score (a
#: logit) is within this much of the best; e^1 ≈ 2.7 times lower odds at most.
DISAGREEMENT_MARGIN = 1.0
DIFFERENT_FIGURES = "Kildene oppgir ulike tall, det nyeste først:"


def figure_of(question: str, text: str) -> str | None:
    """The number a quote gives for what the question asks about, digits only (so that
    "2,3 mill." and "2,3 millioner" compare equal), or None."""
    spans = exact_spans(question, text)
    if not spans:
        return None
    digits = re.sub(r"\D", "", text[spans[0][0]:spans[0][1]])
    return digits or text[spans[0][0]:spans[0][1]].lower()


def differing_figures(question: str, quotes: list[Quote],
                      years: dict[int, int | None]) -> list[Quote] | None:
    """When a "how many/how much" question gets different figures from different
    documents (members: 56 in 2007, 64 in 2022), their quotes newest first; else None.

    ``years`` maps citation numbers to their document's year; sources without a year
    come last, and no year is ever guessed for them.
    """
    if not quotes or Question.of(question).kind != "number":
        return None
    close = [q for q in quotes if q.compared_by() >= quotes[0].compared_by() - DISAGREEMENT_MARGIN]
    figures = {q.n: figure_of(question, q.text) for q in close}
    given = [q for q in close if figures[q.n] is not None]
    if len({figures[q.n] for q in given}) < 2:
        return None
    return sorted(given, key=lambda q: (years.get(q.n) is None, -(years.get(q.n) or 0), q.n))


#: Features that say how the passage ranked in the search, not what the sentence says.
PASSAGE_FEATURES = ("passage_dense", "passage_rank", "passage_share")


def wherever_ranked(selection: Selection, models: AnswerModels) -> np.ndarray:
    """The full logits of the sentences read, with their passage's rank features set to
    those of the best sentence: how good each is as an answer wherever its passage
    ranked. This is what the figures of different sources are compared by
    (:func:`differing_figures`): four fact sheets that differ only in their figure and
    year say equally much, and the one that happened to rank fourth is still shown. The
    real score still picks the sentence within a document and a second quote
    (:func:`pick_quotes`): without its rank, a sentence from a passage about something
    else can outscore the answer."""
    full = selection.full.copy()
    best = selection.scored.index(selection.best)
    columns = [models.full.features.index(f) for f in PASSAGE_FEATURES]
    full[:, columns] = full[best, columns]
    return models.full.logits(full)


def compose_answer(
    question: str,
    hits: list[Hit],
    query_vector: np.ndarray | None,
    embedder: Encoder,
    reader: Reader,
    config: SearchConfig,
    mode: str,
    models: AnswerModels,
    idf=None,
    focus: str | None = None,
) -> Answer:
    """Pick the answering sentence among the top passages and build numbered citations;
    "not found" when the learned answerability says the documents do not answer."""
    if not hits or (mode == "lexical" and hits[0].lexical <= 0):
        return Answer(question=question, answer=NOT_FOUND, found=False)
    hits = citable(hits[: config.top_k], mode)
    selection = select(question, hits, query_vector, embedder, reader, config, models, idf,
                       focus)
    # Keyword search has no cosine to judge by: a keyword match is its evidence.
    if selection is None or (mode != "lexical" and not selection.found):
        return Answer(question=question, answer=NOT_FOUND, found=False,
                      confidence=selection.probability if selection else 0.0)

    best = selection.candidates[selection.best]
    # The passage with the answering sentence is cited first, whatever its rank: one
    # sentence that fits says more than a long passage that mostly doesn't.
    order = [best.hit, *(h for h in range(len(hits)) if h != best.hit)]
    best_by_hit = {}
    for i, logit, comparable in zip(selection.scored, selection.logits,
                                    wherever_ranked(selection, models)):
        c = selection.candidates[i]
        if c.hit not in best_by_hit or logit > best_by_hit[c.hit][0]:
            best_by_hit[c.hit] = (float(logit), c.sentence, float(comparable))
    picks = []
    for h in order:
        chunk = hits[h].chunk
        score, s, comparable = best_by_hit.get(h, (float("-inf"), None, float("-inf")))
        page = chunk.sentences[s].page if s is not None else chunk.page_start
        picks.append(Pick(h, chunk.doc_id, page, score, s, comparable))

    # A close second sentence is quoted too when it stands in the answering passage or is
    # the best of another document: every quote stands, marked, in the text its source
    # shows (a sentence of another passage of the same document would not).
    second, second_score = runner_up(selection) or (None, 0.0)
    in_passage = None
    citations: list[Citation] = []
    quotes: list[Quote] = []
    for primary, on_pages in group_by_document(picks):
        hit = hits[primary.hit]
        chunk = hit.chunk
        n = len(citations) + 1
        highlights: tuple[tuple[int, int], ...] = ()
        if primary.sentence is not None:
            highlights, primary_quote = unit_quote(question, chunk, primary.sentence, n,
                                                   primary.score, primary.comparable)
            quotes.append(primary_quote)
            if primary.hit == best.hit and second is not None and second.hit == best.hit:
                in_passage = second_in_passage(question, hit, highlights[0], second.sentence,
                                               second_score)
                if in_passage is not None:
                    highlights = (*highlights, *in_passage[0])
        passages = tuple(cited_passage(question, hits[p.hit], p) for p in on_pages)
        citations.append(
            Citation(
                n=n,
                doc_id=chunk.doc_id,
                title=hit.document.meta.title,
                year=hit.document.meta.year,
                page=primary.page,
                url=hit.document.link(primary.page),
                text=chunk.text,
                highlights=highlights,
                chunk_id=hit.chunk_id,
                score=hit.score,
                passages=passages,
            )
        )

    years = {c.n: c.year for c in citations}
    differing = differing_figures(question, quotes, years)
    if differing is not None:
        chosen = differing
        text = DIFFERENT_FIGURES + " " + " ".join(
            f"{q.text} [{q.n}]" + (f" ({years[q.n]})" if years.get(q.n) else "") for q in chosen)
    else:
        chosen = pick_quotes(quotes, margin=SECOND_QUOTE_MARGIN)
        second_quote = (in_passage[1] if in_passage is not None else next(
            (q for q in quotes[1:] if second is not None
             and q.doc_id == hits[second.hit].chunk.doc_id), None))
        if len(chosen) == 1 and second_quote is not None and says_more(second_quote, chosen[0]):
            chosen.append(second_quote)
        text = " ".join(f"{q.text} [{q.n}]" for q in chosen)
    return Answer(
        question=question,
        answer=text,
        citations=tuple(citations),
        found=True,
        quotes=tuple(chosen),
        confidence=selection.probability,
    )

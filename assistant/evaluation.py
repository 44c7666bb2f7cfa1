"""Retrieval quality: gold questions → ranks → recall@k, MRR@10 and nDCG@10 per search mode.

A gold file is JSONL, one question a line::

    {"question": "Når ble Osloregionen etablert?", "doc": "<dokument-id>", "evidence": "Etablert i 2004"}

``doc`` is a document id (the file stem in the corpus), or ``null`` for a question the
corpus cannot answer (such a row has no ``evidence``; retrieval metrics leave it out, the
answer metrics count it). ``evidence`` is optional; other fields (such as ``answer``)
are allowed and ignored.

Relevance: a hit is relevant when its document is ``doc`` and, if ``evidence`` is given,
its passage contains it (compared after collapsing white space, case-insensitive). Ranks
are by document: the first hit of each document counts, later hits of the same document
are skipped. So when ``evidence`` is given and the best passage of the right document
does not contain it, the question counts as not found even if a lower passage of that
document does.

Everything here except :func:`evaluate` is pure and needs neither model nor index;
:func:`evaluate` only needs an object with ``search(question, k=..., mode=...)`` returning
hits with ``hit.chunk.doc_id`` and ``hit.chunk.text`` (an :class:`~assistant.search.Searcher`).
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .oserror import reason
from .tables import markdown_table

#: The search modes evaluated by default, in the order they are reported.
DEFAULT_MODES: tuple[str, ...] = ("dense", "lexical", "hybrid")
#: Ranks beyond this many documents count as "not found".
DEPTH = 10
#: Chunks fetched per question at first; doubled while fewer than ``depth`` documents come back.
INITIAL_CHUNKS = 100
#: The keys of :func:`metrics`, in report order.
METRIC_KEYS: tuple[str, ...] = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "n")


# --------------------------------------------------------------------------- gold file


@dataclass(frozen=True)
class GoldQuestion:
    """One question with the document that answers it and, optionally, the evidence text."""

    question: str
    doc: str | None  # None: the corpus cannot answer it
    evidence: str | None = None

    @property
    def answerable(self) -> bool:
        return self.doc is not None


class GoldError(ValueError):
    """A gold file cannot be read; the Norwegian message names the file, line and field."""

    def __init__(self, message: str, path: Path | None = None, line: int | None = None,
                 field: str | None = None):
        super().__init__(message)
        self.path = path
        self.line = line
        self.field = field


def _gold_error(path: Path, line: int, message: str, field: str | None = None) -> GoldError:
    return GoldError(f"{path.name}, linje {line}: {message}", path=path, line=line, field=field)


def _text_field(record: Mapping[str, Any], name: str, path: Path, line: int,
                required: bool) -> str | None:
    if name not in record or (record[name] is None and not required):
        if required:
            raise _gold_error(path, line, f"feltet «{name}» mangler", name)
        return None
    value = record[name]
    if not isinstance(value, str):
        raise _gold_error(path, line, f"feltet «{name}» må være tekst, ikke {value!r}", name)
    if not value.strip():
        raise _gold_error(path, line, f"feltet «{name}» er tomt", name)
    return value.strip()


def parse_gold_line(text: str, path: Path, line: int) -> GoldQuestion:
    """One non-blank JSONL line as a :class:`GoldQuestion`; :class:`GoldError` if it is bad."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _gold_error(path, line, f"ugyldig JSON ({exc.msg}, tegn {exc.colno})") from exc
    if not isinstance(record, dict):
        raise _gold_error(path, line, "forventet et JSON-objekt med feltene «question» og «doc»")
    question = _text_field(record, "question", path, line, required=True)
    if "doc" not in record:
        raise _gold_error(path, line, "feltet «doc» mangler (bruk null for et spørsmål "
                                      "korpuset ikke kan svare på)", "doc")
    doc = _text_field(record, "doc", path, line, required=False)
    evidence = _text_field(record, "evidence", path, line, required=False)
    if doc is None and evidence is not None:
        raise _gold_error(path, line, "«evidence» er oppgitt, men «doc» er null", "evidence")
    assert question is not None
    return GoldQuestion(question=question, doc=doc, evidence=evidence)


def load_gold(path: str | os.PathLike[str]) -> list[GoldQuestion]:
    """The questions of a JSONL gold file, in file order; blank lines are skipped.

    Raises :class:`GoldError` for a missing, unreadable or empty file and for the first bad line
    (invalid JSON, not an object, a missing, empty or non-text ``question``/``doc``, or a
    non-text or empty ``evidence``).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        where = "" if str(path) == path.name else f" ({path})"  # the path only where it adds
        raise GoldError(f"{path.name}: fant ikke filen{where}", path=path) from exc
    except OSError as exc:
        raise GoldError(f"{path.name}: filen kan ikke leses ({reason(exc)})", path=path) from exc
    questions = []
    for number, line_bytes in enumerate(raw.splitlines(), start=1):
        try:
            text = line_bytes.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise _gold_error(path, number, "linjen er ikke gyldig UTF-8") from exc
        if not text.strip():
            continue
        questions.append(parse_gold_line(text, path, number))
    if not questions:  # measuring nothing would print a table of zeros that looks like a result
        raise GoldError(f"{path.name}: filen har ingen spørsmål", path=path)
    return questions


# --------------------------------------------------------------------------- relevance


def normalize_text(text: str) -> str:
    """White space collapsed to single spaces and case folded, for evidence matching."""
    return " ".join(text.split()).casefold()


def is_relevant(doc_id: str, passage: str, gold: GoldQuestion) -> bool:
    """Whether a hit (document id + passage) answers ``gold``; see the module docstring."""
    if doc_id != gold.doc:
        return False
    if gold.evidence is None:
        return True
    return normalize_text(gold.evidence) in normalize_text(passage)


def document_ranking(hits: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """``(doc_id, passage)`` hits in order, keeping only the first hit of each document."""
    seen: set[str] = set()
    ranking = []
    for doc_id, passage in hits:
        if doc_id not in seen:
            seen.add(doc_id)
            ranking.append((doc_id, passage))
    return ranking


def first_relevant_rank(ranking: Sequence[tuple[str, str]], gold: GoldQuestion) -> int | None:
    """The 1-based document rank of the first relevant hit, or ``None`` if there is none.

    ``ranking`` is normally the output of :func:`document_ranking`; raw hits are deduplicated
    here too, so a later hit of an already ranked document never counts. Truncate
    ``ranking`` to the evaluation depth before calling.
    """
    for rank, (doc_id, passage) in enumerate(document_ranking(ranking), start=1):
        if is_relevant(doc_id, passage, gold):
            return rank
    return None


# --------------------------------------------------------------------------- metrics


def metrics(ranks: Sequence[int | None]) -> dict[str, float | int]:
    """recall@1/5/10, MRR@10 and nDCG@10 averaged over questions, plus ``n``.

    ``ranks`` holds one entry per question: the 1-based document rank of the relevant
    document, or ``None`` when it is not in the top 10 (ranks above 10 count as ``None``).
    With one relevant document per question the ideal DCG is 1, so nDCG@10 is the mean of
    ``1 / log2(rank + 1)``. An empty list gives zeros with ``n == 0``.
    """
    for rank in ranks:
        if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or rank < 1):
            raise ValueError(f"ugyldig rang {rank!r}; rangene begynner på 1")
    n = len(ranks)
    found = [r for r in ranks if r is not None and r <= DEPTH]

    def mean(values: Iterable[float]) -> float:
        return math.fsum(values) / n if n else 0.0

    return {
        "recall@1": mean(1.0 for r in found if r <= 1),
        "recall@5": mean(1.0 for r in found if r <= 5),
        "recall@10": mean(1.0 for r in found),
        "mrr@10": mean(1.0 / r for r in found),
        "ndcg@10": mean(1.0 / math.log2(r + 1) for r in found),
        "n": n,
    }


# --------------------------------------------------------------------------- evaluation


class SearcherLike(Protocol):
    """What :func:`evaluate` needs; :class:`~assistant.search.Searcher` fits."""

    def search(self, question: str, k: int = ..., mode: str | None = ...) -> list[Any]: ...


def ranked_documents(searcher: SearcherLike, question: str, mode: str, depth: int = DEPTH,
                     query_vector: Any = None) -> list[tuple[str, str]]:
    """The top ``depth`` documents for ``question`` as ``(doc_id, passage)``.

    Starts with :data:`INITIAL_CHUNKS` chunks and doubles ``k`` while fewer than ``depth``
    distinct documents come back and the searcher may have more to give.
    """
    k = max(INITIAL_CHUNKS, depth)
    while True:
        kwargs: dict[str, Any] = {"k": k, "mode": mode}
        if query_vector is not None:
            kwargs["query_vector"] = query_vector
        hits = searcher.search(question, **kwargs)
        ranking = document_ranking([(h.chunk.doc_id, h.chunk.text) for h in hits])
        if len(ranking) >= depth or len(hits) < k:
            return ranking[:depth]
        k *= 2


def question_ranks(
    searcher: SearcherLike,
    gold: Sequence[GoldQuestion],
    modes: Sequence[str] = DEFAULT_MODES,
    depth: int = DEPTH,
    progress: bool = True,
) -> dict[str, list[int | None]]:
    """For each mode, the rank of the relevant document for each answerable gold question
    (in order; questions with ``doc`` null are left out).

    The question is embedded once and the vector shared by the modes that need it, when the
    searcher offers ``embed_query`` (as :class:`~assistant.search.Searcher` does).
    """
    from tqdm import tqdm

    ranks: dict[str, list[int | None]] = {mode: [] for mode in modes}
    embed = getattr(searcher, "embed_query", None)
    needs_vector = any(mode in ("dense", "hybrid") for mode in modes)
    answerable = [item for item in gold if item.answerable]
    for item in tqdm(answerable, desc="Evaluerer søket", unit="spørsmål", file=sys.stderr,
                     disable=not progress):
        question = item.question.strip()
        vector = embed(question) if (embed is not None and needs_vector) else None
        for mode in modes:
            ranking = ranked_documents(searcher, question, mode, depth,
                                       query_vector=vector if mode != "lexical" else None)
            ranks[mode].append(first_relevant_rank(ranking, item))
    return ranks


def evaluate(
    searcher: SearcherLike,
    gold: Sequence[GoldQuestion],
    modes: Sequence[str] = DEFAULT_MODES,
    depth: int = DEPTH,
    progress: bool = True,
) -> dict[str, dict[str, dict[str, float | int]]]:
    """``{"modes": {mode: metrics(ranks)}}`` for ``gold`` searched with ``searcher``.

    ``depth`` is how many documents are ranked per question; the metrics are @10, so keep
    it at 10 (a smaller depth makes recall@10 etc. stricter). Progress goes to stderr.
    """
    ranks = question_ranks(searcher, gold, modes=modes, depth=depth, progress=progress)
    return {"modes": {mode: metrics(ranks[mode]) for mode in modes}}


# --------------------------------------------------------------------------- answers


class AssistantLike(Protocol):
    """What :func:`evaluate_answers` needs; :class:`~assistant.service.Assistant` fits."""

    def ask(self, question: str) -> Any: ...


def answer_hit(answer: Any, gold: GoldQuestion) -> bool:
    """Whether the answer text holds the evidence (case and white space ignored); without
    evidence, whether a found answer cites ``gold.doc`` first."""
    if not answer.found:
        return False
    if gold.evidence is None:
        return bool(answer.citations) and answer.citations[0].doc_id == gold.doc
    return normalize_text(gold.evidence) in normalize_text(answer.answer)


def answer_metrics(answers: Sequence[Any], gold: Sequence[GoldQuestion]) -> dict[str, float | int]:
    """``hit`` and ``answered`` over answerable questions, ``declined`` over the others."""
    answerable = [(a, g) for a, g in zip(answers, gold) if g.answerable]
    unanswerable = [a for a, g in zip(answers, gold) if not g.answerable]

    def share(values: list[bool]) -> float:
        return sum(values) / len(values) if values else 0.0

    return {
        "n_answerable": len(answerable),
        "hit": share([answer_hit(a, g) for a, g in answerable]),
        "answered": share([bool(a.found) for a, _ in answerable]),
        "n_unanswerable": len(unanswerable),
        "declined": share([not a.found for a in unanswerable]),
    }


def evaluate_answers(assistant: AssistantLike, gold: Sequence[GoldQuestion],
                     progress: bool = True) -> dict[str, float | int]:
    """Ask every gold question as a user would (default mode) and judge the answers."""
    from tqdm import tqdm

    answers = [assistant.ask(g.question) for g in tqdm(
        gold, desc="Evaluerer svarene", unit="spørsmål", file=sys.stderr, disable=not progress)]
    return answer_metrics(answers, gold)


# --------------------------------------------------------------------------- report

_COLUMNS: tuple[tuple[str, str], ...] = (
    ("n", "n"),
    ("R@1", "recall@1"),
    ("R@5", "recall@5"),
    ("R@10", "recall@10"),
    ("MRR@10", "mrr@10"),
    ("nDCG@10", "ndcg@10"),
)


def format_table(result: Mapping[str, Any]) -> str:
    """The retrieval metrics, one row per mode, 3 decimals."""
    rows = []
    for mode, values in result["modes"].items():
        row = [str(mode)]
        for _, key in _COLUMNS:
            value = values[key]
            row.append(str(int(value)) if key == "n" else f"{float(value):.3f}")
        rows.append(row)
    return markdown_table(["modus", *(title for title, _ in _COLUMNS)], rows)


def format_answer_table(answers: Mapping[str, Any]) -> str:
    """The answer metrics as a two-column table."""
    return markdown_table(["svar", "verdi"], [
        ["besvarbare spørsmål", str(answers["n_answerable"])],
        ["svaret inneholder beviset (hit)", f"{answers['hit']:.3f}"],
        ["besvart (answered)", f"{answers['answered']:.3f}"],
        ["ubesvarbare spørsmål", str(answers["n_unanswerable"])],
        ["avvist med «fant ikke» (declined)", f"{answers['declined']:.3f}"],
    ])

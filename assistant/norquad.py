"""NorQuAD (SQuAD-format JSON) → a corpus folder and a gold file for :mod:`assistant.evaluation`.

Every unique context becomes one document ``norquad-<first 10 hex of sha1(context)>.txt``
(UTF-8, the context exactly as given), with a sidecar ``<id>.meta.toml`` holding
``title`` (the context's first line, its headline), ``publisher`` and ``doc_type``. Every
answerable question becomes one gold line ``{"question", "doc", "evidence", "answer"}``:
NorQuAD's answer is the evidence, so retrieval counts the passage that holds it and the
answer evaluation checks that the quoted text does. Ids depend only on the context text,
so repeated runs give the same files.

``drop_every=3`` leaves every third distinct context (by id) out of the corpus, and its
questions become unanswerable gold rows (``"doc": null``): how well the assistant says
"I don't know" is measured on them.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .oserror import reason
from .sidecar import META_SUFFIX, dumps_meta_toml

ID_PREFIX = "norquad-"
TITLE_MAX_CHARS = 120
PUBLISHER = "NorQuAD (CC0)"
DOC_TYPE = "norquad"


class NorquadError(ValueError):
    """The input is not SQuAD-format JSON we can use; the message is Norwegian."""


@dataclass(frozen=True)
class NorquadQuestion:
    """One answerable question and the context it was asked about."""

    question: str
    context: str
    answer: str | None = None


@dataclass(frozen=True)
class ConversionReport:
    """What :func:`convert` wrote, and what it left out."""

    documents: int
    questions: int
    skipped: int = 0
    unanswerable: int = 0

    def summary(self) -> str:
        text = f"Skrev {self.documents} dokumenter og {self.questions} spørsmål"
        if self.unanswerable:
            text += f", {self.unanswerable} av dem uten svar i korpuset"
        if self.skipped:
            text += f" (hoppet over {self.skipped} spørsmål uten svar eller uten tekst)"
        return text


def context_id(context: str) -> str:
    """The stable document id of a context: ``norquad-`` + 10 hex digits of its SHA-1."""
    return ID_PREFIX + hashlib.sha1(context.encode("utf-8")).hexdigest()[:10]


def context_title(context: str, max_chars: int = TITLE_MAX_CHARS) -> str:
    """The first non-blank line of ``context`` (the headline), at most ``max_chars`` long."""
    for line in context.splitlines():
        title = " ".join(line.split())
        if title:
            return title if len(title) <= max_chars else title[: max_chars - 1].rstrip() + "…"
    return ""


def read_norquad(path: str | os.PathLike[str]) -> tuple[list[NorquadQuestion], int]:
    """The answerable questions in a SQuAD-format file, in file order, and how many were skipped.

    Questions marked ``is_impossible`` and questions or contexts without text are skipped.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        raise NorquadError(f"Fant ikke filen {path}") from exc
    except OSError as exc:
        raise NorquadError(f"{path.name} kan ikke leses: {reason(exc)}") from exc
    except UnicodeDecodeError as exc:
        raise NorquadError(f"{path.name} kan ikke leses: ikke gyldig UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise NorquadError(f"{path.name} er ikke gyldig JSON (linje {exc.lineno}: {exc.msg})") from exc
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list):
        raise NorquadError(f"{path.name}: forventet SQuAD-format med en liste i feltet «data»")

    questions: list[NorquadQuestion] = []
    skipped = 0
    for a, article in enumerate(articles):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise NorquadError(f"{path.name}: data[{a}] mangler listen «paragraphs»")
        for p, paragraph in enumerate(paragraphs):
            where = f"data[{a}].paragraphs[{p}]"
            if not isinstance(paragraph, dict):
                raise NorquadError(f"{path.name}: {where} er ikke et objekt")
            context = paragraph.get("context")
            qas = paragraph.get("qas", [])
            if not isinstance(context, str) or not isinstance(qas, list):
                raise NorquadError(f"{path.name}: {where} mangler «context» (tekst) eller «qas» (liste)")
            for qa in qas:
                question = qa.get("question") if isinstance(qa, dict) else None
                if (not isinstance(question, str) or not question.strip() or not context.strip()
                        or qa.get("is_impossible")):
                    skipped += 1
                    continue
                questions.append(NorquadQuestion(question.strip(), context, _first_answer(qa)))
    return questions, skipped


def _first_answer(qa: dict[str, Any]) -> str | None:
    for answer in qa.get("answers") or []:
        if isinstance(answer, dict) and isinstance(answer.get("text"), str) and answer["text"].strip():
            return answer["text"].strip()
    return None


def dropped(doc_ids, every: int | None) -> set[str]:
    """Every ``every``-th of the distinct ``doc_ids`` in sorted order (none for ``None``)."""
    if not every:
        return set()
    return set(sorted(set(doc_ids))[::every])


def document_meta(context: str) -> dict[str, str]:
    """The sidecar metadata for a context."""
    return {"title": context_title(context), "publisher": PUBLISHER, "doc_type": DOC_TYPE}


def _check_output(path: Path, input_path: Path) -> None:
    """Refuse to overwrite the input file with an output."""
    if path.resolve() == input_path.resolve():
        raise NorquadError(f"Utdata kan ikke skrives over inndatafilen {input_path}")


def convert(
    input_path: str | os.PathLike[str],
    corpus_dir: str | os.PathLike[str],
    gold_path: str | os.PathLike[str],
    limit: int | None = None,
    drop_every: int | None = None,
) -> ConversionReport:
    """Write one document per unique context to ``corpus_dir`` and the gold JSONL to ``gold_path``.

    ``limit`` keeps the first ``limit`` answerable questions (and only their contexts);
    ``drop_every`` leaves contexts out and makes their questions unanswerable (see above).
    Existing files with the same ids are overwritten; other files are left alone.
    """
    input_path, corpus_dir, gold_path = Path(input_path), Path(corpus_dir), Path(gold_path)
    if limit is not None and limit < 0:
        raise NorquadError("--limit kan ikke være negativ")
    _check_output(corpus_dir, input_path)
    _check_output(gold_path, input_path)
    questions, skipped = read_norquad(input_path)
    if limit is not None:
        questions = questions[:limit]

    if drop_every is not None and drop_every < 2:
        raise NorquadError("--drop-every må være 2 eller mer")
    contexts: dict[str, str] = {}
    for q in questions:
        contexts.setdefault(context_id(q.context), q.context)
    left_out = dropped(contexts, drop_every)
    contexts = {k: v for k, v in contexts.items() if k not in left_out}

    corpus_dir.mkdir(parents=True, exist_ok=True)
    for doc_id, context in contexts.items():
        (corpus_dir / f"{doc_id}.txt").write_text(context, encoding="utf-8", newline="")
        (corpus_dir / f"{doc_id}{META_SUFFIX}").write_text(
            dumps_meta_toml(document_meta(context)), encoding="utf-8", newline=""
        )

    if gold_path.parent != Path(""):
        gold_path.parent.mkdir(parents=True, exist_ok=True)
    with gold_path.open("w", encoding="utf-8", newline="\n") as fh:
        for q in questions:
            doc = context_id(q.context)
            record: dict[str, Any] = {"question": q.question, "doc": None}
            if doc not in left_out:
                record["doc"] = doc
                if q.answer is not None:
                    record["evidence"] = q.answer
            if q.answer is not None:
                record["answer"] = q.answer
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    unanswerable = sum(context_id(q.context) in left_out for q in questions)
    return ConversionReport(documents=len(contexts), questions=len(questions), skipped=skipped,
                            unanswerable=unanswerable)

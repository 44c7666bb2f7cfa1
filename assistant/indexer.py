"""Corpus → index: read what changed, chunk and embed it, and swap in a new build.

The steps are :mod:`assistant.documents` (files → documents), :mod:`assistant.chunking`
(documents → chunks), an :class:`~assistant.embedding.Encoder` (chunks → vectors) and
:mod:`assistant.store` (everything → a build on disk, made current atomically).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .chunking import SENTENCE_RULES, Chunk, chunk_document
from .config import Settings
from .documents import UNREADABLE, Problem, load_corpus
from .embedding import Encoder
from .store import (
    BUILDS,
    FORMAT_VERSION,
    PARTIAL,
    Index,
    IndexProblem,
    StoredDocument,
    _fsync_dir,
    all_vectors,
    build_lock,
    clean_leftovers,
    faiss_index_kind,
    load_index,
    settings_fingerprint,
    swap_current,
    write_index,
)


class IndexEmpty(IndexProblem):
    """Nothing in the corpus could be indexed; ``report`` says why, file by file."""

    def __init__(self, message: str, report: "BuildReport"):
        super().__init__(message)
        self.report = report


@dataclass
class BuildReport:
    """What a build did, for the summary printed after ``index``."""

    index_path: Path | None = None
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    #: Files not indexed now (exit code 4); see ``kept`` for earlier versions kept.
    problems: list[Problem] = field(default_factory=list)
    #: Files indexed with a caveat (OCR, cut pages, pages without text).
    notes: list[Problem] = field(default_factory=list)
    #: Documents whose file cannot be read now, kept as indexed before.
    kept: list[str] = field(default_factory=list)
    #: Half-written builds of killed earlier runs that this build removed.
    cleaned: list[str] = field(default_factory=list)
    chunks: int = 0
    embedded_chunks: int = 0
    pages: int = 0
    seconds: float = 0.0


def corpus_fingerprint(documents: list[StoredDocument]) -> str:
    digest = hashlib.sha256()
    for document in sorted(documents, key=lambda d: d.doc_id):
        digest.update(f"{document.doc_id}\0{document.content_hash}\n".encode())
    return digest.hexdigest()


def passage_text(chunk: Chunk) -> str:
    """What the model embeds for a chunk."""
    return chunk.text


# --------------------------------------------------------------------------- build


Reusable = dict[str, list[tuple[Chunk, np.ndarray]]]


def _previous_index(index_dir: Path, settings: Settings) -> tuple[Index | None, Reusable]:
    """The current index and its chunks+vectors per document, when it can be reused."""
    try:
        previous = load_index(index_dir, settings)
        vectors = all_vectors(previous.vectors)  # both index types keep them exactly
    except (IndexProblem, RuntimeError, ValueError, OSError):
        return None, {}
    by_doc: Reusable = {doc_id: [] for doc_id in previous.documents}
    for chunk, vector in zip(previous.chunks, vectors):
        by_doc.setdefault(chunk.doc_id, []).append((chunk, vector))
    return previous, by_doc


def _new_build_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + f"-{time.time_ns() % 10**9:09d}"


def build_index(settings: Settings, embedder: Encoder, rebuild: bool = False,
                progress: bool = True) -> BuildReport:
    """Read the corpus, chunk and embed what changed, and swap in the new index.

    Documents whose content hash is unchanged keep their text, chunks and vectors from
    the current index (unless ``rebuild``), so re-indexing an unchanged corpus reads no
    PDF and embeds nothing. A file that was indexed before but cannot be read now keeps
    its earlier version (and is reported), so a damaged copy never erases a document.
    The new build is written into ``builds/.partial-<id>`` and renamed and swapped in
    only when complete; what a killed build leaves behind is removed by the next one.
    """
    started = time.perf_counter()
    index_dir = settings.index_dir
    report = BuildReport()
    with build_lock(index_dir):
        report.cleaned = clean_leftovers(index_dir)
        build_id = _new_build_id()
        partial = index_dir / BUILDS / f"{PARTIAL}{build_id}"
        partial.mkdir(parents=True)
        try:
            _build_into(partial, build_id, settings, embedder, rebuild, progress, report)
        finally:
            if partial.exists():
                shutil.rmtree(partial, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Draft:
    """The build being assembled: its documents, chunks and their vectors in chunk order
    (``None`` for a chunk still to be embedded)."""

    documents: list[StoredDocument] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    vectors: list[np.ndarray | None] = field(default_factory=list)

    def keep(self, document: StoredDocument, embedded: list[tuple[Chunk, np.ndarray]],
             chunks: list[Chunk] | None = None) -> None:
        """Take ``document`` over from the current index with its chunks and vectors; with
        ``chunks`` (the document cut again by newer sentence rules), each keeps the vector
        of an old chunk with the same text, and the others are embedded by :meth:`embed`."""
        self.documents.append(document)
        if chunks is None:
            chunks = [chunk for chunk, _ in embedded]
        by_text = {chunk.text: vector for chunk, vector in embedded}
        self.chunks.extend(chunks)
        self.vectors.extend(by_text.get(chunk.text) for chunk in chunks)

    def add(self, document: StoredDocument, chunks: list[Chunk]) -> None:
        """A new or changed document, whose chunks are embedded by :meth:`embed`."""
        self.documents.append(document)
        self.chunks.extend(chunks)
        self.vectors.extend([None] * len(chunks))

    def embed(self, embedder: Encoder, progress: bool) -> tuple[np.ndarray, int]:
        """All vectors as one matrix, embedding the missing ones; and how many were new."""
        missing = [i for i, v in enumerate(self.vectors) if v is None]
        if missing:
            fresh = embedder.encode_passages([passage_text(self.chunks[i]) for i in missing],
                                             progress=progress)
            for row, i in zip(fresh, missing):
                self.vectors[i] = row
        if not self.vectors:
            return np.zeros((0, embedder.dimension), dtype=np.float32), 0
        return np.vstack(self.vectors).astype(np.float32), len(missing)


def _build_into(partial: Path, build_id: str, settings: Settings, embedder: Encoder,
                rebuild: bool, progress: bool, report: BuildReport) -> None:
    """The body of :func:`build_index`, run under the lock with ``partial`` to write into."""
    index_dir, corpus_dir = settings.index_dir, settings.corpus_dir
    previous, reusable = (None, {}) if rebuild else _previous_index(index_dir, settings)
    old = previous.documents if previous is not None else {}
    loaded = load_corpus(corpus_dir, progress=progress,
                         known={d: stored.known_file(corpus_dir) for d, stored in old.items()},
                         limits=settings.ingest)
    report.notes = loaded.notes

    draft = _Draft()
    recut = previous is not None and previous.manifest.get("sentence_rules") != SENTENCE_RULES

    def take_over(stored: StoredDocument) -> None:
        """An unchanged document as indexed, cut again if older sentence rules cut it."""
        chunks = (chunk_document(stored.as_document(corpus_dir), embedder.count_tokens,
                                 settings.chunking) if recut else None)
        draft.keep(stored, reusable.get(stored.doc_id, []), chunks)

    read = {document.doc_id: document for document in loaded.documents}
    for doc_id in loaded.doc_ids:
        document = read.get(doc_id)
        if document is None:  # unchanged: text, chunks and vectors as indexed
            report.unchanged.append(doc_id)
            take_over(old[doc_id])
            continue
        (report.updated if doc_id in old else report.added).append(doc_id)
        draft.add(StoredDocument.from_document(document, corpus_dir),
                  chunk_document(document, embedder.count_tokens, settings.chunking))
    report.problems = [_keep_if_unreadable(problem, old, corpus_dir, draft, take_over, report)
                       for problem in loaded.problems]
    in_build = {d.doc_id for d in draft.documents}
    report.removed = sorted(doc_id for doc_id in old if doc_id not in in_build)
    report.pages = sum(len(d.pages) for d in draft.documents)

    matrix, report.embedded_chunks = draft.embed(embedder, progress)
    report.chunks = len(draft.chunks)
    if not draft.chunks:
        raise IndexEmpty(_nothing_to_index(corpus_dir, report.problems), report)
    if previous is not None and not (report.added or report.updated or report.removed
                                     or recut):
        report.index_path = previous.path
        return
    manifest = {
        "format": FORMAT_VERSION,
        **settings_fingerprint(settings),
        "sentence_rules": SENTENCE_RULES,
        "dimension": embedder.dimension,
        "corpus_fingerprint": corpus_fingerprint(draft.documents),
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "documents": len(draft.documents),
        "chunks": len(draft.chunks),
        "faiss_index": faiss_index_kind(len(draft.chunks), settings.search),
    }
    write_index(partial, manifest, draft.documents, draft.chunks, matrix, settings.search)
    build_dir = index_dir / BUILDS / build_id
    os.rename(partial, build_dir)
    _fsync_dir(build_dir.parent)
    swap_current(index_dir, build_dir)
    report.index_path = build_dir


def _keep_if_unreadable(problem: Problem, old: dict[str, StoredDocument], corpus_dir: Path,
                        draft: _Draft, take_over: Callable[[StoredDocument], None],
                        report: BuildReport) -> Problem:
    """A file indexed before that cannot be read now keeps its earlier version; the
    problem (returned, with what was done) is reported either way."""
    stored = old.get(problem.path.stem)
    if (problem.kind != UNREADABLE or stored is None or corpus_dir / stored.path != problem.path
            or any(d.doc_id == stored.doc_id for d in draft.documents)):
        return problem
    report.kept.append(stored.doc_id)
    take_over(stored)
    return Problem(problem.path, problem.problem,
                   f"{problem.action}; forrige versjon er beholdt i indeksen", problem.kind)


def _nothing_to_index(corpus_dir: Path, problems: list[Problem]) -> str:
    skipped = "; ".join(f"{p.path.name}: {p.problem}" for p in problems[:5])
    more = f" (og {len(problems) - 5} til)" if len(problems) > 5 else ""
    return (f"Fant ingen tekst å indeksere i {corpus_dir}, så indeksen er ikke endret. "
            + (f"Hoppet over {skipped}{more}." if skipped else "Mappen har ingen dokumenter."))

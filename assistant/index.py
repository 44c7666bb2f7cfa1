"""Chunks + vectors → an index on disk, and back.

Layout of ``index/``::

    current -> builds/<build id>     (symlink, swapped atomically when a build finishes)
    builds/<build id>/manifest.json  model, prompts, chunking, corpus fingerprint, checksums
                     /documents.json metadata and page texts (for citations and source view)
                     /chunks.jsonl   one chunk per line, in vector order
                     /vectors.faiss  inner-product index over normalised vectors
                     /lexical/       BM25 (bm25s)

A build never touches the index it replaces: it is written into a fresh directory and
only then made current, so a crash or a kill midway leaves the previous index intact.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .chunking import Chunk, chunk_document
from .config import Settings
from .documents import Document, DocumentMeta, Problem, load_corpus
from .lexical import LexicalIndex

FORMAT_VERSION = 1
CURRENT = "current"
BUILDS = "builds"
LOCK = ".lock"
CHECKSUMMED = ("documents.json", "chunks.jsonl", "vectors.faiss")


class IndexProblem(Exception):
    """Base for index problems; messages are Norwegian and say what to do."""


class IndexMissing(IndexProblem):
    pass


class IndexMismatch(IndexProblem):
    pass


class IndexDamaged(IndexProblem):
    pass


class IndexLocked(IndexProblem):
    pass


@dataclass(frozen=True)
class StoredDocument:
    """A document as the index remembers it: enough to cite it and show its pages."""

    doc_id: str
    kind: str
    meta: DocumentMeta
    pages: tuple[str, ...]
    content_hash: str
    path: str

    def link(self, page: int | None = None) -> str:
        """The public URL, pointing at the page for PDFs (``#page=N``)."""
        url = self.meta.url
        if url and page and self.kind == "pdf":
            return f"{url}#page={page}"
        return url

    @classmethod
    def from_document(cls, document: Document, corpus_dir: Path) -> "StoredDocument":
        try:
            relative = str(document.path.relative_to(corpus_dir))
        except ValueError:
            relative = document.path.name
        return cls(
            doc_id=document.doc_id,
            kind=document.kind,
            meta=document.meta,
            pages=tuple(page.text for page in document.pages),
            content_hash=document.content_hash,
            path=relative,
        )


@dataclass
class Index:
    """A loaded index: documents, chunks, their vectors and the keyword index."""

    path: Path
    manifest: dict
    documents: dict[str, StoredDocument]
    chunks: list[Chunk]
    vectors: object  # faiss.Index
    lexical: LexicalIndex

    @property
    def build_id(self) -> str:
        return self.path.name


@dataclass
class BuildReport:
    """What a build did, for the summary printed after ``index``."""

    index_path: Path | None = None
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    chunks: int = 0
    embedded_chunks: int = 0
    pages: int = 0
    seconds: float = 0.0


# --------------------------------------------------------------------------- settings


def settings_fingerprint(settings: Settings) -> dict:
    """The parts of the settings an index depends on; a mismatch means rebuild."""
    return {
        "model": settings.model.name,
        "prompts": {
            "query": settings.model.query_prompt,
            "passage": settings.model.passage_prompt,
        },
        "chunking": dataclasses.asdict(settings.chunking),
    }


def corpus_fingerprint(documents: list[Document]) -> str:
    digest = hashlib.sha256()
    for document in sorted(documents, key=lambda d: d.doc_id):
        digest.update(f"{document.doc_id}\0{document.content_hash}\n".encode())
    return digest.hexdigest()


def passage_text(chunk: Chunk) -> str:
    """What the model embeds for a chunk."""
    return chunk.text


# --------------------------------------------------------------------------- faiss


def make_faiss_index(vectors: np.ndarray, dimension: int):
    """Exact inner product over L2-normalised vectors = cosine similarity."""
    import faiss

    index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def all_vectors(index) -> np.ndarray:
    if index.ntotal == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    return index.reconstruct_n(0, index.ntotal)


# --------------------------------------------------------------------------- files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _chunk_to_json(chunk: Chunk) -> str:
    return json.dumps(dataclasses.asdict(chunk), ensure_ascii=False)


def _chunk_from_json(line: str) -> Chunk:
    data = json.loads(line)
    data["sentences"] = tuple(tuple(s) for s in data["sentences"])
    return Chunk(**data)


def _document_to_dict(document: StoredDocument) -> dict:
    return dataclasses.asdict(document)


def _document_from_dict(data: dict) -> StoredDocument:
    return StoredDocument(
        doc_id=data["doc_id"],
        kind=data["kind"],
        meta=DocumentMeta(**data["meta"]),
        pages=tuple(data["pages"]),
        content_hash=data["content_hash"],
        path=data["path"],
    )


def write_index(
    directory: Path,
    manifest: dict,
    documents: list[StoredDocument],
    chunks: list[Chunk],
    vectors: np.ndarray,
) -> None:
    """Write every file of a build into ``directory`` (which must be new)."""
    import faiss

    directory.mkdir(parents=True)
    (directory / "documents.json").write_text(
        json.dumps([_document_to_dict(d) for d in documents], ensure_ascii=False),
        encoding="utf-8",
    )
    with (directory / "chunks.jsonl").open("w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(_chunk_to_json(chunk) + "\n")
    faiss.write_index(make_faiss_index(vectors, manifest["dimension"]), str(directory / "vectors.faiss"))
    LexicalIndex.build([c.text for c in chunks]).save(directory / "lexical")
    manifest = {**manifest, "checksums": {name: _sha256(directory / name) for name in CHECKSUMMED}}
    (directory / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    for path in directory.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())


def current_build(index_dir: Path) -> Path | None:
    link = index_dir / CURRENT
    if not link.exists():
        return None
    return link.resolve()


def swap_current(index_dir: Path, build_dir: Path) -> None:
    """Point ``current`` at ``build_dir`` in one atomic rename, then drop older builds."""
    temporary = index_dir / f".{CURRENT}.{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(Path(BUILDS) / build_dir.name)
    os.replace(temporary, index_dir / CURRENT)
    for old in (index_dir / BUILDS).iterdir():
        if old.name != build_dir.name:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Refuse a second concurrent build of the same index instead of corrupting it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    handle = (index_dir / LOCK).open("w")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise IndexLocked(
                    f"En annen indeksering av {index_dir} pågår allerede. "
                    "Vent til den er ferdig, og prøv igjen."
                ) from exc
            raise
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        handle.close()


# --------------------------------------------------------------------------- load


def load_index(index_dir: Path, settings: Settings | None = None) -> Index:
    """Load the current build, checking integrity and (if given) that settings match."""
    import faiss

    build = current_build(index_dir)
    if build is None or not (build / "manifest.json").exists():
        raise IndexMissing(
            f"Fant ingen indeks i {index_dir}. Bygg den med `python -m assistant index`."
        )
    rebuild = "Kjør `python -m assistant index --rebuild` for å bygge den på nytt."
    try:
        manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise IndexDamaged(f"Indeksen i {index_dir} er skadet (manifest.json). {rebuild}") from exc
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexMismatch(f"Indeksen i {index_dir} har et eldre format. {rebuild}")
    for name, expected in manifest.get("checksums", {}).items():
        path = build / name
        if not path.exists():
            raise IndexDamaged(f"Indeksen i {index_dir} er skadet: {name} mangler. {rebuild}")
        if _sha256(path) != expected:
            raise IndexDamaged(
                f"Indeksen i {index_dir} er skadet: {name} stemmer ikke med sjekksummen. {rebuild}"
            )
    if settings is not None:
        check_compatible(manifest, settings, index_dir)
    try:
        documents = [
            _document_from_dict(d)
            for d in json.loads((build / "documents.json").read_text(encoding="utf-8"))
        ]
        with (build / "chunks.jsonl").open(encoding="utf-8") as handle:
            chunks = [_chunk_from_json(line) for line in handle if line.strip()]
        vectors = faiss.read_index(str(build / "vectors.faiss"))
        lexical = LexicalIndex.load(build / "lexical")
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexDamaged(f"Indeksen i {index_dir} kan ikke leses ({exc}). {rebuild}") from exc
    if vectors.ntotal != len(chunks):
        raise IndexDamaged(
            f"Indeksen i {index_dir} er skadet: {vectors.ntotal} vektorer for "
            f"{len(chunks)} tekstbiter. {rebuild}"
        )
    return Index(
        path=build,
        manifest=manifest,
        documents={d.doc_id: d for d in documents},
        chunks=chunks,
        vectors=vectors,
        lexical=lexical,
    )


def check_compatible(manifest: dict, settings: Settings, index_dir: Path) -> None:
    wanted = settings_fingerprint(settings)
    rebuild = "Kjør `python -m assistant index --rebuild` for å bygge den på nytt."
    if manifest.get("model") != wanted["model"]:
        raise IndexMismatch(
            f"Indeksen i {index_dir} er bygget med modellen «{manifest.get('model')}», "
            f"men nå er «{wanted['model']}» valgt. {rebuild}"
        )
    for key, label in (("prompts", "prompter"), ("chunking", "oppdeling i tekstbiter")):
        if manifest.get(key) != wanted[key]:
            raise IndexMismatch(
                f"Indeksen i {index_dir} er bygget med andre innstillinger for {label} "
                f"({manifest.get(key)} ≠ {wanted[key]}). {rebuild}"
            )


# --------------------------------------------------------------------------- build


def _previous_vectors(index_dir: Path, settings: Settings) -> tuple[dict[str, tuple[str, list[tuple[Chunk, np.ndarray]]]], bool]:
    """Chunks and vectors per document of the current index, if it can be reused."""
    try:
        previous = load_index(index_dir, settings)
    except IndexProblem:
        return {}, False
    vectors = all_vectors(previous.vectors)
    by_doc: dict[str, tuple[str, list[tuple[Chunk, np.ndarray]]]] = {}
    for chunk, vector in zip(previous.chunks, vectors):
        content_hash = previous.documents[chunk.doc_id].content_hash
        by_doc.setdefault(chunk.doc_id, (content_hash, []))[1].append((chunk, vector))
    for doc_id, document in previous.documents.items():
        by_doc.setdefault(doc_id, (document.content_hash, []))
    return by_doc, True


def build_index(
    settings: Settings,
    embedder,
    rebuild: bool = False,
    progress: bool = True,
) -> BuildReport:
    """Read the corpus, chunk and embed what changed, and swap in the new index.

    Documents whose content hash is unchanged keep their chunks and vectors from the
    current index (unless ``rebuild``), so re-indexing an unchanged corpus embeds nothing.
    """
    started = time.perf_counter()
    index_dir, corpus_dir = settings.index_dir, settings.corpus_dir
    report = BuildReport()
    with build_lock(index_dir):
        loaded = load_corpus(corpus_dir, progress=progress)
        report.problems = loaded.problems
        previous, had_previous = ({}, False) if rebuild else _previous_vectors(index_dir, settings)

        chunks: list[Chunk] = []
        vectors: list[np.ndarray | None] = []
        to_embed: list[int] = []
        for document in loaded.documents:
            report.pages += len(document.pages)
            old = previous.get(document.doc_id)
            if old is not None and old[0] == document.content_hash:
                report.unchanged.append(document.doc_id)
                for chunk, vector in old[1]:
                    chunks.append(chunk)
                    vectors.append(vector)
                continue
            (report.updated if old is not None else report.added).append(document.doc_id)
            for chunk in chunk_document(document, embedder.count_tokens, settings.chunking):
                to_embed.append(len(chunks))
                chunks.append(chunk)
                vectors.append(None)
        current_ids = {d.doc_id for d in loaded.documents}
        report.removed = sorted(doc_id for doc_id in previous if doc_id not in current_ids)

        if to_embed:
            fresh = embedder.encode_passages([passage_text(chunks[i]) for i in to_embed], progress=progress)
            for row, i in zip(fresh, to_embed):
                vectors[i] = row
        matrix = (
            np.vstack(vectors).astype(np.float32)
            if vectors
            else np.zeros((0, embedder.dimension), dtype=np.float32)
        )
        report.chunks = len(chunks)
        report.embedded_chunks = len(to_embed)

        nothing_changed = had_previous and not (report.added or report.updated or report.removed)
        if nothing_changed:
            report.index_path = current_build(index_dir)
        else:
            manifest = {
                "format": FORMAT_VERSION,
                **settings_fingerprint(settings),
                "dimension": embedder.dimension,
                "corpus_fingerprint": corpus_fingerprint(loaded.documents),
                "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "documents": len(loaded.documents),
                "chunks": len(chunks),
                "faiss_index": "IndexFlatIP",
            }
            stored = [StoredDocument.from_document(d, corpus_dir) for d in loaded.documents]
            build_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + f"-{time.time_ns() % 10**9:09d}"
            build_dir = index_dir / BUILDS / build_id
            write_index(build_dir, manifest, stored, chunks, matrix)
            swap_current(index_dir, build_dir)
            report.index_path = build_dir
    report.seconds = time.perf_counter() - started
    return report

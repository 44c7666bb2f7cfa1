"""Chunks + vectors → an index on disk, and back.

Layout of ``index/``::

    current -> builds/<build id>     (symlink, swapped atomically when a build finishes)
    builds/<build id>/manifest.json  model, prompts, chunking, corpus fingerprint, checksums
                     /documents.json metadata and page texts (for citations and source view)
                     /chunks.jsonl   one chunk per line, in vector order
                     /vectors.faiss  inner-product index over normalised vectors (exact
                                     vectors kept, also in HNSW: reused by the next build)
                     /lexical/       BM25 (bm25s)
    builds/.partial-<build id>/      a build in progress (or killed: removed by the next)
    .lock                            held (flock) by the one build allowed at a time

A build never touches the index it replaces: it is written into a fresh directory and
only then made current, so a crash or a kill midway leaves the previous index intact.
The replaced build is kept until the next swap, so a server that is just loading it
when the swap happens still finds its files.
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
from .config import SearchConfig, Settings
from .documents import UNREADABLE, Document, DocumentMeta, Note, Page, Problem, load_corpus
from .lexical import LexicalIndex

FORMAT_VERSION = 1
CURRENT = "current"
BUILDS = "builds"
LOCK = ".lock"
PARTIAL = ".partial-"
CHECKSUMMED = ("documents.json", "chunks.jsonl", "vectors.faiss")
#: Exact vectors kept next to the FAISS index, so reuse never depends on the index type.


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


class IndexEmpty(IndexProblem):
    """Nothing in the corpus could be indexed; ``report`` says why, file by file."""

    def __init__(self, message: str, report: "BuildReport"):
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class StoredDocument:
    """A document as the index remembers it: enough to cite it and show its pages."""

    doc_id: str
    kind: str
    meta: DocumentMeta
    pages: tuple[str, ...]
    content_hash: str
    path: str
    notes: tuple[Note, ...] = ()

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
            notes=document.notes,
        )

    def to_document(self, corpus_dir: Path) -> Document:
        """The document as the loader would read it, for reuse when its file is unchanged."""
        return Document(
            doc_id=self.doc_id,
            path=corpus_dir / self.path,
            kind=self.kind,
            meta=self.meta,
            pages=tuple(Page(number=i + 1, text=text) for i, text in enumerate(self.pages)),
            content_hash=self.content_hash,
            notes=self.notes,
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


def faiss_index_kind(chunks: int, config: SearchConfig | None = None) -> str:
    """``IndexFlatIP`` (exact) below ``config.hnsw_min_chunks`` chunks, else ``IndexHNSWFlat``."""
    config = config or SearchConfig()
    return "IndexHNSWFlat" if chunks >= config.hnsw_min_chunks else "IndexFlatIP"


def make_faiss_index(vectors: np.ndarray, dimension: int, config: SearchConfig | None = None):
    """Inner product over L2-normalised vectors (= cosine similarity).

    Exact search reads every vector for every question, which stops being cheap around
    ``hnsw_min_chunks`` chunks (~15 ms at 100 000 on two cores); from there on an HNSW
    graph answers in a few ms with recall@10 measured against exact search
    (docs/performance.md). Both keep their vectors, so ``reconstruct`` works on both.
    """
    import faiss

    config = config or SearchConfig()
    if faiss_index_kind(len(vectors), config) == "IndexHNSWFlat":
        index = faiss.IndexHNSWFlat(dimension, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = config.hnsw_ef_construction  # efSearch: per search
    else:
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
        notes=tuple(Note(**note) for note in data.get("notes", ())),
    )


def write_index(
    directory: Path,
    manifest: dict,
    documents: list[StoredDocument],
    chunks: list[Chunk],
    vectors: np.ndarray,
    config: SearchConfig,
) -> None:
    """Write every file of a build into ``directory`` (new or empty), synced to disk.
    ``config`` decides the FAISS index type (exact or HNSW, see ``make_faiss_index``)."""
    import faiss

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "documents.json").write_text(
        json.dumps([_document_to_dict(d) for d in documents], ensure_ascii=False),
        encoding="utf-8",
    )
    with (directory / "chunks.jsonl").open("w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(_chunk_to_json(chunk) + "\n")
    faiss.write_index(make_faiss_index(vectors, manifest["dimension"], config),
                      str(directory / "vectors.faiss"))
    LexicalIndex.build([c.text for c in chunks]).save(directory / "lexical")
    manifest = {
        **manifest,
        "checksums": {name: _sha256(directory / name) for name in CHECKSUMMED},
    }
    (directory / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    for path in directory.rglob("*"):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    for path in [directory, *(p for p in directory.rglob("*") if p.is_dir())]:
        _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    """Make a rename or new file in ``path`` survive a power cut."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_build(index_dir: Path) -> Path | None:
    link = index_dir / CURRENT
    if not link.exists():
        return None
    return link.resolve()


def swap_current(index_dir: Path, build_dir: Path) -> None:
    """Point ``current`` at ``build_dir`` in one atomic rename, then drop older builds.

    The build being replaced is kept (until the next swap): a server that resolved
    ``current`` a moment ago may still be reading its files.
    """
    replaced = current_build(index_dir)
    temporary = index_dir / f".{CURRENT}.{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(Path(BUILDS) / build_dir.name)
    os.replace(temporary, index_dir / CURRENT)
    _fsync_dir(index_dir)
    keep = {build_dir.name} | ({replaced.name} if replaced is not None else set())
    for old in (index_dir / BUILDS).iterdir():
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def clean_leftovers(index_dir: Path) -> list[str]:
    """Remove what killed builds left behind; only call while holding the build lock."""
    removed = []
    builds = index_dir / BUILDS
    if builds.is_dir():
        for path in builds.iterdir():
            if path.name.startswith(PARTIAL):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
    for link in index_dir.glob(f".{CURRENT}.*"):
        link.unlink(missing_ok=True)
    return sorted(removed)


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Refuse a second concurrent build of the same index instead of corrupting it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    handle = (index_dir / LOCK).open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                handle.seek(0)
                holder = handle.read().strip()
                who = f" (prosess {holder})" if holder.isdigit() else ""
                raise IndexLocked(
                    f"En annen indeksering av {index_dir} pågår allerede{who}. "
                    "Vent til den er ferdig, og prøv igjen."
                ) from exc
            raise
        # The lock dies with the process (even on SIGKILL); the PID is only for the message.
        handle.seek(0)
        handle.truncate()
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


def build_index(
    settings: Settings,
    embedder,
    rebuild: bool = False,
    progress: bool = True,
) -> BuildReport:
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


def _build_into(partial: Path, build_id: str, settings: Settings, embedder, rebuild: bool,
                progress: bool, report: BuildReport) -> None:
    """The body of :func:`build_index`, run under the lock with ``partial`` to write into."""
    index_dir, corpus_dir = settings.index_dir, settings.corpus_dir
    previous, reusable = (None, {}) if rebuild else _previous_index(index_dir, settings)
    old_documents = previous.documents if previous is not None else {}
    known = {doc_id: stored.to_document(corpus_dir) for doc_id, stored in old_documents.items()}
    loaded = load_corpus(corpus_dir, progress=progress, known=known)
    report.notes = loaded.notes

    chunks: list[Chunk] = []
    vectors: list[np.ndarray | None] = []
    to_embed: list[int] = []
    stored: list[StoredDocument] = []
    for document in loaded.documents:
        report.pages += len(document.pages)
        stored.append(StoredDocument.from_document(document, corpus_dir))
        old = old_documents.get(document.doc_id)
        if old is not None and old.content_hash == document.content_hash:
            report.unchanged.append(document.doc_id)
            for chunk, vector in reusable.get(document.doc_id, []):
                chunks.append(chunk)
                vectors.append(vector)
            continue
        (report.updated if old is not None else report.added).append(document.doc_id)
        for chunk in chunk_document(document, embedder.count_tokens, settings.chunking):
            to_embed.append(len(chunks))
            chunks.append(chunk)
            vectors.append(None)

    # A file indexed before that cannot be read now keeps its earlier version.
    current_ids = {d.doc_id for d in loaded.documents}
    for problem in loaded.problems:
        old = old_documents.get(problem.path.stem)
        if (problem.kind == UNREADABLE and old is not None and old.doc_id not in current_ids
                and corpus_dir / old.path == problem.path):
            problem = Problem(problem.path, problem.problem,
                              f"{problem.action}; forrige versjon er beholdt i indeksen",
                              problem.kind)
            report.kept.append(old.doc_id)
            current_ids.add(old.doc_id)
            report.pages += len(old.pages)
            stored.append(old)
            for chunk, vector in reusable.get(old.doc_id, []):
                chunks.append(chunk)
                vectors.append(vector)
        report.problems.append(problem)
    report.removed = sorted(doc_id for doc_id in old_documents if doc_id not in current_ids)

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
    if not chunks:
        skipped = "; ".join(f"{p.path.name}: {p.problem}" for p in report.problems[:5])
        more = f" (og {len(report.problems) - 5} til)" if len(report.problems) > 5 else ""
        raise IndexEmpty(
            f"Fant ingen tekst å indeksere i {corpus_dir}, så indeksen er ikke endret. "
            + (f"Hoppet over {skipped}{more}." if skipped else "Mappen har ingen dokumenter."),
            report,
        )

    if previous is not None and not (report.added or report.updated or report.removed):
        report.index_path = previous.path
        return
    manifest = {
        "format": FORMAT_VERSION,
        **settings_fingerprint(settings),
        "dimension": embedder.dimension,
        "corpus_fingerprint": corpus_fingerprint(stored),
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "documents": len(stored),
        "chunks": len(chunks),
        "faiss_index": faiss_index_kind(len(chunks), settings.search),
    }
    write_index(partial, manifest, stored, chunks, matrix, settings.search)
    build_dir = index_dir / BUILDS / build_id
    os.rename(partial, build_dir)
    _fsync_dir(build_dir.parent)
    swap_current(index_dir, build_dir)
    report.index_path = build_dir

"""The index on disk: write a build, swap it in, lock, load and verify it.

Layout of ``index/``::

    current -> builds/<build id>     (symlink, swapped atomically when a build finishes)
    builds/<build id>/manifest.json  model, prompts, chunking, sentence rules, corpus
                                     fingerprint, checksums
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
when the swap happens still finds its files. What goes *into* a build is
:mod:`assistant.indexer`'s job.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chunking import Chunk, ChunkSentence
from .config import SearchConfig, Settings
from .documents import Document, DocumentMeta, KnownFile, Note, Page, text_hash
from .lexical import LexicalIndex
from .oserror import reason

FORMAT_VERSION = 1
CURRENT = "current"
BUILDS = "builds"
LOCK = ".lock"
PARTIAL = ".partial-"
CHECKSUMMED = ("documents.json", "chunks.jsonl", "vectors.faiss")
REBUILD = "Kjør `python -m assistant index --rebuild` for å bygge den på nytt."


def missing_index_message(index_dir: Path) -> str:
    return f"Fant ingen indeks i {index_dir}. Bygg den med `python -m assistant index`."


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


class IndexFolderUnusable(IndexProblem):
    pass


def make_index_dir(index_dir: Path) -> None:
    """Create the index folder, or say in Norwegian why it cannot be one: ``--index``
    naming a file (or a folder under a file) is a typo a person makes, not a crash."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        blocker = next((p for p in (index_dir, *index_dir.parents)
                        if p.exists() and not p.is_dir()), index_dir)
        raise IndexFolderUnusable(
            f"Indeksmappen {index_dir} kan ikke brukes: {blocker} er en fil, ikke en mappe. "
            "Velg en annen mappe med --index.") from exc
    except OSError as exc:
        raise IndexFolderUnusable(
            f"Kan ikke lage indeksmappen {index_dir}: {reason(exc)}.") from exc


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

    def as_document(self, corpus_dir: Path) -> Document:
        """The document again, as :func:`~assistant.chunking.chunk_document` reads it
        (pages are numbered from 1, as the loader numbers them)."""
        pages = tuple(Page(number, text) for number, text in enumerate(self.pages, start=1))
        return Document(self.doc_id, corpus_dir / self.path, self.kind, self.meta, pages,
                        self.content_hash, self.notes)

    def known_file(self, corpus_dir: Path) -> KnownFile:
        """What the loader needs to tell that this document's file is unchanged."""
        return KnownFile(self.doc_id, corpus_dir / self.path, self.content_hash,
                         text_hash(self.pages), self.notes)


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


# --------------------------------------------------------------------------- faiss


def faiss_index_kind(chunks: int, config: SearchConfig) -> str:
    """``IndexFlatIP`` (exact) below ``config.hnsw_min_chunks`` chunks, else ``IndexHNSWFlat``."""
    return "IndexHNSWFlat" if chunks >= config.hnsw_min_chunks else "IndexFlatIP"


def make_faiss_index(vectors: np.ndarray, dimension: int, config: SearchConfig):
    """Inner product over L2-normalised vectors (= cosine similarity).

    Exact search reads every vector for every question, which stops being cheap around
    ``hnsw_min_chunks`` chunks (~15 ms at 100 000 on two cores); from there on an HNSW
    graph answers in a few ms with recall@10 measured against exact search
    (docs/performance.md). Both keep their vectors, so ``reconstruct`` works on both.
    """
    import faiss

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
    """One line; sentences as lists of five numbers (``ChunkSentence`` fields in order)."""
    data = dataclasses.asdict(chunk)
    data["sentences"] = [tuple(s) for s in chunk.sentences]
    return json.dumps(data, ensure_ascii=False)


def _chunk_from_json(line: str) -> Chunk:
    data = json.loads(line)
    data["sentences"] = tuple(ChunkSentence(*s) for s in data["sentences"])
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
    """Remove what killed builds left behind; only call while holding the build lock.

    That is half-written builds (``.partial-*``), temporary links, and complete builds
    newer than ``current``: a build killed between its rename and the swap (build ids
    sort by time, and the build kept after a swap is always older than ``current``).
    """
    removed = []
    builds = index_dir / BUILDS
    current = current_build(index_dir)
    if builds.is_dir():
        for path in builds.iterdir():
            orphan = current is not None and path.name > current.name and path != current
            if path.name.startswith(PARTIAL) or orphan:
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
    for link in index_dir.glob(f".{CURRENT}.*"):
        link.unlink(missing_ok=True)
    return sorted(removed)


def recover_current(index_dir: Path) -> Path | None:
    """When ``current`` is gone but complete builds remain, point it at the newest build
    that loads and passes its checksums; returns that build (None: nothing to recover).

    Without this a lost link would make ``ask`` rebuild the whole index from scratch.
    """
    builds = index_dir / BUILDS
    if current_build(index_dir) is not None or not builds.is_dir():
        return None
    with build_lock(index_dir):
        if current_build(index_dir) is not None:
            return None
        candidates = sorted((p for p in builds.iterdir() if not p.name.startswith(PARTIAL)
                             and (p / "manifest.json").is_file()), reverse=True)
        for build in candidates:
            try:
                _verify(build, index_dir)
            except IndexProblem:
                continue
            swap_current(index_dir, build)
            return build
    return None


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Refuse a second concurrent build of the same index instead of corrupting it."""
    make_index_dir(index_dir)
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


def _verify(build: Path, index_dir: Path) -> dict:
    """The manifest of ``build``, after checking its format and every file's checksum."""
    rebuild = REBUILD
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
    return manifest


def load_index(index_dir: Path, settings: Settings | None = None) -> Index:
    """Load the current build, checking integrity and, unless ``settings`` is None (tools
    that only read texts), that it was built with these settings."""
    import faiss

    build = current_build(index_dir)
    if build is None or not (build / "manifest.json").exists():
        raise IndexMissing(missing_index_message(index_dir))
    manifest = _verify(build, index_dir)
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
        raise IndexDamaged(f"Indeksen i {index_dir} kan ikke leses ({exc}). {REBUILD}") from exc
    if vectors.ntotal != len(chunks):
        raise IndexDamaged(
            f"Indeksen i {index_dir} er skadet: {vectors.ntotal} vektorer for "
            f"{len(chunks)} tekstbiter. {REBUILD}"
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
    rebuild = REBUILD
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



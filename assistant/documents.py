"""Corpus → documents: read every file under the corpus folder into pages of clean text.

A document is one file; its id is the file stem. Metadata comes from a sidecar
``<stem>.meta.toml`` next to the file, falling back to the PDF's info and the file name.
Files that cannot be read are reported by name and skipped, so one bad file never stops
the rest of the corpus from being indexed.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .textclean import clean_page_text, decode_text, drop_repeated_lines

log = logging.getLogger(__name__)

DOCUMENT_SUFFIXES = {".pdf", ".txt", ".md"}
#: Files in the corpus folder that describe documents rather than being documents.
CONFIG_SUFFIXES = {".toml", ".json", ".jsonl", ".yaml", ".yml"}
VISIBILITIES = ("public", "internal")
PAGE_BREAK = "\f"


@dataclass(frozen=True)
class Page:
    """One page of a document (a PDF page, a slide, or a whole text file); numbers start at 1."""

    number: int
    text: str


@dataclass(frozen=True)
class DocumentMeta:
    """What a citation needs to say about its source."""

    title: str
    publisher: str = ""
    year: int | None = None
    date: str = ""
    url: str = ""
    visibility: str = "public"
    doc_type: str = ""


@dataclass(frozen=True)
class Document:
    doc_id: str
    path: Path
    kind: str  # "pdf", "txt" or "md"
    meta: DocumentMeta
    pages: tuple[Page, ...]
    content_hash: str

    @property
    def is_pdf(self) -> bool:
        return self.kind == "pdf"


@dataclass(frozen=True)
class Problem:
    """A file the loader could not (fully) use, and what was done about it."""

    path: Path
    problem: str
    action: str = "hoppet over"


@dataclass
class LoadResult:
    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class DocumentError(Exception):
    """A file cannot be read as a document; the message is Norwegian and names no path."""


# --------------------------------------------------------------------------- metadata


def read_sidecar(path: Path) -> dict:
    """The ``<stem>.meta.toml`` next to ``path`` as a dict (empty when there is none)."""
    sidecar = sidecar_path(path)
    if not sidecar.exists():
        return {}
    try:
        data = tomllib.loads(sidecar.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DocumentError(f"ugyldig metadatafil {sidecar.name}: {exc}") from exc
    return data


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.stem + ".meta.toml")


def title_from_filename(stem: str) -> str:
    words = re.sub(r"[-_]+", " ", stem).strip()
    return words[:1].upper() + words[1:] if words else stem


def build_meta(stem: str, sidecar: dict, fallback: dict) -> DocumentMeta:
    """Merge sidecar over PDF info over file name, validating each field by name."""
    merged = {**fallback, **{k: v for k, v in sidecar.items() if v not in (None, "")}}
    year = merged.get("year")
    if year is not None and not isinstance(year, int):
        if isinstance(year, str) and year.strip().isdigit():
            year = int(year.strip())
        else:
            raise DocumentError(f"feltet «year» må være et årstall, ikke {year!r}")
    visibility = str(merged.get("visibility", "public")).strip().lower()
    if visibility not in VISIBILITIES:
        raise DocumentError(
            f"feltet «visibility» må være «public» eller «internal», ikke {visibility!r}"
        )
    for key in ("title", "publisher", "date", "url", "doc_type"):
        if key in merged and not isinstance(merged[key], (str, int)):
            raise DocumentError(f"feltet «{key}» må være tekst, ikke {merged[key]!r}")
    date = str(merged.get("date", "") or "")
    if year is None and re.match(r"^\d{4}", date):
        year = int(date[:4])
    return DocumentMeta(
        title=str(merged.get("title") or title_from_filename(stem)).strip(),
        publisher=str(merged.get("publisher", "")).strip(),
        year=year,
        date=date,
        url=str(merged.get("url", "")).strip(),
        visibility=visibility,
        doc_type=str(merged.get("doc_type", "")).strip(),
    )


# --------------------------------------------------------------------------- readers


def read_text_pages(path: Path) -> tuple[list[str], dict]:
    """A .txt/.md file; form feeds (as written by pdftotext) separate pages or slides."""
    raw = path.read_bytes()
    if not raw.strip():
        raise DocumentError("filen er tom")
    text = decode_text(raw)
    return text.split(PAGE_BREAK), {}


def read_pdf_pages(path: Path) -> tuple[list[str], dict]:
    """Text of each PDF page with pypdf, plus the PDF's own title/author/year if any."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if path.stat().st_size == 0:
        raise DocumentError("filen er tom")
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception as exc:  # pypdf raises several types for bad crypto
                raise DocumentError(f"PDF-en er kryptert og kan ikke åpnes ({exc})") from exc
            if not opened:
                raise DocumentError("PDF-en er passordbeskyttet")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except DocumentError:
        raise
    except (PyPdfError, ValueError, OSError, KeyError, TypeError) as exc:
        raise DocumentError(f"PDF-en kan ikke leses, den er trolig skadet ({exc})") from exc
    fallback = {}
    if info.get("/Title"):
        fallback["title"] = str(info["/Title"])
    if info.get("/Author"):
        fallback["publisher"] = str(info["/Author"])
    created = str(info.get("/CreationDate", ""))
    match = re.match(r"^D:(\d{4})", created)
    if match:
        fallback["year"] = int(match.group(1))
    return pages, fallback


READERS = {".pdf": read_pdf_pages, ".txt": read_text_pages, ".md": read_text_pages}


def load_document(path: Path) -> Document:
    """Read one file into a :class:`Document`; raises :class:`DocumentError` when it can't."""
    suffix = path.suffix.lower()
    reader = READERS.get(suffix)
    if reader is None:
        raise DocumentError(f"filtypen «{suffix or '(ingen)'}» støttes ikke")
    raw_pages, fallback = reader(path)
    texts = [clean_page_text(text) for text in raw_pages]
    if suffix == ".pdf":
        texts = drop_repeated_lines(texts)
    if not any(text.strip() for text in texts):
        raise DocumentError("fant ingen tekst i dokumentet")
    meta = build_meta(path.stem, read_sidecar(path), fallback)
    pages = tuple(Page(number=i + 1, text=text) for i, text in enumerate(texts))
    digest = hashlib.sha256(path.read_bytes())
    sidecar = sidecar_path(path)
    if sidecar.exists():
        digest.update(sidecar.read_bytes())
    return Document(
        doc_id=path.stem,
        path=path,
        kind=suffix.lstrip("."),
        meta=meta,
        pages=pages,
        content_hash=digest.hexdigest(),
    )


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Candidate document files under ``corpus_dir``, sorted, skipping hidden and config files."""
    files = []
    for path in sorted(corpus_dir.rglob("*")):
        relative = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix.lower() in CONFIG_SUFFIXES or path.name.startswith("README"):
            continue
        files.append(path)
    return files


def load_corpus(corpus_dir: Path, progress: bool = False) -> LoadResult:
    """Every readable document under ``corpus_dir``; unreadable ones become :class:`Problem`s."""
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"Fant ikke korpusmappen {corpus_dir}")
    result = LoadResult()
    seen_ids: dict[str, Path] = {}
    files = corpus_files(corpus_dir)
    iterator = files
    if progress:
        from tqdm import tqdm

        iterator = tqdm(files, desc="Leser dokumenter", unit="fil")
    for path in iterator:
        try:
            document = load_document(path)
        except DocumentError as exc:
            result.problems.append(Problem(path, str(exc)))
            continue
        except OSError as exc:
            result.problems.append(Problem(path, f"filen kan ikke leses ({exc.strerror})"))
            continue
        if document.doc_id in seen_ids:
            result.problems.append(
                Problem(path, f"samme dokument-id som {seen_ids[document.doc_id].name}")
            )
            continue
        seen_ids[document.doc_id] = path
        result.documents.append(document)
    return result

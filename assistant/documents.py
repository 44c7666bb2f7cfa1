"""Corpus → documents: read every file under the corpus folder into pages of clean text.

A document is one file; its id is the file stem. Metadata comes from a sidecar
``<stem>.meta.toml`` next to the file, falling back to the PDF's info and the file name.
Files that cannot be read (empty, damaged, password-protected, unsupported, duplicates,
bad sidecar) are reported by name with what was done, and skipped, so one bad file never
stops the rest of the corpus from being indexed. Scanned pages are read with OCR
(:mod:`assistant.ocr`); files indexed with such caveats get a :class:`Note`.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .config import IngestConfig
from .formats import FORMAT_READERS, unsupported_reason
from .oserror import reason
from .sidecar import SidecarError, sidecar_path
from .sidecar import read_sidecar as _read_sidecar_file
from .textclean import (
    MAX_PAGE_CHARS,
    clean_page,
    decode_text,
    drop_repeated_lines,
    split_long_text,
)

log = logging.getLogger(__name__)

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
class Note:
    """Something about a file that was indexed anyway, for the summary after indexing.

    ``retry`` marks notes about missing text that a later run may be able to read (OCR
    installed later); such documents are read again on every run instead of reused.
    """

    problem: str
    action: str
    retry: bool = False


@dataclass(frozen=True)
class Document:
    doc_id: str
    path: Path
    kind: str  # the suffix without the dot: "pdf", "txt", "md", "docx", "pptx", "html" …
    meta: DocumentMeta
    pages: tuple[Page, ...]
    content_hash: str
    notes: tuple[Note, ...] = ()

    @property
    def is_pdf(self) -> bool:
        return self.kind == "pdf"

    @property
    def text_hash(self) -> str:
        return text_hash(page.text for page in self.pages)


def text_hash(pages: Iterable[str]) -> str:
    """Fingerprint of the text alone: equal for the same document under two names."""
    digest = hashlib.sha256()
    for page in pages:
        digest.update(page.encode("utf-8") + b"\f")
    return digest.hexdigest()


@dataclass(frozen=True)
class KnownFile:
    """What the current index remembers of a file: enough to tell that it is unchanged."""

    doc_id: str
    path: Path
    content_hash: str
    text_hash: str
    notes: tuple[Note, ...] = ()


#: Kinds of :class:`Problem`. Only ``NOTE`` means the file was indexed.
UNREADABLE = "unreadable"  # could not be read now (an earlier indexed version may be kept)
UNSUPPORTED = "unsupported"
DUPLICATE = "duplicate"
NOTE = "note"

SKIPPED = "hoppet over"


@dataclass(frozen=True)
class Problem:
    """A file the loader could not (fully) use, and what was done about it."""

    path: Path
    problem: str
    action: str = SKIPPED
    kind: str = UNREADABLE


@dataclass
class LoadResult:
    #: Documents read now (new or changed files).
    documents: list[Document] = field(default_factory=list)
    #: Ids of known files that are byte-for-byte unchanged: the caller keeps its copy.
    unchanged: list[str] = field(default_factory=list)
    #: Every document in the corpus (read or unchanged), in file order.
    doc_ids: list[str] = field(default_factory=list)
    #: Files that were not indexed.
    problems: list[Problem] = field(default_factory=list)
    #: Files that were indexed, but not quite as they are (OCR, cut pages, missing pages).
    notes: list[Problem] = field(default_factory=list)


class DocumentError(Exception):
    """A file cannot be read as a document; the message is Norwegian and names no path."""

    def __init__(self, message: str, action: str = SKIPPED, kind: str = UNREADABLE):
        super().__init__(message)
        self.action = action
        self.kind = kind


# --------------------------------------------------------------------------- metadata


def read_sidecar(path: Path) -> dict:
    """The ``<stem>.meta.toml`` next to ``path`` as a dict (empty when there is none)."""
    try:
        return _read_sidecar_file(path)
    except SidecarError as exc:
        raise DocumentError(str(exc), action=FIX_SIDECAR) from exc


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


_MONTHS = ("januar|februar|mars|april|mai|juni|juli|august|september|oktober|november|"
           "desember|jan|feb|mar|apr|jun|jul|aug|sep|sept|okt|nov|des")
#: A line that is a date of issue: "Juni 2019", "Oslo, 28. oktober 2020", "2019".
_ISSUE_LINE = re.compile(
    rf"(?:[^\W\d][\w .-]*,\s*)?(?:\d{{1,2}}\.\s*)?(?:(?:{_MONTHS})\.?\s+)?((?:19|20)\d\d)",
    re.IGNORECASE)


def printed_year(first_page: str, lines: int = 15) -> int | None:
    """The year a document says it was issued, from a line of its first page that is
    only a date ("Juni 2019", "Oslo, 28. oktober 2020", "2021"); None when no line is.

    Beats the PDF's creation date (a re-saved or scanned file is "created" later), and
    never reads a year out of running text ("I juni 2019 ble …"): no year is better
    than a wrong one.
    """
    seen = 0
    for line in first_page.split("\n"):
        line = " ".join(line.split()).strip("•–-* ")
        if not line:
            continue
        match = _ISSUE_LINE.fullmatch(line)
        if match:
            return int(match.group(1))
        seen += 1
        if seen >= lines:
            break
    return None


# --------------------------------------------------------------------------- readers

#: Bump when reading or cleaning changes, so that indexes built before re-read every file.
EXTRACTION_VERSION = "3"  # 3: the year printed on the first page
#: A PDF page with fewer letters and digits than this, and an image on it, is treated as
#: scanned (scanners often stamp a page number or "Scanned by …" as the only text).
MIN_TEXT_CHARS = 50
FIX_SIDECAR = "hoppet over – rett opp metadatafilen"


@dataclass
class Extracted:
    """Raw page texts of a file, before cleaning, with what the reader noticed."""

    pages: list[str]
    info: dict = field(default_factory=dict)  # fallback metadata (PDF title, author, year)
    notes: list[Note] = field(default_factory=list)


def _short(exc: BaseException, limit: int = 80) -> str:
    """An exception's message on one short line (pypdf's can quote kilobytes of a file)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def describe_pages(numbers: list[int]) -> str:
    """``[2, 3, 4, 7]`` → "side 2–4 og 7" (ranges, for one line in the summary)."""
    ranges: list[tuple[int, int]] = []
    for n in sorted(numbers):
        if ranges and n == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], n)
        else:
            ranges.append((n, n))
    parts = [f"{a}" if a == b else f"{a}–{b}" for a, b in ranges]
    if len(parts) > 6:
        parts = parts[:5] + [f"{len(parts) - 5} andre"]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " og " + parts[-1]
    return f"side {joined}"


def _count(n: int) -> str:
    return f"{n:,}".replace(",", "\u00a0")


def read_text_pages(path: Path, max_chars: int | None = None) -> Extracted:
    """A .txt/.md file; form feeds (as written by pdftotext) separate pages or slides.

    A long text without form feeds is cut into parts at paragraph breaks, so that it is
    indexed whole instead of being truncated like an over-long page. Text after
    ``max_chars`` is left out (and noted) before that, so a huge file costs no time.
    """
    raw = path.read_bytes()
    if not raw.strip():
        raise DocumentError("filen er tom")
    text = decode_text(raw)
    notes = []
    if max_chars is not None and len(text) > max_chars:
        notes.append(_over_limit(f"teksten har {_count(len(text))} tegn",
                                 f"bare de første {_count(max_chars)} er indeksert"))
        text = text[:max_chars]
    if PAGE_BREAK in text or len(text) <= MAX_PAGE_CHARS:
        return Extracted(text.split(PAGE_BREAK), notes=notes)
    parts = split_long_text(text, int(MAX_PAGE_CHARS * 0.9))
    notes.append(Note(f"teksten har {_count(len(text))} tegn uten sideskift",
                      f"indeksert i {len(parts)} deler («sider»)"))
    return Extracted(parts, notes=notes)


def _over_limit(problem: str, action: str) -> Note:
    return Note(problem, f"{action} (grensene står i README, «Store filer»)")


def _within_limits(texts: list[str], limits: IngestConfig) -> tuple[list[str], list[Note]]:
    """The pages up to the page and character limits, and a note for each limit hit."""
    notes = []
    if len(texts) > limits.max_pages:
        notes.append(_over_limit(f"dokumentet har {_count(len(texts))} sider",
                                 f"bare de første {_count(limits.max_pages)} er indeksert"))
        texts = texts[: limits.max_pages]
    total = 0
    for i, text in enumerate(texts):
        total += len(text)
        if total > limits.max_chars:
            notes.append(_over_limit(f"dokumentet har over {_count(limits.max_chars)} tegn",
                                     f"indeksert til og med side {i}"))
            texts = texts[:i]
            break
    return texts, notes


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs a warning for every oddity of a damaged file; the summary says it once."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _open_pdf(path: Path):
    from pypdf import PdfReader
    from pypdf.errors import DependencyError

    reader = PdfReader(path)
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("")
        except DependencyError as exc:
            raise DocumentError(
                "PDF-en er kryptert med AES, og Python-pakken som trengs for å åpne den, mangler",
                action="hoppet over – installer med: pip install cryptography",
            ) from exc
        except Exception as exc:  # pypdf raises several types for bad crypto
            raise DocumentError(f"PDF-en er kryptert og kan ikke åpnes ({_short(exc)})") from exc
        if not opened:
            raise DocumentError(
                "PDF-en er beskyttet med passord",
                action="hoppet over – legg inn en utgave uten passord",
            )
    return reader


def _has_image(page) -> bool:
    """Whether a PDF page draws an image (directly or in a form); when unsure, yes."""
    try:
        stack = [page.get("/Resources")]
        seen = 0
        while stack and seen < 50:
            resources = stack.pop()
            resources = resources.get_object() if resources is not None else None
            if not resources or "/XObject" not in resources:
                continue
            for xobject in resources["/XObject"].get_object().values():
                xobject = xobject.get_object()
                seen += 1
                if xobject.get("/Subtype") == "/Image":
                    return True
                if xobject.get("/Subtype") == "/Form" and "/Resources" in xobject:
                    stack.append(xobject["/Resources"])
        contents = page.get_contents()  # an inline image: BI … ID … EI in the page itself
        data = contents.get_data() if contents is not None else b""
        return b"BI" in data and b"ID" in data and b"EI" in data
    except Exception:
        return True


def _letters(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


def _needs_ocr(text: str) -> bool:
    return _letters(text) < MIN_TEXT_CHARS


def read_pdf_pages(path: Path, ocr: bool = True) -> Extracted:
    """Text of each PDF page with pypdf (scanned pages with OCR), plus the PDF's own info.

    A page that cannot be extracted, or a scanned page that cannot be OCR'd, becomes an
    empty page with a note; the document's other pages are still indexed, and page numbers
    stay those of the PDF so that ``#page=N`` links are right.
    """
    if path.stat().st_size == 0:
        raise DocumentError("filen er tom")
    notes: list[Note] = []
    with _quiet_pypdf():
        try:
            reader = _open_pdf(path)
            raw_pages = list(reader.pages)
        except DocumentError:
            raise
        except Exception as exc:  # pypdf raises many types for damaged files
            raise DocumentError(
                f"PDF-en kan ikke leses, den er trolig skadet eller avkortet ({_short(exc)})",
                action="hoppet over – legg inn filen på nytt",
            ) from exc
        if not raw_pages:
            raise DocumentError("PDF-en har ingen sider")
        texts: list[str] = []
        broken: list[int] = []
        scanned: list[int] = []
        for number, page in enumerate(raw_pages, start=1):
            try:
                text = page.extract_text() or ""
            except Exception:
                text = ""
                broken.append(number)
            if _needs_ocr(text) and number not in broken and _has_image(page):
                scanned.append(number)
            texts.append(text)
        info = _pdf_info(reader)
    if broken:
        notes.append(Note(f"{describe_pages(broken)} kunne ikke leses (skadet innhold)",
                          "indeksert uten disse sidene"))
    if scanned and ocr:
        notes.extend(_ocr_pages(path, scanned, texts))
    elif scanned:
        notes.append(Note(f"{describe_pages(scanned)} har bare bilde, ikke tekst",
                          "indeksert uten disse sidene (OCR slått av)", retry=True))
    return Extracted(texts, info=info, notes=notes)


def _ocr_pages(path: Path, numbers: list[int], texts: list[str]) -> list[Note]:
    """OCR the scanned ``numbers`` into ``texts``; notes say what was read and what failed."""
    from .ocr import OcrFailed, OcrUnavailable, find_tools, ocr_pdf_page

    try:
        tools = find_tools()
    except OcrUnavailable as exc:
        if not any(t.strip() for t in texts):
            raise DocumentError(f"PDF-en er skannet (ingen tekst), og {exc.reason}",
                                action=f"hoppet over – {exc.fix}") from exc
        return [Note(f"{describe_pages(numbers)} er skannet (ingen tekst), og {exc.reason}",
                     f"indeksert uten disse sidene – {exc.fix}", retry=True)]
    read, failed, reasons = [], [], []
    for number in numbers:
        try:
            text = ocr_pdf_page(path, number, tools)
        except OcrFailed as exc:
            failed.append(number)
            reasons.append(str(exc))
            continue
        if _letters(text) > _letters(texts[number - 1]):  # else keep the little text there was
            texts[number - 1] = text
            read.append(number)
    notes = []
    if read:
        notes.append(Note(f"{describe_pages(read)} har ingen tekst (skannet)",
                          "lest med OCR (norsk)"))
    if failed:
        notes.append(Note(f"OCR av {describe_pages(failed)} feilet: {reasons[0]}",
                          "indeksert uten disse sidene", retry=True))
    return notes


def _pdf_info(reader) -> dict:
    """Title, author and year from the PDF's document info, when it has them."""
    try:
        info = reader.metadata or {}
        fallback = {}
        if info.get("/Title"):
            fallback["title"] = str(info["/Title"])
        if info.get("/Author"):
            fallback["publisher"] = str(info["/Author"])
        match = re.match(r"^D:(\d{4})", str(info.get("/CreationDate", "")))
        if match:
            fallback["year"] = int(match.group(1))
        return fallback
    except Exception:  # damaged info dictionary: the sidecar or file name will do
        return {}


READERS = {".pdf": read_pdf_pages, ".txt": read_text_pages, ".md": read_text_pages, **FORMAT_READERS}
DOCUMENT_SUFFIXES = set(READERS)


def document_hash(path: Path, limits: IngestConfig, notes: tuple[Note, ...] = ()) -> str:
    """What decides whether a document must be read and embedded again.

    The file, its sidecar, the extraction version and the limits (a file cut by one limit
    is read again under another); plus the notes about text that could
    not be read yet, so that the document counts as changed once it can be (OCR installed).
    """
    digest = hashlib.sha256(f"v{EXTRACTION_VERSION}\0{limits}\0".encode())
    digest.update(path.read_bytes())
    sidecar = sidecar_path(path)
    if sidecar.exists():
        digest.update(b"\0" + sidecar.read_bytes())
    for note in notes:
        if note.retry:
            digest.update(b"\0" + note.problem.encode("utf-8"))
    return digest.hexdigest()


def load_document(path: Path, limits: IngestConfig = IngestConfig()) -> Document:
    """Read one file into a :class:`Document`; raises :class:`DocumentError` when it can't.

    ``limits`` bound what one file may cost (the index builder passes ``Settings.ingest``).
    """
    suffix = path.suffix.lower()
    reader = READERS.get(suffix)
    if reader is None:
        problem, action = unsupported_reason(suffix) or (
            f"filtypen «{suffix or '(ingen)'}» støttes ikke", SKIPPED)
        raise DocumentError(problem, action=action, kind=UNSUPPORTED)
    megabytes = path.stat().st_size / 1e6
    if megabytes > limits.max_file_mb:
        raise DocumentError(f"filen er {megabytes:.0f} MB, over grensen på "
                            f"{limits.max_file_mb:g} MB", "hoppet over – del opp filen eller "
                            "øk grensen (ASSISTANT_MAX_FILE_MB)")
    sidecar = read_sidecar(path)  # a bad sidecar raises with FIX_SIDECAR already
    extracted = read_text_pages(path, limits.max_chars) if reader is read_text_pages else reader(path)
    notes = list(extracted.notes)
    texts, cut = [], []
    for number, raw in enumerate(extracted.pages, start=1):
        text, truncated = clean_page(raw)
        if truncated:
            cut.append(number)
        texts.append(text)
    if cut:
        notes.append(Note(f"{describe_pages(cut)} har over {_count(MAX_PAGE_CHARS)} tegn",
                          f"kuttet til {_count(MAX_PAGE_CHARS)} tegn per side"))
    if suffix == ".pdf":
        texts = drop_repeated_lines(texts)
    texts, over = _within_limits(texts, limits)
    notes.extend(over)
    if not any(text.strip() for text in texts):
        raise DocumentError("fant ingen tekst i dokumentet")
    try:
        year = printed_year(texts[0]) if texts else None
        meta = build_meta(path.stem, sidecar, {**extracted.info, **({"year": year} if year else {})})
    except DocumentError as exc:
        if not sidecar:
            raise
        raise DocumentError(f"ugyldig metadata i {sidecar_path(path).name}: {exc}",
                            action=FIX_SIDECAR) from exc
    pages = tuple(Page(number=i + 1, text=text) for i, text in enumerate(texts))
    return Document(
        doc_id=path.stem,
        path=path,
        kind=suffix.lstrip("."),
        meta=meta,
        pages=pages,
        content_hash=document_hash(path, limits, tuple(notes)),
        notes=tuple(notes),
    )


def corpus_files(corpus_dir: Path) -> tuple[list[Path], list[Problem]]:
    """Candidate document files under ``corpus_dir``, sorted, skipping hidden and config
    files; and the links that were not followed.

    Reading never leaves the corpus: a symbolic link is followed only when its real path
    is inside the corpus folder (a link to ``/etc/passwd`` would otherwise be published
    by the public search). Links that lead out, loop or lead nowhere are reported, and so
    are linked folders, which are not followed.
    """
    root = corpus_dir.resolve()
    files: list[Path] = []
    problems: list[Problem] = []
    for path in sorted(corpus_dir.rglob("*")):
        relative = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_symlink():
            problem = _link_problem(path, root)
            if problem is not None:
                problems.append(Problem(path, problem, "hoppet over", UNREADABLE))
                continue
        if not path.is_file():
            continue
        if path.suffix.lower() in CONFIG_SUFFIXES or path.name.startswith("README"):
            continue
        files.append(path)
    return files, problems


def _link_problem(link: Path, root: Path) -> str | None:
    """Why the symbolic link ``link`` is not followed, or None when it may be."""
    try:
        target = link.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a loop this way
        return "lenken går i ring"
    except OSError as exc:
        return "lenken går i ring" if exc.errno == errno.ELOOP else "lenken peker ingen steder"
    if not target.is_relative_to(root):
        return "lenken peker ut av korpusmappen"
    if target.is_dir():
        return "lenke til en mappe (følges ikke)"
    return None


def _unchanged(path: Path, known: KnownFile | None, limits: IngestConfig) -> bool:
    """Whether ``path`` is the known file with its bytes and sidecar unchanged."""
    if known is None or known.path != path:
        return False
    if any(note.retry for note in known.notes):
        return False  # read again: what could not be read last time may be readable now
    return document_hash(path, limits) == known.content_hash


def _load_one(path: Path, limits: IngestConfig, result: LoadResult) -> Document | None:
    try:
        return load_document(path, limits)
    except DocumentError as exc:
        result.problems.append(Problem(path, str(exc), exc.action, exc.kind))
    except OSError as exc:
        result.problems.append(Problem(path, f"filen kan ikke leses ({reason(exc)})"))
    except Exception as exc:  # a bug or an exotic file must not stop the other files
        log.debug("Uventet feil ved lesing av %s", path, exc_info=True)
        result.problems.append(
            Problem(path, f"uventet feil ved lesing ({type(exc).__name__}: {_short(exc)})")
        )
    return None


def load_corpus(corpus_dir: Path, progress: bool = False,
                known: Mapping[str, KnownFile] | None = None,
                limits: IngestConfig = IngestConfig()) -> LoadResult:
    """Every readable document under ``corpus_dir``; unreadable ones become :class:`Problem`s.

    ``known`` describes the files of the current index by document id: a file whose bytes
    and sidecar are unchanged is listed in ``unchanged`` instead of being parsed (and
    OCR'd) again. Of documents with the same text under different names, one is kept (an
    already indexed one if any, else the shortest name, since copies get suffixes like
    " (1)" or "-kopi") and the others are reported as duplicates.
    """
    if not corpus_dir.is_dir():
        raise FileNotFoundError(f"Fant ikke korpusmappen {corpus_dir}")
    known = known or {}
    result = LoadResult()
    files, result.problems = corpus_files(corpus_dir)
    iterator = files
    if progress:
        from tqdm import tqdm

        iterator = tqdm(files, desc="Leser dokumenter", unit="fil")
    read: dict[str, Document] = {}
    found: dict[str, tuple[Path, str, tuple[Note, ...]]] = {}  # id → path, text hash, notes
    for path in iterator:
        doc_id = path.stem
        entry = known.get(doc_id)
        try:
            unchanged = _unchanged(path, entry, limits)
        except OSError:
            unchanged = False  # _load_one reports it
        if unchanged:
            document = None
            text, notes = entry.text_hash, entry.notes
        else:
            document = _load_one(path, limits, result)
            if document is None:
                continue
            text, notes = document.text_hash, document.notes
        if doc_id in found:
            result.problems.append(Problem(
                path, f"samme dokument-id som {found[doc_id][0].name}",
                "hoppet over – gi filen et annet navn", DUPLICATE))
            continue
        found[doc_id] = (path, text, notes)
        if document is not None:
            read[doc_id] = document

    by_text: dict[str, list[str]] = {}
    for doc_id, (_, text, _) in found.items():
        by_text.setdefault(text, []).append(doc_id)
    for group in by_text.values():
        keeper = next((d for d in group if d in known), None) or min(
            group, key=lambda d: (len(d), str(found[d][0])))  # "rapport" before "rapport (1)"
        for doc_id in group:
            if doc_id == keeper:
                continue
            path = found.pop(doc_id)[0]
            read.pop(doc_id, None)
            result.problems.append(Problem(
                path, f"samme innhold som {found[keeper][0].name}",
                "hoppet over (indeksert én gang)", DUPLICATE))
    result.doc_ids = list(found)
    result.documents = list(read.values())
    result.unchanged = [doc_id for doc_id in found if doc_id not in read]
    for path, _, notes in found.values():
        result.notes.extend(Problem(path, n.problem, n.action, NOTE) for n in notes)
    result.problems.sort(key=lambda p: str(p.path))
    return result

"""Fetch the published reports listed in a manifest into the corpus.

The manifest (``corpus/reports.toml``) names each report: its title, the public page that
links to it, the year and the file stem to save it as. For every report we follow the
page to the right PDF link (or use a direct ``pdf`` URL), download the PDF into the corpus
directory and write a sidecar ``<stem>.meta.toml`` next to it, the metadata format the rest
of the project reads (``title``, ``publisher``, ``year``, ``date``, ``url``, ``page_url``,
``visibility``, ``doc_type``).

HTTP goes through :mod:`assistant.download`, the client the site crawler uses too
(User-Agent, timeouts, telling "no network" from one dead link). Files already present are never fetched again. Nothing is written unless a
real PDF arrived: downloads go to a hidden temporary file in the corpus directory, are
checked (``%PDF-`` at the start, full length) and then renamed into place atomically.

If the very first network contact fails at the connection level (name lookup, refused
connection, timeout, unreachable network), there is no point in trying the rest:
:func:`fetch_reports` raises :class:`NoNetworkError` and the caller reports it in one line.
Any later failure belongs to one report only and is returned as a failed
:class:`FetchResult`, and the run carries on.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
import tomllib
import unicodedata
import urllib.request
from dataclasses import dataclass, field
from datetime import date as _date
from html.parser import HTMLParser
from http.client import HTTPException
from pathlib import Path
from typing import Any, Callable, Iterable
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from .download import (  # noqa: F401 (NoNetworkError and FetchError are part of this API)
    DEFAULT_TIMEOUT,
    Downloader,
    FetchError,
    NoNetworkError,
    decode_html,
)
from .sidecar import META_SUFFIX, write_meta_toml

#: How many matching links without ``.pdf`` in the name we ask for their Content-Type.
MAX_CONTENT_TYPE_PROBES = 5
_CHUNK = 64 * 1024

STATUS_DOWNLOADED = "downloaded"
STATUS_SKIPPED = "skipped"
STATUS_FAILED = "failed"

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


# ---------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class ManifestEntry:
    """One entry of the manifest."""

    id: str
    title: str
    year: int
    page: str | None = None
    pdf: str | None = None
    match: str | None = None
    date: str | None = None
    publisher: str | None = None
    doc_type: str = "rapport"

    @property
    def filename(self) -> str:
        return f"{self.id}.pdf"

    @property
    def meta_filename(self) -> str:
        return f"{self.id}{META_SUFFIX}"


@dataclass(frozen=True)
class FetchResult:
    """What happened to one report. ``status`` is one of ``downloaded``, ``skipped`` or
    ``failed``; ``message`` is one Norwegian line fit to show the user as is."""

    report: ManifestEntry
    status: str
    path: Path
    url: str | None = None
    message: str = ""
    size: int | None = None

    @property
    def ok(self) -> bool:
        return self.status != STATUS_FAILED


class ManifestError(ValueError):
    """The manifest is missing, is not valid TOML or has an invalid entry."""


# ---------------------------------------------------------------------------------------
# Manifest

_REPORT_KEYS = {"id", "title", "year", "page", "pdf", "match", "date", "publisher", "doc_type"}


def load_manifest(path: str | os.PathLike[str]) -> list[ManifestEntry]:
    """Read ``[[report]]`` entries from a TOML manifest and check them.

    Raises :class:`ManifestError` with a Norwegian message naming the faulty entry.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ManifestError(f"Fant ikke manifestet {path}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"Manifestet {path} er ikke gyldig TOML: {exc}.") from None

    entries = data.get("report", [])
    if not isinstance(entries, list):
        raise ManifestError(f"{path}: «report» må være en liste av [[report]]-tabeller.")
    reports: list[ManifestEntry] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        report = _parse_report(entry, f"{path}, rapport nr. {number}")
        if report.id in seen:
            raise ManifestError(f"{path}: id-en «{report.id}» er brukt mer enn én gang.")
        seen.add(report.id)
        reports.append(report)
    return reports


def _parse_report(entry: Any, where: str) -> ManifestEntry:
    if not isinstance(entry, dict):
        raise ManifestError(f"{where}: må være en [[report]]-tabell.")
    unknown = sorted(set(entry) - _REPORT_KEYS)
    if unknown:
        raise ManifestError(
            f"{where}: ukjent nøkkel {', '.join(repr(k) for k in unknown)} "
            f"(tillatt: {', '.join(sorted(_REPORT_KEYS))})."
        )

    def text(key: str, required: bool = False) -> str | None:
        value = entry.get(key)
        if value is None:
            if required:
                raise ManifestError(f"{where}: mangler «{key}».")
            return None
        if not isinstance(value, str) or not value.strip():
            raise ManifestError(f"{where}: «{key}» må være en ikke-tom tekst.")
        return value.strip()

    report_id = text("id", required=True)
    assert report_id is not None
    if not _ID_RE.match(report_id) or report_id.lower().endswith(".pdf"):
        raise ManifestError(
            f"{where}: id-en «{report_id}» kan bare inneholde bokstavene a–z, sifre, "
            "punktum, bindestrek og understrek, og skal være filnavnet uten «.pdf»."
        )
    where = f"{where} ({report_id})"
    title = text("title", required=True)
    assert title is not None

    year = entry.get("year")
    if isinstance(year, bool) or not isinstance(year, int):
        raise ManifestError(f"{where}: «year» må være et årstall (heltall).")

    raw_date = entry.get("date")
    if isinstance(raw_date, _date):  # an unquoted TOML date
        raw_date = raw_date.isoformat()
    if raw_date is not None:
        if not isinstance(raw_date, str) or not _DATE_RE.match(raw_date):
            raise ManifestError(f"{where}: «date» må skrives som «ÅÅÅÅ-MM» eller «ÅÅÅÅ-MM-DD».")
        if int(raw_date[:4]) != year:
            raise ManifestError(f"{where}: «date» ({raw_date}) passer ikke med «year» ({year}).")

    page, pdf = text("page"), text("pdf")
    if page is None and pdf is None:
        raise ManifestError(f"{where}: trenger «page» (siden som lenker til rapporten) eller «pdf».")
    for key, url in (("page", page), ("pdf", pdf)):
        if url is not None and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
            raise ManifestError(f"{where}: «{key}» må være en http- eller https-adresse, ikke «{url}».")

    return ManifestEntry(
        id=report_id,
        title=title,
        year=year,
        page=page,
        pdf=pdf,
        match=text("match"),
        date=raw_date,
        publisher=text("publisher"),
        doc_type=text("doc_type") or "rapport",
    )


# ---------------------------------------------------------------------------------------
# Sidecar metadata (the format itself lives in assistant.sidecar)


def report_meta(report: ManifestEntry, pdf_url: str) -> dict[str, Any]:
    """The sidecar metadata for a downloaded report."""
    return {
        "title": report.title,
        "publisher": report.publisher,
        "year": report.year,
        "date": report.date,
        "url": pdf_url,
        "page_url": report.page,
        "visibility": "public",
        "doc_type": report.doc_type,
    }


def _unlink_quietly(path: str | os.PathLike[str]) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# ---------------------------------------------------------------------------------------
# Finding the PDF link on a page


@dataclass(frozen=True)
class Link:
    """An ``<a href>`` on a page, resolved to an absolute URL."""

    url: str
    text: str

    @property
    def looks_like_pdf(self) -> bool:
        return urlsplit(self.url).path.lower().endswith(".pdf")


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base_href: str | None = None
        self.links: list[tuple[str, str]] = []  # (href, text incl. title/aria-label)
        self._open: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "base" and self.base_href is None and a.get("href"):
            self.base_href = a["href"].strip()
        elif tag == "a":
            if self._open:  # <a> cannot nest; an unclosed one ends here
                self._close()
            extra = [a.get("title", ""), a.get("aria-label", "")]
            self._open.append((a.get("href", "").strip(), [t for t in extra if t]))
        elif tag == "img" and self._open and a.get("alt"):
            self._open[-1][1].append(a["alt"])

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open:
            self._close()

    def close(self) -> None:
        super().close()
        while self._open:
            self._close()

    def _close(self) -> None:
        href, parts = self._open.pop()
        self.links.append((href, " ".join(" ".join(parts).split())))


def extract_links(html: str, base_url: str) -> list[Link]:
    """All http(s) links on the page, absolute, without fragments, in page order, unique."""
    parser = _LinkParser()
    parser.feed(html)
    parser.close()
    base = urljoin(base_url, parser.base_href) if parser.base_href else base_url
    links: list[Link] = []
    seen: set[str] = set()
    for href, text in parser.links:
        if not href or href.startswith("#"):
            continue
        url = urldefrag(urljoin(base, href)).url
        if urlsplit(url).scheme not in ("http", "https"):
            continue  # mailto:, javascript:, tel: …
        if url in seen:
            # The same file linked twice (icon + title): keep the first, add the text.
            index = next(i for i, link in enumerate(links) if link.url == url)
            if text and text not in links[index].text:
                links[index] = Link(url, f"{links[index].text} {text}".strip())
            continue
        seen.add(url)
        links.append(Link(url, text))
    return links


_FOLD = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ð": "d", "þ": "th", "ł": "l"})


def normalize_for_match(text: str) -> str:
    """Case, accents, æøå and punctuation folded away: «Økt sjø-_og  banetransport» →
    «okt sjo og banetransport». Percent-escapes (as in file names) are decoded first."""
    text = unquote(text).casefold().translate(_FOLD)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def link_matches(link: Link, match: str | None) -> bool:
    """Whether ``match`` occurs in the link text or the link's URL path, ignoring case,
    accents and punctuation. Numbers are whole: «Delrapport 1» does not match
    «Delrapport 10». No ``match`` matches every link."""
    if not match:
        return True
    needle = normalize_for_match(match)
    if not needle:
        return True
    pattern = re.escape(needle)
    if needle[0].isdigit():
        pattern = r"(?<![0-9])" + pattern
    if needle[-1].isdigit():
        pattern += r"(?![0-9])"
    haystacks = (link.text, urlsplit(link.url).path)
    return any(re.search(pattern, normalize_for_match(h)) for h in haystacks)


def find_pdf_link(html: str, base_url: str, match: str | None = None) -> str | None:
    """The absolute URL of the first link on the page that ends in ``.pdf`` (query and
    fragment ignored) and matches ``match`` (see :func:`link_matches`), or ``None``."""
    for link in extract_links(html, base_url):
        if link.looks_like_pdf and link_matches(link, match):
            return link.url
    return None


def candidate_links(html: str, base_url: str, match: str | None) -> list[Link]:
    """Matching links without ``.pdf`` in the name: PDFs only if the server says so."""
    if not match:
        return []
    return [
        link
        for link in extract_links(html, base_url)
        if not link.looks_like_pdf and link_matches(link, match)
    ]


# ---------------------------------------------------------------------------------------
# HTTP


@dataclass
class _Client:
    """The shared :class:`~assistant.download.Downloader`, plus a cache of pages: several
    reports are usually linked from one page, which is fetched once per run."""

    downloader: Downloader
    _pages: dict[str, tuple[str, str] | FetchError] = field(default_factory=dict)

    def open(self, url: str, accept: str, method: str = "GET"):
        return self.downloader.open(url, accept, method=method)

    def page(self, url: str) -> tuple[str, str]:
        """(html, final URL) of a page; each page is fetched once per run."""
        cached = self._pages.get(url)
        if isinstance(cached, FetchError):
            raise cached
        if cached is not None:
            return cached
        try:
            with self.open(url, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5") as response:
                body = response.read()
                charset = response.headers.get_content_charset()
                final_url = response.geturl()
        except (OSError, HTTPException) as exc:
            error = FetchError(f"lesingen av {url} ble avbrutt ({exc})")
            self._pages[url] = error
            raise error from None
        except FetchError as exc:
            self._pages[url] = exc
            raise
        html = decode_html(body, charset)
        self._pages[url] = (html, final_url)
        return html, final_url

    def is_pdf(self, url: str) -> bool:
        """Ask the server whether ``url`` is a PDF (HEAD, then GET if HEAD is refused)."""
        for method in ("HEAD", "GET"):
            try:
                with self.open(url, "application/pdf,*/*;q=0.5", method=method) as response:
                    ctype = response.headers.get_content_type()
                return ctype == "application/pdf"
            except FetchError as exc:
                if method == "HEAD" and exc.http_status in (405, 501):
                    continue
                return False
        return False


# ---------------------------------------------------------------------------------------
# Fetching


def _human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} kB"
    return f"{size / (1024 * 1024):.1f} MB".replace(".", ",")


def _resolve_pdf_url(client: _Client, report: ManifestEntry) -> str:
    if report.pdf:
        return urldefrag(report.pdf).url
    assert report.page is not None
    html, final_url = client.page(report.page)
    url = find_pdf_link(html, final_url, report.match)
    if url:
        return url
    for link in candidate_links(html, final_url, report.match)[:MAX_CONTENT_TYPE_PROBES]:
        if client.is_pdf(link.url):
            return link.url
    if report.match:
        raise FetchError(f"fant ingen PDF-lenke som passer «{report.match}» på {report.page}")
    raise FetchError(f"fant ingen PDF-lenke på {report.page}")


def _download(client: _Client, report: ManifestEntry, url: str, target: Path) -> int:
    """Download ``url`` to ``target`` (with sidecar) if it is a PDF; returns the size."""
    tmp: str | None = None
    try:
        with client.open(url, "application/pdf,*/*;q=0.5") as response:
            head = b""
            while len(head) < 5:
                chunk = response.read(5 - len(head))
                if not chunk:
                    break
                head += chunk
            if not head.startswith(b"%PDF-"):
                ctype = response.headers.get_content_type()
                raise FetchError(f"{url} er ikke en PDF (fikk {ctype}); ingenting ble lagret")
            expected = response.headers.get("Content-Length")
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
            size = len(head)
            with os.fdopen(fd, "wb") as out:
                out.write(head)
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
        if expected is not None and expected.isdigit() and int(expected) != size:
            raise FetchError(
                f"nedlastingen av {url} ble ufullstendig ({size} av {expected} byte); "
                "ingenting ble lagret"
            )
        # The sidecar first: a PDF in the corpus always has its metadata next to it.
        write_meta_toml(target.with_name(report.meta_filename), report_meta(report, url))
        os.replace(tmp, target)
        tmp = None
        return size
    except (OSError, HTTPException) as exc:
        if isinstance(exc, (TimeoutError, socket.timeout)):
            raise FetchError(f"tidsavbrudd under nedlastingen av {url}; ingenting ble lagret") from None
        raise FetchError(f"nedlastingen av {url} ble avbrutt ({exc}); ingenting ble lagret") from None
    finally:
        if tmp is not None:
            _unlink_quietly(tmp)


def fetch_report(client: _Client, report: ManifestEntry, corpus_dir: Path) -> FetchResult:
    target = corpus_dir / report.filename
    if target.exists():
        note = "" if target.with_name(report.meta_filename).exists() else (
            f" (men metadatafilen {report.meta_filename} mangler)"
        )
        return FetchResult(
            report, STATUS_SKIPPED, target, message=f"{target} finnes allerede{note}; hopper over."
        )
    url: str | None = None
    try:
        url = _resolve_pdf_url(client, report)
        size = _download(client, report, url, target)
    except FetchError as exc:
        return FetchResult(
            report,
            STATUS_FAILED,
            target,
            url=url,
            message=f"Kunne ikke hente «{report.title}» ({report.id}): {exc}",
        )
    return FetchResult(
        report,
        STATUS_DOWNLOADED,
        target,
        url=url,
        size=size,
        message=f"Hentet {target} ({_human_size(size)}) fra {url}",
    )


def fetch_reports(
    manifest: str | os.PathLike[str] | Iterable[ManifestEntry],
    corpus_dir: str | os.PathLike[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    on_result: Callable[[FetchResult], None] | None = None,
    opener: urllib.request.OpenerDirector | None = None,
) -> list[FetchResult]:
    """Fetch every report in ``manifest`` (a path or already loaded reports) into
    ``corpus_dir``, one :class:`FetchResult` per report in manifest order.

    ``on_result`` is called as each report finishes (for progress output). Raises
    :class:`NoNetworkError` if the first contact with any server fails at the connection
    level, before anything is written, and :class:`ManifestError` for a bad manifest.
    """
    reports = load_manifest(manifest) if isinstance(manifest, (str, os.PathLike)) else list(manifest)
    client = _Client(Downloader(timeout=timeout, opener=opener))
    corpus = Path(corpus_dir)
    results: list[FetchResult] = []
    for report in reports:
        result = fetch_report(client, report, corpus)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def summarize(results: Iterable[FetchResult]) -> str:
    """«Hentet 2, fantes fra før 2, feilet 0»."""
    results = list(results)
    count = lambda status: sum(r.status == status for r in results)  # noqa: E731
    return (
        f"Hentet {count(STATUS_DOWNLOADED)}, fantes fra før {count(STATUS_SKIPPED)}, "
        f"feilet {count(STATUS_FAILED)}"
    )

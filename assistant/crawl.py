"""Mirror a website into the corpus: its pages and the PDF, Word and PowerPoint files they link.

The crawl starts at a URL and stays on its host, and for pages under its path (a linked
document may lie anywhere on the host: WordPress keeps them under ``/wp-content/``). It
reads robots.txt first and never requests what it disallows, then the sitemaps (from
robots.txt, else ``/sitemap.xml``; sitemap indexes are followed), then follows links
from the pages. Requests go one at a time with a pause between them, through
:mod:`assistant.download` (the project's one HTTP client).

Every page with main text is written as ``<name>.html`` with a ``<name>.meta.toml``
(title, url, date, doc_type), every document as itself with a sidecar. What was written
is remembered in ``.crawl-state.json`` in the corpus folder, per start URL, with each
URL's ETag, Last-Modified and content hash. The next run asks for each known URL
conditionally, so an unchanged page costs a 304 and is not written again, and files the
site no longer has (gone, 404/410, or no longer linked anywhere) are removed with their
sidecar. Only files the crawler wrote itself are ever removed, and nothing is removed
after a run that was cut short (a limit hit, or pages that failed), since then "not
seen" does not mean "gone".
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import unicodedata
import urllib.robotparser
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit, urlunsplit

from .download import (
    DEFAULT_TIMEOUT,
    ROBOTS_AGENT,
    ConnectionFailed,
    Downloader,
    FetchError,
)
from .fetch import extract_links
from .sidecar import atomic_write_bytes, sidecar_path, write_meta_toml

STATE_FILE = ".crawl-state.json"
STATE_VERSION = 1
DEFAULT_DELAY = 1.0
DEFAULT_MAX_PAGES = 5000
MAX_SITEMAPS = 200
#: Linked files that are fetched as documents, and the doc_type their sidecar gets.
DOCUMENT_TYPES = {".pdf": "dokument", ".docx": "dokument", ".pptx": "presentasjon"}
DOCUMENT_MIME = {
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
}
HTML_MIME = {"text/html", "application/xhtml+xml"}
#: Links to these are never requested: not pages, and not documents the index reads.
SKIP_SUFFIXES = {
    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".ico", ".bmp", ".tif", ".tiff",
    ".css", ".js", ".json", ".xml", ".rss", ".atom", ".txt", ".zip", ".gz", ".rar", ".7z",
    ".mp3", ".mp4", ".mov", ".avi", ".webm", ".wav", ".ics", ".vcf", ".woff", ".woff2", ".ttf",
    ".xls", ".xlsx", ".csv", ".ods", ".doc", ".ppt", ".odt", ".odp", ".rtf", ".exe", ".dmg",
}
GENERIC_LINK_TEXTS = {"last ned", "les mer", "pdf", "word", "her", "klikk her", "lenke", "download"}
PAGE_DOC_TYPE = "nettside"

NEW, CHANGED, UNCHANGED, REMOVED, NOT_FOUND, FAILED, DISALLOWED, OFF_SITE = (
    "ny", "endret", "uendret", "fjernet", "ikke funnet", "feilet", "stengt av robots.txt",
    "utenfor nettstedet")


class CrawlError(Exception):
    """The crawl cannot start (bad URL, robots.txt unreadable); Norwegian message."""


# --------------------------------------------------------------------------- URLs


def normalize_url(url: str) -> str | None:
    """``url`` without fragment, with lower-case scheme and host, no default port and
    ``/`` for an empty path; ``None`` for anything that is not http(s)."""
    url = urldefrag(url.strip()).url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


@dataclass(frozen=True)
class Scope:
    """The host a crawl stays on and the path its pages must lie under."""

    host: str  # host[:port], lower case
    prefix: str  # "/" or "/prosjekter/" …

    @classmethod
    def from_url(cls, url: str) -> Scope:
        normalized = normalize_url(url)
        if normalized is None:
            raise CrawlError(f"«{url}» er ikke en http- eller https-adresse")
        parts = urlsplit(normalized)
        path = parts.path
        if not path.endswith("/"):
            # "/prosjekter" and "/prosjekter/side.html" both mean the folder.
            last = path.rsplit("/", 1)[-1]
            path = path[: len(path) - len(last)] if "." in last else path + "/"
        return cls(parts.netloc, path)

    def on_host(self, url: str) -> bool:
        normalized = normalize_url(url)
        return normalized is not None and urlsplit(normalized).netloc == self.host

    def contains(self, url: str) -> bool:
        """On the host, and at or under the path (``/prosjekter`` counts for ``/prosjekter/``)."""
        if not self.on_host(url):
            return False
        path = urlsplit(normalize_url(url)).path
        return path.startswith(self.prefix) or path + "/" == self.prefix


def url_suffix(url: str) -> str:
    name = unquote(urlsplit(url).path).rsplit("/", 1)[-1]
    return Path(name).suffix.lower() if "." in name else ""


# --------------------------------------------------------------------------- sitemaps


@dataclass(frozen=True)
class Sitemap:
    """A parsed sitemap: page URLs (with lastmod when given) or, for an index, sitemaps."""

    urls: list[tuple[str, str]] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)


def parse_sitemap(data: bytes) -> Sitemap:
    """A ``<urlset>`` or ``<sitemapindex>`` (gzipped or not); raises ValueError if neither."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValueError(f"ikke gyldig XML ({exc})") from exc

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    def children(element, name: str):
        return [child for child in element if local(child.tag) == name]

    def text(element, name: str) -> str:
        found = children(element, name)
        return (found[0].text or "").strip() if found else ""

    kind = local(root.tag)
    if kind == "urlset":
        return Sitemap(urls=[(text(u, "loc"), text(u, "lastmod")) for u in children(root, "url") if text(u, "loc")])
    if kind == "sitemapindex":
        return Sitemap(sitemaps=[text(s, "loc") for s in children(root, "sitemap") if text(s, "loc")])
    raise ValueError(f"rotelementet er <{kind}>, ikke <urlset> eller <sitemapindex>")


# --------------------------------------------------------------------------- state


@dataclass
class Entry:
    """One URL the crawler wrote a file for (or a page without main text: ``file`` empty,
    its links kept so a 304 next time still leads on to the pages behind it)."""

    url: str
    file: str = ""
    kind: str = "page"  # or "document"
    etag: str | None = None
    last_modified: str | None = None
    sha256: str = ""
    links: list[list[str]] = field(default_factory=list)


def load_state(corpus: Path) -> dict:
    path = corpus / STATE_FILE
    if not path.exists():
        return {"version": STATE_VERSION, "sites": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CrawlError(f"{path} kan ikke leses ({exc}); slett den for å speile alt på nytt") from exc
    if data.get("version") != STATE_VERSION or not isinstance(data.get("sites"), dict):
        raise CrawlError(f"{path} har et ukjent format; slett den for å speile alt på nytt")
    return data


def save_state(corpus: Path, state: dict) -> None:
    atomic_write_bytes(corpus / STATE_FILE,
                       json.dumps(state, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8"))


def _entries(state: dict, start: str) -> dict[str, Entry]:
    site = state["sites"].get(start, {})
    return {url: Entry(**raw) for url, raw in site.get("entries", {}).items()}


# --------------------------------------------------------------------------- file names


def slug(text: str, limit: int = 80) -> str:
    """«Årsrapport 2023 (endelig)» → «arsrapport-2023-endelig»: safe as a file name and id."""
    text = unquote(text).translate(str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "Ae", "Ø": "O", "Å": "A"}))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return text[:limit].rstrip("-")


def file_name_for(url: str, kind: str, suffix: str) -> str:
    """A readable file name: the path of a page, the file name of a document."""
    parts = urlsplit(url)
    segments = [s for s in unquote(parts.path).split("/") if s]
    if kind == "document":
        stem = slug(Path(segments[-1]).stem if segments else "") or "dokument"
    else:
        if segments and "." in segments[-1]:
            segments[-1] = Path(segments[-1]).stem
        if segments and segments[-1].lower() == "index":
            segments.pop()
        stem = slug("-".join(segments)) or "forside"
    if parts.query:
        stem += "-" + hashlib.sha1(parts.query.encode()).hexdigest()[:8]
    return stem + suffix


# --------------------------------------------------------------------------- the crawl


@dataclass(frozen=True)
class Event:
    """Something the user should see: what happened to one URL."""

    status: str
    url: str
    file: str = ""
    detail: str = ""


@dataclass
class CrawlReport:
    events: list[Event] = field(default_factory=list)
    requests: int = 0
    complete: bool = True

    def count(self, status: str) -> int:
        return sum(e.status == status for e in self.events)

    @property
    def ok(self) -> bool:
        return self.count(FAILED) == 0

    def summary(self) -> str:
        text = (f"Nye {self.count(NEW)}, endret {self.count(CHANGED)}, uendret {self.count(UNCHANGED)}, "
                f"fjernet {self.count(REMOVED)}, ikke funnet {self.count(NOT_FOUND)}, "
                f"feilet {self.count(FAILED)}, stengt av robots.txt {self.count(DISALLOWED)} "
                f"({self.requests} forespørsler)")
        if not self.complete:
            text += "; ufullstendig kjøring, ingenting ble fjernet"
        return text


@dataclass
class _Run:
    """The working state of one crawl (kept out of module state, passed around)."""

    start: str
    scope: Scope
    corpus: Path
    downloader: Downloader
    robots: urllib.robotparser.RobotFileParser
    old: dict[str, Entry]
    taken: set[str]  # file names in use by other crawls or not written by us
    on_event: Callable[[Event], None] | None
    max_pages: int
    report: CrawlReport = field(default_factory=CrawlReport)
    new: dict[str, Entry] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    link_texts: dict[str, str] = field(default_factory=dict)
    referrers: dict[str, str] = field(default_factory=dict)
    kept: set[str] = field(default_factory=set)  # known URLs that failed this time: keep

    def emit(self, event: Event) -> None:
        self.report.events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def allowed(self, url: str) -> bool:
        return self.robots.can_fetch(ROBOTS_AGENT, url)


def _read_robots(run: _Run, root: str) -> None:
    url = root + "/robots.txt"
    try:
        response = run.downloader.get(url, "text/plain,*/*;q=0.5")
    except ConnectionFailed:
        raise
    except FetchError as exc:
        if exc.http_status is not None and 400 <= exc.http_status < 500:
            run.robots.parse([])  # no robots.txt: everything is allowed
            return
        raise CrawlError(f"robots.txt kan ikke leses ({exc}); prøv igjen senere") from None
    run.robots.parse(response.text().splitlines())


def _sitemap_urls(run: _Run, root: str) -> list[tuple[str, str]]:
    """(url, lastmod) of every page in the site's sitemaps; an unreadable sitemap is reported."""
    listed = run.robots.site_maps() or []
    queue = deque(listed or [root + "/sitemap.xml"])
    seen: set[str] = set()
    found: list[tuple[str, str]] = []
    while queue and len(seen) < MAX_SITEMAPS:
        url = normalize_url(queue.popleft())
        if url is None or url in seen or not run.scope.on_host(url):
            continue
        seen.add(url)
        try:
            response = run.downloader.get(url, "application/xml,text/xml;q=0.9,*/*;q=0.5")
            sitemap = parse_sitemap(response.body)
        except FetchError as exc:
            if exc.http_status == 404 and not listed:
                continue  # no sitemap at the usual place: links will do
            run.emit(Event(FAILED, url, detail=f"nettstedskartet kunne ikke hentes: {exc}"))
            continue
        except (ValueError, OSError, EOFError) as exc:
            run.emit(Event(FAILED, url, detail=f"nettstedskartet kan ikke leses: {exc}"))
            continue
        queue.extend(sitemap.sitemaps)
        found.extend(sitemap.urls)
    return found


def _classify(run: _Run, url: str) -> str | None:
    """"page", "document" or ``None`` (not to be requested) for a link found on the site."""
    if not run.scope.on_host(url):
        return None
    suffix = url_suffix(url)
    if suffix in DOCUMENT_TYPES:
        return "document"
    if suffix in SKIP_SUFFIXES or "/wp-json/" in url or "/feed/" in urlsplit(url).path:
        return None
    return "page" if run.scope.contains(url) else None


def _unique_name(run: _Run, url: str, name: str) -> str:
    path = Path(name)
    in_use = run.taken | {e.file for e in run.new.values() if e.url != url}
    if name in in_use or (name not in {e.file for e in run.old.values()} and (run.corpus / name).exists()):
        name = f"{path.stem}-{hashlib.sha1(url.encode()).hexdigest()[:6]}{path.suffix}"
    return name


def _write(run: _Run, name: str, body: bytes, meta: dict) -> None:
    """The sidecar first: a document in the corpus always has its metadata next to it."""
    target = run.corpus / name
    write_meta_toml(sidecar_path(target), meta)
    atomic_write_bytes(target, body)


def _remove(run: _Run, entry: Entry) -> None:
    if not entry.file:
        return
    target = run.corpus / entry.file
    if target.resolve().parent != run.corpus.resolve():
        return  # never outside the corpus folder, whatever the state file says
    for path in (target, sidecar_path(target)):
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _http_date(value: str | None) -> str | None:
    try:
        return parsedate_to_datetime(value).date().isoformat() if value else None
    except (TypeError, ValueError):
        return None


def _page_meta(run: _Run, url: str, html: bytes) -> tuple[dict, bool]:
    """Sidecar metadata of a page, and whether it has main text at all."""
    from .formats import extract_html

    try:
        meta, blocks = extract_html(html, url=url)
    except Exception:  # not really HTML: save it; the index reports what is wrong with it
        return {"url": url, "visibility": "public", "doc_type": PAGE_DOC_TYPE}, True
    canonical = normalize_url(meta.url) if meta.url else None
    return ({
        "title": meta.title or None,
        "url": canonical if canonical and run.scope.on_host(canonical) else url,
        "date": meta.date or None,
        "visibility": "public",
        "doc_type": PAGE_DOC_TYPE,
    }, bool(blocks))


def _document_meta(run: _Run, url: str, response, suffix: str) -> dict:
    text = run.link_texts.get(url, "")
    title = text if len(text) >= 4 and text.lower() not in GENERIC_LINK_TEXTS else None
    return {
        "title": title,
        "url": url,
        "page_url": run.referrers.get(url),
        "date": _http_date(response.last_modified),
        "visibility": "public",
        "doc_type": DOCUMENT_TYPES[suffix],
    }


def _links_of(run: _Run, url: str, entry: Entry) -> list[list[str]]:
    """Links of a page that answered 304: from the saved file, or from the state."""
    if not entry.file:
        return entry.links
    try:
        html = (run.corpus / entry.file).read_bytes()
    except OSError:
        return []
    from .download import decode_html

    return [[link.url, link.text] for link in extract_links(decode_html(html, None), url)]


def _visit(run: _Run, url: str, queue: deque, seen: set[str]) -> None:
    known = run.old.get(run.aliases.get(url, url)) or run.old.get(url)
    has_file = known is not None and (not known.file or (run.corpus / known.file).exists())
    try:
        response = run.downloader.get(
            url, "text/html,application/xhtml+xml,application/pdf,*/*;q=0.5",
            etag=known.etag if known and has_file else None,
            last_modified=known.last_modified if known and has_file else None,
        )
    except ConnectionFailed as exc:
        run.kept.add(url)
        run.report.complete = False
        run.emit(Event(FAILED, url, detail=str(exc)))
        return
    except FetchError as exc:
        target = normalize_url(exc.location) if exc.location else None
        if target is not None and target in run.new:
            run.aliases[url] = target  # a redirect to a page already mirrored
            return
        if target is not None:
            run.emit(Event(OFF_SITE, url, detail=f"videresender til {exc.location}; ikke fulgt"))
            return
        if exc.http_status in (404, 410):
            run.emit(Event(NOT_FOUND, url, detail=f"HTTP {exc.http_status}"))
        else:
            run.kept.add(url)
            if known is not None:
                run.kept.add(known.url)
            run.report.complete = False
            run.emit(Event(FAILED, url, detail=str(exc)))
        return

    final = normalize_url(response.url) or url
    if final != url:
        run.aliases[url] = final
        if final in run.new:
            return  # a redirect to a page already mirrored
        seen.add(final)
        known = run.old.get(final, known)
    suffix = url_suffix(final)
    if response.not_modified and known is None:
        run.kept.add(url)
        run.report.complete = False
        run.emit(Event(FAILED, url, detail="serveren svarte 304 uten at det ble spurt betinget"))
        return
    if response.not_modified:
        kind = known.kind
    elif response.content_type in HTML_MIME:
        kind = "page"
    elif response.content_type in DOCUMENT_MIME or suffix in DOCUMENT_TYPES:
        kind = "document"
        suffix = DOCUMENT_MIME.get(response.content_type, suffix)
    else:
        return  # an image or the like behind a page-like link: not for the corpus
    if kind == "page" and not run.scope.contains(final):
        return  # redirected out of the crawl's path
    if kind == "document" and suffix not in DOCUMENT_TYPES:
        return

    if response.not_modified:
        entry = Entry(**{**asdict(known), "url": final})
        entry.etag = response.etag or known.etag
        entry.last_modified = response.last_modified or known.last_modified
        status = UNCHANGED
    else:
        digest = hashlib.sha256(response.body).hexdigest()
        entry = Entry(final, kind=kind, etag=response.etag, last_modified=response.last_modified,
                      sha256=digest)
        unchanged = known is not None and known.sha256 == digest and has_file
        if unchanged:
            entry.file, entry.links, status = known.file, known.links, UNCHANGED
        else:
            status = CHANGED if known is not None else NEW
            if kind == "page":
                meta, has_text = _page_meta(run, final, response.body)
            else:
                meta, has_text = _document_meta(run, final, response, suffix), True
            if has_text:
                wanted = known.file if known and known.file else file_name_for(final, kind, ".html" if kind == "page" else suffix)
                entry.file = _unique_name(run, final, wanted)
                if known is not None and known.file and known.file != entry.file:
                    _remove(run, known)
                _write(run, entry.file, response.body, meta)
            elif known is not None and known.file:
                _remove(run, known)  # the page lost its main text
    if kind == "page":
        if response.not_modified:
            links = _links_of(run, final, entry)
        else:
            html = response.text()
            links = [[link.url, link.text] for link in extract_links(html, final)]
        if not entry.file:
            entry.links = links
        for link_url, text in links:
            target = normalize_url(link_url)
            if target is None:
                continue
            if target not in run.link_texts and text:
                run.link_texts[target] = text
                run.referrers.setdefault(target, final)
            if target not in seen and _classify(run, target) is not None:
                seen.add(target)
                queue.append(target)
    run.new[final] = entry
    if entry.file:
        run.emit(Event(status, final, entry.file))
    elif status != UNCHANGED:
        run.emit(Event(status, final, detail="ingen hovedtekst (bare lenker); ikke lagret, lenkene fulgt"))


def crawl_site(
    start_url: str,
    corpus_dir: str | os.PathLike[str],
    *,
    delay: float = DEFAULT_DELAY,
    timeout: float = DEFAULT_TIMEOUT,
    max_pages: int = DEFAULT_MAX_PAGES,
    on_event: Callable[[Event], None] | None = None,
) -> CrawlReport:
    """Mirror the site at ``start_url`` into ``corpus_dir`` (see the module docstring).

    Raises :class:`~assistant.download.NoNetworkError` when the very first request cannot
    reach the server, before anything is written, and :class:`CrawlError` when the crawl
    cannot start.
    """
    start = normalize_url(start_url)
    if start is None:
        raise CrawlError(f"«{start_url}» er ikke en http- eller https-adresse")
    scope = Scope.from_url(start)
    corpus = Path(corpus_dir)
    state = load_state(corpus) if corpus.exists() else {"version": STATE_VERSION, "sites": {}}
    old = _entries(state, start)
    taken = {e["file"] for s, site in state["sites"].items() if s != start
             for e in site.get("entries", {}).values() if e.get("file")}
    def follow(location: str) -> bool:
        """Redirects are followed on the host, and not to a page this run already has."""
        return scope.on_host(location) and normalize_url(location) not in run.new

    downloader = Downloader(timeout=timeout, delay=delay, allow_redirect=follow,
                            no_network_consequence="Nettstedet ble ikke speilet.")
    run = _Run(start, scope, corpus, downloader, urllib.robotparser.RobotFileParser(), old, taken,
               on_event, max_pages)
    root = f"{urlsplit(start).scheme}://{scope.host}"
    _read_robots(run, root)  # the first request: NoNetworkError from here means no network
    corpus.mkdir(parents=True, exist_ok=True)
    run.aliases = dict(state["sites"].get(start, {}).get("aliases", {}))
    crawl_delay = run.robots.crawl_delay(ROBOTS_AGENT)
    if crawl_delay:
        downloader.delay = max(downloader.delay, float(crawl_delay))

    queue: deque[str] = deque()
    seen: set[str] = set()
    candidates = [start] + [loc for loc, _ in _sitemap_urls(run, root)]
    for url in candidates:
        url = normalize_url(url)
        if url and url not in seen and _classify(run, url) is not None:
            seen.add(url)
            queue.append(url)
    visited = 0
    while queue:
        url = queue.popleft()
        if url in run.new:
            continue  # reached already through a redirect
        if not run.allowed(url):
            run.emit(Event(DISALLOWED, url))
            continue
        if visited >= max_pages:
            run.report.complete = False
            run.emit(Event(FAILED, url, detail=f"grensen på {max_pages} adresser er nådd; resten ble ikke hentet"))
            break
        visited += 1
        _visit(run, url, queue, seen)

    if run.report.complete:
        for url, entry in old.items():
            if url not in run.new and url not in run.kept:
                _remove(run, entry)
                if entry.file:
                    run.emit(Event(REMOVED, url, entry.file))
    else:
        for url, entry in old.items():  # keep what we could not check
            run.new.setdefault(url, entry)
    state["sites"][start] = {
        "entries": {url: asdict(entry) for url, entry in sorted(run.new.items())},
        "aliases": {a: f for a, f in sorted(run.aliases.items()) if f in run.new},
    }
    save_state(corpus, state)
    run.report.requests = downloader.requests
    return run.report

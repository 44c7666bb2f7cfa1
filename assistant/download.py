"""The one HTTP client of the project: report fetching and the site crawler both use it.

What it takes care of, so callers don't: a clear User-Agent, a timeout, a delay between
requests (politeness; one request at a time), a size limit, conditional GET (ETag /
Last-Modified → 304), redirects only where the caller allows them, and telling "there is
no network here" (the very first contact fails at the connection level) from an error of
one URL. Only the standard library (urllib) is used.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

#: The robots.txt token is the part before the slash.
USER_AGENT = "Osloregionen-assistenten/0.2 (henter offentlige dokumenter; Python-urllib)"
ROBOTS_AGENT = USER_AGENT.split("/", 1)[0]
DEFAULT_TIMEOUT = 20.0
#: A larger response is refused: no council document is that big, a data dump might be.
MAX_BYTES = 200 * 1024 * 1024
_CHUNK = 64 * 1024


class NoNetworkError(Exception):
    """The first network contact failed at the connection level: no network here."""

    def __init__(self, host: str, reason: str, consequence: str = "Rapportene ble ikke hentet."):
        self.host = host
        self.reason = reason
        super().__init__(f"Ingen nettverkstilgang: kunne ikke nå {host} ({reason}). {consequence}")


class FetchError(Exception):
    """One URL could not be fetched; the message is Norwegian and shown as is."""

    def __init__(self, message: str, http_status: int | None = None, location: str | None = None):
        super().__init__(message)
        self.http_status = http_status
        #: Where a redirect that was not followed pointed.
        self.location = location


class ConnectionFailed(FetchError):
    """The server could not be reached at all (as opposed to an HTTP or content error)."""

    def __init__(self, host: str, reason: str):
        self.host = host
        self.reason = reason
        super().__init__(f"kunne ikke nå {host} ({reason})")


@dataclass(frozen=True)
class Response:
    """A whole response: ``status`` is 200 (or another 2xx), or 304 when nothing changed."""

    url: str  # after redirects
    status: int
    headers: Message
    body: bytes = b""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get_content_type() if self.headers is not None else ""

    @property
    def etag(self) -> str | None:
        return self.headers.get("ETag") if self.headers is not None else None

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("Last-Modified") if self.headers is not None else None

    def text(self) -> str:
        return decode_html(self.body, self.headers.get_content_charset() if self.headers else None)


def decode_html(body: bytes, charset: str | None) -> str:
    """Bytes of a page as text: the header's charset, else the page's ``<meta charset>``, else UTF-8."""
    if charset is None:
        head = body[:2048].decode("ascii", "replace")
        found = re.search(r"""<meta[^>]+charset=["']?([A-Za-z0-9_-]+)""", head, re.I)
        charset = found.group(1) if found else "utf-8"
    try:
        return body.decode(charset)
    except (LookupError, UnicodeDecodeError):
        return body.decode("utf-8", "replace")


def host_label(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or url


def connection_reason(exc: BaseException) -> str | None:
    """A Norwegian reason if ``exc`` means the server could not be reached at all
    (no name lookup, refused, timed out, unreachable), else ``None``."""
    reason: Any = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(exc, urllib.error.HTTPError) or isinstance(reason, ssl.SSLError):
        return None
    if isinstance(reason, socket.gaierror):
        return "fant ikke vertsnavnet"
    if isinstance(reason, ConnectionRefusedError):
        return "tilkoblingen ble avvist"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "tidsavbrudd"
    if isinstance(reason, OSError) and reason.errno in (
        errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN,
    ):
        return "nettverket er ikke tilgjengelig"
    if isinstance(reason, str) and "timed out" in reason:
        return "tidsavbrudd"
    return None


class _ScopedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to where ``allow`` says; elsewhere is an error, not a request."""

    def __init__(self, allow: Callable[[str], bool]):
        self.allow = allow

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not self.allow(newurl):
            raise FetchError(f"{req.full_url} videresender til {newurl}; ikke fulgt",
                             http_status=code, location=newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@dataclass
class Downloader:
    """One HTTP client for a run: it remembers whether any server has answered yet
    (to tell "no network" from one dead link) and when the last request was made."""

    timeout: float = DEFAULT_TIMEOUT
    delay: float = 0.0
    max_bytes: int = MAX_BYTES
    allow_redirect: Callable[[str], bool] | None = None
    opener: urllib.request.OpenerDirector | None = None
    no_network_consequence: str = "Rapportene ble ikke hentet."
    contacted: bool = False
    requests: int = 0
    _last: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.opener is None:
            handlers = [_ScopedRedirects(self.allow_redirect)] if self.allow_redirect else []
            self.opener = urllib.request.build_opener(*handlers)

    def _wait(self) -> None:
        if self.delay > 0 and self._last is not None:
            pause = self.delay - (time.monotonic() - self._last)
            if pause > 0:
                time.sleep(pause)
        self._last = time.monotonic()

    def open(self, url: str, accept: str = "*/*", method: str = "GET",
             headers: dict[str, str] | None = None):
        """The open response (a context manager) for streaming; raises :class:`FetchError`,
        :class:`NoNetworkError` (first contact) or :class:`ConnectionFailed` (later)."""
        request = urllib.request.Request(
            url, method=method, headers={"User-Agent": USER_AGENT, "Accept": accept, **(headers or {})}
        )
        self._wait()
        self.requests += 1
        try:
            response = self.opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            self.contacted = True
            exc.close()
            if exc.code == 304:
                raise _NotModified(exc.geturl() or url, exc.headers) from None
            raise FetchError(f"{url} svarte med HTTP {exc.code} {exc.reason}", exc.code) from None
        except FetchError:
            self.contacted = True
            raise
        except (urllib.error.URLError, OSError, HTTPException) as exc:
            reason = connection_reason(exc)
            if reason is None:
                self.contacted = True  # something answered, just not well
                detail = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                raise FetchError(f"kunne ikke hente {url} ({detail})") from None
            if not self.contacted:
                raise NoNetworkError(host_label(url), reason, self.no_network_consequence) from None
            raise ConnectionFailed(host_label(url), reason) from None
        self.contacted = True
        return response

    def get(self, url: str, accept: str = "*/*", *, etag: str | None = None,
            last_modified: str | None = None) -> Response:
        """The whole response; with ``etag``/``last_modified`` a 304 comes back as a
        :class:`Response` with ``not_modified`` and no body."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            with self.open(url, accept, headers=headers) as response:
                body = read_limited(response, url, self.max_bytes)
                return Response(response.geturl(), response.status, response.headers, body)
        except _NotModified as exc:
            return Response(exc.url, 304, exc.headers)
        except (OSError, HTTPException) as exc:
            if isinstance(exc, (TimeoutError, socket.timeout)):
                raise FetchError(f"tidsavbrudd under lesingen av {url}") from None
            raise FetchError(f"lesingen av {url} ble avbrutt ({exc})") from None


class _NotModified(Exception):
    def __init__(self, url: str, headers: Message):
        self.url = url
        self.headers = headers


def read_limited(response, url: str, max_bytes: int) -> bytes:
    """The body, refusing more than ``max_bytes`` (checked as it arrives, not trusted
    from Content-Length alone) and a body shorter than Content-Length said."""
    expected = response.headers.get("Content-Length")
    if expected and expected.isdigit() and int(expected) > max_bytes:
        raise FetchError(f"{url} er for stor ({int(expected)} byte; grensen er {max_bytes})")
    chunks, size = [], 0
    while chunk := response.read(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"{url} er for stor (over {max_bytes} byte)")
        chunks.append(chunk)
    if expected and expected.isdigit() and int(expected) != size:
        raise FetchError(f"nedlastingen av {url} ble ufullstendig ({size} av {expected} byte)")
    return b"".join(chunks)

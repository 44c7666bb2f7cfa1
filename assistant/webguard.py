"""An ASGI middleware in front of the whole web server: limits, closed routes, headers.

Why a middleware and not settings in Gradio: Gradio has no request body limit, and its
routes for features this app does not use (uploads, deep links, monitoring, streaming)
are always mounted. Everything here runs before Gradio sees a request:

* request bodies over ``max_body_bytes`` are refused with 413, by ``Content-Length``
  or while reading, so a 200 MB upload or a 10 MB chat message never reaches memory;
* Gradio routes the app does not use answer 404, as do pages asked for with
  ``?deep_link=`` (a deep link copies a session's component values, search results
  included, to a URL anyone can open);
* a Gradio session hash that a staff login has used may only be used again with that
  login's cookie, so a replayed hash cannot listen to or act in a staff member's tab;
* every response gets the security headers (CSP, anti-framing, nosniff, referrer policy).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

from .access import StaffAccess
from .sessions import COOKIE

Scope = dict
Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]

#: What the Gradio page needs and nothing more: its own scripts, styles, images and API.
#: Gradio runs the app's event JavaScript with ``new AsyncFunction`` and writes its
#: configuration in inline scripts and styles, hence 'unsafe-eval' and 'unsafe-inline';
#: no script, style, font, frame or connection from another origin is allowed.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "media-src 'self' blob:",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]

#: Gradio routes for features the app does not have (prefixes of the request path).
CLOSED_PREFIXES = tuple("/gradio_api/" + route for route in (
    "upload", "upload_progress", "deep_link", "process_recording", "stream/", "vibe-edit",
    "undo-vibe-edit", "vibe-code", "run-history", "runs", "dev/", "component_server",
    "proxy=", "file=", "file/", "monitoring", "mcp",
)) + ("/monitoring", "/upload", "/gradio_api/mcp", "/mcp")

TOO_LARGE = "Forespørselen er for stor."
CLOSED = "Fant ikke siden."
NO_DEEP_LINKS = "Delte lenker er slått av på denne serveren."
FOREIGN_SESSION = "Økten tilhører en annen innlogging."


def cookies_of(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """The request's cookies (a malformed cookie header counts as none)."""
    jar = SimpleCookie()
    for name, value in headers:
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:
                return {}
    return {key: morsel.value for key, morsel in jar.items()}


def _header(headers: list[tuple[bytes, bytes]], wanted: bytes) -> bytes | None:
    return next((value for name, value in headers if name == wanted), None)


class WebGuard:
    """The middleware; ``access`` supplies the staff sessions whose hashes are bound."""

    def __init__(self, app, access: StaffAccess, max_body_bytes: int):
        self.app = app
        self.access = access
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(send)
        path: str = scope.get("path", "")
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if path.startswith(CLOSED_PREFIXES):
            await _plain(send, 404, CLOSED)
            return
        if "deep_link" in query:
            await _plain(send, 404, NO_DEEP_LINKS)
            return
        headers = scope.get("headers", [])
        length = _header(headers, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await _plain(send, 413, TOO_LARGE)
            return
        body = None
        if scope.get("method") in ("POST", "PUT", "PATCH"):
            body = await self._read_body(receive)
            if body is None:
                await _plain(send, 413, TOO_LARGE)
                return
        if not self._may_use_session(path, query, body, headers):
            await _plain(send, 403, FOREIGN_SESSION)
            return
        if body is not None:
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    def _with_headers(self, send: Send) -> Send:
        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in SECURITY_HEADERS if h[0] not in names)]
            await send(message)
        return send_with_headers

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it grows past the limit."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _may_use_session(self, path: str, query: dict, body: bytes | None,
                         headers: list[tuple[bytes, bytes]]) -> bool:
        hashes = list(query.get("session_hash", []))
        if path.startswith("/gradio_api/heartbeat/"):
            hashes.append(path.rsplit("/", 1)[-1])
        if body and path.startswith("/gradio_api/"):
            try:
                data = json.loads(body)
            except ValueError:
                data = None
            if isinstance(data, dict) and isinstance(data.get("session_hash"), str):
                hashes.append(data["session_hash"])
        if not hashes:
            return True
        token = cookies_of(headers).get(COOKIE)
        return all(self.access.sessions.may_use(h, token) for h in hashes)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the already read body once, then waits on the real one
    (for the disconnect that streaming responses listen for)."""
    sent = False

    async def replay() -> dict:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replay


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

"""The web server: the Gradio app, the corpus files, and staff login behind a cookie.

``/kilde/<dokument-id>`` serves the file of an indexed, public document, so a citation can
open the PDF at its page even when the document has no public URL. Files are looked up
by document id, never by a path from the request, and the resolved file must lie inside
the corpus folder: ``..``, absolute paths, encoded variants and symlinks out all give 404.

``POST /ansatt/logg-inn`` (JSON ``{"navn": …, "passord": …}``) checks a staff login and
sets the session cookie (HttpOnly, SameSite=Strict, Secure under https); ``POST
/ansatt/logg-ut`` ends it. The login box in the app calls them from the page, so the
password never passes through Gradio. :class:`~assistant.webguard.WebGuard` wraps it all.
"""

from __future__ import annotations

import json
import math
import mimetypes
import os
import re
import threading
import time
from pathlib import Path

# FastAPI resolves the routes' annotations in this module's namespace
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from .access import StaffAccess
from .render import SOURCE_ROUTE
from .search import PUBLIC, STAFF, Filters
from .service import Assistant
from .sessions import COOKIE
from .staff import StaffAccounts
from .viewer import register_viewer
from .web import CSS, HEAD_JS, TITLE, create_app
from .webguard import WebGuard

NOT_FOUND = "Fant ikke dokumentet."
LOGIN_ROUTE = "/ansatt/logg-inn"
LOGOUT_ROUTE = "/ansatt/logg-ut"
BAD_LOGIN_REQUEST = "Innloggingen må sendes som JSON med «navn» og «passord» fra denne siden."
LOGGED_OUT = "Du er logget ut. Bare offentlige dokumenter er med i søket."

#: Gradio's queue keeps its last 10 000 requests and, after every request, summarises all
#: of them with pandas for a monitoring page (about 8 ms per answer at 10 000 requests,
#: holding the GIL, so a server got slower the longer it ran). The page is off here: keep
#: few records and never summarise. Read when the queue is made; the environment wins.
GRADIO_QUEUE_ANALYTICS = {"GRADIO_ANALYTICS_MAX_EVENTS": "100",
                          "GRADIO_ANALYTICS_CACHE_FREQUENCY": str(10**15)}


def corpus_file(assistant: Assistant, doc_id: str) -> Path | None:
    """The file of a public document, if it exists inside the corpus folder; else None."""
    document = assistant.document(doc_id, PUBLIC)
    return assistant.document_file(document) if document is not None else None


def norwegian_page(page: str, script: str = HEAD_JS) -> str:
    """Gradio's page with ``lang="nb"`` and ``script`` first in ``<head>``.

    Gradio writes ``lang="en"`` and picks its own strings from the browser's language
    before any ``head`` given to it has run; only a script in the page itself comes first.
    """
    page = re.sub(r'(<html\b[^>]*?\blang=)"[^"]*"', r'\1"nb"', page, count=1)
    return page.replace("<head>", f"<head><script>{script}</script>", 1)


class NorwegianPage:
    """ASGI middleware: the app's HTML page (``GET /``) passed through :func:`norwegian_page`.

    The request is sent on without ``Accept-Encoding``, so the page comes back as plain
    text that can be changed (it is small; everything else passes untouched).
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/":
            return await self.app(scope, receive, send)
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"accept-encoding"]
        start: dict = {}
        body: list[bytes] = []

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                return await send(message)
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            content = b"".join(body)
            kept = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            if any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in kept):
                content = norwegian_page(content.decode("utf-8")).encode("utf-8")
            await send({**start, "headers": [*kept, (b"content-length", str(len(content)).encode())]})
            await send({"type": "http.response.body", "body": content})

        await self.app({**scope, "headers": headers}, receive, capture)


def _same_origin(request) -> bool:
    """Whether a browser request comes from this site's own pages (no Origin: not a browser
    form post from elsewhere, e.g. a script or the tests)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1].rstrip("/") == host


def _secure(request) -> bool:
    """https, seen directly or through a proxy uvicorn trusts (it rewrites the scheme)."""
    return request.url.scheme == "https"


def _login_routes(server, access: StaffAccess) -> None:
    from fastapi.responses import JSONResponse

    def answer(message: str, status: int, **extra) -> JSONResponse:
        return JSONResponse({"melding": message, **extra}, status_code=status,
                            headers={"Cache-Control": "no-store"})

    @server.post(LOGIN_ROUTE)
    async def login(request: Request):
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type != "application/json" or not _same_origin(request):
            return answer(BAD_LOGIN_REQUEST, 400)
        try:
            data = json.loads(await request.body())  # at most max_body_bytes (WebGuard)
        except ValueError:
            data = None
        name = data.get("navn") if isinstance(data, dict) else None
        password = data.get("passord") if isinstance(data, dict) else None
        if not isinstance(name, str) or not isinstance(password, str):
            return answer(BAD_LOGIN_REQUEST, 400)
        address = request.client.host if request.client else None
        result = await run_in_threadpool(access.login, name, password, address)  # scrypt: ~0.2 s
        headers = {}
        if result.retry_after:
            headers["Retry-After"] = str(math.ceil(result.retry_after))
        response = answer(result.message, result.status, innlogget=result.user is not None)
        response.headers.update(headers)
        if result.token is not None:
            response.set_cookie(COOKIE, result.token, max_age=int(access.limits.session_lifetime),
                                path="/", httponly=True, samesite="strict", secure=_secure(request))
        return response

    @server.post(LOGOUT_ROUTE)
    async def logout(request: Request):
        access.logout(request.cookies)
        response = answer(LOGGED_OUT, 200, innlogget=False)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict",
                               secure=_secure(request))
        return response


def create_server(assistant: Assistant, staff: StaffAccounts | None = None,
                  access: StaffAccess | None = None):
    """A FastAPI app with the source and login routes and the Gradio app mounted at ``/``,
    behind :class:`~assistant.webguard.WebGuard`. ``access`` (made from ``staff`` when not
    given) holds the staff sessions; tests pass their own to look inside."""
    import gradio as gr
    from fastapi import FastAPI
    from fastapi.responses import FileResponse, PlainTextResponse

    limits = assistant.settings.web
    access = access or StaffAccess(staff, limits)
    server = FastAPI(title=TITLE, docs_url=None, redoc_url=None, openapi_url=None)
    _login_routes(server, access)

    @server.get(SOURCE_ROUTE + "/{doc_id}")
    def source(doc_id: str):
        path = corpus_file(assistant, doc_id)
        if path is None:
            return PlainTextResponse(NOT_FOUND, status_code=404)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if media_type.startswith("text/"):
            media_type += "; charset=utf-8"
        return FileResponse(path, media_type=media_type,
                            headers={"Content-Disposition": "inline",
                                     "X-Content-Type-Options": "nosniff"})

    def viewer_filters(request) -> Filters:
        """Staff with a live session see internal documents in the viewer too."""
        return STAFF if access.user(request.cookies) is not None else PUBLIC

    register_viewer(server, assistant, filters_for=viewer_filters)

    blocks = create_app(assistant, access)
    for name, value in GRADIO_QUEUE_ANALYTICS.items():
        os.environ.setdefault(name, value)
    blocks.queue(default_concurrency_limit=4, max_size=64)
    blocks.state_session_capacity = assistant.settings.max_sessions  # read when mounted
    server.add_middleware(NorwegianPage)
    app = gr.mount_gradio_app(server, blocks, path="/", css=CSS, footer_links=["api"],
                              show_error=False, max_file_size=1, enable_monitoring=False,
                              run_history=False, mcp_server=False, pwa=False, ssr_mode=False)
    app.add_middleware(WebGuard, access=access, max_body_bytes=limits.max_body_bytes)
    return app


class RunningServer:
    """A server started in a background thread (tests, benchmarks); stop it with ``stop()``."""

    def __init__(self, assistant: Assistant, host: str, port: int,
                 staff: StaffAccounts | None = None, access: StaffAccess | None = None):
        import uvicorn

        config = uvicorn.Config(create_server(assistant, staff, access), host=host, port=port,
                                log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://{host}:{port}/"

    def start(self, timeout: float = 60.0) -> RunningServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"Serveren startet ikke på {self.url}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(assistant: Assistant, staff: StaffAccounts | None = None) -> None:
    """Serve on the configured host and port (127.0.0.1:7860 by default) until stopped."""
    import uvicorn

    settings = assistant.settings
    print(f"Osloregionen-assistenten kjører på http://{settings.host}:{settings.port}  "
          "(stopp med Ctrl+C)", flush=True)
    uvicorn.run(create_server(assistant, staff), host=settings.host, port=settings.port,
                log_level="warning")

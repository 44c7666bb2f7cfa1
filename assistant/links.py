"""Addresses the app hands out: links into its document viewer, and public URLs it may show.

Kept apart from the HTML so that answers (whose JSON carries a ``viewer`` path), the
rendered chat and the viewer itself build the very same links, and so that one function
decides which URLs from the metadata are safe to turn into a link.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode, urlsplit

#: Where the app shows a document page (see :mod:`assistant.viewer`).
VIEWER_ROUTE = "/dokument"
#: The element of a viewer page that holds the answering sentence (the links' fragment).
ANSWER_ANCHOR = "svar"
#: Only these URL schemes from a document's metadata become links (never ``javascript:``).
SAFE_SCHEMES = frozenset({"http", "https"})
_SENTENCES = re.compile(r"([0-9]{1,6})(?:-([0-9]{1,6}))?")


def viewer_path(doc_id: str, page: int | None = None, chunk_id: int | None = None,
                sentences: tuple[int, int] | None = None) -> str:
    """The viewer's address for a document page, with the passage (``bit``: chunk id) and
    its quoted sentences (``setning``: first–last index in the chunk) to mark."""
    params: dict[str, str] = {}
    if page:
        params["side"] = str(page)
    if chunk_id is not None and chunk_id >= 0:
        params["bit"] = str(chunk_id)
        if sentences is not None:
            first, last = sentences
            params["setning"] = str(first) if first == last else f"{first}-{last}"
    query = f"?{urlencode(params)}" if params else ""
    fragment = f"#{ANSWER_ANCHOR}" if "setning" in params else ""
    return f"{VIEWER_ROUTE}/{quote(doc_id, safe='')}{query}{fragment}"


def parse_sentences(value: str | None) -> tuple[int, int] | None:
    """``setning=3`` or ``setning=3-5`` as (first, last); None when absent or malformed."""
    match = _SENTENCES.fullmatch(value or "")
    if match is None:
        return None
    first = int(match.group(1))
    last = int(match.group(2) or first)
    return (first, last) if first <= last else None


def public_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) address with a host, else None (a ``javascript:`` or
    ``data:`` URL in a metadata file must never become something to click)."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.hostname:
        return None
    return url


def is_site_root(url: str) -> bool:
    """Whether a public URL is only a website's front page (not the document itself):
    such a link is shown as the publisher's site, not as "the source"."""
    parts = urlsplit(url)
    return parts.path in ("", "/") and not parts.query

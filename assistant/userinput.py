"""Text typed by users (questions, comments): made safe to process, store and print."""

from __future__ import annotations

import re

#: C0 and C1 control characters, DEL, and the bidirectional overrides and isolates that
#: reorder what a terminal shows: stored text never gets to drive a terminal.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def without_surrogates(text: str) -> str:
    """``text`` with lone surrogates (undecodable input: a command-line argument in the
    wrong encoding, a crafted request) replaced by U+FFFD, so it can be encoded as UTF-8."""
    return text.encode("utf-8", "replace").decode("utf-8")


def cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, so that no part of
    a word (a number, an address) is kept."""
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    space = max(head.rfind(" "), head.rfind("\n"))
    return text[:space].rstrip() if space > 0 else ""


def printable(text: str) -> str:
    """``text`` on one line for a terminal: control characters (escape sequences that
    would clear the screen or set the window title) become spaces."""
    return " ".join(_CONTROL.sub(" ", without_surrogates(text)).split())

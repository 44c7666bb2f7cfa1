import socket
import struct
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from assistant.server import RunningServer
from assistant.web import SOURCE_HINT, SOURCE_MISSING, SOURCE_OUTDATED, Handlers
from tests.conftest import free_port


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the TCP sockets listening on ``port``, from the kernel's own
    tables (``/proc/net/tcp`` and ``tcp6``: addresses in hex, 32-bit words in host order)."""
    addresses = set()
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:  # 0A = LISTEN
                continue
            raw = b"".join(struct.pack("=I", int(address[i:i + 8], 16))
                           for i in range(0, len(address), 8))
            addresses.add(socket.inet_ntop(family, raw))
    return addresses


@pytest.fixture(scope="module")
def server(seed_assistant):
    """The app served on the default host of :class:`~assistant.config.Settings`."""
    running = RunningServer(seed_assistant, seed_assistant.settings.host, free_port()).start()
    yield running.url
    running.stop()


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_ask_endpoint_over_http_returns_answer_with_citations(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    result = client.predict("Hvor mange kommuner er med i Osloregionen?", "hybrid", api_name="/ask")
    assert result["found"] is True
    assert "64 kommuner" in result["answer"]
    citation = result["citations"][0]
    assert set(citation) >= {"n", "doc_id", "title", "year", "page", "url", "text"}
    assert citation["doc_id"] == "osloregionen-gront-landtransportprogram"
    assert citation["n"] == 1 and citation["year"] == 2022


def test_ask_endpoint_handles_empty_question(server):
    from gradio_client import Client

    result = Client(server, verbose=False).predict("  ", "hybrid", api_name="/ask")
    assert result["found"] is False and "Skriv et spørsmål" in result["answer"]


def test_page_is_norwegian_and_binds_loopback(server):
    status, page = fetch(server)
    assert status == 200 and "Osloregionen-assistenten" in page.decode("utf-8")
    if not Path("/proc/net/tcp").exists():
        pytest.skip("the kernel's socket tables (/proc/net/tcp) are Linux only")
    port = int(server.rstrip("/").rsplit(":", 1)[1])
    # the listening socket itself: reachable from this machine only, not on 0.0.0.0 or ::
    assert listening_addresses(port) == {"127.0.0.1"}


def test_source_route_serves_corpus_documents(server):
    status, body = fetch(server + "kilde/osloregionen-gront-landtransportprogram")
    assert status == 200 and "64 kommuner" in body.decode("utf-8")


@pytest.mark.parametrize("attempt", [
    "kilde/..%2F..%2F..%2Fetc%2Fpasswd", "kilde/%2e%2e%2fpyproject.toml", "kilde/../pyproject.toml",
    "kilde/%2Fetc%2Fpasswd", "kilde//etc/passwd", "kilde/..", "kilde/%252e%252e%252fREADME.md",
    "kilde/ukjent-dokument", "kilde/osloregionen-gront-landtransportprogram.meta",
])
def test_source_route_never_serves_files_outside_the_corpus(server, attempt):
    status, body = fetch(server + attempt)
    assert status == 404 or (status == 200 and b"root:" not in body and b"[project]" not in body
                             and b"<html" in body.lower())


def test_the_server_remembers_at_most_max_sessions(seed_assistant):
    """Every new API client is a new Gradio session (~120 KB each): the oldest are dropped.
    Gradio's record of requests stays small too, and is never summarised."""
    from dataclasses import replace

    from gradio_client import Client

    from assistant.service import Assistant

    settings = replace(seed_assistant.settings, max_sessions=3)
    running = RunningServer(Assistant(settings, seed_assistant.embedder), "127.0.0.1",
                            free_port()).start()
    try:
        gradio_app = next(route.app for route in running.server.config.app.routes
                          if hasattr(getattr(route, "app", None), "state_holder"))
        for _ in range(5):  # five clients, five sessions
            result = Client(running.url, verbose=False).predict(
                "Når ble Osloregionen etablert?", "hybrid", api_name="/ask")
            assert result["found"] is True
        assert gradio_app.state_holder.capacity == 3
        assert len(gradio_app.state_holder.session_data) == 3
        # nor a growing record of requests, summarised with pandas after each one
        queue = gradio_app.get_blocks()._queue
        assert queue.events_recorded == 5 and len(queue.event_analytics) <= 100
        assert queue.cached_event_analytics_summary == {"functions": {}}
    finally:
        running.stop()


def test_the_source_view_says_when_a_citation_is_stale(seed_assistant):
    """A source picked after a rebuild: the chunk gone, or now another document's."""
    handlers = Handlers(seed_assistant)
    answer = seed_assistant.ask("Hvor mange kommuner er med i Osloregionen?")
    citation = answer.citations[0]
    assert handlers.show_source(None, answer) == SOURCE_HINT
    assert "kildevisning" in handlers.show_source(citation.n, answer)
    assert handlers.show_source(99, answer) == SOURCE_MISSING

    from dataclasses import replace

    gone = replace(answer, citations=(replace(citation, chunk_id=10**6),))
    moved = replace(answer, citations=(replace(citation, doc_id="ukjent"),))
    assert handlers.show_source(citation.n, gone) == SOURCE_MISSING
    assert handlers.show_source(citation.n, moved) == SOURCE_OUTDATED

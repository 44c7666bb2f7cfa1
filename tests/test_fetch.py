"""Tests for assistant/fetch.py and scripts/fetch_reports.py.

The end-to-end tests run a real HTTP server on 127.0.0.1 (a ThreadingHTTPServer in a
thread) serving a fixture page and real PDFs made with reportlab; the CLI is run as a
subprocess with the same interpreter, as a user would run it.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import without_proxies

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # plain `pytest` without install
    sys.path.insert(0, str(ROOT))

from assistant.fetch import (  # noqa: E402
    STATUS_DOWNLOADED,
    STATUS_FAILED,
    STATUS_SKIPPED,
    ManifestEntry,
    ManifestError,
    NoNetworkError,
    fetch_reports,
    find_pdf_link,
    load_manifest,
    normalize_for_match,
)
from assistant.sidecar import dumps_meta_toml, write_meta_toml  # noqa: E402

SCRIPT = ROOT / "scripts" / "fetch_reports.py"


# ---------------------------------------------------------------------------------------
# Fixtures: PDFs, a page and a real server


def make_pdf(title: str, lines: list[str]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(title)
    y = 780
    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawString(72, y, title)
    pdf.setFont("Helvetica", 11)
    for line in lines:
        y -= 20
        pdf.drawString(72, y, line)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


PDF_1 = make_pdf(
    "Delrapport 1 - Gods og logistikk i Osloregionen",
    ["Kunnskapsgrunnlag om godstransport i Osloregionen.", "Økt sjø- og banetransport gir færre lastebiler på veiene."],
)
PDF_2 = make_pdf(
    "Delrapport 2 - Tiltak for økt sjø- og banetransport",
    ["Tiltak for å flytte gods fra vei til sjø og bane.", "Blåbær, rødgrøt og små skjærgårdsøyer."],
)
PDF_PROBED = make_pdf("Sluttrapport", ["Lenken slutter ikke på .pdf, men serveren sier application/pdf."])

PAGE = """<!doctype html>
<html lang="no"><head><meta charset="utf-8"><title>Gods- og logistikkprosjekt</title></head>
<body>
<h1>Gods- og logistikkprosjekt</h1>
<ul>
  <li><a href="/om-prosjektet/">Om prosjektet</a></li>
  <li><a href="https://example.invalid/nyheter.html">Nyheter</a></li>
  <li><a href="/docs/referat.docx">Delrapport 1 (utkast, Word)</a></li>
  <li><a href="../../filer/Delrapport-1_Gods-og-logistikk.pdf?ver=2#side=3">
        <span>Delrapport 1</span> – Gods og logistikk i Osloregionen &ndash; Kunnskapsgrunnlag</a></li>
  <li><a href="{base}/filer/delrapport-2-tiltak.pdf">Delrapport 2 – Tiltak for økt sjø- og banetransport</a></li>
  <li><a href="/filer/ikke-pdf.pdf">Delrapport 3 – Roller (ødelagt lenke)</a></li>
  <li><a href="/last-ned?id=4">Sluttrapport – Osloregionens gods- og logistikkprosjekt</a></li>
  <li><a href="/filer/mangler.pdf">Vedlegg som er borte</a></li>
</ul>
</body></html>
"""


class FixtureServer:
    """Routes: path → (status, content type, body). Records every request path."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _respond(self, send_body: bool) -> None:
                with server.lock:
                    server.requests.append((self.command, self.path))
                status, ctype, body = server.routes.get(
                    self.path.split("#")[0], (404, "text/html; charset=utf-8", b"<h1>Finnes ikke</h1>")
                )
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if send_body:
                    self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                self._respond(True)

            def do_HEAD(self) -> None:  # noqa: N802
                self._respond(False)

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path_prefix: str) -> int:
        with self.lock:
            return sum(p.startswith(path_prefix) for _, p in self.requests)


@pytest.fixture
def server():
    srv = FixtureServer()
    srv.routes.update(
        {
            "/prosjekt/gods/": (200, "text/html; charset=utf-8", PAGE.replace("{base}", srv.base).encode()),
            "/filer/Delrapport-1_Gods-og-logistikk.pdf?ver=2": (200, "application/pdf", PDF_1),
            "/filer/delrapport-2-tiltak.pdf": (200, "application/pdf", PDF_2),
            "/filer/ikke-pdf.pdf": (200, "text/html; charset=utf-8", b"<html><body>Innlogging</body></html>"),
            "/last-ned?id=4": (200, "application/pdf", PDF_PROBED),
            "/om-prosjektet/": (200, "text/html; charset=utf-8", b"<p>Om</p>"),
        }
    )
    srv.thread.start()
    try:
        yield srv
    finally:
        srv.httpd.shutdown()
        srv.httpd.server_close()


pytestmark = pytest.mark.usefixtures("no_proxy_env")


def write_manifest(path: Path, entries: list[dict]) -> Path:
    blocks = ["# testmanifest"]
    for entry in entries:
        blocks.append("[[report]]\n" + dumps_meta_toml(entry))
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def entry(server: FixtureServer, report_id: str, match: str | None, **extra) -> dict:
    data = {
        "id": report_id,
        "title": f"Rapport {report_id} – «sjø» og \"bane\"",
        "year": 2020,
        "date": "2020-05",
        "publisher": "Flowchange for Osloregionen",
        "page": server.url("/prosjekt/gods/"),
        "match": match,
    }
    data.update(extra)
    return data


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = without_proxies(os.environ)
    env.pop("ASSISTANT_CORPUS", None)
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def corpus_listing(corpus: Path) -> list[str]:
    return sorted(p.name for p in corpus.iterdir()) if corpus.exists() else []


# ---------------------------------------------------------------------------------------
# find_pdf_link and matching

BASE = "https://www.osloregionen.no/prosjekter/gods/"


def test_find_pdf_link_resolves_relative_and_absolute_links():
    html = PAGE.replace("{base}", "https://cdn.example.no")
    assert (
        find_pdf_link(html, BASE, "Delrapport 1")
        == "https://www.osloregionen.no/filer/Delrapport-1_Gods-og-logistikk.pdf?ver=2"
    )
    assert find_pdf_link(html, BASE, "Delrapport 2") == "https://cdn.example.no/filer/delrapport-2-tiltak.pdf"


def test_find_pdf_link_ignores_non_pdf_links_and_takes_the_first_match():
    html = PAGE.replace("{base}", "https://cdn.example.no")
    # The .docx «Delrapport 1» link comes first on the page but is not a PDF.
    assert find_pdf_link(html, BASE, "delrapport 1").endswith("Delrapport-1_Gods-og-logistikk.pdf?ver=2")
    # Without a match, the first PDF on the page.
    assert find_pdf_link(html, BASE, None).endswith("Delrapport-1_Gods-og-logistikk.pdf?ver=2")
    # «Sluttrapport» only has a link without .pdf: not found without asking the server.
    assert find_pdf_link(html, BASE, "Sluttrapport") is None
    assert find_pdf_link(html, BASE, "Delrapport 4") is None
    assert find_pdf_link("<p>Ingen lenker her</p>", BASE, None) is None


def test_find_pdf_link_is_case_accent_and_punctuation_insensitive():
    html = """
      <a href="/a/Rapport_%C3%98kt_sjo.PDF">Last ned</a>
      <a href="/b/roller.pdf" title="Roller for mer miljø- og klimavennlig godstransport">PDF</a>
      <a href="/c/x.pdf"><img src="i.png" alt="Gods og logistikk i Osloregionen"></a>
    """
    assert find_pdf_link(html, BASE, "økt sjø") == "https://www.osloregionen.no/a/Rapport_%C3%98kt_sjo.PDF"
    assert find_pdf_link(html, BASE, "OKT SJO") == "https://www.osloregionen.no/a/Rapport_%C3%98kt_sjo.PDF"
    assert find_pdf_link(html, BASE, "miljo og klimavennlig") == "https://www.osloregionen.no/b/roller.pdf"
    assert find_pdf_link(html, BASE, "gods og logistikk") == "https://www.osloregionen.no/c/x.pdf"


def test_find_pdf_link_numbers_must_be_whole():
    html = """
      <a href="/f/delrapport-10.pdf">Delrapport 10</a>
      <a href="/f/delrapport-1.pdf">Delrapport 1</a>
    """
    assert find_pdf_link(html, BASE, "Delrapport 1") == "https://www.osloregionen.no/f/delrapport-1.pdf"
    assert find_pdf_link(html, BASE, "Delrapport 10") == "https://www.osloregionen.no/f/delrapport-10.pdf"


def test_find_pdf_link_honours_base_href_and_skips_mailto():
    html = """<head><base href="https://filer.example.no/arkiv/"></head>
      <a href="mailto:post@example.no?subject=rapport.pdf">Delrapport 3</a>
      <a href="delrapport-3.pdf#page=2">Delrapport 3</a>"""
    assert find_pdf_link(html, BASE, "Delrapport 3") == "https://filer.example.no/arkiv/delrapport-3.pdf"


def test_normalize_for_match():
    assert normalize_for_match("Tiltak for ØKT sjø-_og  banetransport") == "tiltak for okt sjo og banetransport"
    assert normalize_for_match("Gr%C3%B8nt%20landtransportprogram.pdf") == "gront landtransportprogram pdf"
    assert normalize_for_match("Café – Æra") == "cafe aera"


# ---------------------------------------------------------------------------------------
# Sidecar TOML and manifest


def test_write_meta_toml_round_trips_tricky_strings(tmp_path):
    meta = {
        "title": 'Rapport «sjø» med "anførsel", \\skråstrek\\ og\nlinjeskift\tog tab \x01',
        "publisher": "Flowchange for Osloregionen",
        "year": 2020,
        "date": "2020-10",
        "url": "https://www.osloregionen.no/filer/Sluttrapport%20(2020).pdf",
        "visibility": "public",
        "empty": None,
        "rare key": "ok",
    }
    path = tmp_path / "x.meta.toml"
    write_meta_toml(path, meta)
    back = tomllib.loads(path.read_text(encoding="utf-8"))
    expected = {k: v for k, v in meta.items() if v is not None}
    assert back == expected
    assert list(back) == list(expected)
    assert [p.name for p in tmp_path.iterdir()] == ["x.meta.toml"]  # no temp files left


def test_real_manifest_lists_the_four_flowchange_reports():
    reports = load_manifest(ROOT / "corpus" / "reports.toml")
    assert [r.year for r in reports] == [2019, 2020, 2020, 2020]
    assert [r.date for r in reports] == ["2019-06", "2020-05", "2020-05", "2020-10"]
    assert [r.match for r in reports] == ["Delrapport 1", "Delrapport 2", "Delrapport 3", "Sluttrapport"]
    assert len({r.id for r in reports}) == 4
    assert all(r.page.startswith("https://www.osloregionen.no/") for r in reports)
    assert reports[0].title == "Delrapport 1 - Gods og logistikk i Osloregionen – Kunnskapsgrunnlag"


@pytest.mark.parametrize(
    "text, complaint",
    [
        ('[[report]]\ntitle = "T"\nyear = 2020\npage = "https://x.no/"\n', "mangler «id»"),
        ('[[report]]\nid = "a/b"\ntitle = "T"\nyear = 2020\npage = "https://x.no/"\n', "id-en"),
        ('[[report]]\nid = "a"\ntitle = "T"\nyear = "2020"\npage = "https://x.no/"\n', "«year»"),
        ('[[report]]\nid = "a"\ntitle = "T"\nyear = 2020\n', "«page»"),
        ('[[report]]\nid = "a"\ntitle = "T"\nyear = 2020\npage = "file:///etc/passwd"\n', "http"),
        ('[[report]]\nid = "a"\ntitle = "T"\nyear = 2020\ndate = "2019-06"\npage = "https://x.no/"\n', "passer ikke"),
        ('[[report]]\nid = "a"\ntitle = "T"\nyear = 2020\npage = "https://x.no/"\nmach = "x"\n', "ukjent nøkkel"),
        ('[[report]]\nid = "a"\ntitle = "T"\nyear = 2020\npage = "https://x.no/"\n' * 2, "mer enn én gang"),
        ("[[report]\n", "ikke gyldig TOML"),
    ],
)
def test_load_manifest_rejects_bad_entries(tmp_path, text, complaint):
    path = tmp_path / "reports.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError, match=complaint):
        load_manifest(path)


# ---------------------------------------------------------------------------------------
# Fetching against the real server


def test_fetch_downloads_pdfs_with_sidecars_then_skips(server, tmp_path):
    from pypdf import PdfReader

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    manifest = write_manifest(
        tmp_path / "reports.toml",
        [
            entry(server, "delrapport-1", "Delrapport 1"),
            entry(server, "delrapport-2", "økt sjø", year=2019, date=None),
            entry(server, "sluttrapport", "Sluttrapport", date="2020-10"),
        ],
    )
    results = fetch_reports(manifest, corpus, timeout=10)
    assert [r.status for r in results] == [STATUS_DOWNLOADED] * 3, [r.message for r in results]
    assert server.hits("/prosjekt/gods/") == 1  # one page, fetched once for all reports

    expected = {
        "delrapport-1": (PDF_1, server.url("/filer/Delrapport-1_Gods-og-logistikk.pdf?ver=2")),
        "delrapport-2": (PDF_2, server.url("/filer/delrapport-2-tiltak.pdf")),
        "sluttrapport": (PDF_PROBED, server.url("/last-ned?id=4")),  # found by Content-Type
    }
    assert corpus_listing(corpus) == sorted(
        name for stem in expected for name in (f"{stem}.pdf", f"{stem}.meta.toml")
    )
    for stem, (body, url) in expected.items():
        assert (corpus / f"{stem}.pdf").read_bytes() == body
        meta = tomllib.loads((corpus / f"{stem}.meta.toml").read_text(encoding="utf-8"))
        assert meta["url"] == url
        assert meta["page_url"] == server.url("/prosjekt/gods/")
        assert meta["title"] == f"Rapport {stem} – «sjø» og \"bane\""
        assert meta["publisher"] == "Flowchange for Osloregionen"
        assert meta["visibility"] == "public"
        assert meta["doc_type"] == "rapport"
    meta2 = tomllib.loads((corpus / "delrapport-2.meta.toml").read_text(encoding="utf-8"))
    assert meta2["year"] == 2019 and "date" not in meta2
    meta1 = tomllib.loads((corpus / "delrapport-1.meta.toml").read_text(encoding="utf-8"))
    assert meta1["year"] == 2020 and meta1["date"] == "2020-05"
    # The PDF arrived whole, Norwegian letters included.
    text = PdfReader(corpus / "delrapport-2.pdf").pages[0].extract_text()
    assert "Blåbær, rødgrøt og små skjærgårdsøyer" in text

    # Second run: nothing is fetched, nothing is touched.
    before = {p.name: p.stat().st_mtime_ns for p in corpus.iterdir()}
    requests_before = len(server.requests)
    again = fetch_reports(manifest, corpus, timeout=10)
    assert [r.status for r in again] == [STATUS_SKIPPED] * 3
    assert all("finnes allerede" in r.message for r in again)
    assert {p.name: p.stat().st_mtime_ns for p in corpus.iterdir()} == before
    assert len(server.requests) == requests_before


def test_response_that_is_not_a_pdf_is_rejected(server, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    reports = [
        ManifestEntry(id="delrapport-3", title="Delrapport 3", year=2020, page=server.url("/prosjekt/gods/"), match="Delrapport 3"),
        ManifestEntry(id="direkte", title="Direkte", year=2020, pdf=server.url("/filer/ikke-pdf.pdf")),
    ]
    results = fetch_reports(reports, corpus, timeout=10)
    assert [r.status for r in results] == [STATUS_FAILED, STATUS_FAILED]
    assert all("ikke en PDF" in r.message for r in results)
    assert corpus_listing(corpus) == []  # no PDF, no sidecar, no temporary file


def test_http_error_and_later_connection_error_fail_only_that_report(server, tmp_path):
    closed = closed_port()
    reports = [
        ManifestEntry(id="ok", title="OK", year=2020, pdf=server.url("/filer/delrapport-2-tiltak.pdf")),
        ManifestEntry(id="borte", title="Borte", year=2020, page=server.url("/prosjekt/gods/"), match="Vedlegg som er borte"),
        ManifestEntry(id="nede", title="Nede", year=2020, pdf=f"http://127.0.0.1:{closed}/x.pdf"),
        ManifestEntry(id="ok2", title="OK 2", year=2019, page=server.url("/prosjekt/gods/"), match="Delrapport 1"),
    ]
    corpus = tmp_path / "corpus"
    results = fetch_reports(reports, corpus, timeout=10)
    assert [r.status for r in results] == [STATUS_DOWNLOADED, STATUS_FAILED, STATUS_FAILED, STATUS_DOWNLOADED]
    assert "HTTP 404" in results[1].message
    assert "tilkoblingen ble avvist" in results[2].message
    assert corpus_listing(corpus) == ["ok.meta.toml", "ok.pdf", "ok2.meta.toml", "ok2.pdf"]


def closed_port() -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_no_network_raises_before_writing_anything(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    reports = [ManifestEntry(id="a", title="A", year=2020, page=f"http://127.0.0.1:{closed_port()}/side/")]
    with pytest.raises(NoNetworkError, match="Ingen nettverkstilgang: kunne ikke nå 127.0.0.1:"):
        fetch_reports(reports, corpus, timeout=5)
    assert corpus_listing(corpus) == []


def test_timeout_on_first_contact_counts_as_no_network(tmp_path):
    # A server that accepts connections but never answers.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        reports = [ManifestEntry(id="a", title="A", year=2020, pdf=f"http://127.0.0.1:{port}/a.pdf")]
        with pytest.raises(NoNetworkError, match=r"kunne ikke nå 127\.0\.0\.1:\d+ \(tidsavbrudd\)"):
            fetch_reports(reports, tmp_path / "corpus", timeout=0.5)
    assert not (tmp_path / "corpus").exists()


# ---------------------------------------------------------------------------------------
# The CLI


def test_cli_reports_missing_link_fetches_the_rest_and_exits_1(server, tmp_path):
    corpus = tmp_path / "corpus"
    manifest = write_manifest(
        tmp_path / "reports.toml",
        [
            entry(server, "delrapport-1", "Delrapport 1"),
            entry(server, "delrapport-9", "Delrapport 9"),
            entry(server, "delrapport-2", "Delrapport 2"),
        ],
    )
    proc = run_cli("--corpus", str(corpus), "--manifest", str(manifest), "--timeout", "10", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    err_lines = proc.stderr.strip().splitlines()
    assert len(err_lines) == 1
    assert "delrapport-9" in err_lines[0] and "fant ingen PDF-lenke som passer «Delrapport 9»" in err_lines[0]
    assert proc.stdout.strip().splitlines()[-1] == "Hentet 2, fantes fra før 0, feilet 1"
    assert corpus_listing(corpus) == [
        "delrapport-1.meta.toml",
        "delrapport-1.pdf",
        "delrapport-2.meta.toml",
        "delrapport-2.pdf",
    ]

    # Once the missing one is out of the manifest, everything is present: exit 0.
    write_manifest(manifest, [entry(server, "delrapport-1", "Delrapport 1"), entry(server, "delrapport-2", "Delrapport 2")])
    proc = run_cli("--corpus", str(corpus), "--manifest", str(manifest), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.count("finnes allerede") == 2
    assert proc.stdout.strip().splitlines()[-1] == "Hentet 0, fantes fra før 2, feilet 0"


@pytest.mark.parametrize("where", ["closed-port", "unresolvable-host", "both"])
def test_cli_without_network_prints_one_line_and_exits_3(tmp_path, where):
    closed = f"http://127.0.0.1:{closed_port()}/prosjekt/gods/"
    invalid = "http://ingen-slik-vert.invalid/prosjekt/gods/"
    pages = {"closed-port": [closed], "unresolvable-host": [invalid], "both": [invalid, closed]}[where]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    manifest = write_manifest(
        tmp_path / "reports.toml",
        [
            {"id": f"rapport-{i}", "title": f"Rapport {i}", "year": 2020, "page": page, "match": "Delrapport"}
            for i, page in enumerate(pages)
        ],
    )
    proc = run_cli("--corpus", str(corpus), "--manifest", str(manifest), "--timeout", "5", cwd=tmp_path)
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Ingen nettverkstilgang: kunne ikke nå ")
    assert lines[0].endswith("Rapportene ble ikke hentet.")
    host = "ingen-slik-vert.invalid" if where != "closed-port" else "127.0.0.1:"
    assert host in lines[0]
    assert proc.stdout == ""
    assert corpus_listing(corpus) == []


def test_cli_help_is_norwegian_and_documents_exit_codes(tmp_path):
    proc = run_cli("--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert "--corpus" in proc.stdout and "--manifest" in proc.stdout and "--timeout" in proc.stdout
    assert "avslutningskoder" in proc.stdout
    assert "3  ingen nettverkstilgang" in proc.stdout


def test_cli_bad_manifest_exits_2(tmp_path):
    proc = run_cli("--corpus", str(tmp_path), "--manifest", str(tmp_path / "finnes-ikke.toml"), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"Fant ikke manifestet {tmp_path / 'finnes-ikke.toml'}."

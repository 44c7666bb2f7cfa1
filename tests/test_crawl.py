"""The site crawler (assistant/crawl.py, scripts/crawl_site.py) against a real local site.

A ThreadingHTTPServer on 127.0.0.1 serves a WordPress-like council site the test builds:
menus, breadcrumbs, cookie banner and footer on every page, a news list, a project page
linking two PDFs and a Word file, a sitemap index with two sitemaps, robots.txt with a
disallowed path, a redirect, a broken link (404) and a link to another host. The server
answers conditional requests (ETag) like a real one and logs every request, so the tests
can tell what the crawler asked for and what it was sent in full.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import tomllib
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from assistant.crawl import (
    STATE_FILE,
    Scope,
    crawl_site,
    file_name_for,
    normalize_url,
    parse_sitemap,
)
from assistant.documents import load_corpus
from tests.conftest import without_proxies
from tests.office import CHROME, make_docx, wordpress_page
from tests.pdfs import make_pdf

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "crawl_site.py"
LAST_MODIFIED = formatdate(1589544000, usegmt=True)  # 15 May 2020


class Site:
    """A local web server: path → (status, content type, body) or a redirect."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.redirects: dict[str, str] = {}
        self.log: list[tuple[str, str, int]] = []
        self.lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("#")[0]
                if path in site.redirects:
                    self._send(301, "text/html", b"", {"Location": site.redirects[path]})
                    return
                route = site.routes.get(path)
                if route is None:
                    self._send(404, "text/html; charset=utf-8", b"<h1>Siden finnes ikke</h1>")
                    return
                ctype, body = route
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED}
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, ctype, b"", headers)
                else:
                    self._send(200, ctype, body, headers)

            def _send(self, status: int, ctype: str, body: bytes, headers: dict | None = None) -> None:
                with site.lock:
                    site.log.append((self.headers.get("User-Agent", ""), self.path, status))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def page(self, path: str, body: str) -> None:
        self.routes[path] = ("text/html; charset=utf-8", body.encode("utf-8"))

    def paths(self, statuses: tuple[int, ...] | None = None) -> list[str]:
        with self.lock:
            return [p for _, p, s in self.log if statuses is None or s in statuses]

    def reset_log(self) -> None:
        with self.lock:
            self.log.clear()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


pytestmark = pytest.mark.usefixtures("no_proxy_env")


def sitemap(urls: list[str]) -> bytes:
    items = "".join(f"<url><loc>{u}</loc><lastmod>2024-03-14</lastmod></url>" for u in urls)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/'
            f'sitemap/0.9">{items}</urlset>').encode()


SYKKELVEI_V1 = ("<p>Den nye sykkelveien mellom Lysaker og Sandvika åpner i september 2025. Den blir "
                "9,5 kilometer lang og får belysning hele veien.</p>"
                "<p>Statens vegvesen bygger sykkelveien sammen med Bærum kommune.</p>")
SYKKELVEI_V2 = SYKKELVEI_V1.replace("september 2025", "oktober 2025")


def build_site(site: Site, other: Site, tmp_path: Path) -> None:
    b = site.base
    site.routes["/robots.txt"] = ("text/plain", (
        "User-agent: *\nDisallow: /intern/\nDisallow: /wp-admin/\n\n"
        f"Sitemap: {b}/sitemap_index.xml\n").encode())
    site.routes["/sitemap_index.xml"] = ("application/xml", (
        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{b}/page-sitemap.xml</loc></sitemap><sitemap><loc>{b}/post-sitemap.xml</loc></sitemap>"
        "</sitemapindex>").encode())
    site.routes["/page-sitemap.xml"] = ("application/xml", sitemap(
        [f"{b}/", f"{b}/om-oss/", f"{b}/prosjekter/gods/", f"{b}/intern/lonn/", f"{b}/gammel-side/"]))
    site.routes["/post-sitemap.xml"] = ("application/xml", sitemap(
        [f"{b}/nyheter/ny-sykkelvei/", f"{b}/nyheter/styremote-juni/"]))
    site.page("/", wordpress_page("Forside", (
        "<p>Osloregionen er et interkommunalt politisk råd for 64 kommuner med om lag 2,3 millioner "
        "innbyggere.</p><p>Les om <a href='/prosjekter/'>prosjektene våre</a> og siste "
        "<a href='/nyheter/'>nyheter</a>.</p>"), canonical=f"{b}/", crumbs="Forside"))
    site.page("/om-oss/", wordpress_page("Om Osloregionen", (
        "<p>Osloregionen ble etablert i 2004 og ble omdannet til interkommunalt politisk råd "
        "28. oktober 2020.</p><p>Representantskapet er rådets høyeste organ.</p>"
        "<p>Se også <a href='/gammel-side/'>historikken</a>.</p>"), crumbs="Om oss"))
    site.page("/om-oss/historikk/", wordpress_page("Historikk", (
        "<p>Samarbeidet startet som Osloregionen allianse i 2004, med 57 kommuner.</p>"), crumbs="Om oss"))
    site.page("/prosjekter/", wordpress_page("Prosjekter", (
        "<p>Osloregionen driver prosjekter innen areal, transport, klima og næring.</p>"
        "<ul><li><a href='/prosjekter/gods/'>Gods- og logistikkprosjektet</a></li></ul>"), crumbs="Prosjekter"))
    site.page("/prosjekter/gods/", wordpress_page("Gods- og logistikkprosjektet", (
        "<p>Prosjektet skal flytte mer gods fra vei til sjø og jernbane i Osloregionen.</p>"
        "<h2>Rapporter</h2><ul>"
        "<li><a href='/wp-content/uploads/2020/05/Delrapport-1.pdf'>Delrapport 1 – Gods og logistikk i "
        "Osloregionen</a></li>"
        "<li><a href='/wp-content/uploads/2020/10/Sluttrapport.pdf'>Sluttrapport for prosjektet</a></li>"
        "<li><a href='/wp-content/uploads/2021/01/referat-styremote.docx'>Referat fra styremøtet</a></li>"
        "<li><a href='/intern/budsjett.pdf'>Internt budsjett</a></li>"
        "<li><a href='/wp-content/uploads/kart.png'>Kart over havnene</a></li>"
        f"<li><a href='{other.base}/rapport.pdf'>Rapport hos Statens vegvesen</a></li>"
        "</ul>"), crumbs="Prosjekter"))
    site.page("/nyheter/", wordpress_page("Nyheter", (
        "<article><h2><a href='/nyheter/ny-sykkelvei/'>Ny sykkelvei langs E18</a></h2>"
        "<p>Sykkelveien mellom Lysaker og Sandvika åpner neste år.</p></article>"
        "<article><h2><a href='/nyheter/regionradet-i-drammen/'>Regionrådet møttes i Drammen</a></h2>"
        "<p>Rådet diskuterte areal og transport.</p></article>"), crumbs="Nyheter"))
    site.page("/nyheter/ny-sykkelvei/", wordpress_page(
        "Ny sykkelvei langs E18", SYKKELVEI_V1, date="2024-03-14", canonical=f"{b}/nyheter/ny-sykkelvei/"))
    site.page("/nyheter/styremote-juni/", wordpress_page("Styremøte i juni", (
        "<p>Styret i Osloregionen møtes 4. juni 2024 i Lillestrøm for å behandle årsmeldingen.</p>"),
        date="2024-05-20"))
    site.page("/personvern/", wordpress_page("Personvern", (
        "<p>Osloregionen lagrer ingen personopplysninger om besøkende utover anonym statistikk.</p>")))
    site.page("/tilgjengelighet/", wordpress_page("Tilgjengelighet", (
        "<p>Nettstedet skal kunne brukes av alle, også med skjermleser og tastatur alene.</p>")))
    site.redirects["/gammel-side/"] = "/om-oss/historikk/"
    site.redirects["/kategori/nyheter/"] = "/nyheter/"
    pdf1 = make_pdf(tmp_path / "d1.pdf", ["Delrapport 1: godstransporten i Osloregionen er 90 millioner tonn."])
    pdf2 = make_pdf(tmp_path / "s.pdf", ["Sluttrapporten anbefaler en regional godsstrategi."])
    docx = make_docx(tmp_path / "r.docx", [("h1", "Referat"), ("p", "Styret vedtok budsjettet for 2021.")])
    site.routes["/wp-content/uploads/2020/05/Delrapport-1.pdf"] = ("application/pdf", pdf1.read_bytes())
    site.routes["/wp-content/uploads/2020/10/Sluttrapport.pdf"] = ("application/pdf", pdf2.read_bytes())
    site.routes["/wp-content/uploads/2021/01/referat-styremote.docx"] = (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", docx.read_bytes())
    site.routes["/intern/budsjett.pdf"] = ("application/pdf", pdf2.read_bytes())
    site.routes["/intern/lonn/"] = ("text/html", b"<p>Hemmelig</p>")
    other.routes["/rapport.pdf"] = ("application/pdf", pdf2.read_bytes())


@pytest.fixture
def sites(tmp_path):
    site, other = Site(), Site()
    (tmp_path / "kilder").mkdir()
    build_site(site, other, tmp_path / "kilder")
    try:
        yield site, other
    finally:
        site.stop()
        other.stop()


PAGES = {"forside.html", "om-oss.html", "om-oss-historikk.html", "prosjekter.html", "prosjekter-gods.html",
         "nyheter.html", "nyheter-ny-sykkelvei.html", "nyheter-styremote-juni.html", "personvern.html",
         "tilgjengelighet.html"}
FILES = {"delrapport-1.pdf", "sluttrapport.pdf", "referat-styremote.docx"}


def listing(corpus: Path) -> set[str]:
    return {p.name for p in corpus.iterdir()}


def mtimes(corpus: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in corpus.iterdir()}


def sidecars(names: set[str]) -> set[str]:
    return {name.rsplit(".", 1)[0] + ".meta.toml" for name in names}


def meta(corpus: Path, stem: str) -> dict:
    return tomllib.loads((corpus / f"{stem}.meta.toml").read_text(encoding="utf-8"))


def test_crawl_mirrors_the_site_honours_robots_and_syncs_changes(sites, tmp_path):
    site, other = sites
    corpus = tmp_path / "corpus"
    report = crawl_site(site.base + "/", corpus, delay=0, timeout=10)

    # Complete and correct: every page with main text and every linked document, each
    # with a sidecar, and the state file.
    assert listing(corpus) == PAGES | FILES | sidecars(PAGES | FILES) | {STATE_FILE}, report.events
    assert report.ok and report.complete
    assert all(ua.startswith("Osloregionen-assistenten/") for ua, _, _ in site.log)
    # robots.txt honoured: nothing under /intern/ was ever asked for (sitemap or link).
    assert not [p for p in site.paths() if p.startswith("/intern/")]
    assert {e.url for e in report.events if e.status == "stengt av robots.txt"} == {
        f"{site.base}/intern/lonn/", f"{site.base}/intern/budsjett.pdf"}
    assert other.paths() == []  # the other host is never contacted
    assert "/wp-content/uploads/kart.png" not in site.paths()  # images are not fetched
    assert site.paths().count("/robots.txt") == 1 and site.paths()[0] == "/robots.txt"
    assert {e.url for e in report.events if e.status == "ikke funnet"} == {
        f"{site.base}/kontakt/", f"{site.base}/nyheter/regionradet-i-drammen/"}
    # Each page was fetched once, even though every page links the menu.
    content = [p for p in site.paths() if not p.endswith((".xml", ".txt"))]
    assert len(content) == len(set(content))

    page = meta(corpus, "nyheter-ny-sykkelvei")
    assert page == {"title": "Ny sykkelvei langs E18", "url": f"{site.base}/nyheter/ny-sykkelvei/",
                    "date": "2024-03-14", "visibility": "public", "doc_type": "nettside"}
    assert meta(corpus, "om-oss-historikk")["url"] == f"{site.base}/om-oss/historikk/"  # after the redirect
    report_meta = meta(corpus, "delrapport-1")
    assert report_meta["title"] == "Delrapport 1 – Gods og logistikk i Osloregionen"  # the link text
    assert report_meta["url"] == f"{site.base}/wp-content/uploads/2020/05/Delrapport-1.pdf"
    assert report_meta["page_url"] == f"{site.base}/prosjekter/gods/"
    assert (report_meta["date"], report_meta["doc_type"]) == ("2020-05-15", "dokument")
    assert (corpus / "sluttrapport.pdf").read_bytes() == site.routes["/wp-content/uploads/2020/10/Sluttrapport.pdf"][1]

    # The mirror is a corpus the pipeline reads whole, without chrome.
    loaded = load_corpus(corpus)
    assert loaded.problems == []
    assert len(loaded.documents) == len(PAGES | FILES)
    for document in loaded.documents:
        for chrome in CHROME:
            assert all(chrome not in p.text for p in document.pages), (document.doc_id, chrome)

    # The site changes: one article is edited, one disappears (gone from the sitemap, 404).
    site.page("/nyheter/ny-sykkelvei/", wordpress_page(
        "Ny sykkelvei langs E18", SYKKELVEI_V2, date="2024-03-14", canonical=f"{site.base}/nyheter/ny-sykkelvei/"))
    site.routes["/post-sitemap.xml"] = ("application/xml", sitemap([f"{site.base}/nyheter/ny-sykkelvei/"]))
    del site.routes["/nyheter/styremote-juni/"]
    before = mtimes(corpus)
    site.reset_log()
    second = crawl_site(site.base + "/", corpus, delay=0, timeout=10)

    sent_whole = [p for p in site.paths((200,)) if not p.endswith((".xml", ".txt"))]
    assert sent_whole == ["/nyheter/ny-sykkelvei/"]  # only the changed page came in full
    assert len(site.paths((304,))) == len(PAGES | FILES) - 2  # everything else: "not modified"
    assert [(e.status, e.file) for e in second.events if e.status in ("ny", "endret", "fjernet")] == [
        ("endret", "nyheter-ny-sykkelvei.html"), ("fjernet", "nyheter-styremote-juni.html")]
    assert listing(corpus) == (PAGES | FILES | sidecars(PAGES | FILES) | {STATE_FILE}) - {
        "nyheter-styremote-juni.html", "nyheter-styremote-juni.meta.toml"}
    assert "oktober 2025" in (corpus / "nyheter-ny-sykkelvei.html").read_text(encoding="utf-8")
    after = mtimes(corpus)
    changed = {name for name in after if after[name] != before.get(name)}
    assert changed == {"nyheter-ny-sykkelvei.html", "nyheter-ny-sykkelvei.meta.toml", STATE_FILE}

    # Nothing changed: nothing is sent in full, nothing is written but the state.
    site.reset_log()
    third = crawl_site(site.base + "/", corpus, delay=0, timeout=10)
    assert [p for p in site.paths((200,)) if not p.endswith((".xml", ".txt"))] == []
    assert [e for e in third.events if e.status in ("ny", "endret", "fjernet")] == []


def test_crawl_never_removes_files_it_did_not_write(sites, tmp_path):
    site, _ = sites
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "forside.html").write_text("<p>Min egen side</p>", encoding="utf-8")
    (corpus / "eget-notat.txt").write_text("Mitt eget notat.", encoding="utf-8")
    crawl_site(site.base + "/", corpus, delay=0, timeout=10)
    assert (corpus / "forside.html").read_text(encoding="utf-8") == "<p>Min egen side</p>"
    assert (corpus / "eget-notat.txt").exists()
    mirrored = [name for name in listing(corpus) if name.startswith("forside-") and name.endswith(".html")]
    assert len(mirrored) == 1  # the site's front page under a name of its own
    site.routes.clear()  # the whole site is gone (everything 404, no robots.txt, no sitemap)
    site.redirects.clear()
    report = crawl_site(site.base + "/", corpus, delay=0, timeout=10)
    assert listing(corpus) == {"forside.html", "eget-notat.txt", STATE_FILE}
    assert report.count("fjernet") >= len(PAGES | FILES) - 1


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = without_proxies(os.environ)
    env.pop("ASSISTANT_CORPUS", None)
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)


def test_cli_mirrors_and_prints_progress_and_a_summary(sites, tmp_path):
    site, _ = sites
    proc = run_cli(site.base + "/", "--corpus", str(tmp_path / "korpus"), "--delay", "0", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Ny: " in proc.stdout and "delrapport-1.pdf" in proc.stdout
    assert "Ikke funnet: " + site.base + "/kontakt/" in proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith(f"Nye {len(PAGES | FILES)}, endret 0")
    assert "Traceback" not in proc.stderr


def test_cli_without_network_says_so_on_one_line_and_exits_3(tmp_path):
    proc = run_cli(f"http://127.0.0.1:{closed_port()}/", "--corpus", str(tmp_path / "k"), "--delay", "0",
                   cwd=tmp_path)
    assert proc.returncode == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Ingen nettverkstilgang: kunne ikke nå 127.0.0.1:")
    assert lines[0].endswith("Nettstedet ble ikke speilet.")
    assert not (tmp_path / "k").exists()


def test_cli_help_is_norwegian_and_bad_input_is_one_line(tmp_path):
    help_text = run_cli("--help", cwd=tmp_path)
    assert help_text.returncode == 0
    assert "--delay" in help_text.stdout and "avslutningskoder" in help_text.stdout
    assert "3  ingen nettverkstilgang" in help_text.stdout
    bad = run_cli("ftp://example.org/", cwd=tmp_path)
    assert bad.returncode == 2 and "ikke en http- eller https-adresse" in bad.stderr
    assert "Traceback" not in bad.stderr


# --------------------------------------------------------------------------- pure logic


def test_scope_stays_on_the_host_and_under_the_path():
    scope = Scope.from_url("https://www.osloregionen.no/prosjekter")
    assert scope == Scope("www.osloregionen.no", "/prosjekter/")
    assert scope.contains("https://www.osloregionen.no/prosjekter/gods/")
    assert scope.contains("https://WWW.osloregionen.no:443/prosjekter")
    assert not scope.contains("https://www.osloregionen.no/prosjekter-arkiv/")
    assert not scope.contains("https://www.osloregionen.no/nyheter/")
    assert not scope.contains("https://osloregionen.no/prosjekter/")
    assert not scope.contains("https://www.osloregionen.no.evil.example/prosjekter/")
    assert scope.on_host("https://www.osloregionen.no/wp-content/uploads/a.pdf")
    assert Scope.from_url("https://x.no/prosjekter/side.html").prefix == "/prosjekter/"
    assert Scope.from_url("https://x.no").prefix == "/"


def test_normalize_url():
    assert normalize_url("HTTPS://Www.Example.NO:443/a/b?x=1#top") == "https://www.example.no/a/b?x=1"
    assert normalize_url("http://example.no") == "http://example.no/"
    assert normalize_url("http://example.no:8080/") == "http://example.no:8080/"
    assert normalize_url("mailto:post@example.no") is None
    assert normalize_url("javascript:void(0)") is None


def test_file_names_are_readable_and_stable():
    assert file_name_for("https://x.no/", "page", ".html") == "forside.html"
    assert file_name_for("https://x.no/nyheter/ny-sykkelvei/", "page", ".html") == "nyheter-ny-sykkelvei.html"
    assert file_name_for("https://x.no/om/index.html", "page", ".html") == "om.html"
    assert file_name_for("https://x.no/f/%C3%85rsrapport%202023.pdf", "document", ".pdf") == "arsrapport-2023.pdf"
    with_query = file_name_for("https://x.no/side/?id=4", "page", ".html")
    assert with_query.startswith("side-") and with_query == file_name_for("https://x.no/side/?id=4", "page", ".html")


def test_parse_sitemap_urlset_index_and_gzip():
    import gzip

    urlset = sitemap(["https://x.no/", "https://x.no/a/"])
    assert parse_sitemap(urlset).urls == [("https://x.no/", "2024-03-14"), ("https://x.no/a/", "2024-03-14")]
    assert parse_sitemap(gzip.compress(urlset)).urls[1][0] == "https://x.no/a/"
    index = (b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             b"<sitemap><loc> https://x.no/s1.xml </loc></sitemap><sitemap><loc>https://x.no/s2.xml</loc>"
             b"</sitemap></sitemapindex>")
    parsed = parse_sitemap(index)
    assert parsed.sitemaps == ["https://x.no/s1.xml", "https://x.no/s2.xml"] and parsed.urls == []
    with pytest.raises(ValueError):
        parse_sitemap(b"<html>ikke et kart</html>")
    with pytest.raises(ValueError):
        parse_sitemap(b"<urlset")

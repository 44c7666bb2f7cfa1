"""The document viewer over a real server: real model, a PDF made here, a txt, an internal note.

The PDF's page is shown as an image with the answering sentence boxed; Chromium checks that
the box is on the image and scrolled into view. Screenshots at 1366×900 and 390×844 go to
test-artifacts/ (git-ignored).
"""

import html
import re
import shutil
import struct
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.links import viewer_path
from assistant.search import PUBLIC
from assistant.server import RunningServer
from assistant.service import Assistant
from assistant.viewer import NO_POPPLER, NOT_FOUND_TITLE, STALE_PASSAGE, view_page
from tests.conftest import free_port
from tests.pdfs import make_pdf

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
needs_poppler = pytest.mark.skipif(not shutil.which("pdftoppm"), reason="krever poppler-utils")
needs_browser = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                   reason="krever Debian-pakkene chromium og chromium-driver")

QUESTION = "Når får cruiseskipene landstrøm i havna?"
ANSWER = "Oslo havn skal få landstrøm til cruiseskip innen 2026."
FILLER = [f"Punkt {n}: Kommunene samarbeider om arealplaner, boliger og grøntområder." for n in range(1, 36)]
TXT_SENTENCE = 'Regionrådet møtes fire ganger i året <og> vedtar budsjettet i desember.'


@pytest.fixture(scope="module")
def viewer_app(tmp_path_factory, embedder):
    """(url, assistant): a PDF whose answer stands low on page 2, a txt with a bad URL,
    and an internal note."""
    root = tmp_path_factory.mktemp("viewer")
    corpus = root / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "samferdsel.pdf", [
        "Kapittel 1: Jernbane\nRegionen vil ha flere togavganger mellom Oslo og Drammen.\n"
        "Dobbeltspor gir kortere reisetid for pendlere.",
        "Kapittel 2: Havner\n" + "\n".join(FILLER) + f"\n{ANSWER}\n"
        "Det reduserer utslippene fra skip som ligger ved kai.",
        "Kapittel 3: Sykkel\nKommunene bygger sammenhengende sykkelveier langs hovedvegene.\n"
        "Målet er at flere sykler til jobb.",
    ])
    (corpus / "samferdsel.meta.toml").write_text(
        'title = "Samferdselsplan <2024>"\nyear = 2024\nurl = "https://example.org/samferdsel.pdf"\n'
        'doc_type = "plan"\n', encoding="utf-8")
    (corpus / "motereglement.txt").write_text(
        "Om rådet\nRådet har et eget sekretariat.\f"
        f"Møter\n{TXT_SENTENCE}\nSakspapirene sendes ut en uke før.", encoding="utf-8")
    (corpus / "motereglement.meta.toml").write_text(
        'title = "Møtereglement"\nyear = 2023\nurl = "javascript:alert(1)"\n', encoding="utf-8")
    (corpus / "intern.txt").write_text("Hemmelig budsjettnotat om lønn i sekretariatet.",
                                       encoding="utf-8")
    (corpus / "intern.meta.toml").write_text('title = "Internt notat"\nvisibility = "internal"\n',
                                             encoding="utf-8")
    assistant = Assistant(Settings(corpus_dir=corpus, index_dir=root / "index"), embedder=embedder)
    assistant.build(progress=False)
    port = free_port()
    server = RunningServer(assistant, "127.0.0.1", port).start()
    yield server.url.rstrip("/"), assistant
    server.stop()


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.headers.get("content-type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("content-type", ""), error.read()


def answer_citation(assistant):
    answer = assistant.ask(QUESTION)
    assert answer.found, answer
    citation = answer.citations[0]
    assert citation.doc_id == "samferdsel" and citation.page == 2
    return citation


def txt_link(assistant) -> str:
    """The viewer's link to the txt's sentence about meetings (its chunk, its sentence)."""
    for chunk_id, chunk in enumerate(assistant.index.chunks):
        if chunk.doc_id != "motereglement":
            continue
        for i, text in enumerate(chunk.sentence_texts()):
            if text.startswith("Regionrådet"):
                return viewer_path("motereglement", chunk.sentences[i].page, chunk_id, (i, i))
    raise AssertionError("fant ikke setningen i indeksen")


@needs_poppler
def test_the_pdf_page_is_an_image_with_boxes_over_the_answering_sentence(viewer_app):
    url, assistant = viewer_app
    citation = answer_citation(assistant)
    assert citation.viewer().startswith("/dokument/samferdsel?side=2&bit=")
    status, kind, body = fetch(url + citation.viewer())
    page = body.decode("utf-8")
    assert status == 200 and kind.startswith("text/html")
    assert '<html lang="nb">' in page
    assert "<h1>Samferdselsplan &lt;2024&gt;</h1>" in page and "2024 · plan" in page
    assert 'href="https://example.org/samferdsel.pdf#page=2"' in page
    assert "Side 2 av 3" in page and 'rel="prev"' in page and 'rel="next"' in page
    # the real page: an image whose size matches the PNG served, with the sentence boxed
    src = html.unescape(re.search(r'<img src="([^"]+)"', page).group(1))
    width, height = (int(v) for v in re.search(r'width="(\d+)" height="(\d+)"', page).groups())
    status, kind, png = fetch(url + src)
    assert status == 200 and kind == "image/png"
    assert struct.unpack(">II", png[16:24]) == (width, height)
    view_w, view_h = (float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', page).groups())
    assert abs(view_w / view_h - width / height) < 0.01
    answer_group = re.search(r'<g class="svar" id="svar">(.*?)</g>', page).group(1)
    rects = [tuple(float(v) for v in m) for m in
             re.findall(r'x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', answer_group)]
    assert len(rects) == 1  # one line of text: one box
    x, y, w, h = rects[0]
    assert 0 <= x and x + w <= view_w and 0 <= y and y + h <= view_h
    assert y > view_h / 2  # the sentence stands low on the page, under the filler
    assert 'class="utdrag"' in page  # the rest of the passage, lighter
    # the page's text is there too, for screen readers and copying
    assert f"<mark>{ANSWER}</mark>" in page


@needs_poppler
def test_page_images_are_cached_by_content_hash_and_page(viewer_app):
    url, assistant = viewer_app
    fetch(url + "/dokument/samferdsel?side=3")
    cache = assistant.settings.index_dir / assistant.settings.viewer.cache_folder
    document = assistant.document("samferdsel")
    assert (cache / f"{document.content_hash}-3-{assistant.settings.viewer.page_width_px}.png").is_file()
    assert (cache / f"{document.content_hash}-3-ord.json").is_file()
    assert not any(p.name.startswith(".") for p in cache.iterdir())  # no scratch files left


def test_a_text_document_shows_its_page_escaped_with_the_sentence_marked(viewer_app):
    url, assistant = viewer_app
    link = txt_link(assistant)
    status, _, body = fetch(url + link)
    page = body.decode("utf-8")
    assert status == 200 and "Side 2 av 2" in page
    assert f'<mark id="svar">{html.escape(TXT_SENTENCE, quote=False)}</mark>' in page
    assert "<og>" not in page and "<img" not in page
    # a javascript: URL from the metadata is never a link
    assert "javascript:" not in page


def test_other_pages_keep_the_passage_and_bad_passages_say_so(viewer_app):
    url, assistant = viewer_app
    link = txt_link(assistant)
    status, _, body = fetch(url + link.replace("side=2", "side=1"))
    assert status == 200 and "Side 1 av 2" in body.decode("utf-8")
    assert 'id="svar"' not in body.decode("utf-8")  # the sentence is on page 2
    status, _, body = fetch(url + "/dokument/motereglement?side=2&bit=999999&setning=0")
    assert status == 200 and html.escape(STALE_PASSAGE, quote=False) in body.decode("utf-8")
    status, _, body = fetch(url + "/dokument/motereglement?side=2&bit=abc")
    assert status == 200 and "Utdraget i lenken finnes ikke lenger" in body.decode("utf-8")
    # a chunk of another document is not this document's passage
    other = next(i for i, c in enumerate(assistant.index.chunks) if c.doc_id == "samferdsel")
    status, _, body = fetch(url + f"/dokument/motereglement?side=1&bit={other}&setning=0")
    assert status == 200 and "Utdraget i lenken finnes ikke lenger" in body.decode("utf-8")


@pytest.mark.parametrize("path", [
    "/dokument/intern", "/dokument/intern?side=1", "/dokument/intern/sidebilde?side=1",
    "/dokument/ukjent", "/dokument/samferdsel.pdf", "/dokument/..%2F..%2Fetc%2Fpasswd",
    "/dokument/%2e%2e%2fpyproject.toml", "/dokument/..", "/dokument/%252e%252e%252fREADME.md",
    "/dokument/samferdsel?side=0", "/dokument/samferdsel?side=4", "/dokument/samferdsel?side=abc",
    "/dokument/samferdsel?side=-1", "/dokument/samferdsel?side=2.5", "/dokument/samferdsel?side=%D9%A1",
    "/dokument/samferdsel?side=99999999999999999999", "/dokument/motereglement/sidebilde?side=1",
    "/dokument/samferdsel/sidebilde?side=9", "/dokument/samferdsel/sidebilde",
    "/dokumentvisning/..%2Fviewer.py", "/dokumentvisning/answer_model.json",
])
def test_hidden_unknown_and_malformed_requests_give_a_norwegian_404(viewer_app, path):
    url, _ = viewer_app
    status, _, body = fetch(url + path)
    text = body.decode("utf-8", errors="replace")
    assert status == 404, (path, status)
    assert "Hemmelig" not in text and "root:" not in text and "[project]" not in text
    assert "Fant ikke" in text or NOT_FOUND_TITLE in text, text[:200]
    if "side=" in path and "sidebilde" not in path and "samferdsel" in path:
        assert "finnes ikke i «Samferdselsplan &lt;2024&gt;». Dokumentet har 3 sider." in text


def test_without_poppler_the_pdf_page_is_shown_as_text_and_says_why(viewer_app, monkeypatch):
    _, assistant = viewer_app
    citation = answer_citation(assistant)
    monkeypatch.setattr("assistant.viewer.poppler_available", lambda: False)
    passage = citation.passage()
    status, page = view_page(assistant, PUBLIC, "samferdsel", "2", str(passage.chunk_id),
                             f"{passage.sentences[0]}-{passage.sentences[1]}")
    assert status == 200 and html.escape(NO_POPPLER, quote=False) in page
    assert "<img" not in page and f'<mark id="svar">{ANSWER}</mark>' in page


def test_the_chat_links_each_citation_to_the_viewer(viewer_app):
    from assistant.web import Handlers

    _, assistant = viewer_app
    bubble = Handlers(assistant).chat(QUESTION, [], None, None)[1][-1]["content"]
    citation = answer_citation(assistant)
    href = html.escape(citation.viewer(), quote=True)
    assert f'<sup><a href="{href}"' in bubble  # the inline [1]
    assert "Vis i dokumentet" in bubble and 'href="https://example.org/samferdsel.pdf#page=2"' in bubble
    assert bubble.count('<details class="kilde">') == len({c.doc_id for c in
                                                           assistant.ask(QUESTION).citations})


# --------------------------------------------------------------------------- browser


def make_browser(width: int, height: int, mobile: bool):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--disable-dev-shm-usage", "--lang=nb-NO",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
    return driver


GEOMETRY = """
const box = document.getElementById('svar').getBoundingClientRect();
const image = document.querySelector('.ark img').getBoundingClientRect();
return {box: [box.left, box.top, box.right, box.bottom],
        image: [image.left, image.top, image.right, image.bottom],
        loaded: document.querySelector('.ark img').complete &&
                document.querySelector('.ark img').naturalWidth > 0,
        viewport: [window.innerWidth, window.innerHeight],
        scrollWidth: document.documentElement.scrollWidth, scrollY: window.scrollY};
"""


@needs_poppler
@needs_browser
@pytest.mark.parametrize("width,height,mobile", [(1366, 900, False), (390, 844, True)],
                         ids=["1366x900", "390x844"])
def test_the_highlighted_sentence_is_on_the_image_and_in_view(viewer_app, width, height, mobile):
    from selenium.webdriver.support.ui import WebDriverWait

    url, assistant = viewer_app
    driver = make_browser(width, height, mobile)
    try:
        driver.get(url + answer_citation(assistant).viewer())
        WebDriverWait(driver, 30).until(lambda d: d.execute_script(GEOMETRY)["loaded"])
        shape = driver.execute_script(GEOMETRY)
        left, top, right, bottom = shape["box"]
        i_left, i_top, i_right, i_bottom = shape["image"]
        view_w, view_h = shape["viewport"]
        assert right > left and bottom > top
        assert i_left - 1 <= left and right <= i_right + 1 and i_top - 1 <= top and bottom <= i_bottom + 1
        assert 0 <= top and bottom <= view_h and 0 <= left and right <= view_w, shape
        assert shape["scrollY"] > 0  # it stood below the first screen and was scrolled to
        assert shape["scrollWidth"] <= view_w + 1, shape  # no sideways scrolling
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / f"dokumentvisning-pdf-{width}x{height}.png"))
        driver.get(url + txt_link(assistant))
        WebDriverWait(driver, 30).until(lambda d: d.find_elements("id", "svar"))
        driver.save_screenshot(str(ARTIFACTS / f"dokumentvisning-txt-{width}x{height}.png"))
    finally:
        driver.quit()


@needs_browser
def test_the_inline_marker_in_the_chat_opens_the_viewer(viewer_app):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    url, _ = viewer_app
    driver = make_browser(1366, 900, False)
    try:
        driver.get(url + "/")
        box = WebDriverWait(driver, 60).until(
            EC.visibility_of_element_located((By.CSS_SELECTOR, "#sporsmal textarea")))
        box.send_keys(QUESTION, Keys.ENTER)
        marker = WebDriverWait(driver, 60).until(EC.visibility_of_element_located(
            (By.CSS_SELECTOR, "#samtale sup a[href*='/dokument/samferdsel']")))
        assert marker.text == "[1]"
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "dokumentvisning-fra-samtalen.png"))
        driver.get(marker.get_attribute("href"))
        WebDriverWait(driver, 30).until(lambda d: d.find_elements("id", "svar"))
        assert "Samferdselsplan <2024>" in driver.find_element(By.TAG_NAME, "h1").text
    finally:
        driver.quit()

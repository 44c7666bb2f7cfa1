"""Issue #14 in real headless Chromium: feedback per answer, the landing page, Norwegian
everywhere, the phone layout, errors, the staff search, and axe-core's accessibility check.

One module-scoped server over the seed corpus (and one internal note); the tests that need
a hung or stopped server start their own over the same index. Screenshots go to
test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from test_browser import (  # noqa: F401 - browser_app is a fixture used below
    ARTIFACTS,
    CHROMIUM,
    DRIVER,
    INTERNAL_TITLE,
    ask,
    browser_app,
    make_browser,
    open_tab,
    search_tab,
    wait_for,
)

from assistant.config import CONTACT_URL, MAX_QUESTION_CHARS
from assistant.server import RunningServer
from assistant.service import Assistant
from tests.conftest import free_port

pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="krever Debian-pakkene chromium og chromium-driver")
AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
DESKTOP, PHONE = (1366, 900), (390, 844)


def phone_browser():
    """Chromium emulating a 390×844 phone (headless windows are at least 500 px wide)."""
    driver = make_browser(*PHONE)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 1,
                            "mobile": True})
    return driver


def browser_at(size: tuple[int, int]):
    return phone_browser() if size == PHONE else make_browser(*size)


def english_browser():
    """A browser that asks for English pages: the app must still be Norwegian."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--lang=en-US",
                     "--disable-dev-shm-usage", "--window-size=1366,900"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(DRIVER), options=options)


@pytest.fixture()
def browser(request):
    driver = make_browser(*DESKTOP)
    yield driver
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{request.node.name}.png"))
    driver.quit()


def bubbles(driver) -> list:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "#samtale .message-row")


def rate(driver, bubble_number: int, label: str) -> None:
    """Click 👍 ("Liker") or 👎 ("Liker ikke") under the n-th answer bubble (from 1)."""
    from selenium.webdriver.common.by import By

    rows = driver.find_elements(By.CSS_SELECTOR, "#samtale .message-row.bot-row, #samtale .bot-row")
    buttons = rows[bubble_number - 1].find_elements(By.CSS_SELECTOR, f"button[aria-label='{label}']")
    if not buttons:  # the buttons sit just after the bubble's row in some layouts
        buttons = [b for b in driver.find_elements(By.CSS_SELECTOR, f"#samtale button[aria-label='{label}']")]
        buttons = buttons[bubble_number - 1: bubble_number]
    buttons[0].click()


def stored_feedback(assistant: Assistant) -> dict[str, tuple[str, str | None]]:
    """question → (rating, comment), read from the SQLite file itself."""
    with sqlite3.connect(assistant.feedback.path) as conn:
        rows = conn.execute("SELECT a.question, f.rating, f.comment FROM feedback f "
                            "JOIN answers a ON a.id = f.answer_id").fetchall()
    return {question: (rating, comment) for question, rating, comment in rows}




# --------------------------------------------------------------------------- 3. feedback


def test_every_answer_is_rated_on_its_own_and_the_store_has_what_the_user_saw(browser, browser_app):
    url, assistant = browser_app
    first, second = "Når ble Osloregionen etablert?", "Hva er det høyeste organet i Osloregionen?"
    browser.get(url)
    ask(browser, first)
    wait_for(browser, "#samtale", text="2004")
    ask(browser, second)
    wait_for(browser, "#samtale", text="Representantskapet")

    rate(browser, 1, "Liker")  # the older answer, not the latest
    wait_for(browser, "#tilbakemelding-status", text=f"svaret på «{first}» 👍")
    comment = wait_for(browser, "#kommentar textarea")
    comment.send_keys("Fint, men ring meg på 22 33 44 55")
    browser.find_element("css selector", "#send-kommentar").click()
    wait_for(browser, "#tilbakemelding-status", text="Kommentaren er lagret")
    assert wait_for(browser, "#kommentar textarea").get_attribute("value") == ""

    rate(browser, 1, "Liker ikke")  # changing one's mind is said, not silent
    wait_for(browser, "#tilbakemelding-status", text="er endret fra 👍 til 👎")
    rate(browser, 2, "Liker")
    wait_for(browser, "#tilbakemelding-status", text=f"svaret på «{second}» 👍")

    stored = stored_feedback(assistant)
    assert stored[first] == ("down", "Fint, men ring meg på [telefon]")
    assert stored[second] == ("up", None)  # the comment went to the first answer only


# --------------------------------------------------------------------------- 4. landing page


def test_the_landing_page_says_what_the_service_is_stores_and_who_to_ask(browser, browser_app):
    from selenium.webdriver.common.by import By

    browser.get(browser_app[0])
    text = wait_for(browser, "#forbehold", text="Ikke skriv personopplysninger").text
    assert "sitater fra Osloregionens egne dokumenter" in text and "automatisk" in text
    assert "12 måneder" in text and "fjernes automatisk" in text
    link = browser.find_element(By.CSS_SELECTOR, "#forbehold a")
    assert link.get_attribute("href") == CONTACT_URL


# --------------------------------------------------------------------------- 5. language, names, copy


def test_norwegian_for_an_english_browser_names_without_markup_and_plain_copy(browser_app):
    from selenium.webdriver.common.by import By

    driver = english_browser()
    try:
        driver.get(browser_app[0])
        ask(driver, "Hvor mange kommuner er med i Osloregionen?")
        wait_for(driver, "#samtale", text="64 kommuner")
        assert driver.execute_script("return document.documentElement.lang") == "nb"
        labels = driver.execute_script(
            "return [...document.querySelectorAll('#samtale [aria-label], button[aria-label]')]"
            ".map(e => e.getAttribute('aria-label'))")
        assert "Tøm samtalen" in labels and "Liker" in labels, labels
        names = [label for label in labels if label.startswith(("Svar:", "Ditt spørsmål:"))]
        assert len(names) == 2 and not any("<" in name or "message" in name for name in names), names
        english = {"Clear", "Copy", "Like", "Dislike", "Copy message"}
        assert not english & set(labels), labels
        driver.execute_cdp_cmd("Browser.grantPermissions", {
            "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
            "origin": browser_app[0].rstrip("/")})
        driver.find_element(By.CSS_SELECTOR, "#samtale button.kopier-svar").click()
        wait_for(driver, "#samtale", text="Kopiert ✓")
        copied = driver.execute_script("return await navigator.clipboard.readText()")
        assert "64 kommuner" in copied and "<" not in copied and "Kopier" not in copied
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "engelsk-nettleser.png"))
        driver.quit()


# --------------------------------------------------------------------------- 6. phone


def test_phone_sources_under_the_answer_and_nothing_cut_off(browser_app):
    from selenium.webdriver.common.by import By

    driver = phone_browser()
    try:
        driver.get(browser_app[0])
        box = wait_for(driver, "#sporsmal textarea")
        # the empty chat leaves the first screen for the question box and the basics
        assert box.location["y"] + box.size["height"] < PHONE[1], box.location
        ask(driver, "Hvor mange kommuner er med i Osloregionen?")
        wait_for(driver, "#samtale", text="64 kommuner")
        chat = driver.find_element(By.ID, "samtale")
        sources = wait_for(driver, "#vis-kilde")
        examples_y = driver.execute_script(
            "return document.getElementById('forbehold').getBoundingClientRect().top")
        bottom_of_chat = chat.location["y"] + chat.size["height"]
        assert sources.location["y"] - bottom_of_chat < 400, (sources.location, bottom_of_chat)
        assert sources.location["y"] < examples_y + driver.execute_script("return scrollY")
        wait_for(driver, "#vis-kilde label").click()
        wait_for(driver, "#kildevisning mark")
        time.sleep(1)  # smooth scrolling
        top = driver.execute_script(
            "return document.getElementById('kildevisning').getBoundingClientRect().top")
        assert -2 <= top < PHONE[1] / 2, top
        driver.save_screenshot(str(ARTIFACTS / "mobil-kilde.png"))
        open_tab(driver, "Om Osloregionen")
        wait_for(driver, "#dokumentliste", text="Grønt Landtransportprogram")
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= PHONE[0], f"siden er {width} px bred på en {PHONE[0]} px skjerm"
        table_box = driver.execute_script(
            "const b = document.querySelector('#dokumentliste .tabellboks');"
            "return [b.getBoundingClientRect().right, getComputedStyle(b).overflowX]")
        assert table_box[0] <= PHONE[0] and table_box[1] == "auto", table_box
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "mobil-om.png"))
        driver.quit()


# --------------------------------------------------------------------------- 7. errors


class HangingAssistant(Assistant):
    """An assistant whose answers never come for questions with "heng" in them."""

    release = threading.Event()

    def ask(self, question, *args, **kwargs):
        if "heng" in question:
            self.release.wait(60)
        return super().ask(question, *args, **kwargs)


@pytest.fixture()
def own_server(browser_app):
    """A second server over the same index, with a 2-second chat timeout: it may be stopped."""
    assistant = browser_app[1]
    hanging = HangingAssistant(replace(assistant.settings, chat_timeout_s=2.0),
                               embedder=assistant.embedder)
    server = RunningServer(hanging, "127.0.0.1", free_port()).start()
    yield server
    HangingAssistant.release.set()
    server.stop()


def test_a_hung_answer_times_out_in_norwegian_and_keeps_the_question(browser, own_server):
    browser.get(own_server.url)
    question = "Hvorfor heng dette spørsmålet?"
    ask(browser, question)
    wait_for(browser, "#samtale-status", timeout=30, text="Svaret tok for lang tid")
    assert wait_for(browser, "#sporsmal textarea").get_attribute("value") == question
    assert not bubbles(browser)


def test_a_stopped_server_gives_a_norwegian_message(browser, own_server):
    browser.get(own_server.url)
    wait_for(browser, "#sporsmal textarea")
    own_server.stop()
    ask(browser, "Når ble Osloregionen etablert?")
    time.sleep(3)
    page = browser.find_element("tag name", "body").text
    wait_for(browser, "body", timeout=20, text="Fikk ikke kontakt med serveren")
    time.sleep(0.5)
    page = browser.find_element("tag name", "body").text
    assert "Connection errored out" not in page and "Error" not in page.split(), page


def test_long_question_is_cut_with_a_note_and_empty_submit_does_nothing(browser, browser_app):
    from selenium.webdriver.common.keys import Keys

    browser.get(browser_app[0])
    box = wait_for(browser, "#sporsmal textarea")
    box.send_keys(Keys.ENTER)
    browser.find_element("css selector", "#spor-knapp").click()
    time.sleep(1.5)
    assert not bubbles(browser)
    long_question = "Hvor mange kommuner er med i Osloregionen? " + "og mer " * 800
    browser.execute_script(
        "const box = document.querySelector('#sporsmal textarea');"
        "box.value = arguments[0]; box.dispatchEvent(new Event('input', {bubbles: true}));",
        long_question)
    browser.find_element("css selector", "#spor-knapp").click()
    note = wait_for(browser, "#samtale .merknad", timeout=60)
    shown = f"{MAX_QUESTION_CHARS:,}".replace(",", " ")  # a no-break space, as text
    assert "Spørsmålet ditt var på" in note.text and f"første {shown} tegnene" in note.text
    assert len(bubbles(browser)) == 2


# --------------------------------------------------------------------------- 8. staff search


def test_staff_search_cuts_nonsense_shows_scores_links_and_reruns_on_mode_change(browser, browser_app):
    from selenium.webdriver.common.by import By

    results = search_tab(browser, browser_app[0], "asdf qwerty blorp")
    assert "Ingen treff" in results.text
    assert "Ikke logget inn" in browser.find_element(By.ID, "innlogget").text

    results = search_tab(browser, browser_app[0], "kommuner")
    assert "poengsum" in results.text
    links = browser.find_elements(By.CSS_SELECTOR, "#treffliste a[href*='/dokument/']")
    assert links and all("side=" in a.get_attribute("href") for a in links)
    for label in browser.find_elements(By.CSS_SELECTOR, "#sokemodus label"):
        if "nøkkelord" in label.text:
            label.click()  # no new click on «Søk»: the mode change searches again
    wait_for(browser, "#treffliste", text="treff")
    time.sleep(1.5)
    lexical = browser_app[1].search("kommuner", k=25, mode="lexical").hits
    assert browser.find_element(By.ID, "treffliste").text.startswith(f"{len(lexical)} treff")

    wait_for(browser, "#innlogging button, #innlogging .label-wrap").click()
    wait_for(browser, "#brukernavn input, #brukernavn textarea").send_keys("kari")
    wait_for(browser, "#passord input").send_keys("hemmelig-passord")
    browser.find_element(By.ID, "logg-inn").click()
    wait_for(browser, "#innlogget", text="Logget inn som kari")


# --------------------------------------------------------------------------- 9. axe-core


def run_axe(driver) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(JSON.stringify(r)))"
        ".catch(e => done(JSON.stringify({error: String(e)})));")
    report = json.loads(result)
    assert "error" not in report, report
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [n["target"] for n in v["nodes"]][:5],
             "summary": [n.get("failureSummary", "")[:200] for n in v["nodes"]][:2]}
            for v in report["violations"] if v["impact"] in ("serious", "critical")]


def _landing(driver, url):
    driver.get(url)
    wait_for(driver, "#sporsmal textarea")


def _answer(driver, url):
    _landing(driver, url)
    ask(driver, "Hvor mange kommuner er med i Osloregionen?")
    wait_for(driver, "#samtale", text="64 kommuner")
    wait_for(driver, "#vis-kilde label").click()
    wait_for(driver, "#kildevisning mark")


def _search(driver, url):
    search_tab(driver, url, "kommuner")
    wait_for(driver, "#treffliste", text="poengsum")


def _about(driver, url):
    driver.get(url)
    open_tab(driver, "Om Osloregionen")
    wait_for(driver, "#dokumentliste", text="Grønt Landtransportprogram")


STATES = {"forside": _landing, "svar": _answer, "sok": _search, "om": _about}


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1366x900", "390x844"])
def test_axe_finds_no_serious_violations_in_the_four_main_states(browser_app, size):
    if not AXE.exists():
        pytest.skip("axe-core mangler: kjør «npm install --no-save axe-core@4» i depotet "
                    "(Debian-pakken npm); .ci/run gjør det")
    driver = browser_at(size)
    failures = {}
    try:
        for name, reach in STATES.items():
            reach(driver, browser_app[0])
            time.sleep(0.5)  # let transitions end, so colours are final
            ARTIFACTS.mkdir(exist_ok=True)
            driver.save_screenshot(str(ARTIFACTS / f"axe-{name}-{size[0]}x{size[1]}.png"))
            found = run_axe(driver)
            if found:
                failures[name] = found
    finally:
        driver.quit()
    assert not failures, json.dumps(failures, ensure_ascii=False, indent=1)


def test_focus_ring_contrast_is_at_least_three_to_one(browser, browser_app):
    """The focus ring's colour against the page behind it (axe does not check this)."""
    from selenium.webdriver.common.keys import Keys

    browser.get(browser_app[0])
    wait_for(browser, "#sporsmal textarea").send_keys(Keys.TAB)  # keyboard focus: «Spør»
    time.sleep(1)  # the button's colour transition
    ring = browser.execute_script(
        "const b = document.activeElement; const s = getComputedStyle(b);"
        "return [s.outlineColor, s.outlineWidth, getComputedStyle(document.body).backgroundColor,"
        "b.textContent.trim()]")
    assert ring[3] == "Spør", ring
    assert ring[1] != "0px", ring
    assert _contrast(_rgb(ring[0]), _rgb(ring[2])) >= 3.0, ring


def _rgb(css: str) -> tuple[float, ...]:
    values = css[css.index("(") + 1:css.index(")")].replace(",", " ").split()
    return tuple(float(v) for v in values[:3])


def _contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """WCAG contrast ratio of two sRGB colours."""
    def luminance(rgb):
        channels = [c / 255 for c in rgb]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)

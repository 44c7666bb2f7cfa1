"""The web app driven in real headless Chromium (Debian's chromium + chromium-driver).

Each test saves a screenshot under test-artifacts/ (git-ignored) so a person can look at
every view. Skipped only when the browser or its driver is not installed.
"""

import shutil
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.server import RunningServer
from assistant.service import Assistant
from assistant.staff import StaffAccounts
from tests.conftest import free_port

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="krever Debian-pakkene chromium og chromium-driver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
INTERNAL_TITLE = "Internt arbeidsnotat om lastesykler"


@pytest.fixture(scope="module")
def browser_app(tmp_path_factory, embedder, seed_corpus):
    """(url, assistant) of a running app with the seed corpus and one internal document."""
    root = tmp_path_factory.mktemp("browser")
    corpus = root / "corpus"
    shutil.copytree(seed_corpus, corpus)
    (corpus / "arbeidsnotat.txt").write_text(
        "Sekretariatet foreslår et prøveprosjekt med lastesykler i bysentrum.", encoding="utf-8")
    (corpus / "arbeidsnotat.meta.toml").write_text(
        f'title = "{INTERNAL_TITLE}"\nyear = 2025\nvisibility = "internal"\ndoc_type = "notat"\n',
        encoding="utf-8")
    assistant = Assistant(Settings(corpus_dir=corpus, index_dir=root / "index"), embedder=embedder)
    assistant.build(progress=False)
    assistant.reader.warm_up()  # as ``serve`` does: the first answer must not wait for it
    port = free_port()
    server = RunningServer(assistant, "127.0.0.1", port,
                           staff=StaffAccounts.from_pairs({"kari": "hemmelig-passord"})).start()
    yield server.url, assistant
    server.stop()


@pytest.fixture(scope="module")
def app_url(browser_app):
    return browser_app[0]


def make_browser(width: int, height: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    options.add_experimental_option("prefs", {"intl.accept_languages": "nb-NO,nb"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                     "--lang=nb-NO",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(DRIVER), options=options)


@pytest.fixture()
def browser(request):
    driver = make_browser(1280, 1000)
    yield driver
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{request.node.name}.png"))
    driver.quit()


def wait_for(driver, selector: str, timeout: float = 60, text: str | None = None):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout)
    if text is not None:
        wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text))
    return wait.until(EC.visibility_of_element_located((By.CSS_SELECTOR, selector)))


def ask(driver, question: str):
    from selenium.webdriver.common.keys import Keys

    box = wait_for(driver, "#sporsmal textarea")
    box.clear()
    box.send_keys(question, Keys.ENTER)


def open_tab(driver, label: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def find(d):
        tabs = d.find_elements(By.CSS_SELECTOR, "button[role='tab']")
        return next((t for t in tabs if t.text.strip() == label), False)

    WebDriverWait(driver, 60).until(find).click()


def test_ask_open_citation_and_see_highlighted_passage(browser, app_url, browser_app):
    from selenium.webdriver.common.by import By

    browser.get(app_url)
    ask(browser, "Hvor mange kommuner er med i Osloregionen?")
    wait_for(browser, "#samtale", text="64 kommuner")
    assert "sitater fra Osloregionens egne dokumenter" in browser.find_element(By.ID, "forbehold").text
    wait_for(browser, "#vis-kilde label").click()
    marked = wait_for(browser, "#kildevisning mark")
    assert "64 kommuner" in marked.text
    assert "side 2" in browser.find_element(By.ID, "kildevisning").text
    browser.find_element(By.CSS_SELECTOR, "#samtale button[aria-label='Liker']").click()
    wait_for(browser, "#kommentar textarea").send_keys("Fint svar, ring meg på 22 33 44 55")
    browser.find_element(By.ID, "send-kommentar").click()
    wait_for(browser, "#tilbakemelding-status", text="Kommentaren er lagret")
    report = browser_app[1].feedback.report()
    assert report.to_json()["feedback"]["up"] >= 1
    assert "22 33 44 55" not in str(report.to_json()) and "[telefon]" in str(report.to_json())


def test_follow_up_question_uses_previous_turn(browser, app_url):
    browser.get(app_url)
    ask(browser, "Hvilke rapporter kom ut av gods- og logistikkprosjektet?")
    wait_for(browser, "#samtale", text="Kilder")
    ask(browser, "Når kom den?")
    wait_for(browser, "#samtale", text="2020")


def search_tab(driver, app_url: str, query: str):
    """Open the app's search tab, search for ``query`` and return the list of hits."""
    from selenium.webdriver.common.keys import Keys

    driver.get(app_url)
    open_tab(driver, "Søk i dokumentene")
    wait_for(driver, "#sok textarea, #sok input").send_keys(query, Keys.ENTER)
    return wait_for(driver, "#treffliste", text="treff")


def test_search_tab_filters_and_copy_reference(browser, app_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    results = search_tab(browser, app_url, "kommuner")
    assert "Osloregionen – Grønt Landtransportprogram" in results.text
    assert browser.find_elements(By.CSS_SELECTOR, "#treffliste mark")
    # keyword mode, filtered on the document's year: still hits, each with a copy button
    for label in browser.find_elements(By.CSS_SELECTOR, "#sokemodus label"):
        if "nøkkelord" in label.text:
            label.click()
    year = wait_for(browser, "#filter-ar input")
    year.send_keys("2022", Keys.ENTER)
    browser.find_element(By.ID, "sok-knapp").click()
    wait_for(browser, "#treffliste", text="treff")
    copy = wait_for(browser, "#treffliste button.kopier")
    copy.click()
    wait_for(browser, "#treffliste", text="Kopiert")


def test_staff_login_opens_internal_documents(browser, app_url):
    from selenium.webdriver.common.by import By

    results = search_tab(browser, app_url, "lastesykler i bysentrum")
    assert INTERNAL_TITLE not in results.text

    wait_for(browser, "#innlogging button, #innlogging .label-wrap").click()
    wait_for(browser, "#brukernavn input, #brukernavn textarea").send_keys("kari")
    wait_for(browser, "#passord input").send_keys("feil")
    browser.find_element(By.ID, "logg-inn").click()
    wait_for(browser, "#innlogging-status", text="Feil brukernavn eller passord")
    password = wait_for(browser, "#passord input")
    password.clear()
    password.send_keys("hemmelig-passord")
    browser.find_element(By.ID, "logg-inn").click()
    wait_for(browser, "#innlogging-status", text="Logget inn som kari")
    browser.find_element(By.ID, "sok-knapp").click()
    wait_for(browser, "#treffliste", text=INTERNAL_TITLE)


def test_about_tab_lists_documents_and_suggested_questions(browser, app_url):
    from selenium.webdriver.common.by import By

    browser.get(app_url)
    open_tab(browser, "Om Osloregionen")
    table = wait_for(browser, "#dokumentliste", text="Grønt Landtransportprogram")
    assert INTERNAL_TITLE not in table.text
    for button in browser.find_elements(By.TAG_NAME, "button"):
        if button.text == "Når ble Osloregionen etablert?":
            button.click()
            break
    else:
        raise AssertionError("fant ikke forslaget")
    wait_for(browser, "#samtale", text="2004")


def test_narrow_screen_and_keyboard_only(app_url):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver = make_browser(360, 800)
    try:  # headless windows are at least 500 px wide: emulate a 360 px phone screen
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 360, "height": 800, "deviceScaleFactor": 1, "mobile": True})
        driver.get(app_url)
        box = wait_for(driver, "#sporsmal textarea")
        assert box.size["width"] <= 360
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 380, f"siden er {width} px bred på en 360 px skjerm"
        box.click()
        ActionChains(driver).send_keys("Hva er det høyeste organet i Osloregionen?", Keys.ENTER).perform()
        wait_for(driver, "#samtale", text="Representantskapet")
        tabs = [t.text for t in driver.find_elements("css selector", "button[role='tab']") if t.is_displayed()]
        assert "Om Osloregionen" in tabs, tabs
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "smal-skjerm-360px.png"))
    finally:
        driver.quit()


ENGLISH_LABELS = {"clear", "copy", "submit", "like", "dislike", "share", "loading", "close",
                  "remove", "edit", "undo", "retry", "settings", "download", "show more"}


def test_every_control_has_a_norwegian_label(browser, app_url):
    """Gradio's own controls follow the browser language; ours are written in Norwegian."""
    browser.get(app_url)
    ask(browser, "Når ble Osloregionen etablert?")
    wait_for(browser, "#samtale", text="2004")
    script = """
      return [...document.querySelectorAll('button, input, textarea, select, [role=radio], [role=tab]')]
        .filter(e => e.offsetParent !== null)
        .map(e => {
          const labelled = e.id && document.querySelector(`label[for="${e.id}"]`);
          const wrapper = e.closest('label');
          return (e.getAttribute('aria-label') || (labelled && labelled.innerText) ||
                  (wrapper && wrapper.innerText) || e.innerText || e.value ||
                  e.getAttribute('title') || e.getAttribute('placeholder') || '').trim();
        });
    """
    labels = browser.execute_script(script)
    assert labels and all(labels), labels
    english = [label for label in labels if label.lower() in ENGLISH_LABELS]
    assert not english, english


#: Collects every Content-Security-Policy violation from the first moment of each page.
CSP_LISTENER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def test_the_app_works_under_its_content_security_policy(browser, app_url):
    """Chat, search, login and the about tab with the server's CSP: no violation reported."""
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_LISTENER})
    browser.get(app_url)
    policy = browser.execute_script(
        "return (await fetch(location.href)).headers.get('content-security-policy');")
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    ask(browser, "Hvor mange kommuner er med i Osloregionen?")
    wait_for(browser, "#samtale", text="64 kommuner")
    wait_for(browser, "#vis-kilde label").click()
    wait_for(browser, "#kildevisning mark")
    open_tab(browser, "Søk i dokumentene")
    wait_for(browser, "#innlogging button, #innlogging .label-wrap").click()
    wait_for(browser, "#brukernavn input, #brukernavn textarea").send_keys("kari")
    wait_for(browser, "#passord input").send_keys("hemmelig-passord")
    browser.find_element(By.ID, "logg-inn").click()
    wait_for(browser, "#innlogging-status", text="Logget inn som kari")
    from selenium.webdriver.common.keys import Keys

    wait_for(browser, "#sok textarea, #sok input").send_keys("lastesykler i bysentrum", Keys.ENTER)
    wait_for(browser, "#treffliste", text=INTERNAL_TITLE)
    copy = wait_for(browser, "#treffliste button.kopier")
    copy.click()
    wait_for(browser, "#treffliste", text="Kopiert")
    open_tab(browser, "Om Osloregionen")
    wait_for(browser, "#dokumentliste", text="Grønt Landtransportprogram")
    violations = browser.execute_script("return window.__csp;")
    console = [entry["message"] for entry in browser.get_log("browser")
               if "Content Security Policy" in entry["message"]]
    assert violations == [] and console == [], (violations, console)
    # the login is a cookie the page's scripts cannot read
    assert "osloregionen_ansatt" not in browser.execute_script("return document.cookie;")
    assert any(c["name"] == "osloregionen_ansatt" and c["httpOnly"] for c in browser.get_cookies())

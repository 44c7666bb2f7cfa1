"""The attacks of issue #13 on the web side, each against a real server on 127.0.0.1.

The server runs in this process (a thread), with a small corpus: the seed presentation,
an internal memo and a public note whose metadata URL is ``javascript:``. Gradio's own
wire protocol is spoken directly (``/gradio_api/queue/join`` with a function number, then
the event stream), as an attacker would, not through the page.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import ssl
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from assistant.access import StaffAccess
from assistant.config import Settings
from assistant.server import RunningServer
from assistant.service import Assistant
from assistant.sessions import COOKIE
from assistant.staff import StaffAccounts
from assistant.web import FEEDBACK_FAILED
from tests.conftest import free_port

INTERNAL = "styrenotat-intern"
INTERNAL_TITLE = "Styrenotat om kontingent"
SECRET = "Styret vurderer å øke kontingenten med 12 prosent fra 2027."
PASSWORD = "riktig-passord-123"
EVIL_URL = "javascript:alert(document.cookie)"
#: One TLS context for every client: httpx loads the CA bundle for each new client
#: otherwise (~0.1 s), which would make the request floods below take minutes.
_TLS = ssl.create_default_context()


def http(method: str, url: str, cookies: dict | None = None, **kwargs) -> httpx.Response:
    """One request from a new client (so no cookies carry over between requests)."""
    with httpx.Client(verify=_TLS, cookies=cookies or {}, timeout=kwargs.pop("timeout", 30)) as c:
        return c.request(method, url, **kwargs)


@pytest.fixture(scope="module")
def site(tmp_path_factory, embedder, seed_corpus):
    """(base url, assistant, access) of a running server with staff login enabled."""
    root = tmp_path_factory.mktemp("security-web")
    corpus = root / "corpus"
    shutil.copytree(seed_corpus, corpus)
    (corpus / f"{INTERNAL}.txt").write_text(SECRET, encoding="utf-8")
    (corpus / f"{INTERNAL}.meta.toml").write_text(
        f'title = "{INTERNAL_TITLE}"\nyear = 2026\nvisibility = "internal"\n', encoding="utf-8")
    (corpus / "lenkenotat.txt").write_text(
        "Lenkenotatet handler om sykkelparkering ved stasjonene.", encoding="utf-8")
    (corpus / "lenkenotat.meta.toml").write_text(
        f'title = "Notat med farlig lenke"\nyear = 2024\nurl = "{EVIL_URL}"\n', encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=root / "index", max_sessions=50)
    assistant = Assistant(settings, embedder=embedder)
    assistant.build(progress=False)
    accounts = StaffAccounts.from_pairs({"kari": PASSWORD, "per": PASSWORD}, n=2 ** 10)
    access = StaffAccess(accounts, settings.web)
    port = free_port()
    server = RunningServer(assistant, "127.0.0.1", port, access=access).start()
    yield server.url.rstrip("/"), assistant, access, server
    server.stop()


@pytest.fixture(scope="module")
def base(site):
    return site[0]


@pytest.fixture(scope="module")
def events(base):
    """Function number of each UI event, by the elem_id of the component that triggers it
    (and "load" for the page load), read from the app's public config."""
    config = http("GET", base + "/config", timeout=30).json()
    elem = {c["id"]: c.get("props", {}).get("elem_id") for c in config["components"]}
    found = {}
    for dependency in config["dependencies"]:
        for target_id, event in dependency["targets"]:
            key = "load" if event == "load" else f"{elem.get(target_id)}.{event}"
            found.setdefault(key, dependency["id"])
        if dependency.get("api_name") == "ask":
            found["ask"] = dependency["id"]
    return found


def login(base: str, name="kari", password=PASSWORD, address: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address else {}
    return http("POST", base + "/ansatt/logg-inn", json={"navn": name, "passord": password},
                      headers=headers, timeout=30)


def staff_cookie(base: str) -> dict[str, str]:
    response = login(base, address=f"10.1.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}")
    assert response.status_code == 200, response.text
    return {COOKIE: response.cookies[COOKIE]}


def call(base: str, fn_index: int, data: list, session_hash: str | None = None,
         cookies: dict | None = None, timeout: float = 60,
         client: httpx.Client | None = None) -> dict:
    """One event through Gradio's queue, as the page does it: join, then read the stream.
    Returns the final message (``output.data`` holds the outputs), or ``{"status": code}``
    when a request is refused. The body is JSON with ASCII escapes, so lone surrogates
    are sent as ``\\ud800`` the way a browser's JSON.stringify sends them."""
    if client is None:
        with httpx.Client(cookies=cookies or {}, timeout=timeout, verify=_TLS) as client:
            return call(base, fn_index, data, session_hash, client=client)
    session_hash = session_hash or uuid.uuid4().hex[:11]
    joined = client.post(base + "/gradio_api/queue/join", content=json.dumps({
        "data": data, "fn_index": fn_index, "session_hash": session_hash,
        "event_data": None, "trigger_id": None}), headers={"Content-Type": "application/json"})
    if joined.status_code != 200:
        return {"status": joined.status_code}
    with client.stream("GET", base + "/gradio_api/queue/data",
                       params={"session_hash": session_hash}) as stream:
        if stream.status_code != 200:
            return {"status": stream.status_code}
        for line in stream.iter_lines():
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            if message.get("msg") == "process_completed":
                return message
    raise AssertionError("no process_completed message")


def outputs(message: dict) -> str:
    assert message.get("success", False), message
    return json.dumps(message["output"]["data"], ensure_ascii=False)


def search(base, events, text, session_hash=None, cookies=None) -> dict:
    return call(base, events["sok-knapp.click"], [text, "hybrid", [], [], []],
                session_hash=session_hash, cookies=cookies)


def chat(base, events, text, session_hash=None) -> dict:
    return call(base, events["spor-knapp.click"], [text, None, None, None],
                session_hash=session_hash)


# --------------------------------------------------------------------------- staff login


def test_the_login_cookie_is_httponly_strict_and_expires(base):
    response = login(base, address="10.9.9.9")
    cookie = response.headers["set-cookie"]
    assert response.status_code == 200
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert f"Max-Age={8 * 3600}" in cookie and "Secure" not in cookie  # plain http here
    # behind a proxy on this machine that says the request came over https
    https = http("POST", base + "/ansatt/logg-inn", json={"navn": "kari", "passord": PASSWORD},
                       headers={"X-Forwarded-For": "10.9.9.7", "X-Forwarded-Proto": "https"})
    assert "Secure" in https.headers["set-cookie"]
    assert len(response.cookies[COOKIE]) >= 40


def test_staff_with_the_cookie_find_internal_documents_others_do_not(base, events):
    assert INTERNAL_TITLE in outputs(search(base, events, SECRET, cookies=staff_cookie(base)))
    assert INTERNAL_TITLE not in outputs(search(base, events, SECRET))
    forged = {COOKIE: "gjettet-" + uuid.uuid4().hex}
    assert INTERNAL_TITLE not in outputs(search(base, events, SECRET, cookies=forged))


def test_a_replayed_session_hash_gets_no_internal_hits(base, events):
    staff_hash = uuid.uuid4().hex[:11]
    assert INTERNAL_TITLE in outputs(search(base, events, SECRET, staff_hash, staff_cookie(base)))
    # another client with the staff member's session hash, and no cookie
    replayed = search(base, events, SECRET, session_hash=staff_hash)
    assert replayed == {"status": 403} or INTERNAL_TITLE not in outputs(replayed)
    listen = http("GET", base + "/gradio_api/queue/data", params={"session_hash": staff_hash})
    assert listen.status_code == 403
    # and a fresh session of its own: public results only
    assert INTERNAL_TITLE not in outputs(search(base, events, SECRET))


def test_deep_links_are_switched_off(base, events):
    staff_hash = uuid.uuid4().hex[:11]
    search(base, events, SECRET, staff_hash, staff_cookie(base))
    made = http("GET", base + "/gradio_api/deep_link", params={"session_hash": staff_hash})
    assert made.status_code == 404 and SECRET not in made.text
    page = http("GET", base + "/", params={"deep_link": "a" * 32})
    assert page.status_code == 404 and INTERNAL_TITLE not in page.text


def test_anonymous_sessions_do_not_evict_a_staff_login(site, events):
    """1,100 anonymous sessions (the server keeps 50 Gradio sessions) and the login holds."""
    base, _, access, server = site
    cookies = staff_cookie(base)
    before = len(access.sessions)

    def anonymous(n: int) -> bool:  # 8 clients, each opening 137–138 sessions in a row
        with httpx.Client(verify=_TLS, timeout=60) as client:
            return all(call(base, events["ny-samtale.click"], [], client=client)["success"]
                       for _ in range(n, 1100, 8))

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(anonymous, range(8)))
    gradio_app = next(route.app for route in server.server.config.app.routes
                      if hasattr(getattr(route, "app", None), "state_holder"))
    assert len(gradio_app.state_holder.session_data) <= 50  # Gradio's LRU did evict
    assert len(access.sessions) == before  # anonymous traffic never touched the staff store
    assert INTERNAL_TITLE in outputs(search(base, events, SECRET, cookies=cookies))


def test_300_wrong_passwords_lock_the_user_out_even_with_the_right_one(base):
    started = time.monotonic()
    codes = [login(base, "kari-2", "feil", address="10.2.0.1").status_code for _ in range(300)]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    assert time.monotonic() - started < 60
    # «kari-2» does not exist and is locked all the same (no hint which names exist);
    # now a real user, five wrong guesses, then the right password from another address
    for _ in range(5):
        login(base, "per", "feil", address="10.2.0.2")
    refused = login(base, "per", PASSWORD, address="10.2.0.3")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert COOKIE not in refused.cookies and "Vent" in refused.json()["melding"]
    also = login(base, "ola", "x", address="10.2.0.1")  # the address, for another name
    assert also.status_code == 429


def test_a_50_million_character_login_field_is_refused_cheaply(base):
    huge = "x" * 50_000_000
    started = time.monotonic()
    try:
        response = http("POST", base + "/ansatt/logg-inn", json={"navn": "kari", "passord": huge},
                              timeout=30)
        assert response.status_code == 413
    except httpx.TransportError:
        pass  # the server answered 413 and closed while the body was still being sent
    assert time.monotonic() - started < 10
    over = login(base, "kari", "y" * 201, address="10.3.0.1")
    assert over.status_code == 413 and "200 tegn" in over.json()["melding"]


def test_a_cross_site_or_form_login_is_refused(base):
    form = http("POST", base + "/ansatt/logg-inn", data={"navn": "kari", "passord": PASSWORD})
    assert form.status_code == 400
    foreign = http("POST", base + "/ansatt/logg-inn", json={"navn": "kari", "passord": PASSWORD},
                         headers={"Origin": "https://angriper.example"})
    assert foreign.status_code == 400 and COOKIE not in foreign.cookies


def test_logout_ends_the_session_on_the_server(base, events):
    cookies = staff_cookie(base)
    assert http("POST", base + "/ansatt/logg-ut", cookies=cookies).status_code == 200
    assert INTERNAL_TITLE not in outputs(search(base, events, SECRET, cookies=cookies))


# --------------------------------------------------------------------------- bounded


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_huge_messages_are_refused_before_they_reach_memory(base, events):
    message = "a" * 10_000_000
    body = json.dumps({"data": [message, None, None, None], "fn_index": events["spor-knapp.click"],
                       "session_hash": "stor", "event_data": None, "trigger_id": None}).encode()
    before = rss_bytes()
    for _ in range(50):
        try:
            response = http("POST", base + "/gradio_api/queue/join", content=body,
                                  headers={"Content-Type": "application/json"}, timeout=30)
            assert response.status_code == 413
        except httpx.TransportError:
            pass
    # without Content-Length (chunked): cut off while reading
    chunks = (body[i:i + 65536] for i in range(0, len(body), 65536))
    try:
        chunked = http("POST", base + "/gradio_api/queue/join", content=chunks, timeout=30)
        assert chunked.status_code == 413
    except httpx.TransportError:
        pass
    assert rss_bytes() - before < 100 * 2 ** 20


def test_the_chat_history_is_the_servers_and_bounded(site, events):
    """The page's history is not an input at all, and a session keeps ten turns."""
    base, assistant, _, _ = site
    chat_fn = events["spor-knapp.click"]
    forged = [{"role": "user", "content": "x" * 1000}] * 50
    result = call(base, chat_fn, ["Når ble Osloregionen etablert?", forged, None, None])
    history = result["output"]["data"][1]
    assert len(history) == 2 and "x" * 1000 not in json.dumps(history)

    from assistant.web import Handlers

    handlers = Handlers(assistant)
    history = []
    for i in range(15):
        values = handlers.chat(f"Når ble Osloregionen etablert? ({i})", history, None, None)
        history = values[2]
    assert len(history) == 2 * assistant.settings.web.chat_turns
    long = handlers.chat("Hvor mange kommuner er med i Osloregionen? " + "ord " * 600, [], None,
                         None)
    assert "Bare de første 1\u00a0000 tegnene er brukt" in long[1][-1]["content"]


def test_upload_is_refused(base):
    small = http("POST", base + "/gradio_api/upload", files={"files": ("a.txt", b"hei")})
    assert small.status_code == 404
    try:
        big = http("POST", base + "/gradio_api/upload", content=b"0" * 20_000_000,
                         headers={"Content-Type": "multipart/form-data; boundary=x"}, timeout=30)
        assert big.status_code in (404, 413)
    except httpx.TransportError:
        pass


def test_no_ui_event_reveals_internal_data_when_called_directly(base, events):
    """Every UI event by its number, with the secret as every input, and no cookie."""
    config = http("GET", base + "/config", timeout=30).json()
    assert "staff_search" not in http("GET", base + "/gradio_api/info", timeout=30).text
    probes = ("Hvor mye vurderer styret å øke kontingenten fra 2027?", INTERNAL, [INTERNAL],
              ["2026"], None)
    for dependency in config["dependencies"]:
        for value in probes:
            result = call(base, dependency["id"], [value] * len(dependency["inputs"]))
            text = json.dumps(result, ensure_ascii=False)
            assert SECRET not in text and INTERNAL_TITLE not in text, (dependency["id"], value)


# --------------------------------------------------------------------------- small items


def test_security_headers_on_every_response(base):
    for path in ("/", "/config", "/kilde/osloregionen-gront-landtransportprogram",
                 "/kilde/finnes-ikke", "/gradio_api/upload", "/gradio_api/info"):
        response = http("GET", base + path, timeout=30)
        headers = response.headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert "default-src 'self'" in headers["content-security-policy"], path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path


def test_a_javascript_url_is_never_a_link(base, events):
    table = outputs(call(base, events["load"], []))
    assert "Notat med farlig lenke" in table
    assert "javascript:" not in table
    answer = outputs(chat(base, events, "Hva handler lenkenotatet om sykkelparkering?"))
    assert "sykkelparkering" in answer and "javascript:" not in answer


def test_a_lone_surrogate_gets_a_normal_answer(base, events):
    """Both the public ``/ask`` API and the chat (gradio_client cannot even send one, so the
    JSON is written here, escaped as browsers send it)."""
    api = call(base, events["ask"], ["Hvor mange kommuner er med i Osloregionen?\ud800", "hybrid"])
    assert '"found": true' in outputs(api) and "64 kommuner" in outputs(api)
    answer = outputs(chat(base, events, "Hvor mange kommuner er med i \udfffOsloregionen?"))
    assert "64 kommuner" in answer
    assert INTERNAL_TITLE not in outputs(search(base, events, "kontingent\ud800"))


def test_feedback_failures_never_stop_an_answer_and_only_staff_hear_of_them(site, events):
    base, assistant, _, _ = site

    class Broken:
        def record_answer(self, *args):
            raise sqlite3.DatabaseError("file is not a database")

        def record_feedback(self, *args):
            raise sqlite3.DatabaseError("file is not a database")

    original = assistant.__dict__.get("feedback")
    assistant.__dict__["feedback"] = Broken()  # Assistant.feedback is a cached_property
    try:
        answer = outputs(chat(base, events, "Hvor mange kommuner er med i Osloregionen?"))
        assert "64 kommuner" in answer and "database" not in answer
        staff = outputs(search(base, events, "kommuner", cookies=staff_cookie(base)))
        assert "Tilbakemeldinger kunne ikke lagres" in staff and "DatabaseError" in staff
        citizen = outputs(search(base, events, "kommuner"))
        assert "Tilbakemeldinger kunne ikke lagres" not in citizen
        from assistant.web import Handlers

        handlers = Handlers(assistant)
        assert handlers.rate(1, True, [], {1: 1}, {})[0] == FEEDBACK_FAILED
        assert handlers.send_comment("fint", 1, [], {1: 1}, {1: "up"})[1] == FEEDBACK_FAILED
    finally:
        if original is None:
            assistant.__dict__.pop("feedback", None)
        else:
            assistant.__dict__["feedback"] = original


def test_the_server_keeps_answering_when_index_current_disappears(site, events):
    from gradio_client import Client

    base, assistant, _, _ = site
    current = assistant.settings.index_dir / "current"
    target = current.readlink()
    client = Client(base + "/", verbose=False)
    assert client.predict("Når ble Osloregionen etablert?", "hybrid", api_name="/ask")["found"]
    current.unlink()
    try:
        for question in ("Hvor mange kommuner er med i Osloregionen?",
                         "Hva er det høyeste organet i Osloregionen?"):
            assert client.predict(question, "hybrid", api_name="/ask")["found"] is True
        assert "64 kommuner" in outputs(chat(base, events, "Hvor mange kommuner er med?"))
    finally:
        current.symlink_to(target)


def test_a_burst_of_16_clients_gets_no_errors(base):
    from gradio_client import Client

    questions = ["Hvor mange kommuner er med i Osloregionen?", "Når ble Osloregionen etablert?",
                 "Hva er det høyeste organet i Osloregionen?"]
    errors = []

    def client(n: int) -> None:
        try:
            c = Client(base + "/", verbose=False)
            for question in questions[n % 3:] + questions[:n % 3]:
                assert "answer" in c.predict(question, "hybrid", api_name="/ask")
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors[:3]

"""Feedback and unanswered questions: redaction, a real SQLite file, and the `report` command.

The identity numbers below are made up for the tests (1 January 1900; D-nummer +40 on the
day; a Tenor-style synthetic number with +80 on the month); their control digits are valid.
"""

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from assistant.feedback import (
    EMAIL_TOKEN,
    FILENAME,
    FNR_TOKEN,
    PHONE_TOKEN,
    FeedbackStore,
    UnknownAnswer,
    is_fodselsnummer,
    question_key,
    redact,
)

ROOT = Path(__file__).resolve().parent.parent
#: Subprocesses run this checkout's package, whatever copy happens to be installed.
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(
    p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}

FNR = "01010012356"
D_NUMMER = "41010012420"
SYNTHETIC_FNR = "01890012341"


def unanswered(store: FeedbackStore, question: str, mode: str | None = None) -> int | None:
    """Log a question the documents had no answer to, as the app does."""
    return store.record_answer(question, {"found": False, "citations": []}, mode)


def found(*doc_ids: str) -> dict:
    """What ``Answer.to_json()`` looks like for an answer citing ``doc_ids``."""
    return {"question": "…", "answer": "… [1]", "found": True,
            "citations": [{"n": n, "doc_id": d} for n, d in enumerate(doc_ids, 1)]}


NOT_FOUND = {"question": "…", "answer": "Jeg fant ikke noe svar …", "found": False, "citations": []}


# --------------------------------------------------------------------------- redaction


@pytest.mark.parametrize("number", [FNR, D_NUMMER, SYNTHETIC_FNR])
def test_valid_identity_numbers_pass_the_control_digits(number):
    assert is_fodselsnummer(number)
    assert is_fodselsnummer(f"{number[:6]} {number[6:]}")


@pytest.mark.parametrize("number", [
    FNR[:-1] + "7",        # wrong second control digit
    FNR[:9] + "06",        # wrong first control digit
    "32010012356",         # day 32
    "01130012356",         # month 13
    "0101001235",          # 10 digits
    "0101001235a",
])
def test_malformed_identity_numbers_fail_the_validator(number):
    assert not is_fodselsnummer(number)


@pytest.mark.parametrize("text", [
    f"Mitt fødselsnummer er {FNR}, hva gjør jeg?",
    f"D-nummer {D_NUMMER} – gjelder det meg?",
    f"fnr: {FNR[:6]} {FNR[6:]}",
    f"fnr: {FNR[:6]}-{FNR[6:]}",
    "kontrollsiffer feil: 12345678901",  # any 11 digits: a typo is still personal data
])
def test_eleven_digits_become_fodselsnummer_token(text):
    redacted = redact(text)
    assert FNR_TOKEN in redacted
    assert not any(ch.isdigit() for ch in redacted), redacted


@pytest.mark.parametrize("address", [
    "ola.nordmann@oslo.kommune.no",
    "kari+kollektiv@example.com",
    "øyvind_ås@bærum.kommune.no",
    "post123@firma-navn.co.uk",
])
def test_email_addresses_become_e_post_token(address):
    assert redact(f"Svar meg på {address}, takk.") == f"Svar meg på {EMAIL_TOKEN}, takk."


@pytest.mark.parametrize("phone", [
    "22334455",
    "22 33 44 55",
    "22-33-44-55",
    "223 34 455",
    "412 34 567",
    "41 23 45 67",
    "+47 22 33 44 55",
    "+4741234567",
    "0047 22334455",
    "(+47) 412 34 567",
    "+47 01 23 45 67",  # with the country code any 8 digits count
    "22\u00a033\u00a044\u00a055",  # no-break spaces from pasted text
    "9123 4567",  # a mobile number as 4 + 4
    "41 23 45 67",
    "91.23.45.67",  # dotted
    "912\u200b34\u200b567",  # zero-width spaces inside
    "\uff19\uff11\uff12\uff13\uff14\uff15\uff16\uff17",  # full-width digits
])
def test_norwegian_phone_numbers_become_telefon_token(phone):
    assert redact(f"Ring meg på {phone} i morgen.") == f"Ring meg på {PHONE_TOKEN} i morgen."


@pytest.mark.parametrize("text", [
    "Hva skjedde i 2020?",
    "Hva ble gjort fra 2019-2020 og 2019–2020?",
    "Listen 2019 2020 2021 er årstall.",
    "Fra 2019 2020 til 2021 2022.",
    "Osloregionen har 64 kommuner.",
    "Regionen har om lag 2,3 mill. innbyggere.",
    "Budsjettet var 12 500 000 kroner.",
    "Møtet var 28. oktober 2020.",
    "Møtet var 28.10.2020 kl. 10.30.",
    "Adressen er Rådhuset, 0037 Oslo.",
    # 9 digits: organisation numbers identify organisations in a public register
    "Org.nr. 987 654 321 og 987654321.",
    # 8 digits that cannot be a Norwegian number without country code (start with 0/1)
    "Saksnummer 12345678.",
])
def test_numbers_that_are_not_personal_data_are_kept(text):
    assert redact(text) == text


def test_a_question_with_everything_at_once():
    text = (f"Jeg ({FNR[:6]} {FNR[6:]}) nås på kari@nordmann.no eller +47 412 34 567. "
            "Hvor mange av de 64 kommunene var med i 2020?")
    assert redact(text) == (f"Jeg ({FNR_TOKEN}) nås på {EMAIL_TOKEN} eller {PHONE_TOKEN}. "
                            "Hvor mange av de 64 kommunene var med i 2020?")


def test_normalized_questions_ignore_case_spacing_and_final_punctuation():
    assert question_key("  Hvor  bor\tÆRLIGE Ola?!  ") == "hvor bor ærlige ola"
    assert question_key("Når?. ") == "når"
    assert question_key("Hva med 2,3 mill.?") == "hva med 2,3 mill"


# --------------------------------------------------------------------------- store


def test_round_trip_counts_unanswered_questions_and_comments(tmp_path):
    store = FeedbackStore(tmp_path / FILENAME)
    assert not store.path.exists()  # made on first use, not when the object is made

    helped = store.record_answer("Hvor mange kommuner er med?", found("seed", "seed", "plan"),
                                 "hybrid")
    for variant in ("Hvor bor Ola?", "hvor  bor ola", "HVOR BOR OLA!", "Hvem er leder?"):
        store.record_answer(variant, NOT_FOUND, "hybrid")
    unhelpful = unanswered(store, "Hvem er leder?", "lexical")
    assert store.record_answer("   ", NOT_FOUND) is None  # empty questions are not logged

    store.record_feedback(helped, "up")
    store.record_feedback(unhelpful, "down", "  Fant ikke\nnoe om ledelsen.  ")

    report = store.report()
    assert (report.answers, report.unanswered) == (6, 5)
    assert (report.up, report.down, report.with_comment) == (1, 1, 1)
    assert [(q.question, q.count) for q in report.top_unanswered] == [
        ("hvor bor ola", 3), ("hvem er leder", 2)]
    [comment] = report.recent_comments
    assert comment.rating == "down" and comment.question == "Hvem er leder?"
    assert comment.comment == "Fant ikke\nnoe om ledelsen."
    assert report.to_json()["feedback"] == {"up": 1, "down": 1, "with_comment": 1}

    with sqlite3.connect(store.path) as conn:
        row = conn.execute("SELECT found, doc_ids, mode FROM answers WHERE id = ?",
                           (helped,)).fetchone()
    assert (row[0], json.loads(row[1]), row[2]) == (1, ["seed", "plan"], "hybrid")


def test_limit_keeps_the_most_frequent(tmp_path):
    store = FeedbackStore(tmp_path / FILENAME)
    for n in range(1, 5):
        for _ in range(n):
            unanswered(store, f"spørsmål {n}")
    assert [q.question for q in store.report(limit=2).top_unanswered] == ["spørsmål 4", "spørsmål 3"]


def test_one_rating_per_answer_and_a_later_click_keeps_the_comment(tmp_path):
    store = FeedbackStore(tmp_path / FILENAME)
    answer_id = store.record_answer("Når ble Osloregionen etablert?", found("seed"))
    store.record_feedback(answer_id, "down", "Feil år")
    store.record_feedback(answer_id, "up")
    report = store.report()
    assert (report.up, report.down, report.with_comment) == (1, 0, 1)
    assert report.recent_comments[0].comment == "Feil år"
    assert report.recent_comments[0].rating == "up"

    with pytest.raises(ValueError):
        store.record_feedback(answer_id, "meh")
    with pytest.raises(UnknownAnswer):
        store.record_feedback(answer_id + 1000, "up")


def test_nothing_unredacted_reaches_the_file(tmp_path):
    store = FeedbackStore(tmp_path / FILENAME)
    secrets = [FNR, f"{D_NUMMER[:6]} {D_NUMMER[6:]}", "ola.nordmann@oslo.kommune.no",
               "+47 412 34 567", "22 33 44 55"]
    answer_id = store.record_answer(
        f"Jeg har fnr {FNR} og e-post ola.nordmann@oslo.kommune.no, når får jeg svar?",
        NOT_FOUND)
    store.record_feedback(answer_id, "down",
                          f"Ring meg på +47 412 34 567 eller 22 33 44 55. "
                          f"D-nummer: {D_NUMMER[:6]} {D_NUMMER[6:]}")
    assert store.report().with_comment == 1

    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(FILENAME))
    for token in (FNR_TOKEN, EMAIL_TOKEN, PHONE_TOKEN):
        assert token.encode() in raw  # the rows are there, in redacted form
    for secret in secrets + [FNR[:6], D_NUMMER[6:], "412 34", "nordmann@"]:
        assert secret.encode() not in raw, secret


def test_threads_writing_at_once_lose_nothing(tmp_path):
    path = tmp_path / FILENAME
    stores = [FeedbackStore(path), FeedbackStore(path)]  # e.g. two server processes
    errors: list[BaseException] = []
    threads_n, per_thread = 8, 25

    def work(n: int) -> None:
        try:
            store = stores[n % 2]
            for i in range(per_thread):
                answer_id = store.record_answer(f"Spørsmål {i} fra tråd {n}?",
                                                NOT_FOUND if i % 2 else found("seed"))
                store.record_feedback(answer_id, "up" if i % 3 else "down",
                                      "kommentar" if i % 5 == 0 else None)
        except BaseException as exc:  # collected so the test fails with the cause
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = stores[0].report(limit=1000)
    total = threads_n * per_thread
    assert report.answers == total and report.up + report.down == total
    assert report.unanswered == threads_n * (per_thread // 2)
    assert report.with_comment == threads_n * len(range(0, per_thread, 5))
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_assistant_keeps_feedback_across_a_rebuild(tmp_path, embedder):
    from assistant.config import Settings
    from assistant.service import Assistant

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "kommuner.txt").write_text("Osloregionen har 64 kommuner, Oslo medregnet.",
                                         encoding="utf-8")
    assistant = Assistant(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"),
                          embedder=embedder)
    assistant.build(progress=False)
    answer = assistant.ask("Hvor mange kommuner er med i Osloregionen?")
    answer_id = assistant.feedback.record_answer(answer.question, answer.to_json(), "hybrid")
    assistant.feedback.record_feedback(answer_id, "up")
    assert assistant.feedback.path == tmp_path / "index" / FILENAME
    assert assistant.feedback is assistant.feedback  # created once

    assistant.build(rebuild=True, progress=False)
    assert FeedbackStore(tmp_path / "index" / FILENAME).report().up == 1


# --------------------------------------------------------------------------- report command


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True,
                          text=True, cwd=cwd, env=ENV, timeout=120)


@pytest.fixture
def filled_index(tmp_path):
    index = tmp_path / "index"
    store = FeedbackStore(index / FILENAME)
    for question in ("Hva koster bussen?", "hva koster  bussen", "Hvem er ordfører i Asker?"):
        unanswered(store, question, "hybrid")
    store.record_feedback(store.record_answer("Hvor mange kommuner?", found("seed")), "up")
    store.record_feedback(unanswered(store, "Når er neste møte?"), "down",
                          f"Send svar til kari@nordmann.no, fnr {FNR}")
    return index


def test_report_json(filled_index, tmp_path):
    result = run_cli("report", "--index", str(filled_index), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["answers"], data["unanswered"]) == (5, 4)
    assert data["feedback"] == {"up": 1, "down": 1, "with_comment": 1}
    assert data["top_unanswered"][0] == {"question": "hva koster bussen", "count": 2}
    assert len(data["top_unanswered"]) == 3
    [comment] = data["recent_comments"]
    assert comment["comment"] == f"Send svar til {EMAIL_TOKEN}, fnr {FNR_TOKEN}"
    assert comment["question"] == "Når er neste møte?" and comment["rating"] == "down"


def test_report_plain_text(filled_index, tmp_path):
    result = run_cli("report", "--index", str(filled_index), "--limit", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Tilbakemeldinger:" in out and "De vanligste spørsmålene uten svar:" in out
    assert "nyttig (👍)" in out and "ikke nyttig (👎)" in out
    assert "     2  hva koster bussen" in out
    assert "hvem er ordfører i asker" not in out  # --limit 1
    assert f"«Send svar til {EMAIL_TOKEN}, fnr {FNR_TOKEN}»" in out
    assert FNR not in out


def test_report_without_feedback_says_so_in_one_line(tmp_path):
    result = run_cli("report", "--index", str(tmp_path / "index"), cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip().splitlines() == [
        f"Ingen tilbakemeldinger ennå: fant ikke {tmp_path / 'index' / FILENAME}."]
    assert not (tmp_path / "index").exists()  # reading a report creates nothing

    as_json = run_cli("report", "--index", str(tmp_path / "index"), "--json", cwd=tmp_path)
    assert as_json.returncode == 0 and "Ingen tilbakemeldinger ennå" in as_json.stderr
    assert json.loads(as_json.stdout)["feedback"] == {"up": 0, "down": 0, "with_comment": 0}


def test_report_does_not_load_the_model(filled_index, tmp_path):
    code = ("import sys\nfrom assistant.cli import main\n"
            f"assert main(['report', '--index', {str(filled_index)!r}]) == 0\n"
            "print(sorted(m for m in ('torch', 'sentence_transformers', 'faiss', 'gradio') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, env=ENV, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_report_help_is_norwegian():
    result = run_cli("report", "--help")
    assert result.returncode == 0
    assert "Vis antall 👍 og 👎" in result.stdout and "Avslutningskoder" in result.stdout
    bad = run_cli("report", "--limit", "0")
    assert bad.returncode == 2 and "positivt heltall" in bad.stderr


@pytest.mark.parametrize("text", [
    f"Nummeret mitt er {FNR[:6]}\t{FNR[6:]}.",  # a tab inside, as in a pasted comment
    f"Nummeret mitt er {FNR[:6]}.{FNR[6:]}.",
    f"Nummeret mitt er {FNR[:3]}\u200b{FNR[3:]}.",  # zero-width space inside
    f"Nummeret mitt er {FNR[:6]}\n{FNR[6:]}.",
])
def test_identity_numbers_hidden_by_separators_are_caught(text):
    assert redact(text) == f"Nummeret mitt er {FNR_TOKEN}."


def test_a_long_question_is_redacted_before_it_is_cut(seed_assistant, tmp_path):
    """A number or address straddling the length limit must not leave its first part,
    on the way the web app logs a question: asked, then the answer's question recorded."""
    from assistant.config import MAX_QUESTION_CHARS

    store = FeedbackStore(tmp_path / FILENAME)
    for tail in (FNR, "kari.nordmann@example.no"):
        question = "ord " * ((MAX_QUESTION_CHARS - 6) // 4) + "xy " + tail + " og mer tekst"
        answer = seed_assistant.ask(question)
        assert len(answer.question) <= MAX_QUESTION_CHARS
        store.record_answer(answer.question, answer.to_json())
    raw = (tmp_path / FILENAME).read_bytes()
    assert FNR[:5].encode() not in raw and b"kari.nordm" not in raw


def test_a_damaged_file_is_set_aside_and_a_new_one_started(tmp_path):
    path = tmp_path / FILENAME
    path.write_bytes(b"ikke en database " * 200)
    store = FeedbackStore(path)
    answer_id = store.record_answer("Hvem leder rådet?", {"found": False, "citations": []})
    store.record_feedback(answer_id, "down", "fant ikke")
    assert store.report().answers == 1 and store.problem and "skadet" in store.problem
    aside = [p.name for p in tmp_path.iterdir() if ".skadet-" in p.name]
    assert len(aside) == 1 and (tmp_path / aside[0]).read_bytes().startswith(b"ikke en database")


def test_a_file_damaged_while_in_use_costs_no_answer(tmp_path):
    path = tmp_path / FILENAME
    store = FeedbackStore(path)
    store.record_answer("Første spørsmål?", {"found": True, "citations": []})
    path.write_bytes(b"\0skadet" * 4096)
    for name in ("-wal", "-shm"):
        path.with_name(path.name + name).unlink(missing_ok=True)
    assert store.record_answer("Andre spørsmål?", {"found": True, "citations": []}) == 1
    assert store.report().answers == 1 and store.problem


def test_report_never_sends_terminal_escape_codes(tmp_path):
    """Stored feedback that tries to clear the staff member's terminal and set its title."""
    index = tmp_path / "index"
    store = FeedbackStore(index / FILENAME)
    attack = "\x1b[2J\x1b[H\x1b]0;overtatt\x07Bra svar\x9b31m\u202eslutt"
    store.record_feedback(unanswered(store, "Spørsmål\x1b[5m blinker?"), "down", attack)
    result = run_cli("report", "--index", str(index), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not any(ch in result.stdout for ch in "\x1b\x07\x9b\u202e")
    assert "Bra svar" in result.stdout and "blinker" in result.stdout


def test_questions_and_feedback_older_than_the_retention_time_are_deleted(tmp_path):
    """The landing page says questions and feedback are kept for 12 months: they are."""
    import sqlite3
    from datetime import datetime, timedelta, timezone

    from assistant.config import FEEDBACK_RETENTION_DAYS

    assert FEEDBACK_RETENTION_DAYS == 365
    store = FeedbackStore(tmp_path / FILENAME)
    old = store.record_answer("Gammelt spørsmål?", found("a"))
    store.record_feedback(old, "up", "gammel kommentar")
    long_ago = (datetime.now(timezone.utc) - timedelta(days=400)).isoformat(timespec="seconds")
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE answers SET created = ? WHERE id = ?", (long_ago, old))
    restarted = FeedbackStore(store.path)  # the first write after a start purges
    restarted.record_answer("Nytt spørsmål?", found("a"))
    report = restarted.report()
    assert report.answers == 1 and report.up == 0 and not report.recent_comments

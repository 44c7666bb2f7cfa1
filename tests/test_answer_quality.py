"""The answers a user reads, on the real model: the example questions of the web app and
README quote the sentence that answers, off-topic questions are declined, follow-ups get
new information, and the exact number or date asked for is highlighted."""

import json
from pathlib import Path

import pytest

from assistant.answer import NOT_FOUND
from assistant.web import EXAMPLES, TOPICS

DATA = Path(__file__).parent / "data"

#: What the quoted answer must hold, for every question the app and README suggest.
EXPECTED = {
    "Hvor mange kommuner er med i Osloregionen?": "64 kommuner",
    "Hva gjør regionen for lading av tunge kjøretøy?": "ladeinfrastruktur for tungtransport",
    "Hva er det høyeste organet i Osloregionen?": "Representantskapet er høyeste organ",
    "Hvilke rapporter kom ut av gods- og logistikkprosjektet?": "Delrapport",
    "Når ble Osloregionen etablert?": "Etablert i 2004",
    "Når ble Osloregionen omdannet til interkommunalt politisk råd?": "28. oktober 2020",
    "Hvilke innsatsområder har Osloregionen for 2021–2024?": "Klima og miljø",
    "Hva er målene i areal- og transportstrategien?": "Flerkjernet utvikling",
    "Hva er hovedprioriteringene for klima og miljø i 2022?": "ladeinfrastruktur",
    "Hva var målet med gods- og logistikkprosjektet?": "oppdatert kunnskapsgrunnlag",
    "Hvem har skrevet rapportene i gods- og logistikkprosjektet?": "Flowchange",
    "Når kom sluttrapporten fra gods- og logistikkprosjektet?": "oktober 2020",
}


def squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def without_bullets(text: str) -> str:
    """Quotes drop an item's bullet: compare text without them."""
    return squash(text.replace("•", " "))


def test_every_suggested_question_has_an_expected_answer():
    suggested = {*EXAMPLES, *(q for questions in TOPICS.values() for q in questions)}
    assert suggested <= set(EXPECTED)


#: Known failures of the learned answer stage (issue #12 stays open). The models learn on
#: news and Wikipedia passages; a slide's short bullets sit far from them. For the
#: charging question, search ranks the freight project's slide first and the slide with
#: the bullet on charging for heavy transport fourth; the reader ranks that bullet second
#: of the eight it reads, but it is sixth in the full score (which also weighs the
#: slide's search score), the freight project's report list is chosen, and the
#: answerability declines.
KNOWN_FAILURES = {
    "Hva gjør regionen for lading av tunge kjøretøy?":
        "the reader prefers the freight project's slide; declined",
}


@pytest.mark.parametrize("question", [
    pytest.param(q, marks=pytest.mark.xfail(reason=KNOWN_FAILURES[q], strict=True))
    if q in KNOWN_FAILURES else q for q in sorted(EXPECTED)])
def test_suggested_questions_quote_the_answering_sentence(seed_assistant, question):
    answer = seed_assistant.ask(question)
    assert answer.found, question
    for q in answer.quotes:  # only text from the cited passage, never our own
        assert without_bullets(q.text) in without_bullets(answer.citations[q.n - 1].text)
    assert squash(EXPECTED[question]) in squash(answer.answer), answer.answer


@pytest.mark.parametrize("question", [
    "Hva koster et månedskort hos Ruter?",
    "Hvor mange hydrogenstasjoner finnes det i Oslo?",
    "Hvordan baker jeg surdeigsbrød?",
    "Hvem vant fotball-VM i 1998?",
    "xqzv blorp fnatt",
])
def test_questions_the_documents_cannot_answer_are_declined(seed_assistant, question):
    answer = seed_assistant.ask(question)
    assert not answer.found, answer.answer
    assert answer.answer == NOT_FOUND and answer.citations == ()


@pytest.mark.parametrize("question", ["hvem bestemmer i osloregionen",
                                      "What does Osloregionen do?",
                                      "Hvilke politiske organer har Osloregionen?"])
def test_headings_and_title_fragments_are_never_the_answer(seed_assistant, question):
    answer = seed_assistant.ask(question)
    for q in answer.quotes:
        assert squash(q.text) not in {"osloregionen – grønt", "politiske organer:",
                                      "landtransportprogram", "medlemmer"}, q.text


def test_a_list_question_quotes_the_heading_with_its_items(seed_assistant):
    answer = seed_assistant.ask("Hvilke innsatsområder har Osloregionen for 2021–2024?")
    text = squash(answer.answer)
    for item in ["klima og miljø", "konkurransekraft og attraktivitet", "felleskap og samarbeid"]:
        assert item in text, answer.answer


@pytest.mark.parametrize("question, exact", [
    ("Hvor mange kommuner er med i Osloregionen?", "64 kommuner"),
    ("Når ble Osloregionen omdannet til interkommunalt politisk råd?", "28. oktober 2020"),
    pytest.param(
        "Hvor kan jeg lese rapportene fra godsprosjektet?",
        "https://www.osloregionen.no/prosjekter/areal-transport-mobilitet-og-logistikk/"
        "gods-og-logistikkprosjekt/",
        # Issue #12 stays open: the reader of 2 December 2026 (evening) ranks the bullet
        # with the address low when the presentation is the whole corpus, and the
        # question is declined (0.36 against a threshold of 0.40). With NorQuAD's
        # passages beside it, it is answered. How the address is highlighted is tested
        # without the model in tests/test_selection.py.
        marks=pytest.mark.xfail(reason="declined on the presentation alone", strict=True)),
])
def test_the_number_date_or_address_asked_for_is_highlighted_inside_the_sentence(
        seed_assistant, question, exact):
    citation = seed_assistant.ask(question).citations[0]
    (s0, s1), *inner = citation.highlights
    assert inner, citation.highlights
    a, b = inner[0]
    assert s0 <= a < b <= s1
    assert squash(citation.text[a:b]) == exact


def test_a_follow_up_gets_new_information_not_the_previous_answer(seed_assistant):
    first = seed_assistant.ask("Hva er det høyeste organet i Osloregionen?")
    follow_up = seed_assistant.ask("Og styret?", context=first.searched_for)
    assert follow_up.found and "styret" in squash(follow_up.answer)
    assert follow_up.quotes[0].text != first.quotes[0].text


@pytest.fixture(scope="module")
def web_assistant(tmp_path_factory, embedder):
    """The small made-up web site in tests/data/fjordbyene, indexed once."""
    from assistant.config import Settings
    from assistant.service import Assistant

    settings = Settings(corpus_dir=DATA / "fjordbyene",
                        index_dir=tmp_path_factory.mktemp("fjordbyene-index"))
    assistant = Assistant(settings, embedder=embedder)
    assistant.build(progress=False)
    return assistant


def test_a_short_follow_up_with_a_definite_noun_is_about_the_previous_topic(web_assistant):
    """ "Hva er målene?" alone could be about anything; after a question about the
    strategy it asks for the strategy's goals. "Hva er kontingenten?" looks the same, but
    is a new question: taken as a follow-up it finds nothing, and it is answered alone."""
    first = web_assistant.ask("Når ble strategien vedtatt?")
    goals = web_assistant.ask("Hva er målene?", context=first.searched_for)
    assert goals.found and "nullvekst i personbiltrafikken" in squash(goals.answer)
    fee = web_assistant.ask("Hva er kontingenten?", context=first.searched_for)
    assert fee.found and "2 kroner per innbygger" in squash(fee.answer)
    assert fee.searched_for == "Hva er kontingenten?"  # the next turn builds on this one


def test_json_answer_keeps_its_contract(seed_assistant):
    data = seed_assistant.ask("Når ble Osloregionen etablert?").to_json()
    assert {"question", "answer", "citations", "found"} <= set(data)
    assert 0.0 <= data["confidence"] <= 1.0
    json.dumps(data)

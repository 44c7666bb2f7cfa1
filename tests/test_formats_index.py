"""One document of each format, indexed with the real pipeline and asked about.

The corpus is made here: a Word file with headings and a table, a PowerPoint file with
speaker notes and a bullet wrapped over lines, a web page with the full chrome of a
WordPress council site, a PDF and a text file. Each question is about a fact that only
one document holds; the answer must quote that document, on the right page or slide. No
text of the site chrome may be anywhere in the stored chunks.
"""

from __future__ import annotations

import json

import pytest

from assistant.config import Settings
from assistant.service import Assistant
from tests.office import CHROME, make_docx, make_pptx, wordpress_page
from tests.pdfs import make_pdf


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, embedder):
    corpus = tmp_path_factory.mktemp("formater")
    make_docx(corpus / "budsjett-2024.docx", [
        ("h1", "Budsjett for sekretariatet 2024"),
        ("p", "Representantskapet vedtok budsjettet for 2024 i møtet i november."),
        ("pagebreak",),
        ("h2", "Utgifter"),
        ("p", "Tabellen viser de største utgiftspostene."),
        ("table", [["Post", "Beløp"], ["Lønn i sekretariatet", "4,2 millioner kroner"],
                   ["Reiser og møter i regionrådet", "380 000 kroner"]]),
    ], title="Budsjett 2024", year=2023)
    make_pptx(corpus / "jernbane.pptx", [
        {"title": "Jernbane i Osloregionen", "bullets": ["Et felles løft for togtilbudet"]},
        {"title": "Prioriterte tiltak", "bullets": [
            "Den nye jernbanetunnelen mellom Oslo og Lillestrøm skal etter planen stå ferdig i 2031,"
            "\vog den får fire spor",
            "Flere avganger på Østfoldbanen"],
         "notes": "Presentasjonen ble holdt for representantskapet i Asker i februar 2022."},
    ], title="Jernbane i Osloregionen")
    (corpus / "ny-sykkelvei.html").write_text(wordpress_page(
        "Ny sykkelvei langs E18",
        "<p>Den nye sykkelveien mellom Lysaker og Sandvika åpner i september 2025.</p>"
        "<h2>Om prosjektet</h2><p>Sykkelveien blir 9,5 kilometer lang og får belysning hele veien.</p>",
        date="2024-03-14", canonical="https://www.osloregionen.no/nyheter/ny-sykkelvei/"), encoding="utf-8")
    make_pdf(corpus / "godsrapport.pdf", [
        "Godsrapport for Osloregionen\nInnledning om gods og logistikk.",
        "Havnene i Osloregionen håndterte 6,1 millioner tonn gods i 2019.\n"
        "Det meste kom sjøveien til Oslo havn.",
    ], title="Godsrapport")
    (corpus / "ferjer.txt").write_text(
        "Fergesambandet mellom Moss og Horten fikk nye elektriske ferjer i 2021.\n\n"
        "Overgangen til batteridrift kuttet utslippene på strekningen med om lag 90 prosent.\n",
        encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("formater-indeks"))
    built = Assistant(settings, embedder=embedder)
    report = built.build(progress=False)
    assert report.problems == [], report.problems
    return built


@pytest.mark.parametrize("question, doc_id, page, fact", [
    ("Hvor mye koster lønn i sekretariatet i 2024?", "budsjett-2024", 2, "4,2 millioner kroner"),
    ("Når skal jernbanetunnelen mellom Oslo og Lillestrøm stå ferdig?", "jernbane", 2, "fire spor"),
    ("Hvor ble jernbanepresentasjonen for representantskapet holdt?", "jernbane", 2, "Asker"),
    ("Når åpner sykkelveien mellom Lysaker og Sandvika?", "ny-sykkelvei", 1, "september 2025"),
    ("Hvor mange tonn gods håndterte havnene i 2019?", "godsrapport", 2, "6,1 millioner tonn"),
    ("Hvor mye kuttet batteridriften utslippene på fergesambandet Moss–Horten?", "ferjer", 1, "90 prosent"),
])
def test_each_format_answers_from_its_own_document_and_page(assistant, question, doc_id, page, fact):
    answer = assistant.ask(question)
    assert answer.found, (question, answer.confidence, answer.answer)
    citation = answer.citations[0]
    assert (citation.doc_id, citation.page) == (doc_id, page), answer.answer
    assert fact in answer.answer


def test_web_page_citation_uses_the_pages_own_address_and_title(assistant):
    answer = assistant.ask("Hvor lang blir sykkelveien langs E18?")
    citation = answer.citations[0]
    assert citation.doc_id == "ny-sykkelvei"
    assert (citation.title, citation.year, citation.url) == (
        "Ny sykkelvei langs E18", 2024, "https://www.osloregionen.no/nyheter/ny-sykkelvei/")


def test_no_site_chrome_is_in_the_index(assistant):
    build = assistant.settings.index_dir / "current"
    chunks = [json.loads(line)["text"] for line in
              (build / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    assert chunks
    stored = "\n".join(chunks) + (build / "documents.json").read_text(encoding="utf-8")
    for chrome in CHROME:
        assert chrome not in stored
    for menu_item in ("Tilgjengelighetserklæring", "Del dette", "Av redaksjonen", "Brødsmulesti"):
        assert menu_item not in stored

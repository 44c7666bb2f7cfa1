"""Word, PowerPoint and web pages read into pages (assistant/formats.py), files made here."""

from __future__ import annotations

import zipfile

import pytest

from assistant.chunking import split_sentences
from assistant.documents import (
    UNREADABLE,
    UNSUPPORTED,
    DocumentError,
    load_corpus,
    load_document,
)
from tests.office import CHROME, make_docx, make_pptx, wordpress_page


def sentences(page_text: str) -> list[str]:
    return [page_text[s.start:s.end] for s in split_sentences(page_text)]


def test_docx_keeps_order_headings_lists_tables_and_page_breaks(tmp_path):
    path = make_docx(tmp_path / "referat.docx", [
        ("h1", "Referat fra styremøtet"),
        ("p", "Styret møttes i Drammen 12. mai 2023."),
        ("bullet", "Ny regional sykkelstrategi"),
        ("bullet", "Budsjett for 2024"),
        ("pagebreak",),
        ("h2", "Budsjett"),
        ("table", [["Post", "Beløp"], ["Sekretariat", "4,2 mill. kr"]]),
        ("p", "Budsjettet ble vedtatt."),
    ], title="Styrereferat mai 2023", year=2023)
    document = load_document(path)
    assert document.kind == "docx"
    assert (document.meta.title, document.meta.year, document.meta.publisher) == (
        "Styrereferat mai 2023", 2023, "Osloregionens sekretariat")
    assert [p.number for p in document.pages] == [1, 2]
    first, second = (p.text for p in document.pages)
    assert first.startswith("Referat fra styremøtet\n\nStyret møttes")
    assert "• Ny regional sykkelstrategi\n• Budsjett for 2024" in first
    assert second.split("\n\n") == ["Budsjett", "Post | Beløp", "Sekretariat | 4,2 mill. kr",
                                    "Budsjettet ble vedtatt."]
    # The heading is a sentence of its own, and so is each table row.
    assert sentences(second)[:3] == ["Budsjett", "Post | Beløp", "Sekretariat | 4,2 mill. kr"]


def test_docx_uses_the_pages_word_laid_out_when_the_file_remembers_them(tmp_path):
    path = make_docx(tmp_path / "lang.docx", [("p", "Første side handler om ferjer."),
                                              ("p", "Andre side handler om havner.")])
    # What Word writes where a page began when it saved the file.
    with zipfile.ZipFile(path) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    xml = parts["word/document.xml"].decode()
    marker = "<w:r><w:lastRenderedPageBreak/><w:t>Andre"
    xml = xml.replace("<w:r><w:t>Andre", marker, 1)
    assert marker in xml
    parts["word/document.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w") as rewritten:
        for name, data in parts.items():
            rewritten.writestr(name, data)
    document = load_document(path)
    assert [p.text for p in document.pages] == ["Første side handler om ferjer.",
                                                "Andre side handler om havner."]


def test_pptx_one_page_per_slide_with_whole_bullets_tables_and_notes(tmp_path):
    path = make_pptx(tmp_path / "presentasjon.pptx", [
        {"title": "Osloregionen", "bullets": ["Etablert i 2004"]},
        {"title": "Innsatsområder",
         "bullets": ["Areal, transport, mobilitet og logistikk i hele regionen,\vmed vekt på knutepunkter",
                     (1, "Klima og miljø")],
         "notes": "Strategien gjelder for perioden 2021–2024."},
        {"title": "Nøkkeltall", "table": [["Kommuner", "64"], ["Innbyggere", "2,3 mill."]]},
    ], title="Presentasjon for nye rådsmedlemmer")
    document = load_document(path)
    assert [p.number for p in document.pages] == [1, 2, 3]
    assert document.meta.title == "Presentasjon for nye rådsmedlemmer"
    assert document.meta.doc_type == "presentasjon"
    slide = document.pages[1].text
    assert slide.startswith("Innsatsområder\n\n")
    assert sentences(slide) == [
        "Innsatsområder",
        "• Areal, transport, mobilitet og logistikk i hele regionen, med vekt på knutepunkter",
        "– Klima og miljø",
        "Notater: Strategien gjelder for perioden 2021–2024.",
    ]
    assert document.pages[2].text == "Nøkkeltall\n\nKommuner | 64\n\nInnbyggere | 2,3 mill."


def test_html_main_content_only_with_the_pages_own_metadata(tmp_path):
    content = """<p>Den nye sykkelveien mellom Lysaker og Sandvika åpner i september 2025.</p>
      <h2>Finansiering</h2><p>Prosjektet koster 1,2 milliarder kroner.</p>
      <ul><li>Belysning langs hele traseen</li><li>Egen gangvei</li></ul>"""
    path = tmp_path / "ny-sykkelvei.html"
    path.write_text(wordpress_page("Ny sykkelvei langs E18", content, date="2024-03-14",
                                   canonical="https://www.osloregionen.no/nyheter/ny-sykkelvei/"),
                    encoding="utf-8")
    document = load_document(path)
    meta = document.meta
    assert (meta.title, meta.url, meta.date, meta.year, meta.doc_type) == (
        "Ny sykkelvei langs E18", "https://www.osloregionen.no/nyheter/ny-sykkelvei/", "2024-03-14",
        2024, "nettside")
    [page] = document.pages
    assert page.text.split("\n\n") == [
        "Ny sykkelvei langs E18",
        "Den nye sykkelveien mellom Lysaker og Sandvika åpner i september 2025.",
        "Finansiering",
        "Prosjektet koster 1,2 milliarder kroner.",
        "• Belysning langs hele traseen\n• Egen gangvei",
    ]
    for chrome in CHROME:
        assert chrome not in page.text

    # A sidecar overrides what the page says about itself.
    (tmp_path / "ny-sykkelvei.meta.toml").write_text(
        'title = "Sykkelvei E18"\nurl = "https://example.org/a"\nyear = 2023\n', encoding="utf-8")
    meta = load_document(path).meta
    assert (meta.title, meta.url, meta.year, meta.date) == ("Sykkelvei E18", "https://example.org/a", 2023,
                                                           "2024-03-14")


def test_html_without_metadata_falls_back_to_file_name(tmp_path):
    path = tmp_path / "om-oss.htm"
    path.write_text("<html><body><main><p>Osloregionen er et samarbeid mellom 64 kommuner i "
                    "Viken og Oslo, etablert i 2004.</p></main></body></html>", encoding="latin-1")
    document = load_document(path)
    assert document.meta.title == "Om oss" and document.meta.url == "" and document.meta.year is None
    assert "64 kommuner" in document.pages[0].text


@pytest.mark.parametrize("name, complaint, hint", [
    ("regneark.xlsx", "regneark støttes ikke", "PDF"),
    ("gammel.doc", "gamle Word-formatet", ".docx"),
    ("gammel.ppt", "gamle PowerPoint-formatet", ".pptx"),
    ("notat.odt", "OpenDocument", ".docx"),
    ("bilde.png", "filtypen «.png» støttes ikke", "hoppet over"),
])
def test_unsupported_files_are_reported_by_name_with_a_hint(tmp_path, name, complaint, hint):
    (tmp_path / name).write_bytes(b"PK\x03\x04 noe")
    (tmp_path / "god.txt").write_text("Osloregionen har 64 kommuner.", encoding="utf-8")
    result = load_corpus(tmp_path)
    assert [d.doc_id for d in result.documents] == ["god"]
    [problem] = result.problems
    assert problem.path.name == name and problem.kind == UNSUPPORTED
    assert complaint in problem.problem and hint in problem.action


@pytest.mark.parametrize("name", ["skadet.docx", "skadet.pptx"])
def test_damaged_office_files_are_unreadable_not_fatal(tmp_path, name):
    (tmp_path / name).write_bytes(b"dette er ikke en zip-fil")
    (tmp_path / "tom.docx").write_bytes(b"")
    result = load_corpus(tmp_path)
    problems = {p.path.name: p for p in result.problems}
    assert problems["tom.docx"].problem == "filen er tom"
    assert problems[name].kind == UNREADABLE and "skadet" in problems[name].problem
    with pytest.raises(DocumentError):
        load_document(tmp_path / name)


def test_page_with_only_chrome_is_reported(tmp_path):
    (tmp_path / "tom-side.html").write_text(wordpress_page("Tom", ""), encoding="utf-8")
    result = load_corpus(tmp_path)
    [problem] = result.problems
    assert problem.path.name == "tom-side.html"
    assert "hovedtekst" in problem.problem or "ingen tekst" in problem.problem

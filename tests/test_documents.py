from pathlib import Path

import pytest

from assistant.documents import DocumentError, load_corpus, load_document
from tests.pdfs import make_pdf


def test_pdf_pages_keep_numbers_and_pdf_info_is_fallback_metadata(tmp_path):
    path = make_pdf(tmp_path / "rapport.pdf", ["Side en om jernbane.", "Side to om havner."],
                    title="Godsrapport", author="Flowchange")
    document = load_document(path)
    assert document.doc_id == "rapport"
    assert [p.number for p in document.pages] == [1, 2]
    assert "havner" in document.pages[1].text
    assert document.meta.title == "Godsrapport"
    assert document.meta.publisher == "Flowchange"
    assert document.meta.visibility == "public"


def test_sidecar_overrides_pdf_info(tmp_path):
    path = make_pdf(tmp_path / "r.pdf", ["Tekst."], title="Fra PDF")
    (tmp_path / "r.meta.toml").write_text(
        'title = "Fra sidefil"\nyear = 2020\nurl = "https://example.org/r.pdf"\n', encoding="utf-8")
    meta = load_document(path).meta
    assert (meta.title, meta.year, meta.url) == ("Fra sidefil", 2020, "https://example.org/r.pdf")


def test_text_file_form_feeds_are_pages_and_title_falls_back_to_file_name(tmp_path):
    path = tmp_path / "gront-landtransportprogram.txt"
    path.write_text("Lysbilde en\fLysbilde to\fLysbilde tre", encoding="utf-8")
    document = load_document(path)
    assert [p.text for p in document.pages] == ["Lysbilde en", "Lysbilde to", "Lysbilde tre"]
    assert document.meta.title == "Gront landtransportprogram"


@pytest.mark.parametrize(
    "sidecar, field",
    [('year = "i fjor"', "year"), ('visibility = "hemmelig"', "visibility"), ("title = [1, 2]", "title"),
     ("title = ", "ugyldig metadatafil")],
)
def test_invalid_sidecar_names_the_field(tmp_path, sidecar, field):
    path = tmp_path / "doc.txt"
    path.write_text("Tekst.", encoding="utf-8")
    (tmp_path / "doc.meta.toml").write_text(sidecar, encoding="utf-8")
    with pytest.raises(DocumentError, match=field):
        load_document(path)


def test_corpus_reports_bad_files_by_name_and_keeps_the_rest(tmp_path):
    (tmp_path / "god.txt").write_text("Osloregionen har 64 kommuner.", encoding="utf-8")
    (tmp_path / "tom.txt").write_bytes(b"")
    (tmp_path / "skadet.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\n")
    (tmp_path / "bilde.png").write_bytes(b"\x89PNG")
    (tmp_path / "reports.toml").write_text("[[report]]\n", encoding="utf-8")
    result = load_corpus(tmp_path)
    assert [d.doc_id for d in result.documents] == ["god"]
    problems = {p.path.name: p.problem for p in result.problems}
    assert set(problems) == {"tom.txt", "skadet.pdf", "bilde.png"}
    assert "tom" in problems["tom.txt"]
    assert "støttes ikke" in problems["bilde.png"]


def test_seed_corpus_document_has_metadata_and_slides():
    corpus = Path(__file__).resolve().parents[1] / "corpus"
    document = load_document(corpus / "osloregionen-gront-landtransportprogram.txt")
    assert document.meta.title == "Osloregionen – Grønt Landtransportprogram"
    assert document.meta.publisher == "Osloregionen interkommunalt politisk råd"
    assert document.meta.year == 2022
    assert len(document.pages) == 7
    assert any("64 kommuner" in p.text for p in document.pages)


@pytest.mark.parametrize("first_page, year", [
    ("Gods og logistikk i Osloregionen\nKunnskapsgrunnlag\nJuni 2019\n", 2019),
    ("Sluttrapport\nOslo, 28. oktober 2020", 2020),
    ("Årsmelding\n2021\n", 2021),
    ("I juni 2019 ble strategien vedtatt av styret.", None),  # running text: no year
    ("Osloregionens gods- og logistikkprosjekt 2018-2020", None),
    ("Medlemmer: 64 kommuner med 2,3 mill. innbyggere", None),
])
def test_the_year_printed_on_the_first_page(first_page, year):
    from assistant.documents import printed_year

    assert printed_year(first_page) == year


def test_a_printed_year_beats_the_pdf_creation_date_and_the_sidecar_beats_both(tmp_path):
    from pypdf import PdfReader, PdfWriter

    make_pdf(tmp_path / "rapport.pdf", ["Kunnskapsgrunnlag\nJuni 2019\nOm godstransport."])
    writer = PdfWriter(clone_from=PdfReader(tmp_path / "rapport.pdf"))
    writer.add_metadata({"/CreationDate": "D:20230105120000"})  # re-saved years later
    writer.write(tmp_path / "rapport.pdf")
    assert load_document(tmp_path / "rapport.pdf").meta.year == 2019
    (tmp_path / "rapport.meta.toml").write_text("year = 2018\n", encoding="utf-8")
    assert load_document(tmp_path / "rapport.pdf").meta.year == 2018

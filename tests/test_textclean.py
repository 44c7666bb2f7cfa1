from assistant.textclean import clean_page, decode_text, drop_repeated_lines


def clean_page_text(text: str) -> str:
    return clean_page(text)[0]


def test_hyphenation_at_line_break_is_joined_but_real_hyphens_stay():
    text = "Økt gods-\ntransport på sjø. Natur-\nog artsmangfold i Oslo-regionen."
    cleaned = clean_page_text(text)
    assert "godstransport" in cleaned
    assert "Natur- og artsmangfold" in cleaned
    assert "Oslo-regionen" in cleaned


def test_ligatures_bullets_and_whitespace_are_normalised():
    cleaned = clean_page_text("\ufb01nansiering  og \ufb02yt\n▪   første punkt\n\n\n\n● andre")
    assert cleaned == "finansiering og flyt\n• første punkt\n\n• andre"


def test_decode_falls_back_to_windows_1252():
    assert decode_text("Grønt løft på Østlandet".encode("cp1252")) == "Grønt løft på Østlandet"
    assert decode_text("\ufeffæøå".encode("utf-8")) == "æøå"


def test_running_headers_footers_and_page_numbers_are_dropped():
    topics = ["jernbane", "havner", "lading", "veier"]
    pages = [f"Osloregionen – Rapport 2020\nDette kapitlet handler om {t}.\nSide {n} av 4"
             for n, t in enumerate(topics, start=1)]
    cleaned = drop_repeated_lines(pages)
    assert cleaned == [f"Dette kapitlet handler om {t}." for t in topics]


def test_huge_page_is_truncated_not_fatal():
    assert len(clean_page_text("ord " * 200_000)) <= 200_000


# --------------------------------------------------------------------------- real PDFs
# The cases above again, but written into PDFs with reportlab and read back through the
# loader (pypdf extraction + cleaning), since that is where the artefacts come from.

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from assistant.documents import load_document  # noqa: E402
from assistant.textclean import MAX_PAGE_CHARS  # noqa: E402

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def dejavu_pdf(path: Path, pages: list[str], header: str | None = None,
               footer: str | None = None, footer_first: bool = False) -> Path:
    """A PDF in DejaVu Sans (which has the ﬁ/ﬂ ligature glyphs and bullets), one item per page.

    ``header`` and ``footer`` are drawn on every page ("{n}" becomes the page number); with
    ``footer_first`` the footer comes first in the content stream, as in many real PDFs.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if not DEJAVU.exists():
        pytest.skip(f"fonten {DEJAVU} mangler (apt-get install fonts-dejavu-core)")
    pdfmetrics.registerFont(TTFont("DejaVuSans", str(DEJAVU)))
    pdf = canvas.Canvas(str(path), pagesize=A4)
    width, height = A4
    for n, text in enumerate(pages, start=1):
        pdf.setFont("DejaVuSans", 11)
        if footer and footer_first:
            pdf.drawCentredString(width / 2, 40, footer.format(n=n))
        if header:
            pdf.drawString(72, height - 40, header.format(n=n))
        y = height - 90
        for line in text.split("\n"):
            pdf.drawString(72, y, line)
            y -= 15
        if footer and not footer_first:
            pdf.drawCentredString(width / 2, 40, footer.format(n=n))
        pdf.showPage()
    pdf.save()
    return path


def page_texts(path: Path) -> list[str]:
    return [page.text for page in load_document(path).pages]


def test_pdf_hyphenation_is_joined_and_real_hyphens_kept(tmp_path):
    lines = ("Regionen vil flytte gods-\ntransport fra vei til bane og sjø.\n"
             "Tiltakene skal styrke natur-\nog artsmangfold i Oslo-regionen.\n"
             "Kapasiteten i E18-\nkorridoren og på jern\u00ad\nbanen må økes.\n"
             "Oslo-regionen har 64 kommuner, og Oslo-\nregionen vokser.")
    [text] = page_texts(dejavu_pdf(tmp_path / "orddeling.pdf", [lines]))
    assert "godstransport fra vei" in text
    assert "natur- og artsmangfold" in text
    assert "Oslo-regionen har 64" in text and "Oslo-regionen vokser" in text
    assert "E18-korridoren" in text
    assert "jernbanen" in text
    assert "-\n" not in text and "\u00ad" not in text


@pytest.mark.parametrize("footer_first", [False, True])
@pytest.mark.parametrize("footer", ["Side {n} av 4", "{n}", "– {n} –"])
def test_pdf_running_header_footer_and_page_numbers_are_dropped(tmp_path, footer, footer_first):
    topics = ["jernbane", "havner", "lading", "veier"]
    bodies = [f"Dette kapitlet handler om {t}.\nTiltakene for {t} koster penger." for t in topics]
    path = dejavu_pdf(tmp_path / "rapport.pdf", bodies, header="Osloregionen – Godsrapport 2020",
                      footer=footer, footer_first=footer_first)
    assert page_texts(path) == bodies


def test_pdf_ligatures_bullets_and_spaces_are_normalised(tmp_path):
    body = ("Bedre \ufb01nansiering av \ufb02yt og o\ufb00entlig transport.\n"
            "▪   Første   tiltak\n●\tAndre tiltak\n➢ Tredje tiltak")
    [text] = page_texts(dejavu_pdf(tmp_path / "liga.pdf", [body]))
    assert text == ("Bedre finansiering av flyt og offentlig transport.\n"
                    "• Første tiltak\n• Andre tiltak\n• Tredje tiltak")


def test_pdf_page_with_hundreds_of_thousands_of_characters_is_cut_and_reported(tmp_path):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = tmp_path / "datadump.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.setFont("Helvetica", 2)
    for row in range(3000):  # 3 000 lines of 100 characters: 300 000 characters on one page
        pdf.drawString(10, 830 - (row % 400) * 2, f"rad {row:05d} " + "data " * 18)
    pdf.showPage()
    pdf.drawString(72, 700, "Vanlig side to.")
    pdf.showPage()
    pdf.save()
    document = load_document(path)
    assert len(document.pages[0].text) <= MAX_PAGE_CHARS
    assert len(document.pages[0].text) > MAX_PAGE_CHARS * 0.9
    assert document.pages[1].text == "Vanlig side to."
    [note] = document.notes
    assert note.problem == "side 1 har over 20\u00a0000 tegn" and "kuttet" in note.action

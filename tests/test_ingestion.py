"""A real document collection: broken, encrypted, scanned, duplicated and odd files.

Every bad file must be reported by name with what was done, none may stop the others,
and nothing indexed before may be lost. Files are written by the tests themselves
(reportlab, pypdf, Pillow); OCR runs the real Tesseract when it is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from assistant.chunking import chunk_document
from assistant.config import ChunkConfig, Settings
from assistant.documents import (
    DUPLICATE,
    NOTE,
    UNREADABLE,
    UNSUPPORTED,
    load_corpus,
    load_document,
)
from assistant.indexer import build_index
from assistant.ocr import INSTALL_TESSERACT, OcrUnavailable, find_tools
from assistant.service import Assistant
from assistant.store import load_index
from assistant.textclean import MAX_PAGE_CHARS
from tests.pdfs import make_pdf

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FERRY = ("Fergesambandet mellom Moss og Horten fikk nye elektriske ferjer i 2021. "
         "Overgangen til batteridrift kuttet utslippene på strekningen med om lag 90 prosent.")


def tesseract_ready() -> str | None:
    """Why OCR cannot run here, or None when it can."""
    try:
        find_tools()
    except OcrUnavailable as exc:
        return str(exc)
    return None


needs_ocr = pytest.mark.skipif(tesseract_ready() is not None,
                               reason=f"OCR er ikke installert: {tesseract_ready()}")


def scanned_pdf(path: Path, pages: list[str | None]) -> Path:
    """A PDF whose pages are IMAGES of rendered text (like a scan); None = a normal text page."""
    from PIL import Image, ImageDraw, ImageFont
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    if not DEJAVU.exists():
        pytest.skip(f"fonten {DEJAVU} mangler (apt-get install fonts-dejavu-core)")
    font = ImageFont.truetype(str(DEJAVU), 40)
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for n, text in enumerate(pages, start=1):
        if text is None:
            pdf.setFont("Helvetica", 11)
            pdf.drawString(72, 760, f"Side {n} har et vanlig tekstlag om sykkelveier i Follo.")
        else:
            image = Image.new("L", (1654, 2339), 255)  # A4 at 200 dpi
            draw = ImageDraw.Draw(image)
            for row, line in enumerate(textwrap.wrap(text, 55)):
                draw.text((120, 150 + row * 60), line, font=font, fill=0)
            pdf.drawImage(ImageReader(image), 0, 0, width=A4[0], height=A4[1])
        pdf.showPage()
    pdf.save()
    return path


def encrypted_pdf(path: Path, user_password: str, algorithm: str = "AES-256") -> Path:
    from pypdf import PdfWriter

    source = make_pdf(path.with_suffix(".kilde"), ["Bompengene finansierer nye sykkelveier i Bærum."])
    writer = PdfWriter(clone_from=str(source))
    writer.encrypt(user_password=user_password, owner_password="eier", algorithm=algorithm)
    writer.write(path)
    source.unlink()
    return path


def without_ocr_on_path(monkeypatch, tmp_path: Path) -> None:
    """A PATH on which neither tesseract nor pdftoppm exists (a machine without OCR)."""
    empty = tmp_path / "bin-uten-ocr"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))


def problems_by_name(result) -> dict[str, object]:
    return {p.path.name: p for p in result.problems}


# --------------------------------------------------------------------------- bad files


def test_zero_byte_files_are_reported_and_the_rest_loaded(tmp_path):
    (tmp_path / "tom.pdf").write_bytes(b"")
    (tmp_path / "tom.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_bytes(b"  \n\n ")
    (tmp_path / "god.txt").write_text("Osloregionen har 64 kommuner.", encoding="utf-8")
    result = load_corpus(tmp_path)
    assert [d.doc_id for d in result.documents] == ["god"]
    problems = problems_by_name(result)
    assert set(problems) == {"tom.pdf", "tom.txt", "blank.md"}
    assert all(p.problem == "filen er tom" and p.action == "hoppet over" for p in problems.values())


@pytest.mark.parametrize("damage", ["truncated", "garbled", "not-a-pdf"])
def test_damaged_pdf_is_reported_on_one_line(tmp_path, damage):
    data = make_pdf(tmp_path / "kilde.bin", ["Side en om ferjer.", "Side to om havner."]).read_bytes()
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "garbled":
        middle = len(data) // 3
        data = data[:middle] + b"\x00" * 400 + data[middle + 400:]
    else:
        data = b"<html>Ikke funnet</html>" * 20
    (tmp_path / "skadet.pdf").write_bytes(data)
    (tmp_path / "kilde.bin").unlink()
    (tmp_path / "god.txt").write_text("Ferjene går hver halvtime.", encoding="utf-8")
    result = load_corpus(tmp_path)
    assert [d.doc_id for d in result.documents] == ["god"]
    [problem] = result.problems
    assert problem.path.name == "skadet.pdf" and problem.kind == UNREADABLE
    assert "skadet eller avkortet" in problem.problem and "legg inn filen på nytt" in problem.action
    assert "\n" not in problem.problem and len(problem.problem) < 160


@pytest.mark.parametrize("algorithm", ["RC4-128", "AES-256"])
def test_encrypted_pdf_without_user_password_is_opened(tmp_path, algorithm):
    document = load_document(encrypted_pdf(tmp_path / "kryptert.pdf", "", algorithm))
    assert document.pages[0].text == "Bompengene finansierer nye sykkelveier i Bærum."


def test_password_protected_pdf_is_reported(tmp_path):
    encrypted_pdf(tmp_path / "hemmelig.pdf", "passord123")
    (tmp_path / "god.txt").write_text("Sykkelveier i Bærum.", encoding="utf-8")
    result = load_corpus(tmp_path)
    assert [d.doc_id for d in result.documents] == ["god"]
    problem = problems_by_name(result)["hemmelig.pdf"]
    assert problem.problem == "PDF-en er beskyttet med passord"
    assert "uten passord" in problem.action


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_legacy_encoded_text_file_keeps_norwegian_letters(tmp_path, encoding):
    text = "Grønt løft for Østlandet: Åsgårdstrand og Ærøy."
    if encoding == "cp1252":
        text += " «Bane – ikke vei»"  # guillemets and en dash exist in cp1252, not latin-1
    (tmp_path / "gammel.txt").write_bytes(text.encode(encoding))
    assert load_document(tmp_path / "gammel.txt").pages[0].text == text


def test_unsupported_extension_is_reported_as_such(tmp_path):
    (tmp_path / "arkiv.zip").write_bytes(b"PK\x03\x04")  # .docx is read since issue #15
    (tmp_path / "bilde.PNG").write_bytes(b"\x89PNG")
    (tmp_path / "uten-endelse").write_text("tekst", encoding="utf-8")
    result = load_corpus(tmp_path)
    problems = problems_by_name(result)
    assert {name: p.problem for name, p in problems.items()} == {
        "arkiv.zip": "filtypen «.zip» støttes ikke",
        "bilde.PNG": "filtypen «.png» støttes ikke",
        "uten-endelse": "filtypen «(ingen)» støttes ikke",
    }
    assert all(p.kind == UNSUPPORTED for p in problems.values())


def test_same_document_under_two_names_is_loaded_once(tmp_path):
    pages = ["Havneplanen for Oslo havn.", "Landstrøm til alle kaier innen 2030."]
    make_pdf(tmp_path / "havneplan.pdf", pages, title="Havneplan")
    shutil.copy(tmp_path / "havneplan.pdf", tmp_path / "havneplan (1).pdf")
    (tmp_path / "havneplan-utkast.txt").write_text("\f".join(pages), encoding="utf-8")
    result = load_corpus(tmp_path)
    assert [d.doc_id for d in result.documents] == ["havneplan"]  # the name without suffix
    problems = problems_by_name(result)
    assert set(problems) == {"havneplan (1).pdf", "havneplan-utkast.txt"}
    for problem in problems.values():
        assert problem.kind == DUPLICATE
        assert problem.problem == "samme innhold som havneplan.pdf"


def test_duplicate_keeps_the_already_indexed_copy(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "rapport.pdf", ["Rapporten handler om godsterminaler på Alnabru."])
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings, embedder, progress=False)
    shutil.copy(corpus / "rapport.pdf", corpus / "a-kopi.pdf")  # sorts first, but is new
    report = build_index(settings, embedder, progress=False)
    assert report.unchanged == ["rapport"] and report.added == [] and report.embedded_chunks == 0
    [problem] = report.problems
    assert problem.path.name == "a-kopi.pdf" and problem.problem == "samme innhold som rapport.pdf"


def test_invalid_sidecar_skips_the_file_and_says_which_field(tmp_path):
    (tmp_path / "notat.txt").write_text("Internt notat om budsjett.", encoding="utf-8")
    (tmp_path / "notat.meta.toml").write_text('visibility = "intern"\n', encoding="utf-8")
    (tmp_path / "brev.txt").write_text("Brev om ferjer.", encoding="utf-8")
    (tmp_path / "brev.meta.toml").write_text('title = "Brev\n', encoding="utf-8")
    (tmp_path / "god.txt").write_text("Offentlig tekst.", encoding="utf-8")
    result = load_corpus(tmp_path)
    # Never indexed with guessed metadata: an invalid visibility could hide an internal document.
    assert [d.doc_id for d in result.documents] == ["god"]
    problems = problems_by_name(result)
    assert "ugyldig metadata i notat.meta.toml" in problems["notat.txt"].problem
    assert "«visibility»" in problems["notat.txt"].problem
    assert "ugyldig metadatafil brev.meta.toml" in problems["brev.txt"].problem
    assert all(p.action == "hoppet over – rett opp metadatafilen" for p in problems.values())


def test_huge_page_is_cut_reported_and_chunks_quickly(tmp_path, embedder):
    huge = "".join(f"Setning nummer {i} handler om godstransport. " for i in range(8000))
    assert len(huge) > 300_000
    path = tmp_path / "dump.txt"
    path.write_text(f"Første side.\f{huge}\fSiste side.", encoding="utf-8")
    document = load_document(path)
    assert [len(p.text) <= MAX_PAGE_CHARS for p in document.pages] == [True, True, True]
    assert document.pages[1].text.endswith("godstransport.")  # cut between sentences
    assert document.pages[2].text == "Siste side."
    [note] = document.notes
    assert note.problem.startswith("side 2 har over") and note.action.startswith("kuttet til")
    started = time.perf_counter()
    chunks = chunk_document(document, embedder.count_tokens, ChunkConfig())
    assert time.perf_counter() - started < 20  # the uncut page took minutes
    assert {c.page_start for c in chunks} == {1, 2, 3}


def test_long_text_without_page_breaks_is_split_not_cut(tmp_path):
    body = "\n\n".join(f"Avsnitt {i}: Regionen bygger ut ladepunkter for tungtransport."
                       for i in range(6000))
    path = tmp_path / "lang.md"
    path.write_text(body + "\n\nSISTE AVSNITT om hydrogen.", encoding="utf-8")
    document = load_document(path)
    assert len(document.pages) > 10
    assert all(len(p.text) <= MAX_PAGE_CHARS for p in document.pages)
    assert document.pages[-1].text.endswith("SISTE AVSNITT om hydrogen.")
    assert all(p.text.startswith("Avsnitt") for p in document.pages)  # cut at paragraphs
    [note] = document.notes
    assert "uten sideskift" in note.problem and "deler" in note.action


def test_file_that_breaks_after_indexing_keeps_its_earlier_version(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    make_pdf(corpus / "havn.pdf", ["Oslo havn får landstrøm i 2025."])
    (corpus / "vei.txt").write_text("Ny E18 gjennom Asker.", encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    build_index(settings, embedder, progress=False)
    data = (corpus / "havn.pdf").read_bytes()
    (corpus / "havn.pdf").write_bytes(data[: len(data) // 2])  # a half-copied replacement
    report = build_index(settings, embedder, progress=False)
    assert report.kept == ["havn"] and report.removed == []
    [problem] = report.problems
    assert problem.path.name == "havn.pdf" and "forrige versjon er beholdt" in problem.action
    index = load_index(settings.index_dir, settings)
    assert any("landstrøm" in c.text for c in index.chunks if c.doc_id == "havn")
    (corpus / "havn.pdf").unlink()  # deleting the file does remove the document
    assert build_index(settings, embedder, progress=False).removed == ["havn"]


# --------------------------------------------------------------------------- OCR


def test_without_tesseract_a_scanned_pdf_gets_one_line_with_how_to_install(
        tmp_path, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    scanned_pdf(corpus / "skannet.pdf", [FERRY])
    (corpus / "god.txt").write_text("Ferjene går hver halvtime.", encoding="utf-8")
    without_ocr_on_path(monkeypatch, tmp_path)
    result = load_corpus(corpus)
    assert [d.doc_id for d in result.documents] == ["god"]
    [problem] = result.problems
    assert problem.path.name == "skannet.pdf"
    line = f"{problem.problem} – {problem.action}"
    assert "skannet" in problem.problem and "tesseract mangler" in problem.problem
    assert line.endswith(f"installer med: {INSTALL_TESSERACT}") and "\n" not in line
    assert INSTALL_TESSERACT == "apt-get install tesseract-ocr tesseract-ocr-nor"


@needs_ocr
def test_without_norwegian_language_pack_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))  # a tessdata folder with no languages
    with pytest.raises(OcrUnavailable, match="norsk språkpakke") as caught:
        find_tools()
    assert caught.value.fix == f"installer med: {INSTALL_TESSERACT}"


@needs_ocr
def test_scanned_pdf_is_read_with_ocr_and_answers_cite_it(tmp_path, embedder, seed_corpus):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    scanned_pdf(corpus / "ferjerapport.pdf", [FERRY])
    assistant = Assistant(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"), embedder)
    report = assistant.build(progress=False)
    assert report.problems == []
    [note] = report.notes
    assert note.path.name == "ferjerapport.pdf" and note.kind == NOTE
    assert note.action == "lest med OCR (norsk)"
    answer = assistant.ask("Når fikk fergesambandet mellom Moss og Horten elektriske ferjer?")
    assert answer.found
    citation = answer.citations[0]
    assert citation.doc_id == "ferjerapport" and citation.page == 1
    assert "2021" in citation.text and "elektriske ferjer" in citation.text


@needs_ocr
def test_scanned_pages_missed_without_ocr_are_read_once_ocr_is_installed(
        tmp_path, embedder, monkeypatch):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    scanned_pdf(corpus / "blandet.pdf", [None, FERRY])  # page 1 text, page 2 a scan
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    real_path = os.environ["PATH"]
    without_ocr_on_path(monkeypatch, tmp_path)
    first = build_index(settings, embedder, progress=False)
    assert first.added == ["blandet"] and first.problems == []
    [note] = first.notes
    assert note.problem.startswith("side 2 er skannet") and INSTALL_TESSERACT in note.action
    assert "ferjer" not in " ".join(load_index(settings.index_dir).documents["blandet"].pages)

    monkeypatch.setenv("PATH", real_path)  # OCR installed: the same file now counts as changed
    second = build_index(settings, embedder, progress=False)
    assert second.updated == ["blandet"]
    assert [n.action for n in second.notes] == ["lest med OCR (norsk)"]
    pages = load_index(settings.index_dir).documents["blandet"].pages
    assert "elektriske ferjer" in pages[1] and "sykkelveier" in pages[0]

    without_ocr_on_path(monkeypatch, tmp_path)  # an unchanged file is not read (or OCR'd) again
    third = build_index(settings, embedder, progress=False)
    assert third.unchanged == ["blandet"] and third.problems == []
    assert third.index_path == second.index_path


# --------------------------------------------------------------------------- the command


def test_index_command_prints_a_table_and_exit_code_says_if_files_were_skipped(
        tmp_path, e5_model_dir, seed_corpus):
    corpus = tmp_path / "corpus"
    shutil.copytree(seed_corpus, corpus)
    make_pdf(corpus / "havn.pdf", ["Oslo havn tar imot containere."])
    shutil.copy(corpus / "havn.pdf", corpus / "havn-kopi.pdf")
    (corpus / "tom.pdf").write_bytes(b"")
    encrypted_pdf(corpus / "passord.pdf", "hemmelig")
    (corpus / "notat.docx").write_bytes(b"PK\x03\x04")
    env = {**os.environ, "ASSISTANT_CACHE_DIR": str(e5_model_dir.parents[1])}
    command = [sys.executable, "-m", "assistant", "index", "--quiet",
               "--corpus", str(corpus), "--index", str(tmp_path / "index")]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 4, run.stderr
    rows = {line.split()[0]: line for line in run.stdout.splitlines()
            if line.strip().startswith(str(corpus))}
    assert set(rows) == {str(corpus / n) for n in
                         ("havn-kopi.pdf", "tom.pdf", "passord.pdf", "notat.docx")}
    assert "samme innhold som havn.pdf" in rows[str(corpus / "havn-kopi.pdf")]
    assert "filen er tom" in rows[str(corpus / "tom.pdf")]
    assert "uten passord" in rows[str(corpus / "passord.pdf")]
    assert "Fil" in run.stdout and "Problem" in run.stdout and "Tiltak" in run.stdout
    assert "I alt: 2 dokument(er) i indeksen, 4 fil(er) hoppet over (1 duplikat, " in run.stdout
    assert "Traceback" not in run.stderr

    for name in ("havn-kopi.pdf", "tom.pdf", "passord.pdf", "notat.docx"):
        (corpus / name).unlink()
    clean = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "uendret        2" in clean.stdout and "0 fil(er) hoppet over" in clean.stdout

#!/usr/bin/env python3
"""Mål hvor fort hvert filformat leses: sider (lysbilder) per sekund.

Lager et dokument på N sider av hvert format i en midlertidig mappe (Word med sideskift,
overskrifter og en tabell per side, PowerPoint med punkter, tabell og notater, N
nettsider med hele WordPress-rammen, PDF og tekst med sideskift), og leser hvert av dem
med ``load_document`` (lesing, opprydding og metadata, slik indekseringen gjør det).
Språkmodellen er ikke med: målet er at lesingen ikke skal bli flaskehalsen før den.

    python scripts/bench_formats.py            # 200 sider, beste av 3 runder
    python scripts/bench_formats.py --pages 50 --rounds 1
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

from assistant.cliparse import NorwegianArgumentParser
from assistant.documents import load_document

PARAGRAPH = ("Osloregionen arbeider for en bærekraftig utvikling av areal og transport i hele "
             "regionen, med vekt på knutepunkter, kollektivtrafikk og gods på sjø og bane. ")


def page_text(n: int) -> list[str]:
    return [f"Side {n}: " + PARAGRAPH * 3, PARAGRAPH * 2, f"Tiltak nummer {n} koster {n * 10}000 kroner."]


def make_docx(path: Path, pages: int) -> list[Path]:
    import docx
    from docx.enum.text import WD_BREAK

    document = docx.Document()
    for n in range(1, pages + 1):
        document.add_heading(f"Kapittel {n}", level=2)
        for text in page_text(n):
            document.add_paragraph(text)
        document.add_paragraph(f"Punkt {n} i listen", style="List Bullet")
        table = document.add_table(rows=3, cols=3)
        for r in range(3):
            for c in range(3):
                table.cell(r, c).text = f"rad {r} kolonne {c}"
        if n < pages:
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    document.save(str(path))
    return [path]


def make_pptx(path: Path, pages: int) -> list[Path]:
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    for n in range(1, pages + 1):
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = f"Lysbilde {n}"
        frame = slide.placeholders[1].text_frame
        for i, text in enumerate(page_text(n)):
            paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
            paragraph.text = text[:200]
            paragraph.level = i % 2
        table = slide.shapes.add_table(3, 3, Inches(1), Inches(5), Inches(6), Inches(1)).table
        for r in range(3):
            for c in range(3):
                table.cell(r, c).text = f"{r}/{c}"
        slide.notes_slide.notes_text_frame.text = f"Notat til lysbilde {n}. " + PARAGRAPH
    presentation.save(str(path))
    return [path]


def make_html(folder: Path, pages: int) -> list[Path]:
    from html import escape

    chrome_top = ('<a class="skip-link" href="#innhold">Hopp til innhold</a><div id="cookie-notice">'
                  "Vi bruker informasjonskapsler.</div><header><nav><ul>"
                  + "".join(f'<li><a href="/m{i}/">Meny {i}</a></li>' for i in range(12))
                  + '</ul></nav></header><nav class="breadcrumbs">Du er her: Forside › Nyheter</nav>')
    chrome_bottom = "<aside><h2>Siste nytt</h2><ul><li>Nyhet</li></ul></aside><footer>Postboks 1190</footer>"
    files = []
    for n in range(1, pages + 1):
        body = "".join(f"<p>{escape(t)}</p>" for t in page_text(n))
        html = (f'<!DOCTYPE html><html lang="nb"><head><meta charset="utf-8"><title>Side {n}</title>'
                f'<meta property="article:published_time" content="2024-01-{1 + n % 28:02d}"></head><body>'
                f'{chrome_top}<main id="innhold"><article><h1>Side {n}</h1>{body}'
                f"<h2>Mer</h2><ul><li>Punkt en</li><li>Punkt to</li></ul></article></main>"
                f"{chrome_bottom}</body></html>")
        path = folder / f"side-{n:04d}.html"
        path.write_text(html, encoding="utf-8")
        files.append(path)
    return files


def make_pdf(path: Path, pages: int) -> list[Path]:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    for n in range(1, pages + 1):
        y = 780
        pdf.setFont("Helvetica", 10)
        for text in page_text(n):
            for start in range(0, len(text), 95):
                pdf.drawString(60, y, text[start:start + 95])
                y -= 14
        pdf.showPage()
    pdf.save()
    return [path]


def make_txt(path: Path, pages: int) -> list[Path]:
    path.write_text("\f".join("\n\n".join(page_text(n)) for n in range(1, pages + 1)), encoding="utf-8")
    return [path]


def measure(files: list[Path], rounds: int) -> tuple[float, int]:
    """Best wall time of reading every file, and how many pages that gave."""
    best, pages = float("inf"), 0
    for _ in range(rounds):
        started = time.perf_counter()
        pages = sum(len(load_document(path).pages) for path in files)
        best = min(best, time.perf_counter() - started)
    return best, pages


def main(argv: list[str] | None = None) -> int:
    parser = NorwegianArgumentParser(prog="bench_formats.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=200, metavar="N", help="sider per format (standard: 200)")
    parser.add_argument("--rounds", type=int, default=3, metavar="N", help="runder; den beste teller (standard: 3)")
    args = parser.parse_args(argv)
    if args.pages < 1 or args.rounds < 1:
        parser.error("--pages og --rounds må være minst 1")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "html").mkdir()
        makers = [
            (".docx", lambda: make_docx(folder / "dokument.docx", args.pages)),
            (".pptx", lambda: make_pptx(folder / "presentasjon.pptx", args.pages)),
            (".html", lambda: make_html(folder / "html", args.pages)),
            (".pdf", lambda: make_pdf(folder / "rapport.pdf", args.pages)),
            (".txt", lambda: make_txt(folder / "tekst.txt", args.pages)),
        ]
        print(f"{args.pages} sider per format, beste av {args.rounds} runder, "
              f"{platform.processor() or platform.machine()}, Python {platform.python_version()}\n")
        print("| format | filer | sider | tid (s) | sider/s |")
        print("|---|--:|--:|--:|--:|")
        for suffix, make in makers:
            files = make()
            seconds, pages = measure(files, args.rounds)
            print(f"| {suffix} | {len(files)} | {pages} | {seconds:.2f} | {pages / seconds:,.0f} |"
                  .replace(",", "\u00a0"), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Real PDFs for tests, written with reportlab (Helvetica covers æøå)."""

from __future__ import annotations

from pathlib import Path


def make_pdf(path: Path, pages: list[str], title: str | None = None, author: str | None = None) -> Path:
    """A PDF with one page per item of ``pages``; lines of each item become text lines."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    if title:
        pdf.setTitle(title)
    if author:
        pdf.setAuthor(author)
    width, height = A4
    for text in pages:
        y = height - 72
        pdf.setFont("Helvetica", 11)
        for line in text.split("\n"):
            pdf.drawString(72, y, line)
            y -= 15
        pdf.showPage()
    pdf.save()
    return path

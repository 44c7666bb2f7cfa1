#!/usr/bin/env python3
"""Måler full bygging mot ny indeksering av et uendret korpus (mål: under 5 %).

Ny indeksering skal bare lese hva som er endret: uendrede filer gjenkjennes på
innholdshash og tas fra indeksen uten å leses, deles eller få nye vektorer. Uten
--corpus måles et korpus av seed-dokumentet og NorQuAD-utvalget i tests/data
(med --pdf skrevet som PDF-er, slik de fleste ekte dokumentene er).

Kjør fra rotmappen i repoet: ``python scripts/bench_reindex.py --help``.
Andre skript kan bruke :func:`measure_reindex` direkte.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent

from assistant.config import Settings
from assistant.indexer import build_index
from assistant.tables import markdown_table

TARGET = 0.05
NORQUAD_SAMPLE = _ROOT / "tests" / "data" / "norquad-sample.json"


def measure_reindex(corpus_dir: Path, index_dir: Path, embedder, repeats: int = 3) -> dict:
    """Time a full build (``--rebuild``) and then ``repeats`` re-indexings of the same corpus.

    Returns seconds for both (the re-index as the median of the repeats), their ratio,
    and what the re-index did (it should embed nothing and leave every document unchanged).
    """
    settings = Settings(corpus_dir=Path(corpus_dir), index_dir=Path(index_dir),
                        model=embedder.config)
    started = time.perf_counter()
    full = build_index(settings, embedder, rebuild=True, progress=False)
    full_seconds = time.perf_counter() - started
    times, again = [], None
    for _ in range(max(1, repeats)):
        started = time.perf_counter()
        again = build_index(settings, embedder, progress=False)
        times.append(time.perf_counter() - started)
    reindex_seconds = statistics.median(times)
    return {
        "documents": len(full.added) + len(full.updated) + len(full.unchanged),
        "pages": full.pages,
        "chunks": full.chunks,
        "skipped_files": len(full.problems),
        "full_seconds": full_seconds,
        "reindex_seconds": reindex_seconds,
        "reindex_runs": times,
        "ratio": reindex_seconds / full_seconds if full_seconds else float("nan"),
        "reindex_embedded_chunks": again.embedded_chunks,
        "reindex_unchanged": len(again.unchanged),
        "reindex_new_build": again.index_path != full.index_path,
    }


def sample_corpus(directory: Path, as_pdf: bool = False) -> Path:
    """The seed document and NorQuAD sample contexts as a corpus (optionally as PDFs)."""
    import shutil

    from assistant.norquad import convert

    directory.mkdir(parents=True, exist_ok=True)
    for path in (_ROOT / "corpus").glob("*"):
        if path.suffix in (".txt", ".md", ".pdf") or path.name.endswith(".meta.toml"):
            shutil.copy(path, directory / path.name)
    convert(NORQUAD_SAMPLE, directory, directory.parent / "gold.jsonl")
    if as_pdf:
        for text_file in directory.glob("norquad-*.txt"):
            _write_pdf(text_file.with_suffix(".pdf"), text_file.read_text(encoding="utf-8"))
            text_file.unlink()
    return directory


def _write_pdf(path: Path, text: str) -> None:
    """One PDF per context, wrapped to A4 (needs reportlab, a test dependency)."""
    import textwrap

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4)
    y = 800
    for paragraph in text.split("\n"):
        for line in textwrap.wrap(paragraph, 95) or [""]:
            if y < 60:
                pdf.showPage()
                y = 800
            pdf.setFont("Helvetica", 10)
            pdf.drawString(50, y, line)
            y -= 13
    pdf.showPage()
    pdf.save()


def _number(value: float, decimals: int = 2) -> str:
    return f"{value:.{decimals}f}".replace(".", ",")


def format_table(result: dict) -> str:
    """The measurements as a small Markdown table, in Norwegian number format."""
    ratio = result["ratio"]
    verdict = "innenfor målet" if ratio < TARGET else "OVER målet"
    rows = [
        ("Dokumenter / sider / tekstbiter",
         f"{result['documents']} / {result['pages']} / {result['chunks']}"),
        ("Full bygging (--rebuild)", f"{_number(result['full_seconds'])} s"),
        ("Ny indeksering, uendret korpus (median)", f"{_number(result['reindex_seconds'])} s"),
        ("Forhold", f"{_number(ratio * 100, 1)} % ({verdict} på {TARGET:.0%})".replace("%)", " %)")),
        ("Nye vektorer ved ny indeksering", str(result["reindex_embedded_chunks"])),
    ]
    return markdown_table(("Måling", "Resultat"), rows, align="ll")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench_reindex.py",
        description="Mål full bygging mot ny indeksering av et uendret korpus.")
    parser.add_argument("--corpus", type=Path, metavar="MAPPE",
                        help="korpus å måle (standard: seed + NorQuAD-utvalget i en midlertidig mappe)")
    parser.add_argument("--index", type=Path, metavar="MAPPE",
                        help="indeksmappe (standard: en midlertidig mappe; den bygges på nytt)")
    parser.add_argument("--pdf", action="store_true",
                        help="skriv NorQuAD-tekstene som PDF-er i standardkorpuset")
    parser.add_argument("--repeats", type=int, default=3,
                        help="antall nye indekseringer å ta medianen av (standard: 3)")
    args = parser.parse_args(argv)

    from assistant.embedding import Embedder

    settings = Settings.from_env()
    embedder = Embedder(settings.model, settings.models_dir)
    with tempfile.TemporaryDirectory(prefix="bench-reindex-") as work:
        corpus = args.corpus or sample_corpus(Path(work) / "corpus", as_pdf=args.pdf)
        index = args.index or Path(work) / "index"
        result = measure_reindex(corpus, index, embedder, repeats=args.repeats)
    print(format_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Scanned PDF pages → text, with Tesseract's Norwegian model.

Pages without a text layer are rasterised with poppler's ``pdftoppm`` and read with
``tesseract -l nor``, both as subprocesses with time limits, so a slow or broken page
costs at most a timeout and never the whole indexing. The tools are system packages
(``apt-get install tesseract-ocr tesseract-ocr-nor poppler-utils``); when they are
missing, :func:`find_tools` says so in one line that tells how to install them.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .oserror import reason

LANGUAGE = "nor"
DPI = 300
#: Seconds allowed to rasterise one page and to read one page.
RASTER_TIMEOUT = 120
READ_TIMEOUT = 180
INSTALL_TESSERACT = "apt-get install tesseract-ocr tesseract-ocr-nor"
INSTALL_POPPLER = "apt-get install poppler-utils"


class OcrUnavailable(Exception):
    """OCR cannot run on this machine: ``reason`` and ``fix`` (how to install), in Norwegian."""

    def __init__(self, reason: str, fix: str):
        super().__init__(f"{reason} – {fix}")
        self.reason = reason
        self.fix = fix


class OcrFailed(Exception):
    """One page could not be read (timeout or tool error); the message is Norwegian."""


@dataclass(frozen=True)
class OcrTools:
    tesseract: str
    pdftoppm: str
    language: str = LANGUAGE


def find_tools(language: str = LANGUAGE) -> OcrTools:
    """The OCR programs on PATH, checked once per PATH/TESSDATA_PREFIX (raises OcrUnavailable)."""
    return _find_tools(os.environ.get("PATH", ""), os.environ.get("TESSDATA_PREFIX", ""), language)


@functools.lru_cache(maxsize=8)
def _find_tools(path_env: str, tessdata: str, language: str) -> OcrTools:
    tesseract = shutil.which("tesseract", path=path_env)
    if tesseract is None:
        raise OcrUnavailable("OCR-programmet tesseract mangler", f"installer med: {INSTALL_TESSERACT}")
    try:
        listed = subprocess.run([tesseract, "--list-langs"], capture_output=True, text=True,
                                timeout=30, env=_tool_env())
    except (OSError, subprocess.SubprocessError) as exc:
        raise OcrUnavailable(f"tesseract kan ikke startes ({exc})",
                             f"installer på nytt med: {INSTALL_TESSERACT}") from exc
    languages = {line.strip() for line in (listed.stdout + listed.stderr).splitlines()}
    if language not in languages:
        raise OcrUnavailable(f"norsk språkpakke for tesseract («{language}») mangler",
                             f"installer med: {INSTALL_TESSERACT}")
    pdftoppm = shutil.which("pdftoppm", path=path_env)
    if pdftoppm is None:
        raise OcrUnavailable("pdftoppm (for OCR) mangler", f"installer med: {INSTALL_POPPLER}")
    return OcrTools(tesseract=tesseract, pdftoppm=pdftoppm, language=language)


def _tool_env() -> dict[str, str]:
    """One thread per tesseract: indexing shares the CPU, and OpenMP threads barely help."""
    return {"OMP_THREAD_LIMIT": "1", **os.environ}


def _run(command: list[str], timeout: int, what: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, env=_tool_env())
    except subprocess.TimeoutExpired as exc:
        raise OcrFailed(f"{what} tok mer enn {timeout} s") from exc
    except OSError as exc:
        raise OcrFailed(f"{what} kunne ikke startes ({reason(exc)})") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OcrFailed(f"{what} feilet ({message[-1] if message else done.returncode})")
    return done.stdout.decode("utf-8", "replace")


def ocr_pdf_page(pdf: Path, page_number: int, tools: OcrTools, dpi: int = DPI) -> str:
    """The text Tesseract reads on page ``page_number`` (1-based) of ``pdf``."""
    with tempfile.TemporaryDirectory(prefix="assistant-ocr-") as work:
        prefix = Path(work) / "side"
        _run([tools.pdftoppm, "-r", str(dpi), "-png", "-f", str(page_number),
              "-l", str(page_number), "-singlefile", str(pdf), str(prefix)],
             RASTER_TIMEOUT, "rasteriseringen (pdftoppm)")
        image = prefix.with_suffix(".png")
        if not image.exists():
            raise OcrFailed("pdftoppm laget ikke noe bilde av siden")
        return _run([tools.tesseract, str(image), "-", "-l", tools.language],
                    READ_TIMEOUT, "tekstgjenkjenningen (tesseract)")

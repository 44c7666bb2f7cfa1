"""PDF pages as the viewer shows them: an image from poppler and the words' boxes on it.

``pdftoppm`` renders one page to PNG and ``pdftotext -bbox-layout`` gives the page's word
boxes; both are cached on disk, keyed by the document's content hash and the page, so a
page is rendered once however often it is viewed, and a changed file never shows an old
page. The cache is bounded: the oldest files go first. Rendering happens in a temporary
file that is renamed into place, so two requests for the same page never see half a PNG.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from .config import ViewerConfig
from .wordboxes import PageLayout, Word, parse_bbox_layout

PDFTOPPM = "pdftoppm"
PDFTOTEXT = "pdftotext"


class PageUnavailable(Exception):
    """A page image could not be made (poppler missing, failing or too slow)."""


@dataclass(frozen=True)
class PageImage:
    """A rendered page: the PNG file and its size in pixels."""

    path: Path
    width: int
    height: int


def poppler_available() -> bool:
    """Whether poppler's tools are installed (Debian: ``apt-get install poppler-utils``)."""
    return shutil.which(PDFTOPPM) is not None and shutil.which(PDFTOTEXT) is not None


@dataclass(frozen=True)
class PdfPages:
    """Renders and caches pages of the corpus PDFs under ``cache_dir``."""

    cache_dir: Path
    config: ViewerConfig

    def image(self, pdf: Path, content_hash: str, page: int) -> PageImage:
        """The page as PNG, rendered now or taken from the cache."""
        target = self._entry(content_hash, page, f"{self.config.page_width_px}.png")
        if not target.exists():
            self._write(target, lambda out: self._render(pdf, page, out))
        return PageImage(target, *png_size(target))

    def layout(self, pdf: Path, content_hash: str, page: int) -> PageLayout:
        """The page's size and word boxes (PDF points), from pdftotext or the cache."""
        target = self._entry(content_hash, page, "ord.json")
        if target.exists():
            try:
                return _layout_from_json(target.read_text(encoding="utf-8"))
            except (ValueError, KeyError, TypeError):
                pass  # damaged entry: made again below
        layout = self._words(pdf, page)
        self._write(target, lambda out: out.write_text(
            json.dumps(asdict(layout), ensure_ascii=False), encoding="utf-8"))
        return layout

    # ----------------------------------------------------------------- poppler

    def _render(self, pdf: Path, page: int, out: Path) -> None:
        prefix = out.with_suffix("")
        self._run([PDFTOPPM, "-f", str(page), "-l", str(page), "-png", "-singlefile",
                   "-scale-to-x", str(self.config.page_width_px), "-scale-to-y", "-1",
                   str(pdf), str(prefix)])
        rendered = prefix.with_suffix(".png")
        if not rendered.exists():
            raise PageUnavailable("pdftoppm laget ikke noe bilde")
        if rendered != out:
            os.replace(rendered, out)

    def _words(self, pdf: Path, page: int) -> PageLayout:
        result = self._run([PDFTOTEXT, "-f", str(page), "-l", str(page), "-bbox-layout",
                            str(pdf), "-"])
        try:
            layout = parse_bbox_layout(result.decode("utf-8", errors="replace"))
        except Exception as error:  # ET.ParseError and friends: poppler wrote nonsense
            raise PageUnavailable(f"pdftotext ga uleselig utdata: {error}") from error
        if layout is None:
            raise PageUnavailable("pdftotext fant ikke siden")
        return layout

    def _run(self, command: list[str]) -> bytes:
        if not poppler_available():
            raise PageUnavailable("poppler-utils er ikke installert")
        try:
            done = subprocess.run(command, capture_output=True, timeout=self.config.render_timeout_s,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise PageUnavailable(str(error)) from error
        if done.returncode != 0:
            raise PageUnavailable(done.stderr.decode("utf-8", errors="replace").strip()[:200])
        return done.stdout

    # ----------------------------------------------------------------- cache

    def _entry(self, content_hash: str, page: int, suffix: str) -> Path:
        """The cache file for a page; the hash is hex from the index, never from a request."""
        safe = "".join(c for c in content_hash if c.isalnum())[:64] or "ukjent"
        return self.cache_dir / f"{safe}-{page}-{suffix}"

    def _write(self, target: Path, make) -> None:
        """Make ``target`` in a temporary file beside it, rename it in, then prune."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.cache_dir, prefix=".lager-") as work:
            scratch = Path(work) / target.name
            make(scratch)
            os.replace(scratch, target)
        self._prune()

    def _prune(self) -> None:
        """Keep at most ``cache_max_files`` files, removing the least recently written."""
        files = [p for p in self.cache_dir.iterdir() if p.is_file()]
        excess = len(files) - self.config.cache_max_files
        if excess <= 0:
            return
        def written(path: Path) -> float:
            try:
                return path.stat().st_mtime
            except OSError:
                return 0.0
        for path in sorted(files, key=written)[:excess]:
            path.unlink(missing_ok=True)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header (the IHDR chunk right after the signature)."""
    with path.open("rb") as handle:
        header = handle.read(24)
    if len(header) < 24 or header[:8] != b"\x89PNG\r\n\x1a\n":
        raise PageUnavailable("bildet er ikke en PNG")
    return struct.unpack(">II", header[16:24])


def _layout_from_json(text: str) -> PageLayout:
    data = json.loads(text)
    return PageLayout(float(data["width"]), float(data["height"]),
                      tuple(Word(**word) for word in data["words"]))

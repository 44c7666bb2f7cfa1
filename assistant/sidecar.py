"""The ``<stem>.meta.toml`` sidecar: a document's metadata in a file next to it.

One module for both directions, so that what :mod:`assistant.fetch`, the crawler and the
NorQuAD converter write is exactly what :mod:`assistant.documents` reads. Reading uses
``tomllib``; writing uses ``tomli-w`` (the standard library has no TOML writer). Both sides
accept a UTF-8 byte-order mark, which Windows editors like to add.
"""

from __future__ import annotations

import os
import tempfile
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

import tomli_w

META_SUFFIX = ".meta.toml"
_BOM = "\ufeff"


class SidecarError(ValueError):
    """A sidecar exists but cannot be read; the Norwegian message names the file."""


def sidecar_path(path: Path) -> Path:
    """Where the sidecar of the document file ``path`` is (``rapport.pdf`` → ``rapport.meta.toml``)."""
    return path.with_name(path.stem + META_SUFFIX)


def read_sidecar(path: Path) -> dict:
    """The sidecar of the document ``path`` as a dict (empty when there is none).

    Raises :class:`SidecarError` for a file that is not UTF-8 or not valid TOML.
    """
    sidecar = sidecar_path(path)
    if not sidecar.exists():
        return {}
    try:
        text = sidecar.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SidecarError(
            f"ugyldig metadatafil {sidecar.name}: filen er ikke lagret som UTF-8 ({exc.reason})"
        ) from exc
    try:
        return tomllib.loads(text.removeprefix(_BOM))
    except tomllib.TOMLDecodeError as exc:
        raise SidecarError(f"ugyldig metadatafil {sidecar.name}: {exc}") from exc


def _plain(value: Any) -> Any:
    """A value tomli-w can write: paths as text, tuples as lists, datetimes kept."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise ValueError(f"kan ikke skrive {value!r} som TOML")
    if isinstance(value, (str, bool, int, float, date, datetime)):
        return value
    raise TypeError(f"kan ikke skrive verdier av typen {type(value).__name__} som TOML")


def dumps_meta_toml(meta: Mapping[str, Any]) -> str:
    """Flat ``key = value`` TOML for a sidecar; keys keep their order, ``None`` is left out."""
    return tomli_w.dumps({key: _plain(value) for key, value in meta.items() if value is not None})


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a hidden temporary file and a rename, so that a
    reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_meta_toml(path: str | os.PathLike[str], meta: Mapping[str, Any]) -> None:
    """Write a sidecar metadata file atomically (temporary file, then rename)."""
    atomic_write_bytes(Path(path), dumps_meta_toml(meta).encode("utf-8"))

"""The .meta.toml sidecar: one module reads and writes it (assistant/sidecar.py)."""

from __future__ import annotations

import tomllib

import pytest

from assistant.documents import DocumentError, load_document
from assistant.sidecar import (
    SidecarError,
    dumps_meta_toml,
    read_sidecar,
    sidecar_path,
    write_meta_toml,
)


def test_written_sidecar_is_read_back_the_same(tmp_path):
    document = tmp_path / "rapport.pdf"
    meta = {"title": 'Rapport «sjø» og "bane"\nmed linjeskift', "year": 2020, "date": None,
            "url": "https://www.osloregionen.no/r.pdf", "visibility": "public"}
    write_meta_toml(sidecar_path(document), meta)
    assert sidecar_path(document).name == "rapport.meta.toml"
    assert read_sidecar(document) == {k: v for k, v in meta.items() if v is not None}
    assert tomllib.loads(dumps_meta_toml(meta))["year"] == 2020


def test_sidecar_with_byte_order_mark_is_read(tmp_path):
    document = tmp_path / "notat.txt"
    document.write_text("Styret møtes i Drammen.", encoding="utf-8")
    sidecar_path(document).write_bytes('\ufefftitle = "Notat fra Notisblokk"\nyear = 2023\n'.encode("utf-8"))
    assert read_sidecar(document) == {"title": "Notat fra Notisblokk", "year": 2023}
    assert load_document(document).meta.title == "Notat fra Notisblokk"


def test_sidecar_that_is_not_utf8_names_the_file(tmp_path):
    document = tmp_path / "notat.txt"
    document.write_text("Tekst.", encoding="utf-8")
    sidecar_path(document).write_bytes('title = "Bl\xe5b\xe6r"\n'.encode("latin-1"))
    with pytest.raises(SidecarError, match="notat.meta.toml.*UTF-8"):
        read_sidecar(document)
    with pytest.raises(DocumentError, match="ugyldig metadatafil notat.meta.toml"):
        load_document(document)


def test_unwritable_values_are_refused():
    with pytest.raises(TypeError):
        dumps_meta_toml({"title": object()})
    with pytest.raises(ValueError):
        dumps_meta_toml({"score": float("nan")})

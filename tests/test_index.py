import json
import shutil

import pytest

from assistant.config import ModelConfig, Settings
from assistant.index import (
    IndexDamaged,
    IndexLocked,
    IndexMismatch,
    IndexMissing,
    build_index,
    build_lock,
    load_index,
)
from tests.pdfs import make_pdf


@pytest.fixture()
def corpus(tmp_path, seed_corpus):
    directory = tmp_path / "corpus"
    shutil.copytree(seed_corpus, directory)
    make_pdf(directory / "havn.pdf", ["Oslo havn tar imot containere.", "Havna får landstrøm i 2025."])
    return directory


@pytest.fixture()
def settings(tmp_path, corpus):
    return Settings(corpus_dir=corpus, index_dir=tmp_path / "index")


def test_build_writes_manifest_and_loads_back(settings, embedder):
    report = build_index(settings, embedder, progress=False)
    assert sorted(report.added) == ["havn", "osloregionen-gront-landtransportprogram"]
    index = load_index(settings.index_dir, settings)
    manifest = index.manifest
    assert manifest["model"] == settings.model.name
    assert manifest["dimension"] == embedder.dimension == index.vectors.d
    assert manifest["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert manifest["chunking"]["max_tokens"] == settings.chunking.max_tokens
    assert len(manifest["corpus_fingerprint"]) == 64 and manifest["built_at"]
    assert index.vectors.ntotal == len(index.chunks) == manifest["chunks"] == report.chunks
    assert {c.doc_id for c in index.chunks} == {"havn", "osloregionen-gront-landtransportprogram"}


def test_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(IndexMissing, match="python -m assistant index"):
        load_index(tmp_path / "ingen")


def test_index_built_with_other_model_must_be_rebuilt(settings, embedder):
    build_index(settings, embedder, progress=False)
    other = settings.with_(model=ModelConfig(name="intfloat/multilingual-e5-base"))
    with pytest.raises(IndexMismatch, match="index --rebuild"):
        load_index(settings.index_dir, other)


@pytest.mark.parametrize("damage", ["truncate", "delete", "garble-manifest"])
def test_damaged_index_says_rebuild(settings, embedder, damage):
    report = build_index(settings, embedder, progress=False)
    build = report.index_path
    if damage == "truncate":
        data = (build / "chunks.jsonl").read_bytes()
        (build / "chunks.jsonl").write_bytes(data[: len(data) // 2])
    elif damage == "delete":
        (build / "vectors.faiss").unlink()
    else:
        (build / "manifest.json").write_text("{ikke json", encoding="utf-8")
    with pytest.raises(IndexDamaged, match="index --rebuild"):
        load_index(settings.index_dir, settings)


def test_reindex_embeds_only_what_changed(settings, embedder, corpus):
    first = build_index(settings, embedder, progress=False)
    again = build_index(settings, embedder, progress=False)
    assert again.embedded_chunks == 0
    assert sorted(again.unchanged) == ["havn", "osloregionen-gront-landtransportprogram"]
    assert again.index_path == first.index_path

    make_pdf(corpus / "havn.pdf", ["Oslo havn tar imot containere.", "Havna får landstrøm i 2026."])
    (corpus / "ny.txt").write_text("Sykkelveier i Follo.", encoding="utf-8")
    changed = build_index(settings, embedder, progress=False)
    assert (changed.added, changed.updated) == (["ny"], ["havn"])
    assert changed.unchanged == ["osloregionen-gront-landtransportprogram"]
    seed_chunks = sum(1 for c in load_index(settings.index_dir).chunks
                      if c.doc_id == "osloregionen-gront-landtransportprogram")
    assert changed.embedded_chunks == changed.chunks - seed_chunks

    (corpus / "ny.txt").unlink()
    removed = build_index(settings, embedder, progress=False)
    assert removed.removed == ["ny"] and removed.embedded_chunks == 0
    index = load_index(settings.index_dir, settings)
    assert "ny" not in index.documents
    assert any("2026" in c.text for c in index.chunks)


def test_second_concurrent_build_is_refused(settings, embedder):
    with build_lock(settings.index_dir):
        with pytest.raises(IndexLocked, match="pågår allerede"):
            build_index(settings, embedder, progress=False)


def test_stored_documents_keep_metadata_and_pages(settings, embedder):
    build_index(settings, embedder, progress=False)
    index = load_index(settings.index_dir, settings)
    seed = index.documents["osloregionen-gront-landtransportprogram"]
    assert seed.meta.year == 2022 and len(seed.pages) == 7
    havn = index.documents["havn"]
    assert havn.kind == "pdf" and havn.pages[1].startswith("Havna får landstrøm")
    manifest = json.loads((index.path / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["checksums"]) == {"documents.json", "chunks.jsonl", "vectors.faiss"}

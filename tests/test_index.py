import hashlib
import json
import shutil

import pytest

from assistant.config import ModelConfig, Settings
from assistant.indexer import build_index
from assistant.store import (
    IndexDamaged,
    IndexLocked,
    IndexMismatch,
    IndexMissing,
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


def test_an_index_cut_by_older_sentence_rules_is_cut_again_without_embedding(settings, embedder):
    from assistant.chunking import SENTENCE_RULES

    first = build_index(settings, embedder, progress=False)
    sentences = [c.sentences for c in load_index(settings.index_dir, settings).chunks]
    # What an index from before the current rules looks like: each chunk one "sentence"
    # (and a manifest without this version of the rules).
    build = first.index_path
    rows = [json.loads(line) for line in (build / "chunks.jsonl").read_text("utf-8").splitlines()]
    for row in rows:
        spans = row["sentences"]
        row["sentences"] = [[spans[0][0], spans[0][1], spans[-1][2], 0, len(row["text"])]]
    (build / "chunks.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                                for r in rows), encoding="utf-8")
    manifest = json.loads((build / "manifest.json").read_text("utf-8"))
    manifest["checksums"]["chunks.jsonl"] = hashlib.sha256(
        (build / "chunks.jsonl").read_bytes()).hexdigest()
    del manifest["sentence_rules"]
    (build / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert all(len(c.sentences) == 1 for c in load_index(settings.index_dir, settings).chunks)

    again = build_index(settings, embedder, progress=False)
    assert again.index_path != build and again.embedded_chunks == 0
    index = load_index(settings.index_dir, settings)
    assert index.manifest["sentence_rules"] == SENTENCE_RULES
    assert [c.sentences for c in index.chunks] == sentences


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


# --------------------------------------------------------------------------- atomic swap

import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from assistant.indexer import IndexEmpty  # noqa: E402
from assistant.norquad import convert  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.store import BUILDS, PARTIAL, current_build  # noqa: E402

NORQUAD_SAMPLE = Path(__file__).resolve().parent / "data" / "norquad-sample.json"
QUESTION = "Hvor mange kommuner er med i Osloregionen?"


def partial_builds(index_dir: Path) -> list[Path]:
    return sorted((index_dir / BUILDS).glob(f"{PARTIAL}*"))


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"ventet {timeout} s på {what}")
        time.sleep(0.1)


class StderrReader(threading.Thread):
    """Collects a child's stderr as it comes (progress bars end lines with \\r, not \\n)."""

    def __init__(self, stream):
        super().__init__(daemon=True)
        self.stream, self.text = stream, ""

    def run(self):
        for block in iter(lambda: os.read(self.stream.fileno(), 4096), b""):
            self.text += block.decode("utf-8", "replace")


def test_killed_rebuild_leaves_previous_index_and_a_second_build_is_refused(
        settings, embedder, corpus, e5_model_dir):
    first = build_index(settings, embedder, progress=False)
    before = Assistant(settings, embedder).ask(QUESTION).to_json()
    assert before["found"]
    convert(NORQUAD_SAMPLE, corpus, settings.index_dir.parent / "gold.jsonl")  # ~200 chunks more

    env = {**os.environ, "ASSISTANT_CACHE_DIR": str(e5_model_dir.parents[1])}
    command = [sys.executable, "-m", "assistant", "index",
               "--corpus", str(corpus), "--index", str(settings.index_dir)]
    rebuild = subprocess.Popen([*command, "--rebuild"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env=env)
    progress = StderrReader(rebuild.stderr)
    progress.start()
    try:
        wait_for(lambda: partial_builds(settings.index_dir), 180, "at bygget startet")
        second = subprocess.run([*command, "--quiet"], capture_output=True, text=True, env=env,
                                timeout=300)
        assert second.returncode == 1
        assert "pågår allerede" in second.stderr and f"(prosess {rebuild.pid})" in second.stderr
        wait_for(lambda: "Batches" in progress.text, 180, "at vektorene ble laget")
        assert rebuild.poll() is None, "bygget ble ferdig før det kunne drepes"
    finally:
        rebuild.send_signal(signal.SIGKILL)
        rebuild.wait(timeout=60)
    assert rebuild.returncode == -signal.SIGKILL

    [leftover] = partial_builds(settings.index_dir)
    assert current_build(settings.index_dir) == first.index_path
    assert Assistant(settings, embedder).ask(QUESTION).to_json() == before

    for path in corpus.glob("norquad-*"):
        path.unlink()
    after = build_index(settings, embedder, progress=False)
    assert after.cleaned == [leftover.name] and not leftover.exists()
    assert after.index_path == first.index_path and after.embedded_chunks == 0


def test_serving_continues_during_a_rebuild_and_the_new_index_is_used_without_restart(
        settings, embedder, corpus, e5_model_dir):
    from sentence_transformers import SentenceTransformer

    from assistant.config import ModelConfig
    from assistant.embedding import Embedder

    assistant = Assistant(settings, embedder)
    assistant.build(progress=False)
    old_build = assistant.index.path
    assert assistant.ask(QUESTION).found

    # The build runs as `python -m assistant index` would: with its own copy of the model.
    builder = Embedder(ModelConfig(), e5_model_dir.parent,
                       model=SentenceTransformer(str(e5_model_dir), device="cpu"),
                       use_onnx=False)  # builds only: passages are float32 sentence-transformers
    (corpus / "ferjer.txt").write_text(
        "Ferjesambandet Moss–Horten fikk elektriske ferjer i 2021.", encoding="utf-8")
    convert(NORQUAD_SAMPLE, corpus, settings.index_dir.parent / "gold.jsonl", limit=8)
    failures: list[BaseException] = []

    def rebuild():
        try:
            build_index(settings, builder, progress=False)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    thread = threading.Thread(target=rebuild)
    thread.start()
    questions = [QUESTION, "Hva er det høyeste organet i Osloregionen?", "Når ble Osloregionen etablert?"]
    answered = 0
    while True:  # answers may come from the cache, searches always search
        question = questions[answered % len(questions)]
        answer = assistant.ask(question)
        assert answer.found and answer.citations[0].doc_id == "osloregionen-gront-landtransportprogram"
        assert assistant.search(question, k=3).hits
        answered += 1
        if not thread.is_alive():
            break
    thread.join()
    assert not failures
    assert answered > 3  # the questions really overlapped the build

    answer = assistant.ask("Når fikk ferjesambandet Moss–Horten elektriske ferjer?")
    assert answer.found and answer.citations[0].doc_id == "ferjer"
    assert assistant.index.path != old_build


def test_a_swap_keeps_the_replaced_build_and_removes_older_ones(settings, embedder, corpus):
    built = []
    for year in (2024, 2025, 2026):
        make_pdf(corpus / "havn.pdf", [f"Havna får landstrøm i {year}."])
        built.append(build_index(settings, embedder, progress=False).index_path)
    remaining = sorted(p.name for p in (settings.index_dir / BUILDS).iterdir())
    assert remaining == sorted(p.name for p in built[1:])
    assert current_build(settings.index_dir) == built[2]


def test_corpus_with_nothing_indexable_leaves_the_index_alone(settings, embedder, corpus):
    first = build_index(settings, embedder, progress=False)
    for path in list(corpus.iterdir()):
        path.unlink()
    (corpus / "tom.pdf").write_bytes(b"")
    with pytest.raises(IndexEmpty, match="Fant ingen tekst å indeksere.*tom.pdf: filen er tom"):
        build_index(settings, embedder, progress=False, rebuild=True)
    assert current_build(settings.index_dir) == first.index_path
    assert not partial_builds(settings.index_dir)


def test_a_build_killed_between_rename_and_swap_is_removed_by_the_next(settings, embedder):
    first = build_index(settings, embedder, progress=False)
    # What a kill -9 after os.rename(partial, build) and before swap_current leaves: a
    # complete build, newer than current, that nothing points at.
    orphan = first.index_path.with_name(first.index_path.name[:8] + "T999999-000000000")
    shutil.copytree(first.index_path, orphan)
    again = build_index(settings, embedder, progress=False)
    assert again.cleaned == [orphan.name] and not orphan.exists()
    assert current_build(settings.index_dir) == first.index_path


def test_a_lost_current_link_is_recovered_without_rebuilding(settings, embedder, e5_model_dir):
    first = build_index(settings, embedder, progress=False)
    (settings.index_dir / "current").unlink()
    env = {**os.environ, "ASSISTANT_CACHE_DIR": str(e5_model_dir.parents[1])}
    result = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", QUESTION, "--json", "--corpus",
         str(settings.corpus_dir), "--index", str(settings.index_dir)],
        capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["found"] is True
    assert "manglet" in result.stderr and "Indeksering ferdig" not in result.stderr
    assert current_build(settings.index_dir) == first.index_path

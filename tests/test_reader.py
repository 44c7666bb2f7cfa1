"""The reader: adapter arithmetic, weights on disk, pairs, and the ONNX export on the real model."""

import numpy as np
import pytest

from assistant.onnx_encoder import plain_tokenizer
from assistant.reader import (
    INT8_PRODUCTS,
    MAX_LENGTH,
    MODEL_FILE,
    POOLINGS,
    CrossEncoderReader,
    ReaderGroup,
    ReaderWeights,
    TorchReader,
    _padded,
    adapter_weights,
    add_adapters,
    cross_encoder,
    default_weights,
    fit_reader,
    merged,
    pair_ids,
)


def _tokenizer(e5_model_dir):
    return plain_tokenizer(e5_model_dir / "tokenizer.json")


def test_weights_round_trip_and_new_weights_get_a_new_digest(tmp_path):
    rng = np.random.default_rng(0)
    weights = ReaderWeights({"0.x.a": rng.normal(size=(2, 3)).astype(np.float32),
                             "head.bias": np.zeros(1, dtype=np.float32)}, trained_on="test")
    weights.save(tmp_path / "r.npz")
    loaded = ReaderWeights.load(tmp_path / "r.npz")
    assert loaded.meta() == weights.meta()
    np.testing.assert_allclose(loaded.tensors["0.x.a"], weights.tensors["0.x.a"], atol=1e-3)  # fp16
    assert loaded.digest == weights.digest
    changed = ReaderWeights({**weights.tensors, "head.bias": np.ones(1, dtype=np.float32)})
    assert changed.digest != weights.digest
    mean = ReaderWeights(weights.tensors, trained_on="test", pooling="mean")
    mean.save(tmp_path / "m.npz")
    assert ReaderWeights.load(tmp_path / "m.npz").pooling == "mean"
    assert mean.digest != weights.digest  # reads other vectors: another export


def test_the_shipped_weights_are_small_and_fit_the_code():
    weights = default_weights()
    assert weights.tensors["head.weight"].shape == (1, 384)
    n = sum(t.size for t in weights.tensors.values())
    assert n * 2 < 2_000_000  # fp16 on disk, before compression: well under the 5 MB budget
    assert "NorQuAD" in weights.trained_on


def test_a_pair_keeps_the_question_and_cuts_a_long_sentence(e5_model_dir):
    tokenizer = _tokenizer(e5_model_dir)
    question = "Hvem lagde veilederen for energistasjoner?"
    ids = pair_ids(tokenizer, question, "ord " * 500)
    assert len(ids) == MAX_LENGTH
    tokens = tokenizer.decode(ids, skip_special_tokens=True)
    assert tokens.startswith("query: " + question)
    short = pair_ids(tokenizer, question, "Norconsult lagde den.")
    assert tokenizer.decode(short, skip_special_tokens=True).endswith("passage: Norconsult lagde den.")
    assert short.count(2) == 3  # </s> after the question (twice) and at the end


def test_the_reader_reads_a_bullet_as_it_is_quoted(e5_model_dir):
    """A slide's wrapped bullet is read as the one line the user sees, without "•":
    the reader learned on news and Wikipedia sentences."""
    tokenizer = _tokenizer(e5_model_dir)
    question = "Når ble Osloregionen etablert?"
    assert (pair_ids(tokenizer, question, "• Etablert \n i  2004")
            == pair_ids(tokenizer, question, "Etablert i 2004"))


def _untrained_but_not_zero(e5_model_dir, pooling: str, seed: int):
    """A two-layer reader with small random adapters and head: B and the head start at
    zero, and a reader that scores every pair 0 cannot show a difference."""
    import torch

    model = cross_encoder(e5_model_dir, layers=2, pooling=pooling)
    trainable = add_adapters(model, seed=seed + 1)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in [*trainable, *model.head.parameters()]:
            p.add_(torch.randn(p.shape, generator=generator) * 0.05)
    return model


@pytest.mark.parametrize("pooling", POOLINGS)
def test_merging_the_adapter_gives_the_scores_of_the_adapter_itself(e5_model_dir, pooling):
    """The product runs W + s·BA folded into W, one pair at a time; training runs W and BA
    apart, on padded batches. Padding must not change a score."""
    import torch

    model = _untrained_but_not_zero(e5_model_dir, pooling, seed=0)
    tokenizer = _tokenizer(e5_model_dir)
    rows = [pair_ids(tokenizer, "Når ble strategien vedtatt?", s)
            for s in ("I mai 2016 ble strategien vedtatt.", "Regionen har 64 kommuner.")]
    ids, mask = _padded(rows)
    with torch.inference_mode():
        expected = model(ids, mask).numpy()
    weights = adapter_weights(model)
    product = merged(e5_model_dir, weights)
    with torch.inference_mode():
        got = product(ids, mask).numpy()
        alone = [float(product(*_padded([row]))[0]) for row in rows]
    np.testing.assert_allclose(got, expected, atol=1e-4)
    np.testing.assert_allclose(alone, expected, atol=1e-4)
    assert abs(expected[0] - expected[1]) > 1e-4  # the scores differ: the test can fail


def test_a_reader_learns_with_the_layers_rank_and_pooling_asked_for(e5_model_dir):
    """The training script's ``--layers`` and ``--pooling mean_norm`` reach the model that
    is learned and the weights that are saved, and the reader does learn: before training
    every sentence scores alike (the head starts at zero), after it the answer comes first."""
    groups = [
        ReaderGroup("Når ble strategien vedtatt?",
                    ["Strategien ble vedtatt i mai 2016.", "Strategien handler om transport.",
                     "Regionen har 64 kommuner."], [True, False, False]),
        ReaderGroup("Hvor mange kommuner er med?",
                    ["Strategien ble vedtatt i mai 2016.", "Regionen har 64 kommuner.",
                     "Kommunene samarbeider om gods."], [False, True, False]),
    ]
    weights = fit_reader(groups, e5_model_dir, epochs=15, layers=2, rank=4, pooling="mean_norm",
                         lr=5e-3, head_lr=5e-2, progress=False, trained_on="test")
    assert (weights.layers, weights.rank, weights.pooling) == (2, 4, "mean_norm")
    assert weights.tensors["1.output.dense.a"].shape[0] == 4
    assert not any(name.startswith("2.") for name in weights.tensors)
    reader = TorchReader(e5_model_dir, weights)
    for g in groups:
        scores = reader.score(g.question, g.sentences)
        assert int(np.argmax(scores)) == g.labels.index(True), (g.question, scores)


def test_a_reader_on_the_normalised_mean_is_exported_and_scores_as_in_torch(e5_model_dir, tmp_path):
    """The export traces the model with a dynamic number of tokens: the normalisation must
    not depend on a traced shape (it once did, and the export failed)."""
    weights = adapter_weights(_untrained_but_not_zero(e5_model_dir, "mean_norm", seed=1))
    sentences = ["Strategien ble vedtatt i mai 2016.", "Regionen har 64 kommuner i dag.",
                 "Kommunene samarbeider om gods og logistikk i hele Osloregionen."]
    question = "Når ble strategien vedtatt?"
    onnx = CrossEncoderReader(e5_model_dir.parent, weights, export_dir=tmp_path).score(question, sentences)
    expected = TorchReader(e5_model_dir, weights).score(question, sentences)
    np.testing.assert_allclose(onnx, expected, atol=0.05)  # int8 word-embedding lookup only
    assert np.ptp(expected) > 0.05  # the scores differ: the comparison can fail


def test_loading_the_reader_prints_no_weight_report(e5_model_dir, capfd):
    """A new user's first answer exports the reader; nothing about weights the reader does
    not use may reach their terminal."""
    model = cross_encoder(e5_model_dir, layers=2)
    assert model.transformer.pooler is None
    err = capfd.readouterr().err
    assert "UNEXPECTED" not in err and "LOAD REPORT" not in err, err


@pytest.fixture(scope="module")
def reader(e5_model_dir):
    return CrossEncoderReader(e5_model_dir.parent).warm_up()


def test_the_onnx_reader_scores_like_torch(reader, e5_model_dir):
    sentences = ["Veilederen for energistasjoner ble laget av Norconsult på oppdrag fra Osloregionen.",
                 "Veilederen ble lansert på et frokostmøte i juni.",
                 "Osloregionen er et interkommunalt politisk råd."]
    question = "Hvem lagde veilederen for energistasjoner?"
    onnx = reader.score(question, sentences)
    torch_scores = TorchReader(e5_model_dir, default_weights()).score(question, sentences)
    # int8 products move a score by 0.07 on average; the sentences here are ≥ 1 apart.
    np.testing.assert_allclose(onnx, torch_scores, atol=0.3)
    assert list(np.argsort(onnx)) == list(np.argsort(torch_scores))
    assert int(np.argmax(onnx)) == 0
    assert reader.score(question, []).shape == (0,)


def test_the_int8_products_give_the_same_integers_on_every_cpu(reader):
    """On a CPU without VNNI the int8 kernel adds two byte products in a 16-bit register
    (u8 × s8 pairs). Seven-bit weights (|w| ≤ 64) keep 2 · 255 · 64 = 32 640 below its
    limit, so the sums are exact there as with VNNI. (The float32 parts between them may
    still round differently: ``scripts/compare_cpus.py`` compares whole answers.) The
    feed-forward layer's second product stays float32 (``reader.INT8_PRODUCTS``)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(reader.export_folder / MODEL_FILE)).graph
    weights = {w.name: w for w in graph.initializer}
    integer = [n for n in graph.node if n.op_type == "MatMulInteger"]
    assert len(integer) == len(INT8_PRODUCTS) * default_weights().layers
    for node in integer:
        w = numpy_helper.to_array(weights[node.input[1]])
        assert w.dtype == np.int8 and int(np.abs(w.astype(np.int16)).max()) <= 64, node.name
    floats = [n.name for n in graph.node if n.op_type == "MatMul"]
    assert sum("output/dense" in name and "attention" not in name for name in floats) == \
        default_weights().layers


def test_the_reader_finds_the_sentence_that_answers_not_the_one_that_repeats_the_question(reader):
    question = "Hvor mye fikk prosjektet fra Klimasats?"
    sentences = ["Her er Osloregionens prosjektbeskrivelse sendt Klimasats.",
                 "Tilskudd fra Klimasats: 1 500 000 kroner."]
    assert int(np.argmax(reader.score(question, sentences))) == 1

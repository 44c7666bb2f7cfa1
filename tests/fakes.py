"""Small stand-ins for the tests of pure logic: an encoder and an in-memory index.

The fake encoder gives each word a fixed random direction and a text the normalised sum of
its words' directions, so texts that share words are similar. It honours the
:class:`~assistant.embedding.Encoder` protocol, so search and answer code runs unchanged;
the index around it is real FAISS and real BM25.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.chunking import Chunk, ChunkSentence
from assistant.config import SearchConfig
from assistant.documents import DocumentMeta
from assistant.lexical import LexicalIndex
from assistant.store import Index, StoredDocument, make_faiss_index


class FakeEncoder:
    """Bag-of-words vectors from hashed word directions (deterministic, no model)."""

    def __init__(self, dimension: int = 64):
        self.dimension = dimension

    def _word(self, word: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dimension).astype(np.float32)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                rows[i] += self._word(word)
            norm = np.linalg.norm(rows[i])
            if norm > 0:
                rows[i] /= norm
        return rows

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(text.split()) for text in texts]


def chunk_of(doc_id: str, text: str, page: int = 1) -> Chunk:
    """A one-sentence chunk on ``page``."""
    return Chunk(doc_id=doc_id, text=text, page_start=page, page_end=page, char_start=0,
                 char_end=len(text), sentences=(ChunkSentence(page, 0, len(text), 0, len(text)),),
                 n_tokens=len(text.split()))


def document_of(doc_id: str, pages: Sequence[str], visibility: str = "public",
                year: int | None = None) -> StoredDocument:
    return StoredDocument(doc_id=doc_id, kind="txt",
                          meta=DocumentMeta(title=doc_id, year=year, visibility=visibility),
                          pages=tuple(pages), content_hash=doc_id, path=f"{doc_id}.txt")


def memory_index(documents: Sequence[StoredDocument], chunks: Sequence[Chunk],
                 vectors: np.ndarray, config: SearchConfig | None = None) -> Index:
    """A real index (FAISS + BM25) held in memory, never written to disk."""
    config = config or SearchConfig()
    return Index(path=Path("minne"), manifest={}, documents={d.doc_id: d for d in documents},
                 chunks=list(chunks), vectors=make_faiss_index(vectors, vectors.shape[1], config),
                 lexical=LexicalIndex.build([c.text for c in chunks]))

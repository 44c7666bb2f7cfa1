"""Internal documents never leave through the public chat, its API or the file route."""

import shutil
import urllib.error
import urllib.request

import pytest

from assistant.answer import Citation
from assistant.config import Settings
from assistant.search import Filters
from assistant.server import RunningServer
from assistant.service import Assistant, CitedSource
from tests.conftest import free_port

INTERNAL = "budsjettnotat-intern"
SECRET_SENTENCES = [
    "Styret vurderer å øke kontingenten med 12 prosent fra 2027.",
    "Forhandlingene med Viken om ladeinfrastruktur er foreløpig hemmelige.",
    "Sekretariatet anbefaler å legge ned arbeidsgruppen for sirkulærøkonomi.",
]


@pytest.fixture(scope="module")
def mixed_assistant(tmp_path_factory, embedder, seed_corpus):
    root = tmp_path_factory.mktemp("visibility")
    corpus = root / "corpus"
    shutil.copytree(seed_corpus, corpus)
    (corpus / f"{INTERNAL}.txt").write_text(" ".join(SECRET_SENTENCES), encoding="utf-8")
    (corpus / f"{INTERNAL}.meta.toml").write_text(
        'title = "Budsjettnotat"\nyear = 2026\nvisibility = "internal"\n', encoding="utf-8")
    assistant = Assistant(Settings(corpus_dir=corpus, index_dir=root / "index"), embedder=embedder)
    assistant.build(progress=False)
    return assistant


@pytest.fixture(scope="module")
def server(mixed_assistant):
    port = free_port()
    running = RunningServer(mixed_assistant, "127.0.0.1", port).start()
    yield running.url
    running.stop()


def test_internal_document_is_indexed_and_staff_can_find_it(mixed_assistant):
    staff = Filters(visibility=frozenset({"public", "internal"}))
    hits = mixed_assistant.searcher.search(SECRET_SENTENCES[0], k=3, filters=staff)
    assert hits[0].chunk.doc_id == INTERNAL


def test_public_api_never_returns_internal_passages(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    questions = [*SECRET_SENTENCES, "kontingenten", "Budsjettnotat", "hemmelige forhandlinger med Viken",
                 "Hva anbefaler sekretariatet om arbeidsgruppen?", "Hvor mye øker kontingenten i 2027?",
                 "ladeinfrastruktur", "sirkulærøkonomi", "Hva vurderer styret?"]
    for question in questions:
        for mode in ("hybrid", "dense", "lexical"):
            result = client.predict(question, mode, api_name="/ask")
            assert all(c["doc_id"] != INTERNAL for c in result["citations"]), (question, mode)
            text = " ".join([result["answer"], *(c["text"] for c in result["citations"])])
            assert not any(sentence in text for sentence in SECRET_SENTENCES)


def test_file_route_does_not_serve_internal_documents(server):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(server + f"kilde/{INTERNAL}", timeout=10)
    assert error.value.code == 404


def test_symlink_out_of_the_corpus_is_not_served(mixed_assistant, tmp_path):
    from assistant.server import corpus_file

    outside = tmp_path / "hemmelig.txt"
    outside.write_text("utenfor korpuset", encoding="utf-8")
    link = mixed_assistant.settings.corpus_dir / "lenke.txt"
    link.symlink_to(outside)
    try:
        mixed_assistant.build(progress=False)
        assert corpus_file(mixed_assistant, "lenke") is None
        assert corpus_file(mixed_assistant, "osloregionen-gront-landtransportprogram") is not None
    finally:
        link.unlink()
        mixed_assistant.build(progress=False)


def test_the_service_views_show_internal_documents_to_staff_only(mixed_assistant):
    """What the web app lists, offers as filters and shows as a source comes from these."""
    from assistant.search import PUBLIC, STAFF

    assert INTERNAL not in mixed_assistant.documents(PUBLIC)
    assert INTERNAL in mixed_assistant.documents(STAFF)
    assert mixed_assistant.document(INTERNAL, PUBLIC) is None
    assert mixed_assistant.document(INTERNAL, STAFF).meta.title == "Budsjettnotat"
    assert ("Budsjettnotat", INTERNAL) not in mixed_assistant.filter_choices(PUBLIC).documents
    assert 2026 not in mixed_assistant.filter_choices(PUBLIC).years
    staff_choices = mixed_assistant.filter_choices(STAFF)
    assert ("Budsjettnotat", INTERNAL) in staff_choices.documents and 2026 in staff_choices.years
    assert staff_choices.years == sorted(staff_choices.years, reverse=True)

    hit = mixed_assistant.searcher.search(SECRET_SENTENCES[0], k=1, filters=STAFF)[0]
    citation = Citation(1, INTERNAL, "Budsjettnotat", 2026, 1, "", hit.chunk.text,
                        chunk_id=hit.chunk_id)
    assert mixed_assistant.source(citation, PUBLIC) == CitedSource(hit.chunk, None)
    assert mixed_assistant.source(citation, STAFF).document.doc_id == INTERNAL

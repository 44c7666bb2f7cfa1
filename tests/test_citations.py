"""One citation per document, and the links into the viewer (pure parts, no model)."""

from assistant.answer import Citation, CitedPassage, Pick, group_by_document
from assistant.links import is_site_root, parse_sentences, public_url, viewer_path
from assistant.render import pages_text


def test_pages_of_one_document_become_one_citation_with_its_best_passage_first():
    picks = [Pick(0, "presentasjon", 2, 0.9, 3), Pick(1, "presentasjon", 4, 0.2, 0),
             Pick(2, "rapport", 7, 0.5, 1), Pick(3, "presentasjon", 2, 0.1, 5),
             Pick(4, "presentasjon", 9, float("-inf"), None)]
    grouped = group_by_document(picks)
    assert [primary.doc_id for primary, _ in grouped] == ["presentasjon", "rapport"]
    primary, pages = grouped[0]
    assert primary == picks[0]
    assert [p.page for p in pages] == [2, 4, 9]  # page 2 once, with its best pick
    assert pages[0] is picks[0]


def test_a_document_is_cited_by_its_best_scored_passage_not_its_first():
    picks = [Pick(0, "a", 1, 0.9, 0), Pick(1, "b", 3, float("-inf"), None), Pick(2, "b", 5, 0.4, 2)]
    (_, _), (primary, pages) = group_by_document(picks)
    assert primary.page == 5 and [p.page for p in pages] == [5, 3]


def test_a_citation_lists_its_pages_in_order_and_links_each_to_the_viewer():
    citation = Citation(1, "deck", "Lysbilder", 2022, 4, "", "tekst", ((0, 5),), chunk_id=7,
                        passages=(CitedPassage(4, 7, (1, 2)), CitedPassage(2, 3)))
    assert citation.pages == (2, 4)
    assert citation.viewer() == "/dokument/deck?side=4&bit=7&setning=1-2#svar"
    assert citation.viewer(2) == "/dokument/deck?side=2&bit=3"
    data = citation.to_json()
    assert data["page"] == 4 and data["pages"] == [2, 4] and data["viewer"] == citation.viewer()
    assert [p["page"] for p in data["passages"]] == [2, 4]
    assert pages_text(citation.pages) == "side 2 og 4"
    assert pages_text([1, 3, 8]) == "side 1, 3 og 8" and pages_text([5]) == "side 5"
    # a citation made without passages (older callers) still has its page and a link
    plain = Citation(2, "d", "T", None, 3, "", "x", chunk_id=1)
    assert plain.pages == (3,) and plain.viewer() == "/dokument/d?side=3&bit=1"


def test_viewer_paths_quote_the_document_id():
    assert viewer_path("a b/../c", 2) == "/dokument/a%20b%2F..%2Fc?side=2"
    assert viewer_path("d") == "/dokument/d"
    assert parse_sentences("3") == (3, 3) and parse_sentences("3-5") == (3, 5)
    for bad in (None, "", "x", "5-3", "-1", "1-", "1-2-3", "١"):
        assert parse_sentences(bad) is None, bad


def test_only_http_urls_with_a_host_are_public_urls():
    assert public_url("https://example.org/r.pdf#page=2") == "https://example.org/r.pdf#page=2"
    assert public_url(" http://example.org ") == "http://example.org"
    for bad in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "//example.org",
                "https://", "ftp://example.org/x", "", None, "http://[::1"):
        assert public_url(bad) is None, bad
    assert is_site_root("https://www.osloregionen.no/") and is_site_root("https://x.no")
    assert not is_site_root("https://x.no/rapport.pdf")


def test_a_hit_links_to_the_viewer_and_its_reference_leaves_out_a_front_page():
    from assistant.chunking import Chunk, ChunkSentence
    from assistant.documents import DocumentMeta
    from assistant.render import hits_html
    from assistant.search import Hit
    from assistant.store import StoredDocument

    document = StoredDocument("deck", "txt", DocumentMeta("Lysbilder", "Rådet", 2022,
                                                          url="https://www.osloregionen.no/"),
                              ("a", "Vi har 64 kommuner."), "h", "deck.txt")
    chunk = Chunk("deck", "Vi har 64 kommuner.", 2, 2, 0, 19, (ChunkSentence(2, 0, 19, 0, 19),), 5)
    out = hits_html("kommuner", [Hit(1, 12, chunk, document, 1.0, 0.5, 0.5)])
    assert 'data-ref="Lysbilder, Rådet, 2022, s. 2"' in out  # no front page as "the source"
    assert 'data-viewer="/dokument/deck?side=2&amp;bit=12"' in out
    assert 'href="/dokument/deck?side=2&amp;bit=12"' in out

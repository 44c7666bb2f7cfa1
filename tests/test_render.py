"""The app's HTML: document text is escaped, quotes and answers are marked, links are ours."""

from assistant.answer import Answer, Citation, Quote
from assistant.chunking import Chunk, ChunkSentence
from assistant.documents import DocumentMeta
from assistant.render import (
    answer_html,
    documents_html,
    highlighted,
    hits_html,
    source_html,
)
from assistant.search import Hit
from assistant.store import StoredDocument


def test_document_text_is_escaped_and_sentence_marked():
    text = 'Før. <script>alert("x")</script> er farlig. Etter.'
    start = text.index("<script>")
    citation = Citation(n=1, doc_id="d", title="<b>Tittel</b>", year=2020, page=3,
                        url="https://example.org/d.pdf#page=3", text=text,
                        highlights=((start, start + 40),))
    answer = Answer(question="q", answer="a [1]", citations=(citation,), found=True,
                    quotes=(Quote('<script>alert("x")</script>', 1),))
    rendered = answer_html(answer)
    assert "<script>" not in rendered and "<b>Tittel</b>" not in rendered
    assert "&lt;script&gt;" in rendered and "&lt;b&gt;Tittel&lt;/b&gt;" in rendered
    assert "<mark>&lt;script&gt;" in rendered
    assert 'href="https://example.org/d.pdf#page=3"' in rendered
    assert "side 3" in rendered


def test_the_exact_answer_is_strong_inside_the_marked_sentence():
    text = "Intro. Medlemmer: 64 kommuner <i>og</i> mer."
    start = text.index("Medlemmer")
    exact = text.index("64 kommuner")
    out = highlighted(text, [(start, len(text)), (exact, exact + len("64 kommuner"))])
    assert out == ('Intro. <mark>Medlemmer: <strong class="svar">64 kommuner</strong> '
                   '&lt;i&gt;og&lt;/i&gt; mer.</mark>')


def test_the_answer_bubble_highlights_the_number_asked_for():
    citation = Citation(1, "d", "Tittel", 2022, 1, "", "Medlemmer: 64 kommuner.", ((0, 23),))
    answer = Answer("Hvor mange kommuner er med?", "Medlemmer: 64 kommuner. [1]", (citation,),
                    True, quotes=(Quote("Medlemmer: 64 kommuner.", 1),))
    assert '<mark>64 kommuner</mark>' in answer_html(answer)


# ------------------------------------------------------------------ source view, hits, documents

PAGE = "Innledning. Vi har 64 kommuner <b>nå</b>. Slutt."
CHUNK_TEXT = "Vi har 64 kommuner <b>nå</b>."
P0 = PAGE.index("Vi har")
PDF = StoredDocument(doc_id="rapport 2/../x", kind="pdf", pages=(PAGE,), content_hash="h",
                     path="rapport.pdf", meta=DocumentMeta(title="<i>Rapport</i>", year=2022))
CHUNK = Chunk(doc_id=PDF.doc_id, text=CHUNK_TEXT, page_start=1, page_end=1, char_start=P0,
              char_end=P0 + len(CHUNK_TEXT), n_tokens=8,
              sentences=(ChunkSentence(1, P0, P0 + len(CHUNK_TEXT), 0, len(CHUNK_TEXT)),))


def test_the_source_view_marks_the_quoted_sentence_on_the_escaped_page():
    citation = Citation(1, PDF.doc_id, "Rapport", 2022, 1, "", CHUNK_TEXT, ((0, 5),))
    out = source_html(PDF, CHUNK, citation)
    assert "<h3>&lt;i&gt;Rapport&lt;/i&gt; (2022), side 1</h3>" in out
    assert '<span class="utdrag"><mark>Vi har 64 kommuner &lt;b&gt;nå&lt;/b&gt;.</mark></span>' in out
    assert out.count("<b>") == 0
    # a PDF without a public URL opens from the app's own route, its id quoted
    assert 'href="/kilde/rapport%202%2F..%2Fx#page=1"' in out


def test_hits_show_marked_terms_and_a_reference_to_copy():
    hit = Hit(rank=1, chunk_id=0, chunk=CHUNK, document=PDF, score=1.0, dense=0.5, lexical=0.5)
    out = hits_html("kommuner", [hit])
    assert out.startswith('<p role="status">1 treff, det beste først</p>')
    assert "(poengsum 1,00)" in out and 'href="/dokument/' in out
    assert "<mark>kommuner</mark>" in out and "&lt;b&gt;nå&lt;/b&gt;" in out
    assert 'data-ref="&lt;i&gt;Rapport&lt;/i&gt;, 2022, s. 1"' in out
    assert hits_html("  ", [hit]) == "<p>Skriv inn et søk.</p>"
    assert "Ingen treff" in hits_html("kommuner", [])


def test_the_document_list_is_newest_first_and_escaped():
    old = StoredDocument(doc_id="gammel", kind="txt", pages=("a", "b"), content_hash="h",
                         path="gammel.txt", meta=DocumentMeta(title="Gammel", year=2004,
                                                              url="https://example.org/g?a=1&b=2"))
    out = documents_html([old, PDF])
    assert out.index("Rapport") < out.index("Gammel")
    assert 'href="https://example.org/g?a=1&amp;b=2"' in out
    assert "&lt;i&gt;Rapport&lt;/i&gt;</a></td><td>2022</td><td>1</td>" in out


def test_only_http_urls_and_own_paths_become_links():
    from assistant.render import citation_links, safe_href

    for bad in ("javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)",
                "data:text/html,<script>alert(1)</script>", "vbscript:x", "//angriper.example",
                "\x01javascript:alert(1)", "https://ok.example/\x00x"):
        assert safe_href(bad) is None, bad
    for good in ("https://www.osloregionen.no/", "HTTP://example.org/a b", "/kilde/plan#page=2"):
        assert safe_href(good) is not None, good
    citation = Citation(n=1, doc_id="d", title="T", year=2020, page=1,
                        url="javascript:alert(document.cookie)", text="x")
    links = citation_links(citation, None)
    # The viewer link stays (the app's own path); the javascript: address is never a link.
    assert "javascript" not in links and 'href="/dokument/d?' in links

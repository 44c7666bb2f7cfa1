"""Finding a sentence among a PDF page's word boxes (pure: no poppler, no model)."""

from assistant.wordboxes import (
    Box,
    Word,
    clip,
    find_words,
    line_boxes,
    normalized,
    parse_bbox_layout,
)

BBOX = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "x.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title></head><body><doc>
<page width="595.2756" height="841.8898"><flow><block>
<line><word xMin="72" yMin="64" xMax="108" yMax="74">Kapittel</word><word xMin="111" yMin="64" xMax="117" yMax="74">2</word></line>
<line><word xMin="72" yMin="79" xMax="100" yMax="89">Oslo</word><word xMin="103" yMin="79" xMax="130" yMax="89">havn</word><word xMin="133" yMin="79" xMax="170" yMax="89">får</word><word xMin="173" yMin="79" xMax="220" yMax="89">land-</word></line>
<line><word xMin="72" yMin="94" xMax="100" yMax="104">strøm</word><word xMin="103" yMin="94" xMax="130" yMax="104">&amp;</word><word xMin="133" yMin="94" xMax="170" yMax="104">ﬂere</word><word xMin="173" yMin="94" xMax="200" yMax="104">kaier.</word></line>
</block></flow></page></doc></body></html>"""


def words(*lines: str) -> list[Word]:
    out = []
    for n, line in enumerate(lines):
        for i, text in enumerate(line.split()):
            out.append(Word(text, 10.0 * i, 20.0 * n, 10.0 * i + 8, 20.0 * n + 10, n))
    return out


def test_poppler_bbox_output_is_read_with_its_page_size_and_lines():
    layout = parse_bbox_layout(BBOX)
    assert (layout.width, layout.height) == (595.2756, 841.8898)
    assert [w.text for w in layout.words][:3] == ["Kapittel", "2", "Oslo"]
    assert {w.line for w in layout.words} == {0, 1, 2}
    assert layout.words[7].text == "&"
    assert parse_bbox_layout("<html><body/></html>") is None


def test_a_cleaned_sentence_is_found_across_a_hyphenated_line_break_and_a_ligature():
    layout = parse_bbox_layout(BBOX)
    # the index has the cleaned text: hyphenation joined, the ligature spelt out
    found = find_words(layout.words, "Oslo havn får landstrøm & flere kaier.")
    assert [layout.words[i].text for i in found] == ["Oslo", "havn", "får", "land-", "strøm",
                                                     "&", "ﬂere", "kaier."]
    boxes = line_boxes(layout.words, found, pad=0)
    assert boxes == [Box(72, 79, 148, 10), Box(72, 94, 128, 10)]  # one box per line


def test_a_sentence_that_occurs_twice_is_taken_where_the_page_text_has_it():
    page = words("Målet er nådd.", "Annet stoff her.", "Målet er nådd.")
    assert find_words(page, "Målet er nådd.", near=0.0) == [0, 1, 2]
    assert find_words(page, "Målet er nådd.", near=0.95) == [6, 7, 8]


def test_a_slightly_different_text_is_found_and_an_absent_one_is_not():
    page = words("Innledning til planen.", "Kommunene bygger sammenhengende sykkelveier langs", "hovedvegene i regionen.")
    # one word read differently (OCR): still found
    found = find_words(page, "Kommunene bygger sammenhengende sykke1veier langs hovedvegene i regionen.")
    assert [page[i].text for i in found][0] == "Kommunene" and page[found[-1]].text == "regionen."
    assert find_words(page, "Noe helt annet om havner og skip.") == []
    assert find_words(page, "   ") == [] and find_words([], "Kommunene") == []


def test_boxes_stay_on_the_page_and_text_is_normalised():
    assert clip(Box(-2, 5, 10, 900), 595, 842) == Box(0, 5, 8, 837)
    assert normalized("FInn «Æ-ø» 2,3!") == "finnæø23"

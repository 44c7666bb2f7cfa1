from assistant.textclean import clean_page_text, decode_text, drop_repeated_lines


def test_hyphenation_at_line_break_is_joined_but_real_hyphens_stay():
    text = "Økt gods-\ntransport på sjø. Natur-\nog artsmangfold i Oslo-regionen."
    cleaned = clean_page_text(text)
    assert "godstransport" in cleaned
    assert "Natur- og artsmangfold" in cleaned
    assert "Oslo-regionen" in cleaned


def test_ligatures_bullets_and_whitespace_are_normalised():
    cleaned = clean_page_text("\ufb01nansiering  og \ufb02yt\n▪   første punkt\n\n\n\n● andre")
    assert cleaned == "finansiering og flyt\n• første punkt\n\n• andre"


def test_decode_falls_back_to_windows_1252():
    assert decode_text("Grønt løft på Østlandet".encode("cp1252")) == "Grønt løft på Østlandet"
    assert decode_text("\ufeffæøå".encode("utf-8")) == "æøå"


def test_running_headers_footers_and_page_numbers_are_dropped():
    topics = ["jernbane", "havner", "lading", "veier"]
    pages = [f"Osloregionen – Rapport 2020\nDette kapitlet handler om {t}.\nSide {n} av 4"
             for n, t in enumerate(topics, start=1)]
    cleaned = drop_repeated_lines(pages)
    assert cleaned == [f"Dette kapitlet handler om {t}." for t in topics]


def test_huge_page_is_truncated_not_fatal():
    assert len(clean_page_text("ord " * 200_000)) <= 200_000

from pathlib import Path

from assistant.chunking import chunk_document, split_sentences
from assistant.config import ChunkConfig
from assistant.documents import Document, DocumentMeta, Page


def sentences(text):
    return [text[s.start : s.end] for s in split_sentences(text)]


def test_norwegian_abbreviations_do_not_end_sentences():
    text = ("Regionen har bl.a. 64 kommuner, f.eks. Asker og Bærum. Det bor ca. 2,3 mill. "
            "mennesker der, jf. tall fra SSB. Se nr. 5 i listen.")
    assert sentences(text) == [
        "Regionen har bl.a. 64 kommuner, f.eks. Asker og Bærum.",
        "Det bor ca. 2,3 mill. mennesker der, jf. tall fra SSB.",
        "Se nr. 5 i listen.",
    ]


def test_initials_do_not_end_sentences():
    text = "Han grunnla selskapet med D.W. Griffith i 1919. Det het United Artists."
    assert sentences(text) == ["Han grunnla selskapet med D.W. Griffith i 1919.",
                               "Det het United Artists."]


def test_a_photo_credit_run_into_the_next_sentence_ends_at_the_agency():
    # News pages print the credit without a full stop; the sentence after it must not be
    # taken for part of a caption.
    text = ("Grensen ved Tijuana. FOTO: Elliott Spagat, AP / NTB scanpix Presidenten har "
            "flørtet med tanken. Foto: BERIT ROALD/NTB SCANPIX En del av pengene har havnet "
            "i DNB. Arkivfoto: Per Løchen / NTB scanpix (til venstre) står igjen.")
    assert sentences(text) == [
        "Grensen ved Tijuana.",
        "FOTO: Elliott Spagat, AP / NTB scanpix",
        "Presidenten har flørtet med tanken.",
        "Foto: BERIT ROALD/NTB SCANPIX",
        "En del av pengene har havnet i DNB.",
        # a lower-case word after the agency: no new sentence there
        "Arkivfoto: Per Løchen / NTB scanpix (til venstre) står igjen.",
    ]


def test_a_credit_without_an_agency_is_left_alone():
    text = "Foto: Brede Mathisen Han kom i mål først."
    assert sentences(text) == [text]


def test_slide_bullets_are_units_and_wrapped_lines_stay_together():
    text = ("• Etablert i 2004\n\n• Omdannet til interkommunalt politisk råd\n28. oktober 2020\n\n"
            "– Samarbeidsavtale som er vedtatt i alle\nkommunestyrer.")
    assert sentences(text) == [
        "• Etablert i 2004",
        "• Omdannet til interkommunalt politisk råd\n28. oktober 2020",
        "– Samarbeidsavtale som er vedtatt i alle\nkommunestyrer.",
    ]



def test_a_bullet_wrapped_after_a_dangling_word_continues_over_a_capitalised_line():
    # Slide text often has blank lines between the wrapped lines of one bullet.
    text = ("2022: Hovedprioriteringer Klima og miljø\n\n"
            "• Bidra til å opprettholde natur- og\n\nartsmangfold, med spesiell fokus på\n\n"
            "Oslofjorden og tilhørende vassdrag\n\n"
            "• Sirkulærøkonomi – hvordan kan\n\nkommunene bidra\n\n"
            "Kontakt oss")
    assert sentences(text) == [
        "2022: Hovedprioriteringer Klima og miljø",
        "• Bidra til å opprettholde natur- og\n\nartsmangfold, med spesiell fokus på\n\n"
        "Oslofjorden og tilhørende vassdrag",
        "• Sirkulærøkonomi – hvordan kan\n\nkommunene bidra",
        "Kontakt oss",
    ]

def document(pages):
    return Document(
        doc_id="doc",
        path=Path("doc.txt"),
        kind="txt",
        meta=DocumentMeta(title="Doc"),
        pages=tuple(Page(i + 1, t) for i, t in enumerate(pages)),
        content_hash="x",
    )


def test_chunks_respect_budget_overlap_and_offsets(embedder):
    sentence = "Osloregionen arbeider for mer godstransport på sjø og bane i hele regionen."
    text = " ".join(f"{sentence[:-1]} nummer {i}." for i in range(40))
    config = ChunkConfig(max_tokens=80, overlap_tokens=25, min_tokens=10)
    chunks = chunk_document(document([text]), embedder.count_tokens, config)
    assert len(chunks) > 3
    for chunk in chunks:
        assert embedder.count_tokens([chunk.text])[0] <= config.max_tokens + 5
        assert text[chunk.char_start : chunk.char_end] == chunk.text
        for s in chunk.sentences:
            assert text[s.page_start : s.page_end] == chunk.text[s.start : s.end]
    # consecutive chunks overlap by whole sentences
    for a, b in zip(chunks, chunks[1:]):
        assert b.char_start < a.char_end
        assert b.sentence_texts()[0] in a.sentence_texts()


def test_chunks_keep_pages_and_break_at_pages(embedder):
    pages = ["Første side handler om jernbane. " * 5, "Andre side handler om havner. " * 5,
             "Tredje side handler om lading. " * 5]
    chunks = chunk_document(document(pages), embedder.count_tokens,
                            ChunkConfig(max_tokens=200, overlap_tokens=20, min_tokens=20))
    assert [(c.page_start, c.page_end) for c in chunks] == [(1, 1), (2, 2), (3, 3)]
    assert "havner" in chunks[1].text and "jernbane" not in chunks[1].text


def test_a_heading_starts_a_new_chunk_once_the_chunk_says_enough(embedder):
    """A short web page about the council and its bodies: the section on the bodies is
    a passage of its own, as a slide is."""
    about = ("Regionrådet er et interkommunalt politisk råd for kommunene rundt fjorden. "
             "Rådet ble opprettet i 2009 som et regionalt samarbeid. "
             "I dag er 14 kommuner med i samarbeidet, med til sammen 310 000 innbyggere.")
    bodies = ("Representantskapet er rådets øverste organ og møtes to ganger i året.\n\n"
              "Sekretariatet ligger i Storvik rådhus.")
    config = ChunkConfig(max_tokens=200, overlap_tokens=20, min_tokens=20)
    page = f"Om regionrådet\n\n{about}\n\nOrganisering\n\n{bodies}"
    chunks = chunk_document(document([page]), embedder.count_tokens, config)
    assert [c.text for c in chunks] == [f"Om regionrådet\n\n{about}", f"Organisering\n\n{bodies}"]
    # with too little before it, a heading stays in the chunk (a title over its text)
    chunks = chunk_document(document([f"Om regionrådet\n\nRådet ble opprettet i 2009.\n\n"
                                      f"Organisering\n\n{bodies}"]),
                            embedder.count_tokens, config)
    assert len(chunks) == 1


def test_long_sentence_without_punctuation_is_split(embedder):
    text = " ".join(["transportkorridor"] * 400)
    chunks = chunk_document(document([text]), embedder.count_tokens, ChunkConfig(max_tokens=100))
    assert len(chunks) >= 4
    assert all(c.n_tokens <= 100 for c in chunks)


def test_small_pages_are_packed_together(embedder):
    pages = ["• Etablert i 2004", "• 64 kommuner", "• Klima og miljø"]
    chunks = chunk_document(document(pages), embedder.count_tokens, ChunkConfig())
    assert len(chunks) == 1
    assert (chunks[0].page_start, chunks[0].page_end) == (1, 3)
    assert [s.page for s in chunks[0].sentences] == [1, 2, 3]
    chunk = chunks[0]
    assert [s.page for s in chunk.sentences if "64" in chunk.text[s.start : s.end]] == [2]

"""Real Word, PowerPoint and WordPress-like HTML files for tests, made by the tests.

Word and PowerPoint files are written with python-docx and python-pptx; the HTML pages
carry the full chrome of a Norwegian council site on WordPress (skip link, cookie banner,
menu, breadcrumbs, sidebar, footer), whose texts are listed in :data:`CHROME` so tests can
check that none of it reaches the index.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path

COOKIE_TEXT = "Vi bruker informasjonskapsler for å gi deg en best mulig opplevelse av nettstedet"
#: Texts that only occur in the site chrome of :func:`wordpress_page`.
CHROME = (
    "Hopp til innhold",
    COOKIE_TEXT,
    "Godta alle informasjonskapsler",
    "Om regionrådet",
    "Kontakt sekretariatet",
    "Du er her",
    "Postboks 1190 Sentrum",
    "Personvernerklæring",
    "Meld deg på nyhetsbrevet",
)
MENU = (("/", "Forside"), ("/om-oss/", "Om regionrådet"), ("/prosjekter/", "Prosjekter"),
        ("/nyheter/", "Nyheter"), ("/kontakt/", "Kontakt sekretariatet"))


def make_docx(path: Path, blocks: list, title: str | None = None, year: int | None = None) -> Path:
    """A Word file from ``blocks``: ("h1"|"h2", text), ("p", text), ("bullet", text),
    ("table", [[cell, …], …]) or ("pagebreak",)."""
    import docx
    from docx.enum.text import WD_BREAK

    document = docx.Document()
    properties = document.core_properties
    properties.author = "Osloregionens sekretariat"
    properties.title = title or ""
    if year:
        properties.created = datetime(year, 3, 1)
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2"):
            document.add_heading(block[1], level=int(kind[1]))
        elif kind == "p":
            document.add_paragraph(block[1])
        elif kind == "bullet":
            document.add_paragraph(block[1], style="List Bullet")
        elif kind == "table":
            rows = block[1]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
        elif kind == "pagebreak":
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        else:
            raise ValueError(kind)
    document.save(str(path))
    return path


def make_pptx(path: Path, slides: list[dict], title: str | None = None) -> Path:
    """A PowerPoint file; each slide is {"title", "bullets": [text or (level, text)],
    "table": [[…]], "notes"}. A "\\v" in a bullet is a soft line break (Shift+Enter)."""
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    presentation.core_properties.title = title or ""
    presentation.core_properties.author = "Osloregionen"
    for spec in slides:
        layout = presentation.slide_layouts[1 if spec.get("bullets") else 5]
        slide = presentation.slides.add_slide(layout)
        slide.shapes.title.text = spec["title"]
        if spec.get("bullets"):
            frame = slide.placeholders[1].text_frame
            for i, bullet in enumerate(spec["bullets"]):
                level, text = bullet if isinstance(bullet, tuple) else (0, bullet)
                paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
                paragraph.text = text
                paragraph.level = level
        if spec.get("table"):
            rows = spec["table"]
            shape = slide.shapes.add_table(len(rows), len(rows[0]), Inches(1), Inches(2),
                                           Inches(6), Inches(0.4) * len(rows))
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    shape.table.cell(r, c).text = cell
        if spec.get("notes"):
            slide.notes_slide.notes_text_frame.text = spec["notes"]
    presentation.save(str(path))
    return path


def wordpress_page(title: str, content: str, *, date: str | None = None, canonical: str | None = None,
                   crumbs: str = "Nyheter", sidebar: str = "") -> str:
    """A page as a WordPress council site sends it; ``content`` is the article's HTML."""
    menu = "".join(f'<li class="menu-item"><a href="{href}">{escape(text)}</a></li>' for href, text in MENU)
    meta = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    if date:
        meta += f'<meta property="article:published_time" content="{date}T08:00:00+01:00">'
    return f"""<!DOCTYPE html>
<html lang="nb-NO"><head><meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} – Osloregionen</title>{meta}
<meta property="og:site_name" content="Osloregionen">
<link rel="stylesheet" href="/wp-content/themes/osloregionen/style.css">
</head>
<body class="wp-singular page-template-default">
<a class="skip-link screen-reader-text" href="#innhold">Hopp til innhold</a>
<div id="cookie-law-info-bar" class="cli-bar" role="dialog" aria-label="Informasjonskapsler">
  <span>{COOKIE_TEXT}. Les mer i personvernerklæringen.</span>
  <a role="button" class="cli-accept">Godta alle informasjonskapsler</a> <a role="button">Innstillinger</a>
</div>
<header id="masthead" class="site-header">
  <div class="site-branding"><a href="/" rel="home">Osloregionen</a>
  <p class="site-description">Interkommunalt politisk råd for 64 kommuner</p></div>
  <nav id="site-navigation" class="main-navigation" aria-label="Hovedmeny">
    <button class="menu-toggle">Meny</button><ul id="primary-menu" class="menu">{menu}</ul></nav>
  <form role="search" class="search-form"><label>Søk etter:<input type="search" name="s"></label></form>
</header>
<nav class="breadcrumbs" aria-label="Brødsmulesti"><span>Du er her:</span>
  <a href="/">Forside</a> › <a href="/nyheter/">{escape(crumbs)}</a> › <span>{escape(title)}</span></nav>
<div id="innhold" class="site-content"><main id="main" class="site-main">
<article class="post type-post status-publish hentry">
<header class="entry-header"><h1 class="entry-title">{escape(title)}</h1>
<div class="entry-meta"><span class="byline">Av redaksjonen</span></div></header>
<div class="entry-content">
{content}
</div>
<footer class="entry-footer"><span class="cat-links">Publisert i <a href="/kategori/nyheter/">Nyheter</a></span>
<div class="sharedaddy"><h3>Del dette:</h3><ul><li><a href="https://www.facebook.com/sharer.php">Facebook</a></li>
<li><a href="https://x.com/share">X</a></li></ul></div></footer>
</article></main>
<aside id="secondary" class="widget-area"><section class="widget widget_text"><h2 class="widget-title">Nyhetsbrev</h2>
<p>Meld deg på nyhetsbrevet og få siste nytt fra regionen.</p></section>{sidebar}</aside>
</div>
<footer id="colophon" class="site-footer"><div class="site-info">
<p>Osloregionen interkommunalt politisk råd · Postboks 1190 Sentrum, 0107 Oslo · Telefon 21 80 21 80</p>
<p><a href="/personvern/">Personvernerklæring</a> · <a href="/tilgjengelighet/">Tilgjengelighetserklæring</a></p>
</div></footer>
<script src="/wp-includes/js/wp-embed.min.js"></script>
</body></html>
"""

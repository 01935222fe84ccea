"""Ingestion: metadata comes only from what the text shows; bad files give a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.ingest import IngestError, header_fields, normalise_date, parse_article

from .conftest import CORPUS


def doc(name: str):
    return parse_article(name, (CORPUS / name).read_bytes())


def test_byline_and_published_line_become_metadata():
    article = doc("2026-02-india-balancing-act-us-russia.txt")
    assert article.title == "India’s Balancing Act Between the United States and Russia"
    assert article.author == "Ankita Hadiya"
    assert article.date == "2026-02-25"


def test_bare_name_byline_and_partial_dateline_are_kept_as_shown():
    article = doc("bharat-bold-pivot-defense-ties-russia.txt")
    assert article.author == "Paromita Das"
    assert article.date == "3rd July"  # no year in the text: none is invented


def test_missing_metadata_stays_empty_and_title_is_never_the_file_name():
    article = doc("india-sovereignty-over-alignment.txt")
    assert article.author == "" and article.date == "" and article.source == ""
    assert article.title.startswith("India’s foreign policy")
    assert "india-sovereignty" not in article.title


def test_text_is_kept_verbatim():
    raw = (CORPUS / "india-s400-talks-snub-to-us.txt").read_text(encoding="utf-8")
    assert doc("india-s400-talks-snub-to-us.txt").text == raw.replace("\r\n", "\n")


def test_header_fields_locate_the_lines_they_come_from():
    text = (CORPUS / "2026-02-india-balancing-act-us-russia.txt").read_text()
    fields = header_fields(text)
    assert text[fields["author"].start:fields["author"].end] == "Author: Ankita Hadiya"
    assert text[fields["date"].start:fields["date"].end] == "Published: Feb 25, 2026"


@pytest.mark.parametrize(("raw", "expected"), [
    ("Feb 25, 2026", "2026-02-25"), ("3rd July", "3rd July"), ("July 2025", "July 2025"),
    ("2025-12-01", "2025-12-01"), ("", "")])
def test_dates_are_normalised_only_when_complete(raw: str, expected: str):
    assert normalise_date(raw) == expected


def test_markdown_front_matter():
    data = (b"---\ntitle: Oil and Rupees\nauthor: A. Writer\ndate: 2025-11-02\n"
            b"source: The Daily\n---\n\n# Ignored heading\n\nIndia pays for oil in rupees.\n")
    article = parse_article("x.md", data)
    assert (article.title, article.author, article.date, article.source) == (
        "Oil and Rupees", "A. Writer", "2025-11-02", "The Daily")
    assert "India pays for oil in rupees." in article.text


def test_html_page_keeps_the_article_and_drops_scripts_and_navigation():
    html = b"""<html><head><title>Talks in Delhi</title><script>var x = "tracking";</script>
    <meta name="author" content="R. Reporter"></head><body><nav>Home | World | Sport</nav>
    <article><h1>Talks in Delhi</h1><p>India and Russia discussed a second nuclear plant at
    length during the visit, officials said on Friday.</p><p>The talks also covered trade in
    national currencies, which both sides want to expand over the coming years.</p></article>
    <footer>Copyright</footer></body></html>"""
    article = parse_article("talks.html", html)
    assert "second nuclear plant" in article.text
    assert "tracking" not in article.text and "Home | World" not in article.text
    assert article.title == "Talks in Delhi"


def test_encodings(tmp_path: Path):
    text = "Café diplomacy: India’s stance.\nSecond line about Moscow."
    assert parse_article("a.txt", text.encode("utf-16")).text == text
    assert parse_article("le.txt", text.encode("utf-16-le")).text == text  # no BOM
    assert parse_article("be.txt", text.encode("utf-16-be")).text == text
    assert parse_article("b.txt", "Café in Delhi.".encode("latin-1")).text == "Café in Delhi."


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("empty.txt", b"", "empty"), ("blank.txt", b"  \n\t \n", "empty"),
    ("junk.txt", bytes(range(256)) * 20, "binary"), ("nuls.txt", b"\x00" * 64, "binary"),
    ("notes.docx", b"PK\x03\x04", "unsupported"),
    ("broken.pdf", b"%PDF-1.4 garbage", "PDF")])
def test_bad_files_raise_a_one_line_reason(name: str, data: bytes, reason: str):
    with pytest.raises(IngestError, match=reason):
        parse_article(name, data)

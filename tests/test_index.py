"""Incremental indexing on a real Chroma store and the real embedding model."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from assistant import Assistant, IndexReport
from assistant.indexer import IndexMismatchError

from .conftest import CORPUS

NEW_ARTICLE = """Rupee Trade Grows

Author: Test Writer

Published: March 3, 2026

India and the United Arab Emirates settled a record 4,321 crore rupees of oil trade in
national currencies last quarter, officials in Mumbai said.
"""


def chunk_ids_in_chroma(a: Assistant) -> set[str]:
    return set(a.vectors.collection.get(include=[])["ids"])


def assert_consistent(a: Assistant) -> None:
    """Catalogue, Chroma and BM25 hold exactly the same chunks."""
    catalog_ids, _ = a.catalog.chunk_tokens()
    assert set(catalog_ids) == chunk_ids_in_chroma(a)
    assert sorted(a.lexical.chunk_ids) == sorted(catalog_ids)
    assert a.lexical.version == a.index_version


def test_first_index_then_noop(corpus_copy: Path, tmp_path: Path):
    a = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    first = a.index()
    assert len(first.added) == 5 and first.chunks > 20
    assert first.chunks == first.embedded_chunks == a.vectors.count()
    again = a.index()
    assert not again.changed and len(again.unchanged) == 5 and again.embedded_chunks == 0
    assert again.index_version == first.index_version
    assert_consistent(a)


def test_add_update_remove_touch_only_what_changed(corpus_copy: Path, tmp_path: Path):
    a = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    a.index()
    (corpus_copy / "rupee-trade.txt").write_text(NEW_ARTICLE)
    added = a.index()
    assert added.added == ["rupee-trade.txt"] and len(added.unchanged) == 5
    assert added.embedded_chunks == len(a.vectors.ids_for("rupee-trade.txt"))
    hits = a.retrieve("How much oil trade did India and the UAE settle in rupees?", k=3)
    assert hits[0].doc_id == "rupee-trade.txt"
    assert a.document("rupee-trade.txt").author == "Test Writer"

    (corpus_copy / "rupee-trade.txt").write_text(NEW_ARTICLE.replace("4,321", "9,876"))
    updated = a.index()
    assert updated.updated == ["rupee-trade.txt"] and not updated.added
    assert "9,876" in a.document("rupee-trade.txt").text
    lexical_hit = a.retrieve("9,876 crore", k=1, rerank_depth=0, mode="lexical")
    assert lexical_hit and lexical_hit[0].doc_id == "rupee-trade.txt"
    assert not a.retrieve("4,321", k=1, rerank_depth=0, mode="lexical")  # old text is gone

    (corpus_copy / "rupee-trade.txt").unlink()
    (corpus_copy / "india-s400-talks-snub-to-us.txt").unlink()
    removed = a.index()
    assert removed.removed == ["india-s400-talks-snub-to-us.txt", "rupee-trade.txt"]
    assert not a.vectors.ids_for("rupee-trade.txt")
    assert all(not cid.startswith("india-s400") for cid in chunk_ids_in_chroma(a))
    assert_consistent(a)


def test_index_survives_a_new_process(corpus_copy: Path, tmp_path: Path):
    Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index").index()
    reopened = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    assert not reopened.index().changed
    assert reopened.retrieve("F-35", k=1)[0].doc_id == "india-sovereignty-over-alignment.txt"
    assert_consistent(reopened)


def test_switching_embedder_without_rebuild_fails_clearly(corpus_copy: Path, tmp_path: Path):
    Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index", embedder="minilm").index()
    other = Assistant(corpus_dir=corpus_copy, index_dir=tmp_path / "index", embedder="bge-small")
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        other.index()
    with pytest.raises(IndexMismatchError, match="minilm"):
        other.answer("Why did India turn down the F-35?")
    rebuilt = other.index(rebuild=True)
    assert len(rebuilt.added) == 5 and other.status()["embedder"] == "bge-small"
    assert_consistent(other)


def text_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing ``lines`` in Helvetica, built by hand (no PDF writer needed)."""
    page = "\n".join(["BT /F1 11 Tf 50 750 Td 14 TL", *(f"({x}) Tj T*" for x in lines), "ET"])
    stream = page.encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%b\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%b\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def encrypted(pdf: bytes, user_password: str) -> bytes:
    """``pdf`` encrypted with pypdf (RC4, which needs no crypto library)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


ARCTIC = ["Arctic Report", "India and Russia signed a new accord on Arctic shipping lanes."]
NAV_ONLY_PAGE = ("<html><head><script>" + "var tracker = 1;" * 500 + "</script></head><body>"
                 "<nav><a href='/'>Home</a> | <a>World</a> | <a>Sport</a></nav><ul>"
                 + "".join(f"<li><a href='/s{i}'>Section {i}</a></li>" for i in range(80))
                 + "</ul><script>track()</script><footer>Copyright</footer></body></html>")
CLUTTERED_PAGE = NAV_ONLY_PAGE.replace(
    "</ul>", "</ul><article><h1>Talks in Delhi</h1><p>India and Russia discussed a second "
    "nuclear plant at length during the visit, officials said on Friday.</p><p>The talks also "
    "covered trade in national currencies, which both sides want to expand soon.</p></article>")
LATIN = "Café Report\n\nThe café in Pondichéry served crêpes to the delegation from Moscow.\n"


def bad_articles(corpus: Path) -> dict[str, bytes]:
    """Files nobody should have to clean up before indexing, by name."""
    return {
        "empty.txt": b"", "blank.txt": b" \n\t \n", "junk.txt": bytes(range(256)) * 50,
        "latin1.txt": LATIN.encode("latin-1"), "utf16.txt": LATIN.encode("utf-16"),
        "utf16-no-bom.txt": LATIN.replace("Café R", "Kaffee R").encode("utf-16-le"),
        "huge.txt": b"India and Russia. " * (50_000_000 // 18),
        "cluttered.html": CLUTTERED_PAGE.encode(), "nav-only.html": NAV_ONLY_PAGE.encode(),
        "broken.pdf": text_pdf(ARCTIC)[:300], "locked.pdf": encrypted(text_pdf(ARCTIC), "secret"),
        "owner-locked.pdf": encrypted(text_pdf([*ARCTIC, "Signed in Murmansk."]), ""),
        "copy.txt": (corpus / "india-s400-talks-snub-to-us.txt").read_bytes(),
        "notes.docx": b"PK\x03\x04",
    }


# name -> what the index report must say: ("added", text the article keeps) or
# ("skipped", the one-line reason)
EXPECTED = {
    "empty.txt": ("skipped", "the file is empty"), "blank.txt": ("skipped", "the file is empty"),
    "junk.txt": ("skipped", "looks like a binary file, not text"),
    "latin1.txt": ("added", "The café in Pondichéry served crêpes"),
    "utf16.txt": ("added", "The café in Pondichéry served crêpes"),
    "utf16-no-bom.txt": ("added", "The café in Pondichéry served crêpes"),
    "huge.txt": ("skipped", "larger than the 20 MB limit (50.0 MB)"),
    "cluttered.html": ("added", "discussed a second nuclear plant"),
    "nav-only.html": ("skipped", "no article text found in the HTML page"),
    "broken.pdf": ("skipped", "the PDF could not be read"),
    "locked.pdf": ("skipped", "the PDF is encrypted"),
    "owner-locked.pdf": ("added", "a new accord on Arctic shipping lanes"),
    "copy.txt": ("skipped", "same content as india-s400-talks-snub-to-us.txt"),
    "notes.docx": ("skipped", "unsupported file type .docx"),
    "outside.txt": ("skipped", "link points outside the corpus folder"),
    "dangling.txt": ("skipped", "broken link"),
}


@pytest.fixture(scope="module")
def bad_corpus(tmp_path_factory) -> tuple[Assistant, IndexReport]:
    """The real corpus with every kind of bad article added, indexed once."""
    base = tmp_path_factory.mktemp("bad")
    corpus = base / "corpus"
    shutil.copytree(CORPUS, corpus)
    for name, data in bad_articles(corpus).items():
        (corpus / name).write_bytes(data)
    (corpus / "outside.txt").symlink_to("/etc/hostname")
    (corpus / "dangling.txt").symlink_to(base / "gone.txt")
    (corpus / ".draft.txt.swp").write_text("an editor's swap file, never an article")
    assistant = Assistant(corpus_dir=corpus, index_dir=base / "index")
    return assistant, assistant.index()


def test_every_file_is_indexed_or_skipped_with_one_line(bad_corpus):
    assistant, report = bad_corpus
    visible = {p.name for p in assistant.corpus_dir.iterdir() if not p.name.startswith(".")}
    skipped = [s.doc_id for s in report.skipped]
    assert sorted(report.added + skipped) == sorted(visible)
    assert all(s.reason and "\n" not in s.reason for s in report.skipped)
    assert {p.name for p in CORPUS.iterdir()} <= set(report.added)
    assert_consistent(assistant)


@pytest.mark.parametrize(("name", "expected"), EXPECTED.items())
def test_each_bad_file_gets_a_sensible_outcome(bad_corpus, name, expected):
    assistant, report = bad_corpus
    outcome, detail = expected
    if outcome == "added":
        assert name in report.added
        assert detail in assistant.document(name).text
    else:
        assert {s.doc_id: s.reason for s in report.skipped}[name].startswith(detail)

"""Read articles from the corpus folder: decode, clean lightly, and extract their metadata.

The text we keep is the article's own text (line endings normalised, nothing reworded), so
that offsets into it stay meaningful to a reader. Metadata comes only from what the text
shows: a first-line headline, a byline, ``Author:``/``Published:``/``Source:`` lines, YAML
front matter, HTML or PDF metadata. What the text does not show stays empty.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dateutil import parser as date_parser

from .schema import ArticleMeta, Document

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
TITLE_MAX_CHARS = 160
MIN_HTML_WORDS = 8  # fewer words than this left after extraction is no article
HEADER_LINES = 8  # metadata lines are looked for only near the top of an article

_FIELD_LINE = re.compile(
    r"^\s*(?P<key>author|authors|by|written by|published|date|updated|posted|source|outlet|"
    r"publisher|title)\s*[:\-–—]\s*(?P<value>.+?)\s*$",
    re.IGNORECASE,
)
_BY_LINE = re.compile(r"^\s*by\s+(?P<value>[A-Z][^\d\n]{1,80}?)\s*$")
_NAME_LINE = re.compile(r"^[A-Z][a-zA-Z'’.\-]+(?:\s+(?:[A-Z][a-zA-Z'’.\-]+|de|da|van|von|bin|al))"
                        r"{1,3}$")
_DATELINE = re.compile(r"^(?P<place>[A-Z][A-Za-z .]{1,40}),\s*(?P<date>[^:]{3,40}?):?\s*$")
_FIELD_NAMES = {
    "author": "author", "authors": "author", "by": "author", "written by": "author",
    "published": "date", "date": "date", "updated": "date", "posted": "date",
    "source": "source", "outlet": "source", "publisher": "source", "title": "title",
}


class IngestError(Exception):
    """A file that cannot be indexed; the message is the one-line reason shown to users."""


@dataclass(frozen=True)
class CorpusFile:
    """A candidate article on disk and its id (path relative to the corpus, ``/`` separated)."""

    path: Path
    doc_id: str


def iter_corpus_files(corpus_dir: Path) -> Iterator[CorpusFile]:
    """Every file under the corpus folder in a stable order, hidden and temporary files excluded."""
    for path in sorted(corpus_dir.rglob("*")):
        rel = path.relative_to(corpus_dir)
        if any(part.startswith((".", "~")) for part in rel.parts) or path.name.endswith("~"):
            continue  # editors' swap/temp files and hidden folders are never articles
        if path.is_dir():
            continue
        yield CorpusFile(path=path, doc_id=rel.as_posix())


def file_hash(data: bytes) -> str:
    """Content hash that decides whether an article changed since it was indexed."""
    return hashlib.sha256(data).hexdigest()


def decode_text(data: bytes) -> str:
    """Bytes to text: UTF-8 (with or without BOM), UTF-16 (BOM or not), else Windows-1252.

    Binary junk (NUL bytes, many control characters) raises IngestError rather than
    indexing garbage.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    elif b"\x00" in data[:4096]:
        text = _decode_utf16_without_bom(data)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    if sample and controls / len(sample) > 0.05:
        raise IngestError("looks like a binary file, not text")
    return normalise_text(text)


def _decode_utf16_without_bom(data: bytes) -> str:
    """UTF-16 saved without a byte-order mark, told apart from binary by where its NULs are.

    Text in a Latin script has a NUL high byte in (nearly) every character: in the odd bytes
    for little-endian, in the even ones for big-endian. Anything else with NULs is binary.
    """
    sample = data[:4096]
    for encoding, highs, lows in (("utf-16-le", sample[1::2], sample[0::2]),
                                  ("utf-16-be", sample[0::2], sample[1::2])):
        if len(data) % 2 == 0 and highs.count(0) > 0.7 * len(highs) and 0 not in lows:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                break
    raise IngestError("looks like a binary file, not text")


def normalise_text(text: str) -> str:
    """Unify line endings and drop NULs; everything else is kept as the author wrote it."""
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")


def normalise_date(raw: str) -> str:
    """ISO ``YYYY-MM-DD`` when the text gives day, month and year; otherwise the text as shown.

    A partial date (``3rd July``) is kept verbatim: filling in a year would invent one.
    """
    raw = raw.strip().rstrip(":").strip()
    if not raw:
        return ""
    has_year = re.search(r"\b(1[89]|20)\d\d\b", raw)
    has_day = re.search(r"\b\d{1,2}(st|nd|rd|th)?\b", re.sub(r"\b\d{4}\b", "", raw))
    if not (has_year and has_day):
        return raw
    try:
        return date_parser.parse(raw, fuzzy=True).date().isoformat()
    except (ValueError, OverflowError):
        return raw


def _shorten(line: str, limit: int = TITLE_MAX_CHARS) -> str:
    line = line.strip().lstrip("#").strip()
    if len(line) <= limit:
        return line
    return line[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


@dataclass(frozen=True)
class HeaderField:
    """A metadata value found in an article's first lines, with the span of its line."""

    value: str
    start: int
    end: int


def header_fields(text: str) -> dict[str, HeaderField]:
    """Title, author, date and source that the first lines of a plain text show, with spans."""
    found: dict[str, HeaderField] = {}
    lines = [m for m in re.finditer(r"[^\n]+", text) if m.group().strip()][:HEADER_LINES]
    for position, match in enumerate(lines):
        line = match.group().strip()
        key, value = _classify_header_line(line, position)
        if key == "body":
            break  # the body has started; bylines and datelines come before it
        if key and (key not in found or (key == "title" and position == 0)):
            found[key] = HeaderField(value, match.start(), match.end())
    return found


def _classify_header_line(line: str, position: int) -> tuple[str, str]:
    """Which metadata field a header line gives (``''`` for none, ``body`` when text starts)."""
    if field := _FIELD_LINE.match(line):
        return _FIELD_NAMES[field["key"].lower()], field["value"]
    if (by_line := _BY_LINE.match(line)) and position <= 3:
        return "author", by_line["value"]
    if position == 0:
        return "title", line
    if len(line) > 200:
        return "body", ""
    if _NAME_LINE.match(line) and position <= 3:
        return "author", line
    if (dateline := _DATELINE.match(line)) and position <= 4:
        return "date", dateline["date"]
    return "", ""


def text_metadata(text: str) -> ArticleMeta:
    """Metadata a plain-text article shows in its first lines (headline, byline, fields)."""
    fields = {key: f.value for key, f in header_fields(text).items()}
    if "date" in fields:
        fields["date"] = normalise_date(fields["date"])
    if "title" in fields:
        fields["title"] = _shorten(fields["title"])
    return ArticleMeta(**fields)


def _read_markdown(data: bytes) -> tuple[str, ArticleMeta]:
    import frontmatter

    post = frontmatter.loads(decode_text(data))
    body = post.content
    meta = text_metadata(body)
    fields = {k.lower(): str(v) for k, v in post.metadata.items() if v}
    heading = re.search(r"^#\s+(.+)$", body, re.MULTILINE)
    title = fields.get("title") or (heading.group(1) if heading else meta.title)
    date = fields.get("date") or fields.get("published") or meta.date
    return body, ArticleMeta(
        title=_shorten(title),
        author=fields.get("author") or fields.get("authors") or meta.author,
        date=normalise_date(date),
        source=fields.get("source") or fields.get("outlet") or fields.get("publisher")
        or meta.source,
    )


def _read_html(data: bytes) -> tuple[str, ArticleMeta]:
    import trafilatura

    html = decode_text(data)
    extracted = trafilatura.bare_extraction(
        html, with_metadata=True, include_comments=False, favor_precision=True
    )
    # A page of scripts and menus can leave only its navigation bar ("Home | World | Sport").
    if extracted is None or len((extracted.text or "").split()) < MIN_HTML_WORDS:
        raise IngestError("no article text found in the HTML page")
    body = normalise_text(extracted.text)
    return body, ArticleMeta(
        title=_shorten(extracted.title or text_metadata(body).title),
        author=extracted.author or "",
        date=normalise_date(extracted.date or ""),
        source=extracted.sitename or "",
    )


def _read_pdf(data: bytes) -> tuple[str, ArticleMeta]:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError("the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata or {}
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(f"the PDF could not be read ({type(exc).__name__})") from exc
    body = normalise_text("\n\n".join(p.strip() for p in pages if p.strip()))
    if not body.strip():
        raise IngestError("the PDF has no extractable text (scanned images?)")
    meta = text_metadata(body)
    return body, ArticleMeta(
        title=_shorten(str(info.get("/Title") or "") or meta.title),
        author=str(info.get("/Author") or "") or meta.author,
        date=meta.date,
        source=meta.source,
    )


def parse_article(doc_id: str, data: bytes) -> Document:
    """Turn a file's bytes into a Document, or raise IngestError with the reason it can't be."""
    suffix = Path(doc_id).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(f"unsupported file type {suffix or '(none)'}")
    if suffix == ".pdf":
        text, meta = _read_pdf(data)
    elif suffix in (".html", ".htm"):
        text, meta = _read_html(data)
    elif suffix == ".md":
        text, meta = _read_markdown(data)
    else:
        text = decode_text(data)
        meta = text_metadata(text)
    if not text.strip():
        raise IngestError("the file is empty")
    return Document(doc_id=doc_id, text=text, content_hash=file_hash(data), **meta.model_dump())

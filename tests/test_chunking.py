"""Chunks are whole sentences with exact offsets, bounded in size, overlapping by a sentence."""

from __future__ import annotations

import itertools

import pytest

from assistant.chunking import chunk_document, section_headings, split_sentences

from .conftest import CORPUS

ARTICLES = sorted(p.name for p in CORPUS.iterdir())


@pytest.mark.parametrize("name", ARTICLES)
def test_chunks_slice_the_text_exactly_and_cover_every_sentence(name: str):
    text = (CORPUS / name).read_text()
    chunks = chunk_document(name, text, chunk_chars=600, overlap=1)
    assert all(text[c.start:c.end] == c.text for c in chunks)
    sentences = split_sentences(text)
    for sent in sentences:  # every sentence lies whole inside some chunk
        assert any(c.start <= sent.start and sent.end <= c.end for c in chunks)
    assert all(c.end - c.start <= 600 or c.text.count(". ") == 0 for c in chunks)


def test_chunk_boundaries_fall_between_sentences():
    text = (CORPUS / "india-sovereignty-over-alignment.txt").read_text()
    starts = {s.start for s in split_sentences(text)}
    ends = {s.end for s in split_sentences(text)}
    for chunk in chunk_document("a", text, 600, 1):
        assert chunk.start in starts and chunk.end in ends


def test_consecutive_chunks_share_one_sentence():
    text = (CORPUS / "india-sovereignty-over-alignment.txt").read_text()
    chunks = chunk_document("a", text, 600, 1)
    for before, after in itertools.pairwise(chunks):
        assert after.start < before.end  # overlap
        assert after.start > before.start  # progress


def test_overlong_sentence_is_wrapped_not_dropped():
    text = "word " * 400 + "end."
    chunks = chunk_document("a", text.strip(), 300, 1)
    assert "".join(c.text.replace(" ", "") for c in chunks).count("end.") >= 1
    assert max(c.end - c.start for c in chunks) <= 300


def test_each_sentence_knows_the_heading_of_its_section():
    text = ("India and the F-35\nIntro sentence one. Intro two.\n"
            "The F-35 Issue: Technology Without Control\n"
            "The offer looked good. The United States refused to share source codes.\n"
            "Is this a heading?\nNo, that was a question.")
    sentences = split_sentences(text)
    spoken = [text[s.start:s.end] for s in sentences]
    headings = section_headings(text, sentences)
    heading_of = {spoken[i]: spoken[h] if h is not None else None
                  for i, h in enumerate(headings)}
    assert heading_of["India and the F-35"] is None
    assert heading_of["Intro two."] == "India and the F-35"
    assert heading_of["The United States refused to share source codes."] == (
        "The F-35 Issue: Technology Without Control")
    assert heading_of["No, that was a question."] == "The F-35 Issue: Technology Without Control"

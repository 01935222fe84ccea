"""The public API on the real corpus: exact spans, cited answers, plain refusals."""

from __future__ import annotations

import json
import re

import pytest

import assistant as package
from assistant import Answer, Assistant, UserError

F35 = "Why did India turn down the F-35?"
# The two articles that tell why: no technology transfer, no source codes.
F35_ARTICLES = {"india-sovereignty-over-alignment.txt", "bharat-bold-pivot-defense-ties-russia.txt"}


def test_retrieve_returns_exact_spans_best_first(assistant: Assistant):
    hits = assistant.retrieve(F35, k=5)
    assert len(hits) == 5
    assert hits[0].doc_id in F35_ARTICLES
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    for hit in hits:
        doc = assistant.document(hit.doc_id)
        assert doc.text[hit.start:hit.end] == hit.text
        assert hit.title == doc.title and hit.author == doc.author


def test_top_k_are_not_copies_of_one_paragraph(assistant: Assistant):
    hits = assistant.retrieve("S-400 air defence systems", k=5)
    for i, a in enumerate(hits):
        for b in hits[i + 1:]:
            if a.doc_id == b.doc_id:
                overlap = min(a.end, b.end) - max(a.start, b.start)
                assert overlap <= 0.5 * min(a.end - a.start, b.end - b.start)


def test_answer_cites_the_passage_it_quotes(assistant: Assistant):
    answer = assistant.answer(F35, history=[])
    assert answer.citations and answer.question == F35
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    assert markers[0] == 1 and set(markers) == {c.number for c in answer.citations}
    assert [c.number for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    cited = answer.citations[0]
    assert cited.doc_id in F35_ARTICLES
    doc = assistant.document(cited.doc_id)
    assert doc.text[cited.start:cited.end] == cited.text
    assert cited.start <= cited.highlight_start < cited.highlight_end <= cited.end
    first_sentence = answer.text.split(" [1]")[0]
    assert first_sentence in doc.text[cited.highlight_start:cited.highlight_end]
    assert "F-35" in first_sentence


@pytest.mark.parametrize(("question", "doc_id", "phrase"), [
    ("How big is annual trade between India and the United States?",
     "2026-02-india-balancing-act-us-russia.txt", "$142 billion"),
    ("How many S-400 systems have already arrived?",
     "bharat-bold-pivot-defense-ties-russia.txt", "Three of these formidable systems"),
    ("Who wrote the article about India's balancing act?",
     "2026-02-india-balancing-act-us-russia.txt", "Ankita Hadiya"),
])
def test_answers_point_at_the_right_passage(assistant: Assistant, question: str, doc_id: str,
                                            phrase: str):
    answer = assistant.answer(question)
    assert any(c.doc_id == doc_id and phrase in c.text for c in answer.citations), answer.text
    assert phrase in answer.text


@pytest.mark.parametrize("question", [
    "Who won the 2022 FIFA World Cup?",
    "How do I make a sourdough starter at home?",
    "How much did India pay Russia for the S-400 systems?",
])
def test_unanswerable_questions_are_refused_without_citations(assistant: Assistant,
                                                              question: str):
    answer = assistant.answer(question)
    assert answer.refused and answer.citations == []
    assert "don't answer" in answer.text


def test_author_question_about_an_article_without_byline_says_so(assistant: Assistant):
    answer = assistant.answer("Who is the author of the article about the S-400 snub to the US?")
    assert answer.citations == [] and "does not name its author" in answer.text


def test_to_dict_is_json_ready(assistant: Assistant):
    data = json.loads(json.dumps(assistant.answer(F35).to_dict()))
    assert data["text"] and data["citations"][0]["number"] == 1
    assert {"doc_id", "title", "start", "end", "score", "text"} <= set(data["citations"][0])
    assert data["question"] == F35 and data["refused"] is False


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01"])
def test_empty_questions_raise_a_user_error(assistant: Assistant, question: str):
    with pytest.raises(UserError, match="type a question"):
        assistant.answer(question)


def test_huge_question_is_bounded(assistant: Assistant):
    answer = assistant.answer("F-35 " * 20000)
    assert isinstance(answer, Answer)


def test_stream_ends_with_the_answer(assistant: Assistant):
    pieces = list(assistant.stream(F35, history=[]))
    assert isinstance(pieces[-1], Answer)
    assert "".join(p for p in pieces[:-1] if isinstance(p, str)) == pieces[-1].text


def test_module_level_answer_uses_settings(built_index, monkeypatch):
    corpus, index = built_index
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(index))
    monkeypatch.setattr("assistant.settings.get_settings", package.settings.Settings)
    monkeypatch.setattr("assistant.core.get_settings", package.settings.Settings)
    monkeypatch.setattr("assistant.core._default", None)
    answer = package.answer(F35)
    assert answer.citations and (corpus / answer.citations[0].doc_id).exists()
    assert answer.index_version == Assistant(corpus_dir=corpus, index_dir=index).index_version


def test_empty_index_is_a_user_error(tmp_path):
    (tmp_path / "corpus").mkdir()
    empty = Assistant(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    with pytest.raises(UserError, match="index"):
        empty.answer(F35)


def test_a_shared_sentence_is_cited_from_the_copy_among_the_passages(assistant: Assistant):
    """Two articles can hold one sentence. When the copy outside the returned passages scores
    higher, the answer must still cite the copy inside them, not refuse (a reader under a
    concurrent re-index of near-copies met this)."""
    from assistant.answering import ExtractiveAnswerer
    from assistant.retrieval import RetrievalResult, ScoredSentence
    from assistant.schema import Passage

    question = "How many decades does the India–Russia relationship go back?"
    doc = assistant.document("2026-02-india-balancing-act-us-russia.txt")
    start = doc.text.index("India’s relationship with Russia (formerly the Soviet Union)")
    end = doc.text.index(".", start) + 1
    text = doc.text[start:end]
    passage = Passage(doc_id=doc.doc_id, text=doc.text[start - 10:end], start=start - 10,
                      end=end, score=1.0)
    result = RetrievalResult([passage], [
        ScoredSentence("extra-copy.txt", 5, 5 + len(text), text, 7.6),  # not among passages
        ScoredSentence(doc.doc_id, start, end, text, 7.5)])
    answerer = ExtractiveAnswerer(assistant.searcher, threshold=-0.5, limit=3)
    answer = answerer.answer(question, question, result)
    assert [(c.doc_id, c.highlight_start) for c in answer.citations] == [(doc.doc_id, start)]

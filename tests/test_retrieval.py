"""Hybrid search and reranking do measurably better than their parts on fixed cases."""

from __future__ import annotations

import pytest

from assistant import Assistant
from assistant.evaluation import first_right_rank, load_qa
from assistant.lexical import best_matches_first
from assistant.retrieval import reciprocal_rank_fusion


@pytest.mark.parametrize("term", ["Sindoor", "Malabar", "Kanyakumari"])
def test_hybrid_finds_a_rare_exact_term_that_dense_alone_misses(assistant: Assistant,
                                                                term: str):
    dense = assistant.retrieve(term, k=3, rerank_depth=0, mode="dense")
    hybrid = assistant.retrieve(term, k=3, rerank_depth=0, mode="hybrid")
    assert not any(term in p.text for p in dense)
    assert any(term in p.text for p in hybrid)


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d", "e"]], k=60)
    assert max(fused, key=fused.get) == "b"
    assert fused["b"] > fused["a"] > fused["d"]


# q036 left this list when the head became RRF with the cross-encoder: it now reaches rank 2
# (fusion alone: 5); the corpus MRR rose 0.887 -> 0.892 (docs/benchmarks.md). q066 left it
# when the models began reading "Bharat" as "India": fusion alone now ranks it first.
@pytest.mark.parametrize("qid", ["q006", "q027", "q031", "q042"])
def test_reranking_lifts_the_right_passage_to_the_top(assistant: Assistant, qid: str):
    item = next(i for i in load_qa() if i.id == qid)
    fused_only = assistant.retrieve(item.question, k=5, rerank_depth=0)
    reranked = assistant.retrieve(item.question, k=5, rerank_depth=10)
    assert (first_right_rank(fused_only, item.answers) or len(fused_only) + 1) > 1
    assert first_right_rank(reranked, item.answers) == 1


def test_langchain_retriever_returns_documents_with_spans(assistant: Assistant):
    docs = assistant.as_retriever(k=3).invoke("Why did India turn down the F-35?")
    assert len(docs) == 3
    meta = docs[0].metadata
    text = assistant.document(meta["doc_id"]).text
    assert text[meta["start"]:meta["end"]] == docs[0].page_content


class CountingReranker:
    """The real cross-encoder, counting the sentences it is asked to read."""

    def __init__(self, inner):
        self.inner = inner
        self.read: list[int] = []

    def score(self, question, texts):
        self.read.append(len(texts))
        return self.inner.score(question, texts)


def test_the_sentence_shortlist_reads_fewer_sentences_and_answers_alike(
        built_index, assistant: Assistant):
    """A budget of 12 sentences reads fewer than all, still scores every reranked passage,
    and leads with the same cited sentence as reading all of them (later sentences may
    differ: the INT8 model's logits move a little with what is batched beside them)."""
    corpus, index = built_index
    question = "Which joint military exercise helps Indian and American forces work together?"
    counted = {}
    for budget in (0, 12):
        settings = assistant.settings.model_copy(update={"rerank_sentences": budget})
        reader = Assistant(corpus_dir=corpus, index_dir=index, settings=settings)
        counter = CountingReranker(reader.searcher.reranker())
        reader.searcher.reranker = lambda counter=counter: counter
        counted[budget] = (reader.answer(question), counter.read, reader)
    (all_answer, all_read, _), (short_answer, short_read, short) = counted[0], counted[12]
    assert short_read[0] <= 12 < all_read[0]
    first = short_answer.citations[0]  # the sentence a reader takes the answer from
    assert (first.doc_id, first.start, first.end) == (
        all_answer.citations[0].doc_id, all_answer.citations[0].start, all_answer.citations[0].end)
    assert "Malabar" in short_answer.text.split(" [1]")[0]
    result = short.searcher.search(question, k=5)
    assert len(result.sentences) <= 12
    for passage in result.passages:  # each reranked passage had a sentence read
        assert any(s.doc_id == passage.doc_id and passage.start <= s.start < passage.end
                   for s in result.sentences)


def test_best_matches_first_puts_the_sentence_with_the_rare_asked_word_first():
    texts = ["India and Russia met again.", "India and Russia spoke of Malabar drills.",
             "Russia and India agreed."]
    assert best_matches_first("What are the Malabar exercises?", texts)[0] == 1
    assert best_matches_first("Nothing here matches", texts) == [0, 1, 2]
    assert best_matches_first("the of and", ["", "and the"]) == [0, 1]


def test_the_cross_encoder_reads_a_sentence_under_its_section_heading(assistant: Assistant):
    """"The United States refused to share source codes…" names no aircraft; its heading does,
    and with it the sentence answers why India turned the F-35 down."""
    doc = assistant.document("india-sovereignty-over-alignment.txt")
    start = doc.text.index("The United States refused to share source codes")
    sentences = assistant.searcher._sentences(doc.text)
    i = next(n for n, s in enumerate(sentences) if s.start == start)
    read = assistant.searcher._as_read(doc.text, i)
    assert read.startswith("The F-35 Issue: Technology Without Control ")
    assert read.endswith("weapons-integration frameworks.")
    answer = assistant.answer("Why did India turn down the F-35?")
    assert any("refused to share source codes" in c.text for c in answer.citations)

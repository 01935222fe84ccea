"""Citation verification: choose its thresholds, then measure citations ALCE-style.

Part 1 (``calibrate``) labels (claim, passage) pairs from the development questions:
- supported: the sentence of the article that holds the expected phrase, with its passage;
- corrupted: the same sentence with one number or name swapped for another from the
  corpus (FactCC-style), with the same passage: on topic, but wrong;
- off-topic: another question's answer sentence, with this passage.
It reports precision/recall/F1 of "supported" for cross-encoder logit and word-coverage
thresholds alone and together, and picks the pair with the best F1.

Part 2 (``alce``) answers the answerable development questions with each generator and
reports, per answer sentence, citation recall (the sentence is backed by its cited
passages) and citation precision (each cited passage backs it), judged by the support test
above, for the raw model text and after verification; with latency for ``local``.

    .venv/bin/python bench/verification.py [--generators extractive,local] [--limit 30]
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import machine

from assistant import Assistant
from assistant.chunking import split_sentences
from assistant.evaluation import QaItem, conversation_scores, load_qa
from assistant.generation import LlmGenerator
from assistant.verification import CitationVerifier, split_claims

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "verification"
SCORES = [-8.0, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 6.0]
COVERAGES = [0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_NAME = re.compile(r"\b[A-Z][a-z]{2,}\b")


def gold_pairs(assistant: Assistant, items: list[QaItem]) -> list[tuple[str, object]]:
    """(answer sentence, its passage) for each answerable question."""
    pairs = []
    for item in items:
        answer = item.answers[0]
        doc = assistant.document(answer["doc_id"])
        at = doc.text.find(answer["phrase"])
        span = next((s for s in split_sentences(doc.text) if s.start <= at < s.end), None)
        passage = assistant.searcher.passage_covering(doc.doc_id, span.start, span.end) \
            if span else None
        if passage is not None:
            pairs.append((doc.text[span.start:span.end], passage))
    return pairs


def corrupt(sentence: str, names: list[str], rng: random.Random) -> str | None:
    """The sentence with one number changed or one name swapped, or None if it has neither."""
    numbers = _NUMBER.findall(sentence)
    if numbers:
        old = rng.choice(numbers)
        digits = old.replace(",", "")
        new = str(int(float(digits)) * 3 + 7) if digits.replace(".", "").isdigit() else "42"
        return sentence.replace(old, new, 1)
    own = [n for n in _NAME.findall(sentence[1:]) if n in names]
    if not own:
        return None
    old = rng.choice(own)
    return sentence.replace(old, rng.choice([n for n in names if n != old]), 1)


def labelled_pairs(assistant: Assistant, items: list[QaItem]) -> list[tuple[str, object, bool]]:
    """Supported, corrupted and off-topic (claim, passage, label) triples."""
    rng = random.Random(7)
    gold = gold_pairs(assistant, items)
    text = " ".join(assistant.document(d["doc_id"]).text for d in assistant.documents())
    names = sorted({n for n in _NAME.findall(text)} - {"The", "This", "That", "But", "And"})
    triples = []
    for i, (sentence, passage) in enumerate(gold):
        triples.append((sentence, passage, True))
        wrong = corrupt(sentence, names, rng)
        if wrong and wrong != sentence:
            triples.append((wrong, passage, False))
        other, other_passage = gold[(i + 1 + rng.randrange(len(gold) - 1)) % len(gold)]
        if other_passage.doc_id != passage.doc_id:
            triples.append((other, passage, False))
    return triples


def prf(predicted: np.ndarray, truth: np.ndarray) -> dict:
    tp = float((predicted & truth).sum())
    precision = tp / max(predicted.sum(), 1)
    recall = tp / max(truth.sum(), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def calibrate(assistant: Assistant, items: list[QaItem]) -> dict:
    """Precision/recall of the support test over a grid of both thresholds."""
    triples = labelled_pairs(assistant, items)
    verifier = CitationVerifier(assistant.searcher.reranker().score, 0.0, 0.0)
    found = [verifier.scores(claim, [passage]) for claim, passage, _ in triples]
    logits = np.array([f.logits[0] for f in found])
    coverages = np.array([f.coverages[0] for f in found])
    exact = np.array([f.exact[0] for f in found])
    truth = np.array([label for *_, label in triples])
    grid = [{"min_score": s, "min_coverage": c, "exact_specifics": e,
             **prf((logits >= s) & (coverages >= c) & (exact | (not e)), truth)}
            for s, c, e in itertools.product(SCORES, COVERAGES, (False, True))]

    def best(rows) -> dict:
        return max(rows, key=lambda r: (r["f1"], r["precision"], -abs(r["min_score"])))
    return {"pairs": len(triples), "supported": int(truth.sum()), "best": best(grid),
            "cross_encoder_only": best(r for r in grid if r["min_coverage"] == 0.0
                                       and not r["exact_specifics"]),
            "coverage_only": best(r for r in grid if r["min_score"] == SCORES[0]
                                  and not r["exact_specifics"]),
            "without_exact_specifics": best(r for r in grid if not r["exact_specifics"]),
            "grid": grid}


def judge(verifier: CitationVerifier, text: str, sources: list) -> dict:
    """ALCE-style counts for one answer: sentences, supported-and-cited, citations, good ones."""
    counts = {"sentences": 0, "recalled": 0, "citations": 0, "precise": 0, "uncited": 0}
    for claim in split_claims(text):
        if not claim.needs_source:
            continue
        counts["sentences"] += 1
        cited = [sources[n - 1] for n in claim.cited if 1 <= n <= len(sources)]
        counts["uncited"] += not cited
        if not cited:
            continue
        backed = verifier.supported(claim.text, cited)
        counts["recalled"] += bool(backed.any())
        counts["citations"] += len(cited)
        counts["precise"] += int(backed.sum())
    return counts


def alce(assistant: Assistant, generator: str, items: list[QaItem]) -> dict:
    """Citation recall/precision of raw and verified answers, and latency."""
    verifier = assistant.generator("local").verifier if generator != "extractive" else \
        CitationVerifier(assistant.searcher.reranker().score,
                         assistant.settings.verify_min_score,
                         assistant.settings.verify_min_coverage)
    raw_totals: dict[str, int] = {}
    final_totals: dict[str, int] = {}
    first_token, full, unsupported, fallbacks, samples = [], [], 0, 0, []
    for item in items:
        start = time.perf_counter()
        pieces, final = [], None
        for piece in assistant.stream(item.question, generator=generator):
            if isinstance(piece, str):
                if not pieces:
                    first_token.append(time.perf_counter() - start)
                pieces.append(piece)
            else:
                final = piece
        full.append(time.perf_counter() - start)
        raw = "".join(pieces)
        sources = _sources_of(assistant, generator, item.question, final)
        for totals, text, srcs in ((raw_totals, raw, sources),
                                   (final_totals, final.text, final.citations)):
            for key, value in judge(verifier, text, srcs).items():
                totals[key] = totals.get(key, 0) + value
        unsupported += len(final.unsupported)
        fallbacks += "fallback" in final.generator
        samples.append({"question": item.question, "raw": raw, "final": final.text,
                        "sources": [p.text for p in sources],
                        "unsupported": final.unsupported, "generator": final.generator})
    return {"answers": len(items), "raw": _rates(raw_totals), "verified": _rates(final_totals),
            "unsupported_sentences": unsupported, "extractive_fallbacks": fallbacks,
            "first_piece_s_p50": round(statistics.median(first_token), 2),
            "full_answer_s_p50": round(statistics.median(full), 2),
            "full_answer_s_p95": round(sorted(full)[int(0.95 * (len(full) - 1))], 2),
            "samples": samples}


def _sources_of(assistant: Assistant, generator: str, question: str, final) -> list:
    """The numbered sources the raw text's markers refer to (retrieval is deterministic,
    so searching again finds what the generator was given)."""
    if generator == "extractive":
        return final.citations  # extractive markers are final numbers already
    gen = assistant.generator(generator)
    assert isinstance(gen, LlmGenerator)
    settings = assistant.settings
    result = assistant.searcher.search(final.query, settings.top_k,
                                       max(settings.rerank_depth, settings.top_k))
    return gen.sources_for(gen.answerer.compose(question, final.query, result), result)


def _rates(totals: dict[str, int]) -> dict:
    return {"sentences": totals.get("sentences", 0),
            "citation_recall": round(totals.get("recalled", 0) / max(totals["sentences"], 1), 3),
            "citation_precision": round(totals.get("precise", 0)
                                        / max(totals.get("citations", 0), 1), 3),
            "uncited_share": round(totals.get("uncited", 0) / max(totals["sentences"], 1), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generators", default="extractive,local")
    parser.add_argument("--limit", type=int, default=30, help="answerable questions per generator")
    parser.add_argument("--skip-calibration", action="store_true")
    parser.add_argument("--conversations", action="store_true",
                        help="also score follow-ups (tests/data/conversations.jsonl)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    items = [i for i in load_qa() if i.answerable]
    results: dict = {"machine": machine()}
    with tempfile.TemporaryDirectory() as tmp:
        assistant = Assistant(corpus_dir=ROOT / "corpus", index_dir=tmp)
        assistant.index()
        if not args.skip_calibration:
            results["calibration"] = calibrate(assistant, items)
            print(json.dumps({k: v for k, v in results["calibration"].items() if k != "grid"},
                             indent=1))
        sample = items[:: max(1, len(items) // args.limit)][: args.limit]
        for name in args.generators.split(","):
            results[name] = alce(assistant, name, sample)
            if args.conversations:
                scores = conversation_scores(
                    lambda q, h, name=name: assistant.answer(q, h, generator=name))
                results[name]["conversations"] = vars(scores)
            print(name, json.dumps({k: v for k, v in results[name].items() if k != "samples"}))
    name = "results.json" if args.generators == "extractive,local" else \
        f"results-{args.generators.replace(',', '-')}.json"
    (OUT / name).write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()

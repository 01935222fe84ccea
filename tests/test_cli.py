"""The ``assistant`` command, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], capture_output=True,
                          text=True, timeout=300, cwd=cwd)


def test_index_then_ask_json(corpus_copy: Path, tmp_path: Path):
    index = tmp_path / "index"
    first = run("index", "--corpus", str(corpus_copy), "--index", str(index))
    assert first.returncode == 0, first.stderr
    assert "5 added" in first.stdout
    second = run("index", "--corpus", str(corpus_copy), "--index", str(index))
    assert "0 added, 0 updated, 0 removed, 5 unchanged" in second.stdout
    asked = run("--index", str(index), "ask", "Why did India turn down the F-35?", "--json")
    assert asked.returncode == 0, asked.stderr
    data = json.loads(asked.stdout)
    assert "[1]" in data["text"] and data["citations"][0]["doc_id"].endswith(".txt")


def test_user_errors_print_one_line_and_exit_2(tmp_path: Path):
    cases = [
        run("index", "--corpus", str(tmp_path / "missing")),
        run("--index", str(tmp_path / "none"), "ask", "anything?"),
        run("--index", str(tmp_path / "none"), "ask", "  "),
    ]
    for result in cases:
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().startswith("error:")
        assert len(result.stderr.strip().splitlines()) == 1


def test_eval_prints_the_metrics_table(built_index, tmp_path: Path):
    corpus, index = built_index
    lines = (Path(__file__).parent / "data" / "qa.jsonl").read_text().splitlines()
    questions = tmp_path / "qa.jsonl"
    questions.write_text("\n".join(lines[:4] + lines[-2:]))  # 4 answerable, 2 not
    result = run("--corpus", str(corpus), "--index", str(index), "eval",
                 "--questions", str(questions))
    assert result.returncode == 0, result.stderr
    assert "Recall@5" in result.stdout and "MRR" in result.stdout

"""The web UI's API against a real server on a free port, its upload guards and its HTML."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from assistant import Answer, Assistant, Citation, Document
from assistant import ui_render as render
from assistant.webapp import (
    UploadRejected,
    WebApp,
    article_path,
    parse_auth,
    safe_upload_name,
    save_upload,
    serve,
)

from .conftest import free_port

QUESTION = "Why did India turn down the F-35?"


def private_assistant(built_index: tuple[Path, Path], target: Path, **settings) -> Assistant:
    """An Assistant over a private copy of the session's corpus and index."""
    corpus, index = built_index
    shutil.copytree(corpus, target / "corpus")
    shutil.copytree(index, target / "index")
    assistant = Assistant(corpus_dir=target / "corpus", index_dir=target / "index")
    assistant.settings = assistant.settings.model_copy(update=settings)
    return assistant


@pytest.fixture(scope="module")
def server(built_index, tmp_path_factory) -> Iterator[tuple[str, Assistant]]:
    """(url, assistant) of the web app served in this process on a free port."""
    assistant = private_assistant(built_index, tmp_path_factory.mktemp("webapp"))
    app = serve(assistant, host="127.0.0.1", port=free_port(), block=False)
    yield app.local_url, assistant
    app.close()


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(server[0], verbose=False)


def test_chat_returns_an_answer_with_markers(client):
    text = client.predict(QUESTION, api_name="/chat")
    assert "F-35" in text
    assert "[1]" in text


def test_chat_keeps_a_conversation_per_client(server):
    first, second = Client(server[0], verbose=False), Client(server[0], verbose=False)
    assert "[1]" in first.predict(QUESTION, api_name="/chat")
    assert "[1]" in first.predict("What about the S-400?", api_name="/chat")
    assert "[1]" in second.predict("What about the S-400?", api_name="/chat")


def test_ask_spans_slice_the_article_exactly(server, client):
    result = client.predict(QUESTION, api_name="/ask")
    assert result["question"] == QUESTION
    assert not result["refused"]
    assert result["citations"]
    unmarked = re.sub(r"\s*\[\d+\]", "", result["text"])
    for cited in result["citations"]:
        text = server[1].document(cited["doc_id"]).text
        assert text[cited["start"]:cited["end"]] == cited["text"]
        assert cited["start"] <= cited["highlight_start"] < cited["highlight_end"] <= cited["end"]
        assert f"[{cited['number']}]" in result["text"]
        assert text[cited["highlight_start"]:cited["highlight_end"]] in unmarked


@pytest.mark.parametrize("api_name", ["/chat", "/ask"])
@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question_gets_a_friendly_message(client, api_name, question):
    with pytest.raises(AppError) as caught:
        client.predict(question, api_name=api_name)
    assert str(caught.value) == "Please type a question"


def test_empty_index_gets_a_friendly_message(tmp_path):
    (tmp_path / "corpus").mkdir()
    assistant = Assistant(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    app = serve(assistant, host="127.0.0.1", port=free_port(), block=False)
    try:
        with pytest.raises(AppError, match=r"^The index is empty"):
            Client(app.local_url, verbose=False).predict(QUESTION, api_name="/chat")
    finally:
        app.close()


def test_api_lists_only_chat_and_ask(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(endpoints) == {"/chat", "/ask"}


def test_login_is_required_when_auth_is_set(built_index, tmp_path):
    assistant = private_assistant(built_index, tmp_path, auth="alice:s3cret")
    app = serve(assistant, host="127.0.0.1", port=free_port(), block=False)
    try:
        url = app.local_url
        assert httpx.get(url + "config").status_code == 401
        call = httpx.post(url + "gradio_api/call/ask", json={"data": [QUESTION]})
        assert call.status_code == 401
        with pytest.raises(Exception, match="credentials"):
            Client(url, verbose=False)
        with pytest.raises(ValueError, match="login"):
            Client(url, auth=("alice", "wrong"), verbose=False)
        logged_in = Client(url, auth=("alice", "s3cret"), verbose=False)
        assert "[1]" in logged_in.predict(QUESTION, api_name="/chat")
    finally:
        app.close()


def test_the_server_binds_loopback_by_default(server):
    assert server[0].startswith("http://127.0.0.1:")


@pytest.mark.parametrize("value", [None, ""])
def test_no_auth_when_unset(value):
    assert parse_auth(value) is None


@pytest.mark.parametrize("value", ["alice", "alice:", ":pw"])
def test_malformed_auth_is_refused(value):
    with pytest.raises(ValueError, match="user:password"):
        parse_auth(value)


# -- uploads ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "../evil.txt", "../../etc/cron.d/x.md", "/etc/passwd.txt", "sub/dir.txt", "..\\win.txt",
    ".hidden.txt", "evil.exe", "script.html.sh", "no-extension", "na<me>.txt",
    "nul\x00byte.txt", "", "x" * 300 + ".txt",
])
def test_unsafe_or_unsupported_upload_names_are_rejected(name, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    source = tmp_path / "upload.bin"
    source.write_text("India signed a deal.")
    with pytest.raises(UploadRejected):
        save_upload(source, name, corpus, max_mb=20)
    assert list(corpus.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "upload.bin"]


@pytest.mark.parametrize("name", ["notes.txt", "Field Report 2026-01.md", "page.HTML", "a.pdf"])
def test_plain_names_of_supported_types_are_accepted(name):
    assert safe_upload_name(name) == name


def test_upload_is_saved_inside_the_corpus_folder(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    source = tmp_path / "tmp-upload"
    source.write_text("The pact was signed in Quillmere.")
    saved = save_upload(source, "pact notes.txt", corpus, max_mb=20)
    assert saved == corpus.resolve() / "pact notes.txt"
    assert saved.read_text() == "The pact was signed in Quillmere."


def test_upload_over_the_size_limit_is_rejected(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    source = tmp_path / "big.txt"
    source.write_text("word " * 1000)
    with pytest.raises(UploadRejected, match=r"limit is 0\.001 MB"):
        save_upload(source, "big.txt", corpus, max_mb=0.001)
    assert list(corpus.iterdir()) == []


def no_progress(*args, **kwargs) -> None:
    """Stands in for Gradio's progress tracker when the handler is called directly."""


def test_a_skipped_upload_leaves_no_file_and_costs_no_article(built_index, tmp_path):
    """An empty new file is taken out again; an empty file uploaded under an article's name
    gives that article back its content, still indexed."""
    assistant = private_assistant(built_index, tmp_path / "app")
    app = WebApp(assistant)
    name = "india-s400-talks-snub-to-us.txt"
    original = (assistant.corpus_dir / name).read_bytes()
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for upload in (uploads / "empty notes.txt", uploads / name):
        upload.write_bytes(b"")
    html = app.upload([str(uploads / "empty notes.txt"), str(uploads / name)],
                      progress=no_progress)[0]
    assert "empty notes.txt" in html and name in html  # both reported as skipped
    assert not (assistant.corpus_dir / "empty notes.txt").exists()
    assert (assistant.corpus_dir / name).read_bytes() == original
    assert name in {row["doc_id"] for row in assistant.documents()}
    assert name in {p.doc_id for p in assistant.retrieve("S-400 talks with Russia", k=5)}
    assert not assistant.index().changed  # the folder and the index agree


@pytest.mark.parametrize("doc_id", ["../outside.txt", "/etc/passwd", "."])
def test_removing_refuses_paths_outside_the_corpus(doc_id, tmp_path):
    with pytest.raises(ValueError, match="not an article"):
        article_path(tmp_path, doc_id)


# -- rendering -------------------------------------------------------------------------

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


def citation(text: str, number: int = 1, **fields) -> Citation:
    values = {"doc_id": "a.txt", "title": HOSTILE, "author": HOSTILE, "text": text,
              "start": 100, "end": 100 + len(text), "score": 0.8, "number": number,
              "highlight_start": 100, "highlight_end": 100 + len(text)} | fields
    return Citation(**values)


def test_article_text_is_escaped_everywhere():
    cite = citation(HOSTILE)
    answer = Answer(question="q", text=f"{HOSTILE} [1]", citations=[cite],
                    unsupported=[HOSTILE])
    doc = Document(doc_id="a.txt", title=HOSTILE, source=HOSTILE, text=HOSTILE * 3)
    for html in (render.render_answer(answer, 0), render.render_sources(answer, 0),
                 render.render_article(doc, 0, len(HOSTILE)), render.render_partial(HOSTILE)):
        assert "<script" not in html
        assert "<img" not in html
        assert "&lt;script&gt;" in html


def test_markers_link_to_their_citation_and_unknown_ones_stay_text():
    answer = Answer(question="q", text="Tanks rolled. [1] Jets flew. [3]",
                    citations=[citation("Tanks rolled.")])
    html = render.render_answer(answer, 4)
    assert 'href="#source-4-1" data-cite="4:1"' in html
    assert "[3]" in html
    assert render.parse_cite_ref("4:1") == (4, 1)
    assert render.parse_cite_ref("4:1;alert(1)") is None


def test_unsupported_sentences_are_marked():
    answer = Answer(question="q", text="Tanks rolled. [1] Moons sang.",
                    citations=[citation("Tanks rolled.")], unsupported=["Moons sang."])
    html = render.render_answer(answer, 0)
    assert '<span class="unsupported"' in html
    assert "1 sentence not supported" in html


def test_source_card_highlights_the_cited_span_in_its_passage():
    passage = "First sentence here. The cited one. Last sentence."
    cite = citation(passage, highlight_start=121, highlight_end=135)
    html = render.render_source(cite, 0)
    assert "<mark>The cited one.</mark>" in html
    assert "First sentence here." in html and "Last sentence." in html


def test_article_view_marks_exactly_the_span():
    doc = Document(doc_id="a.txt", title="T", text="Alpha beta. Gamma delta. Epsilon.")
    html = render.render_article(doc, 12, 24, number=2)
    assert '<mark class="cited-span" id="cited-span" data-source="2">Gamma delta.</mark>' in html

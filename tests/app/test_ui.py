"""The web UI's handlers (no browser) over a real Coach, and the chat endpoint through gradio_client."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.app.feedback import FeedbackStore
from assistant.errors import InputError, SettingsError
from assistant.types import StageInfo
from tests.support.web import clean_settings, free_port, served

Q25 = "직원 25명인데 CTO로서 뭘 해야 하죠?"


@pytest.fixture(scope="module")
def ui_coach(tmp_path_factory):
    """One real Coach per module (real corpus, bundled embedder, index built in a temp dir)."""
    from assistant.coach import Coach

    base = tmp_path_factory.mktemp("ui")
    return Coach.from_settings(clean_settings(index_dir=base / "index", data_dir=base / "data"))


@pytest.fixture
def handlers(ui_coach, tmp_path):
    from assistant.app.ui import ChatHandlers

    return ChatHandlers(ui_coach, FeedbackStore(tmp_path / "feedback.jsonl"))


def content_text(message: dict) -> str:
    """A chat message's text: a string in handlers, a list of parts over the API (Gradio 6)."""
    content = message["content"]
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content


def final(outputs):
    """The last yield of `respond`: (textbox, chat, evidence, answer_json, flag_update, state)."""
    outs = list(outputs)
    assert outs, "respond yielded nothing"
    return outs, outs[-1]


# --- pure rendering ------------------------------------------------------------------------
def test_highlight_escapes_html_and_marks_the_quote():
    from assistant.app.ui import highlight

    text = "앞 문장입니다. <script>alert(1)</script> 핵심  문장은\n여기에 있습니다. 뒤 문장."
    out, found = highlight(text, ["핵심 문장은 여기에 있습니다."])  # whitespace differs from the passage
    assert found
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert '<mark class="cc-quote">핵심  문장은\n여기에 있습니다.</mark>' in out
    out, found = highlight("a & b", ["없는 문장"])
    assert not found and out == "a &amp; b"


def test_highlight_merges_overlapping_quotes():
    from assistant.app.ui import quote_spans

    assert quote_spans("abcdefgh", ["bcd", "cdef", "gh"]) == [(1, 8)]  # overlapping and adjacent
    assert quote_spans("abcdefgh", ["ab", "gh", "zz"]) == [(0, 2), (6, 8)]


def test_parse_stage_and_choices(ui_coach):
    from assistant.app.ui import AUTO, stage_choices
    from assistant.understand.validation import check_stage

    def parse_stage(choice: object) -> int | None:
        return check_stage(choice, lenient=True)

    assert [parse_stage(x) for x in (AUTO, None, "", "1", "3", 4, "9", "x")] == [None, None, None, 1, 3, 4, None, None]
    choices = stage_choices(ui_coach)
    assert choices[0][1] == AUTO and [v for _, v in choices[1:]] == ["1", "2", "3", "4"]
    assert "암흑기" in choices[1][0] and "성숙기" in choices[4][0]


def test_stages_tab_is_rendered_from_the_corpus(ui_coach):
    from assistant.app.ui import render_stages

    page = render_stages(ui_coach)
    for info in ui_coach.stages():
        assert f"{info.stage}단계" in page
        for cap in info.capabilities:
            assert cap in page
    assert "최소 기능 제품" in page and "아마존" in page  # source capability and blogger commentary

    class FakeCoach:
        def stages(self):
            return [StageInfo(1, "새벽기", "1명", ("① <테스트> 능력",), "요약", "제목", "의견 & 코멘트")]

    fake = render_stages(FakeCoach())
    assert "새벽기" in fake and "&lt;테스트&gt;" in fake and "의견 &amp; 코멘트" in fake
    assert "암흑기" not in fake  # nothing hard-coded


# --- respond ---------------------------------------------------------------------------------
def test_korean_answer_arrives_in_one_update_with_linked_markers_diagnosis_and_evidence(handlers):
    outs, (box, chat, evidence, payload, flags, state) = final(handlers.respond(Q25, [], "auto", None))
    # An extractive answer is composed at once, so it is sent at once: one update, never a partial answer
    # (each update re-sends the chat); `answer` (the chat event of an extractive coach) returns that update.
    assert len(outs) == 1
    assert handlers.answer(Q25, [], "auto", None)[3]["answer"] == payload["answer"]
    assert box == ""
    assert chat[0] == {"role": "user", "content": Q25}
    msg = chat[-1]["content"]
    assert chat[-1]["role"] == "assistant"
    assert msg.startswith("🧭 **진단:** 직원 25명 → 2단계 성장기")
    assert msg.count("**진단:**") == 1  # not repeated from the answer text
    assert '<a class="cc-ref" href="#cite-1-1"' in msg and "#cite-1-2" in msg
    # evidence: passages in marker order, badges, highlighted quote
    assert evidence.index('id="cite-1-1"') < evidence.index('id="cite-1-2"')
    assert "2단계 성장기" in evidence and "원문 (Hosang Jeon)" in evidence and "블로거 의견 (MK)" in evidence
    assert '<mark class="cc-quote">' in evidence and "아키텍처 전략 수립과 개발의 총괄" in evidence
    # API payload
    assert payload["stage"] == 2 and payload["turn"] == 1 and payload["citations"]
    assert [c["n"] for c in payload["citations"]] == list(range(1, len(payload["citations"]) + 1))
    assert "[1]" in payload["answer"] and payload["diagnosis_line"].startswith("직원 25명 → 2단계")
    json.dumps(payload)  # serialisable for gradio_client
    # flag choices: "[n] sentence" for cited claim sentences
    assert flags["choices"] and flags["choices"][0][0].startswith("[1] ")
    assert state["history"] == [("user", Q25), ("assistant", payload["answer"])]
    assert state["turns"][0]["msg_index"] == 1


def test_english_question_gets_english_labels(handlers):
    _, (_, chat, evidence, payload, _, _) = final(handlers.respond(
        "We are 3 people building our first MVP. What should the CTO focus on?", [], "auto", None))
    assert chat[-1]["content"].startswith("🧭 **Diagnosis:** 3 people → stage 1")
    assert "Stage 1" in evidence and "Source article (Hosang Jeon)" in evidence
    assert payload["stage"] == 1


def test_fixed_stage_changes_the_answer(handlers):
    _, auto = final(handlers.respond(Q25, [], "auto", None))
    _, fixed = final(handlers.respond(Q25, [], "3", None))
    assert auto[3]["stage"] == 2 and fixed[3]["stage"] == 3
    assert "3단계 선택 → 3단계 르네상스" in fixed[1][-1]["content"]
    assert "3단계 르네상스" in fixed[2] and "역할의 분리" in fixed[2]
    assert auto[3]["answer"] != fixed[3]["answer"]


def test_follow_up_uses_the_session_history(handlers):
    _, first = final(handlers.respond(Q25, [], "auto", None))
    _, (_, chat, evidence, payload, _, state) = final(handlers.respond("그 다음 단계는?", first[1], "auto", first[5]))
    assert payload["stage"] == 3 and payload["turn"] == 2
    assert "2단계 다음" in chat[-1]["content"]
    assert len(chat) == 4 and "#cite-2-1" in chat[-1]["content"]
    # newest evidence first; the first answer's evidence is folded below and still addressable
    assert evidence.index('id="cite-2-1"') < evidence.index('id="cite-1-1"')
    assert "<details" in evidence
    assert [t["msg_index"] for t in state["turns"]] == [1, 3]
    # without the history the same words get a general answer
    _, alone = final(handlers.respond("그 다음 단계는?", [], "auto", None))
    assert alone[3]["stage"] != 3


def test_history_is_recovered_from_the_chat_for_api_callers(handlers):
    chat = [{"role": "user", "content": Q25}, {"role": "assistant", "content": "2단계 성장기 ... [1]"}]
    _, out = final(handlers.respond("그 다음 단계는?", chat, "auto", None))
    assert out[3]["stage"] == 3


@pytest.mark.parametrize("message, expected", [
    ("", "질문이 비어 있습니다"),
    ("   \n\t ", "질문이 비어 있습니다"),
    ("가" * 2001, "질문이 너무 깁니다"),
    ("?!?!", "글자가 없습니다"),
])
def test_input_limits_give_a_friendly_chat_message(handlers, message, expected):
    _, (box, chat, _, payload, _, state) = final(handlers.respond(message, [], "auto", None))
    assert chat[-1]["role"] == "assistant" and chat[-1]["content"].startswith("⚠️ ")
    assert expected in chat[-1]["content"] and "Traceback" not in chat[-1]["content"]
    assert "error" in payload and state["turns"] == [] and state["history"] == []
    assert box == ""


class BrokenCoach:
    def __init__(self, settings, exc):
        self.settings, self.exc, self.mode_label = settings, exc, "broken"

    def stream(self, *a, **k):
        raise self.exc
        yield  # pragma: no cover


@pytest.mark.parametrize("exc, expected", [
    (RuntimeError("boom /secret/path"), "문제가 생겼습니다"),
    (InputError("history item 0 must be a [role, text] pair"), "history item 0"),
])
def test_coach_exceptions_become_a_friendly_message(ui_coach, tmp_path, exc, expected):
    from assistant.app.ui import ChatHandlers

    h = ChatHandlers(BrokenCoach(ui_coach.settings, exc), FeedbackStore(tmp_path / "f.jsonl"))
    _, (_, chat, _, payload, _, _) = final(h.respond("안녕하세요 질문입니다", [], "auto", None))
    assert expected in chat[-1]["content"] and "boom" not in chat[-1]["content"]
    assert "Traceback" not in chat[-1]["content"] and payload["error"]


def test_llm_notice_is_shown_above_the_answer(ui_coach):
    from assistant.app.ui import format_answer

    answer = ui_coach.ask(Q25)
    answer.notice = "LLM 호출 실패 → 추출형 답변을 보여 드립니다"
    msg = format_answer(answer, 7)
    assert msg.startswith("> ⚠️ LLM 호출 실패")
    assert "#cite-7-1" in msg and "[99]" not in msg


def test_only_cited_markers_are_linked(ui_coach):
    from assistant.app.ui import format_answer

    answer = ui_coach.ask(Q25)
    answer.text += "\n참고 [99]"
    msg = format_answer(answer, 1)
    assert "참고 [99]" in msg and "#cite-1-99" not in msg


# --- LLM mode (LangChain fake chat models; no network) ------------------------------------------
def _llm_coach(base, answers=(), failures=()):
    import copy

    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from pydantic import Field

    from assistant.answer.llm import LLMAnswerer

    class Fake(GenericFakeChatModel):
        """Streams word by word; {s2} / {c2} become the numbers of the stage-2 summary / commentary
        passages in the prompt it received; `failures` are raised before the first token."""

        failures: list = Field(default_factory=list)

        def _stream(self, messages, stop=None, run_manager=None, **kwargs):
            if self.failures:
                raise self.failures.pop(0)
            roles: dict[str, str] = {}
            for n, stage, section in re.findall(r'<passage n="(\d+)" stage="(\w+)" section="(\w+)"',
                                                str(messages[-1].content)):
                roles.setdefault(f"{section[0]}{stage}", n)
            for chunk in super()._stream(messages, stop, run_manager, **kwargs):
                chunk.message.content = re.sub(r"\{(\w+)\}", lambda m: roles.get(m.group(1), "99"),
                                               str(chunk.message.content))
                yield chunk

    settings = base.settings.model_copy(update={"llm": "fake:ui", "llm_retries": 0})
    coach = copy.copy(base)
    coach.settings = settings
    coach.llm = LLMAnswerer(Fake(messages=iter(answers), failures=list(failures)), base.checker, settings,
                            sleep=lambda s: None)
    return coach


def test_llm_answer_shows_its_mode_and_puts_paraphrases_beside_the_passage(ui_coach, tmp_path):
    from assistant.app.ui import ChatHandlers

    paraphrase = "블로거(MK)는 성장기에는 관리보다 코칭에 방점을 두어야 한다고 말합니다 [{c2}]."
    coach = _llm_coach(ui_coach, answers=[paraphrase])
    assert coach.mode_label.startswith("LLM fake:ui")
    h = ChatHandlers(coach, FeedbackStore(tmp_path / "f.jsonl"))
    _, (_, chat, evidence, payload, _, _) = final(h.respond("성장기 CTO는 무엇을 해야 하나요?", [], "auto", None))
    assert payload["mode"].startswith("llm:fake:ui") and payload["citations"], payload
    assert "코칭에 방점을" in chat[-1]["content"] and 'class="cc-ref"' in chat[-1]["content"]
    # the paraphrase is not verbatim in the passage: it is listed under it; the source span is marked
    assert "이 구절을 인용한 답변 문장" in evidence and "관리보다 코칭에 방점을 두어야" in evidence
    assert '<mark class="cc-quote">' in evidence


DRAFT = ("블로거(MK)는 성장기에는 관리보다 코칭에 방점을 두어야 한다고 말합니다 [{c2}]. "
         "원문은 성장기 CTO의 역할로 아키텍처 전략 수립과 개발의 총괄을 꼽습니다 [{s2}].\n"
         "채용도 성장기의 일입니다 [{s2}].")


def test_llm_draft_streams_sentence_by_sentence(ui_coach, tmp_path):
    from assistant.app.ui import ChatHandlers

    coach = _llm_coach(ui_coach, answers=[DRAFT])
    h = ChatHandlers(coach, FeedbackStore(tmp_path / "f.jsonl"))
    outs = list(h.respond("성장기 CTO는 무엇을 해야 하나요?", [], "auto", None))
    shown = [o[1][-1]["content"] for o in outs]
    assert outs[0][1][-2]["content"] == "성장기 CTO는 무엇을 해야 하나요?" and shown[0] == "…"  # the question at once
    # The fake model streams word by word; the chat gets one update per finished sentence, each ending
    # where a sentence ends, the last sentence with the final answer.
    drafts = shown[1:-1]
    assert len(drafts) == 2, drafts
    assert "말합니다" in drafts[0] and "꼽습니다" not in drafts[0] and drafts[0].endswith("].")
    assert drafts[1].startswith(drafts[0]) and "꼽습니다" in drafts[1] and drafts[1].rstrip().endswith("].")
    assert "채용도" not in drafts[1] and outs[-1][3]["citations"]  # the last sentence: with the final answer


def test_llm_failure_shows_a_short_notice_and_the_extractive_answer(ui_coach, tmp_path):
    from assistant.app.ui import ChatHandlers

    coach = _llm_coach(ui_coach, failures=[ConnectionError("connection refused by 10.0.0.1")])
    h = ChatHandlers(coach, FeedbackStore(tmp_path / "f.jsonl"))
    _, (_, chat, evidence, payload, _, _) = final(h.respond(Q25, [], "auto", None))
    msg = chat[-1]["content"]
    assert msg.startswith("> ⚠️ ") and "extractive" in msg.split("\n")[0]
    assert "Traceback" not in msg and "🧭 **진단:** 직원 25명 → 2단계" in msg
    assert payload["notice"] and payload["mode"].startswith("extractive")
    assert 'id="cite-1-1"' in evidence


# --- feedback --------------------------------------------------------------------------------
def test_like_dislike_and_undo_land_in_the_store(handlers):
    _, out = final(handlers.respond(Q25, [], "auto", None))
    state = out[5]
    assert "저장" in handlers.rate(state, 1, True)
    assert "저장" in handlers.rate(state, 1, False)
    assert "취소" in handlers.rate(state, 1, "")
    assert "평가할 답변이 아닙니다" in handlers.rate(state, 0, True)  # the user's own message
    recs = handlers.store.read().records
    assert [r["rating"] for r in recs] == ["like", "dislike", "unset"]
    r = recs[1]
    assert r["question"] == Q25 and r["stage"] == 2 and r["mode"] == "extractive" and r["citations"]
    assert r["answer"] == out[3]["answer"] and r["ts"] and r["session"] == state["session"]


def test_flag_a_citation_that_does_not_support_a_sentence(handlers):
    _, out = final(handlers.respond(Q25, [], "auto", None))
    state, choices = out[5], out[4]["choices"]
    _label, value = choices[-1]
    status, comment = handlers.flag(value, "  이 문장과 무관해요 ", state)
    assert status.startswith("🚩") and comment == ""
    rec = handlers.store.read().records[-1]
    assert rec["type"] == "citation_flag"
    n = int(value.split(":")[1])
    assert rec["flag"]["citation"] == n and rec["flag"]["comment"] == "이 문장과 무관해요"
    assert rec["flag"]["sentence"] in out[3]["answer"]
    assert rec["flag"]["citation_id"] == out[3]["citations"][n - 1]["id"]
    assert "먼저 질문" in handlers.flag(value, "", None)[0]
    assert "고르세요" in handlers.flag(None, "", state)[0]
    assert "없습니다" in handlers.flag("99:1", "", state)[0]


def test_clear_resets_the_session(handlers):
    from assistant.app.ui import EMPTY_EVIDENCE

    chat, evidence, payload, flags, state, status = handlers.clear()
    assert chat == [] and evidence == EMPTY_EVIDENCE and payload is None and flags["choices"] == []
    assert state["history"] == [] and state["turns"] == [] and status == ""


# --- serving ---------------------------------------------------------------------------------
def _settings(**kw):
    from assistant.settings import Settings

    return Settings(**kw)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_hosts_need_no_auth(host):
    from assistant.app.ui import check_exposure

    assert check_exposure(_settings(host=host)) is None


def test_public_host_without_auth_is_refused_with_a_clear_message():
    from assistant.app.ui import check_exposure
    from assistant.app.ui.serve import serve

    with pytest.raises(SettingsError, match=r"refusing to serve the web UI on 0\.0\.0\.0 without a password"):
        check_exposure(_settings(host="0.0.0.0"))
    with pytest.raises(SettingsError, match="CTO_COACH_ALLOW_PUBLIC"):
        serve(_settings(host="192.168.1.10", index_dir=Path("/nonexistent")))  # refuses before loading
    assert check_exposure(_settings(host="0.0.0.0", allow_public=True)) is None
    strong = "correct-horse-42"  # blank and weak credentials: tests/test_hardening_web.py
    assert check_exposure(_settings(host="0.0.0.0", auth_username="u", auth_password=strong)) == ("u", strong)
    with pytest.raises(SettingsError, match="set both"):
        check_exposure(_settings(auth_username="u"))


def test_serve_refuses_bad_settings_without_importing_gradio():
    import subprocess
    import sys

    code = ("import sys\nfrom assistant.app.ui import check_exposure\nfrom assistant.settings import Settings\n"
            "try:\n    check_exposure(Settings(host='0.0.0.0'))\nexcept Exception as e:\n    print(type(e).__name__)\n"
            "print('gradio' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[2], check=True).stdout.split()
    assert out == ["SettingsError", "False"]


def test_create_app_exposes_the_chat_endpoint(ui_coach, tmp_path):
    from assistant.app.ui import create_app

    app = create_app(ui_coach, FeedbackStore(tmp_path / "f.jsonl"))
    names = {d.api_name for d in app.fns.values() if d.api_visibility == "public"}
    assert {"chat", "clear", "flag"} <= names


@pytest.fixture(scope="module")
def live_server(ui_coach, tmp_path_factory):
    store = FeedbackStore(tmp_path_factory.mktemp("live") / "feedback.jsonl")
    with served(ui_coach, ui_coach.settings.model_copy(update={"port": free_port()}), store) as url:
        yield url, store


def test_gradio_client_gets_an_answer_with_citations(live_server):
    from gradio_client import Client

    url, _ = live_server
    client = Client(url, verbose=False)
    box, chat, evidence, payload, _flags = client.predict(Q25, [], "auto", api_name="/chat")
    assert box == "" and content_text(chat[-1]).startswith("🧭 **진단:**")
    assert payload["stage"] == 2 and payload["citations"] and "[1]" in payload["answer"]
    assert payload["citations"][0]["voice"] == "source" and payload["citations"][0]["quote"]
    assert 'id="cite-1-1"' in evidence
    # the same client is one session: the follow-up sees the history kept in the session state
    # (the chat passed in is empty on purpose)
    _, chat2, _, payload2, _ = client.predict("그 다음 단계는?", [], "auto", api_name="/chat")
    assert "2단계 다음" in content_text(chat2[-1])
    assert payload2["stage"] == 3 and payload2["turn"] == 2
    # an extractive answer is one result over the API too: no intermediate, partial outputs
    job = client.submit("성숙기 회사의 CTO에게 필요한 능력은?", [], "4", api_name="/chat")
    job.result(timeout=60)
    assert [o[3]["stage"] for o in job.outputs()] == [4]
    # input limits over the API: a friendly message, not an error
    _, chat3, _, payload3, _ = client.predict("   ", [], "auto", api_name="/chat")
    assert content_text(chat3[-1]).startswith("⚠️") and "error" in payload3


def test_gradio_client_streams_an_llm_draft_sentence_by_sentence(ui_coach, tmp_path):
    from gradio_client import Client

    from assistant.app.ui import create_app, launch_app

    coach = _llm_coach(ui_coach, answers=[DRAFT])
    app = create_app(coach, FeedbackStore(tmp_path / "f.jsonl"))
    url = launch_app(app, ui_coach.settings.model_copy(update={"port": free_port()}), prevent_thread_lock=True,
                     quiet=True)
    try:
        job = Client(url, verbose=False).submit("성장기 CTO는 무엇을 해야 하나요?", [], "auto", api_name="/chat")
        payload = job.result(timeout=60)[3]
        shown = [content_text(o[1][-1]) for o in job.outputs()]
    finally:
        app.close()
    # the intermediate outputs arrive before the final one: the placeholder, then whole sentences
    steps = [x for i, x in enumerate(shown) if i == 0 or x != shown[i - 1]]
    assert steps[0] == "…" and len(steps) == 4, steps
    assert steps[1].endswith("].") and steps[2].startswith(steps[1]) and "채용도" not in steps[2]
    assert payload["citations"] and steps[-1] != steps[2]


def test_auth_is_enforced_when_set(ui_coach, tmp_path):
    from gradio_client import Client

    settings = ui_coach.settings.model_copy(update={"port": free_port(), "auth_username": "coach"})
    settings = settings.model_copy(update={"auth_password": _settings(auth_password="s3cret").auth_password})
    with served(ui_coach, settings, FeedbackStore(tmp_path / "f.jsonl")) as url:
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises different types across versions
            Client(url, verbose=False)
        client = Client(url, auth=("coach", "s3cret"), verbose=False)
        payload = client.predict(Q25, [], "auto", api_name="/chat")[3]
        assert payload["citations"]


def test_session_state_stays_bounded(handlers, monkeypatch):
    from assistant.app.ui import handlers as ui_handlers
    from assistant.app.ui import render as ui_render

    monkeypatch.setattr(ui_render, "MAX_OLDER_EVIDENCE", 1)
    monkeypatch.setattr(ui_handlers, "MAX_TURNS", 2)
    state, chat = None, []
    for q in (Q25, "그 다음 단계는?", "성숙기 회사의 CTO에게 필요한 능력은?"):
        _, out = final(handlers.respond(q, chat, "auto", state))
        chat, state = out[1], out[5]
    assert [t for t, _, _ in state["evidence"]] == [2, 3]
    assert [t["turn"] for t in state["turns"]] == [2, 3] and state["turns"][-1]["msg_index"] == 5
    assert 'id="cite-3-1"' in out[2] and 'id="cite-1-1"' not in out[2]
    assert out[3]["stage"] == 4 and len(state["history"]) == 6


def test_outputs_postprocessed_in_one_pass_are_what_gradio_sends_itself():
    """`in_one_pass` + `postprocess=False` sends exactly what Gradio's own per-component postprocessing
    sends: a chat, HTML, JSON, a textbox, a dropdown property update and session state, through a
    served app and its queue (the same function registered both ways), for a plain function and a
    generator (an LLM's streamed draft)."""
    import gradio as gr
    from gradio_client import Client

    from assistant.app.ui.app import in_one_pass

    def reply(message, state):
        state = {**(state or {}), "n": (state or {}).get("n", 0) + 1}
        chat = [{"role": "user", "content": message}, {"role": "assistant", "content": f"**{message}** [1] <b>x</b>"}]
        return "", chat, f"<p>{message}</p>", {"answer": message, "stage": 2}, \
            gr.update(choices=[("[1] a", "0:1")], value="0:1"), state

    def streamed(message, state):
        for i in range(3):
            yield reply(f"{message} {i}", state)

    with gr.Blocks() as app:
        msg, chat, html_out, answer = gr.Textbox(), gr.Chatbot(), gr.HTML(), gr.JSON()
        choice, state = gr.Dropdown([], allow_custom_value=False), gr.State({})
        outs = [msg, chat, html_out, answer, choice, state]
        gr.on([], reply, [msg, state], outs, api_name="plain")
        gr.on([], in_one_pass(reply, outs), [msg, state], outs, api_name="one_pass", postprocess=False)
        gr.on([], streamed, [msg, state], outs, api_name="plain_stream")
        gr.on([], in_one_pass(streamed, outs), [msg, state], outs, api_name="one_pass_stream", postprocess=False)
    app.queue()
    _, url, _ = app.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        client = Client(url, verbose=False)
        question = "직원 25명 & <팀>"
        assert client.predict(question, api_name="/one_pass") == client.predict(question, api_name="/plain")
        plain = list(client.submit(question, api_name="/plain_stream"))
        one_pass = list(client.submit(question, api_name="/one_pass_stream"))
        assert one_pass == plain and len(plain) == 3
    finally:
        app.close()


def test_busy_events_postprocess_in_the_answering_thread(ui_coach, tmp_path):
    """The chat (browser and /chat) and clear events are registered with postprocess=False and their
    function postprocesses itself (`in_one_pass`); /chat also skips its JSON inputs' preprocessing
    (a JSON component passes its value through as it is)."""
    from assistant.app.ui import create_app

    app = create_app(ui_coach, FeedbackStore(tmp_path / "f.jsonl"))
    fns = {fn.api_name or fn.name: fn for fn in app.fns.values()}
    for name in ("chat", "clear"):
        assert fns[name].postprocess is False and hasattr(fns[name].fn, "__wrapped__"), name
    assert fns["chat"].preprocess is False
    assert all(type(b).__name__ in ("JSON", "State") for b in fns["chat"].inputs)

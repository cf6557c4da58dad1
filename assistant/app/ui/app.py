"""`create_app(coach)`: the Gradio app as a thin adapter over a ready `Coach`.

Layout: chat on the left (stage control, streaming answers with clickable `[n]` markers, examples in
Korean and English), evidence panel on the right, a flag form for "this citation does not support
this sentence", and a Stages tab. Styles and the marker script live in static/ (package data).
"""

from __future__ import annotations

import functools
import html
import inspect
import json
import os
from collections.abc import Callable, Iterator, Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

from assistant.app.ui.api import chat_endpoint, quiet_blocks
from assistant.app.ui.handlers import STAGES_EN, STAGES_KO, ChatHandlers, gradio, new_state
from assistant.app.ui.render import AUTO, EMPTY_EVIDENCE, render_stages, stage_choices

if TYPE_CHECKING:
    import gradio as gr

    from assistant.app.feedback import FeedbackStore
    from assistant.coach import Coach


def static_text(name: str) -> str:
    """A file of assistant/app/ui/static/ (package data)."""
    return resources.files("assistant.app.ui").joinpath(f"static/{name}").read_text(encoding="utf-8")


TITLE = "CTO Coach"
QUEUE_STATUS_EVERY_S = 1.0  # how often waiting sessions hear their queue position
CSS = static_text("ui.css")
# Runs once per page (gr.HTML js_on_load): installs the CSS (so `create_app(coach).launch()` works
# without launch(css=...)) and one document-level listener that brings a marker's passage forward.
JS_ON_LOAD = static_text("ui.js")

EXAMPLES = [
    "창업 멤버 3명이고 아직 제품이 없어요. CTO로서 뭘 해야 하나요?",
    "직원 25명인데 CTO로서 뭘 해야 하죠?",
    "르네상스 시기의 CTO는 무엇에 집중해야 하나요?",
    "성숙기 회사의 CTO에게 필요한 능력은?",
    "그 다음 단계는?",
    "We are 3 people building our first MVP. What should the CTO focus on?",
    "Our startup has 30 employees and doubled last year. What matters most for the CTO?",
    "What does the renaissance stage demand from a CTO?",
    "What should the CTO of a mature company care about?",
]


def create_app(coach: Coach, store: FeedbackStore | None = None) -> gr.Blocks:
    """Build the Gradio app over a ready `Coach` (handlers: `ChatHandlers`)."""
    gr = gradio()
    h = ChatHandlers(coach, store)

    def like(state: dict, data) -> str:
        return h.rate(state, data.index, data.liked)

    # A real class, not a string: Gradio finds the LikeData parameter through get_type_hints.
    like.__annotations__ = {"state": dict, "data": gr.LikeData, "return": str}
    js = JS_ON_LOAD.replace("__CSS__", _js_string(CSS))
    with quiet_blocks()(title=TITLE, analytics_enabled=False, fill_width=True) as app:  # no tracebacks for bad input
        gr.HTML(
            f'<div><h2 style="margin:0">🧭 {TITLE} — 회사 단계별 CTO의 역할</h2>'
            f'<div class="cc-mode" id="cc-mode">모드 / Mode: <b>{html.escape(coach.mode_label)}</b> · '
            "모든 답변 문장은 원문 구절을 인용합니다 / every sentence cites the article</div></div>",
            elem_id="cc-header",
        )
        state = gr.State(new_state(session=""))  # copied into every session: no id yet (see new_state)
        with gr.Tabs():
            with gr.Tab("💬 코치 / Coach", id="coach"), gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=380):
                    stage = gr.Radio(stage_choices(coach), value=AUTO, label="단계 / Stage",
                                     info="자동 진단 또는 단계 고정 / diagnose automatically or fix a stage",
                                     elem_id="cc-stage")
                    chat = gr.Chatbot(label="CTO Coach", height="68vh", min_height=420, elem_id="cc-chat",
                                      feedback_options=("Like", "Dislike"), buttons=["copy"],
                                      placeholder="회사 규모나 상황을 알려 주세요. / Tell me about your company.")
                    with gr.Row():
                        msg = gr.Textbox(placeholder="예: 직원 25명인데 CTO로서 뭘 해야 하죠? / e.g. We are 30 people…",
                                         show_label=False, scale=6, lines=1, max_lines=6, elem_id="cc-input",
                                         submit_btn=False, autofocus=True)
                        send = gr.Button("보내기 / Send", variant="primary", scale=1, min_width=90, elem_id="cc-send")
                        clear = gr.Button("새 대화 / Clear", scale=1, min_width=90, elem_id="cc-clear")
                    feedback_status = gr.Markdown("", elem_id="cc-feedback-status")
                    gr.Examples(EXAMPLES, inputs=[msg], label="예시 질문 / Example questions", examples_per_page=10)
                with gr.Column(scale=2, min_width=320):
                    evidence = gr.HTML(EMPTY_EVIDENCE, label="근거 / Evidence", elem_id="cc-evidence",
                                       js_on_load=js)
                    with gr.Accordion("🚩 인용이 문장을 뒷받침하지 않나요? / Citation doesn't support a sentence?",
                                      open=False, elem_id="cc-flag-box"):
                        flag_choice = gr.Dropdown([], label="문장과 인용 / sentence and citation",
                                                  elem_id="cc-flag-choice", allow_custom_value=False)
                        flag_comment = gr.Textbox(label="메모 (선택) / note (optional)", lines=1, elem_id="cc-flag-comment")
                        flag_btn = gr.Button("🚩 이 인용은 이 문장을 뒷받침하지 않음 / does not support",
                                             elem_id="cc-flag-btn", size="sm")
                    with gr.Accordion("답변 JSON / answer as JSON", open=False):
                        answer_json = gr.JSON(label="answer", elem_id="cc-json")
            with gr.Tab("🗺️ 단계 / Stages", id="stages"):
                stages_lang = gr.Radio([STAGES_KO, STAGES_EN], value=STAGES_KO, label="언어 / Language",
                                       info="영어는 프로젝트의 번역입니다 / English is the project's translation",
                                       elem_id="cc-stages-lang")
                stages_html = gr.HTML(render_stages(coach), elem_id="cc-stages")

        outputs = [msg, chat, evidence, answer_json, flag_choice, state]
        # An LLM's draft streams (a generator); an extractive answer is one result (a plain function).
        # The busy events postprocess their outputs in the thread that answered (`in_one_pass`).
        chat_fn = h.respond if h.streams_drafts else h.answer
        asked = one_pass_event(functools.partial(gr.on, [msg.submit, send.click]), chat_fn, [msg, chat, stage, state],
                               outputs, api_visibility="private")  # the browser's; API clients use /chat below
        # /chat takes plain JSON and validates it itself (api.py): Gradio's components would
        # stringify a number as the message and print a traceback for a malformed chat. A JSON
        # component's preprocessing returns its value as it is, so it is skipped (a thread hop each).
        api_in = [gr.JSON(visible=False, label=name) for name in ("message", "history", "stage")]
        chat_api, chat_check = chat_endpoint(h)
        one_pass_event(functools.partial(gr.on, []), chat_api, [*api_in, state], outputs, api_name="chat",
                       validator=chat_check, preprocess=False)
        # The Stages tab follows the language of the last question (and the user's own choice).
        one_pass_event(asked.then, h.stages_language, [state, stages_lang], [stages_lang], api_visibility="private")
        stages_lang.change(h.stages_html, [stages_lang], [stages_html], api_visibility="private")
        cleared = [chat, evidence, answer_json, flag_choice, state, feedback_status]
        one_pass_event(clear.click, h.clear, None, cleared, api_name="clear")
        one_pass_event(chat.clear, h.clear, None, cleared, api_visibility="private")
        chat.like(like, [state], [feedback_status], api_visibility="private")
        flag_btn.click(h.flag, [flag_choice, flag_comment, state], [feedback_status, flag_comment], api_name="flag")
    # Sessions are answered in parallel: everything a turn shares through the Coach is safe to share
    # (see tests/test_ui_concurrency.py). The limit bounds how many answers compete for the cores at once.
    # Queue positions go to waiting sessions once a second, not each time any event starts: with 20
    # sessions waiting that was ~20 server-sent events per answer, the largest cost in a load test.
    quiet_queue_analytics()
    app.queue(default_concurrency_limit=coach.settings.ui_concurrency, status_update_rate=QUEUE_STATUS_EVERY_S)
    return app


def one_pass_event(register: Callable[..., Any], fn: Callable[..., Any], inputs: Any, outputs: Sequence[Any],
                   **kwargs: Any) -> Any:
    """`register(fn, inputs, outputs, **kwargs)` (an event listener such as `clear.click`) for a busy
    event: `fn` postprocesses its own outputs (`in_one_pass`) and Gradio's per-output pass is off."""
    return register(in_one_pass(fn, outputs), inputs, outputs, postprocess=False, **kwargs)


def in_one_pass(fn: Callable[..., Any], outputs: Sequence[Any]) -> Callable[..., Any]:
    """`fn` with each of its results postprocessed by its output component right after it returns, in
    the worker thread that ran it. For an event registered with `postprocess=False`.

    Gradio postprocesses an event's outputs one component at a time, each in a trip through its
    worker-thread pool (`anyio.to_thread.run_sync`): for the chat's six outputs that is four more
    thread hand-offs after the answer itself, each waking a worker and then the event loop. Under 20
    sessions on two cores those hand-offs, not the work in them, were the largest single cost in the
    server (py-spy --gil: ~17% of the time the GIL was held went to waking worker threads). Here the
    same `Component.postprocess` calls run in the thread that already holds the result, and Gradio
    sends what they return as it is (`postprocess=False`), so the browser and API clients receive the
    same data. Session state passes through untouched, and a `gr.update(...)` too (Gradio applies a
    property update itself, with or without postprocessing)."""
    comps = [None if getattr(c, "stateful", False) else c for c in outputs]
    single = len(comps) == 1

    def post(results: Any) -> Any:
        values = [results] if single else list(results)
        out = [v if c is None or _is_update(v) else _serialized(c.postprocess(v))
               for c, v in zip(comps, values, strict=True)]
        return out[0] if single else tuple(out)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def streamed(*args: Any) -> Iterator[Any]:
            for results in fn(*args):
                yield post(results)

        return streamed

    @functools.wraps(fn)
    def once(*args: Any) -> Any:
        return post(fn(*args))

    return once


def _is_update(value: Any) -> bool:
    return isinstance(value, dict) and value.get("__type__") == "update"


def _serialized(value: Any) -> Any:
    """A component's postprocessed value as Gradio sends it (its pydantic models dumped to plain data)."""
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) else value


def quiet_queue_analytics() -> None:
    """Stop Gradio's queue from summarising its event history after every event.

    By default the queue rebuilds a pandas DataFrame of up to 10,000 past events after each one (for
    its monitoring page, which this app never enables): 5% of the server's time in a 120-answer load
    test, more the longer the server runs, plus pandas imported into the server. The summary is now
    never recomputed and only the last 1,000 events are kept. Read when the queue is created;
    environment values set by the user win."""
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", str(10**9))
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")


def _js_string(text: str) -> str:
    return json.dumps(text)

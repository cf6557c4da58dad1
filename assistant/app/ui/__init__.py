"""The Gradio web UI: a thin adapter over `Coach`.

`create_app(coach)` builds the app; the event handlers are plain methods of `ChatHandlers`, testable
without a browser. `serve(settings)` is what `cto-coach serve` / `make chat` run.

Layout: chat on the left (stage control, streaming answers with clickable `[n]` markers, examples in
Korean and English), evidence panel on the right (the cited passages in marker order, stage and
who-said-it badges, the supporting sentence highlighted inside the escaped passage text), a flag
form for "this citation does not support this sentence", and a Stages tab rendered from the corpus.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import re
import sys
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from assistant.app.feedback import FeedbackStore, answer_record, feedback_path, flag_record, rating_record
from assistant.article.corpus import STAGE_NAMES_EN, STAGE_NAMES_KO
from assistant.errors import CoachError, FeedbackError, SettingsError
from assistant.text import is_korean, split_sentences
from assistant.types import VOICE_LABELS, Answer, Citation, Delta, Final
from assistant.understand.diagnosis import explain

if TYPE_CHECKING:
    import gradio as gr

    from assistant.coach import Coach
    from assistant.settings import Settings

log = logging.getLogger("cto_coach.ui")


def _gr():
    """Gradio, imported on first use (2-6 s): `serve` can refuse bad settings before paying for it."""
    import gradio

    return gradio

TITLE = "CTO Coach"
AUTO = "auto"
MAX_OLDER_EVIDENCE = 8  # earlier answers whose evidence stays reachable from their markers
MAX_TURNS = 100  # answers per session that can still be rated (older ones drop out of the state)

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

FRIENDLY_ERROR = (
    "⚠️ 답변을 만드는 중 문제가 생겼습니다. 잠시 후 다시 시도해 주세요. / "
    "Something went wrong while answering; please try again."
)
EMPTY_EVIDENCE = (
    '<div class="cc-evidence"><p class="cc-empty">질문하면 답변의 근거가 되는 원문 구절이 여기에 표시됩니다.<br>'
    "Ask a question: the passages behind each <code>[n]</code> marker appear here.</p></div>"
)

CSS = """
.cc-evidence { position: relative; max-height: 72vh; overflow-y: auto; padding-right: 4px; }
.cc-evidence .cc-empty { color: var(--body-text-color-subdued); font-size: 0.95em; }
.cc-ev-head { font-weight: 600; margin: 0 0 6px 0; font-size: 0.95em; }
.cc-cites { list-style: none; padding: 0; margin: 0; }
.cc-cite { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin: 0 0 8px 0;
  background: var(--block-background-fill); transition: box-shadow .2s, border-color .2s; }
.cc-cite:target, .cc-cite.cc-active { border-color: #f59e0b; box-shadow: 0 0 0 3px rgba(245, 158, 11, .35); }
.cc-cite-head { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; margin-bottom: 6px; }
.cc-n { font-weight: 700; font-family: var(--font-mono); }
.cc-badge { display: inline-block; font-size: 0.78em; line-height: 1.5; padding: 0 7px; border-radius: 999px;
  border: 1px solid transparent; white-space: nowrap; }
.cc-stage { background: #e0e7ff; color: #3730a3; }
.cc-stage-none { background: #f3f4f6; color: #374151; }
.cc-voice-source { background: #dcfce7; color: #166534; }
.cc-voice-blogger { background: #fef3c7; color: #92400e; }
.cc-voice-document { background: #f3f4f6; color: #374151; }
.cc-section { font-size: 0.78em; color: var(--body-text-color-subdued); }
.cc-passage { font-size: 0.92em; line-height: 1.6; white-space: pre-wrap; }
.cc-passage mark.cc-quote { background: #fde68a; color: inherit; padding: 0 1px; border-radius: 2px; }
.cc-supports { font-size: 0.82em; color: var(--body-text-color-subdued); margin-top: 6px; }
.cc-older { margin-top: 10px; font-size: 0.92em; }
.cc-older > summary { cursor: pointer; color: var(--body-text-color-subdued); }
a.cc-ref { text-decoration: none; font-weight: 600; font-size: 0.85em; vertical-align: super; padding: 0 1px;
  border-radius: 3px; }
a.cc-ref:hover, a.cc-ref:focus { background: #fde68a; }
.cc-mode { font-size: 0.9em; color: var(--body-text-color-subdued); }
.cc-stage-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 14px; margin-bottom: 10px; }
.cc-stage-card h3 { margin: 0 0 6px 0; }
.cc-stage-card blockquote { margin: 6px 0 0 0; padding-left: 10px; border-left: 3px solid #f59e0b; white-space: pre-wrap; }
"""

# Runs once per page (gr.HTML js_on_load): installs the CSS (so `create_app(coach).launch()` works
# without launch(css=...)) and one document-level listener that brings a marker's passage forward.
JS_ON_LOAD = """
if (!window.__ccInit) {
  window.__ccInit = true;
  const style = document.createElement('style');
  style.id = 'cc-style';
  style.textContent = __CSS__;
  document.head.appendChild(style);
  const focusCite = (a, scrollPage) => {
    const id = (a.getAttribute('href') || '').slice(1);
    const el = document.getElementById(id);
    if (!el) return;
    const older = el.closest('details');
    if (older && !older.open) older.open = true;
    document.querySelectorAll('.cc-cite.cc-active').forEach(e => e.classList.remove('cc-active'));
    el.classList.add('cc-active');
    const box = el.closest('.cc-evidence');
    if (box) box.scrollTop = el.offsetTop - 8;  // .cc-evidence is the offsetParent (position: relative)
    if (scrollPage) el.scrollIntoView({block: 'nearest'});
  };
  document.addEventListener('click', ev => {
    const a = ev.target.closest && ev.target.closest('a.cc-ref');
    if (!a) return;
    ev.preventDefault();
    focusCite(a, true);
  }, true);
  document.addEventListener('mouseover', ev => {
    const a = ev.target.closest && ev.target.closest('a.cc-ref');
    if (a) focusCite(a, false);
  });
}
"""


# --- rendering (pure functions) --------------------------------------------------------------
def stage_label(stage: int | None, korean: bool) -> str:
    if not stage:
        return "전체" if korean else "general"
    if korean:
        return f"{stage}단계 {STAGE_NAMES_KO[stage]}"
    return f"Stage {stage} · {STAGE_NAMES_KO[stage]} ({STAGE_NAMES_EN[stage]})"


def voice_label(c: Citation, korean: bool) -> str:
    labels = VOICE_LABELS.get(c.voice)
    return labels[0 if korean else 1] if labels else c.author


def quote_spans(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    """Where each piece (a supporting sentence) occurs in `text`, merged; whitespace-insensitive."""
    spans: list[tuple[int, int]] = []
    for piece in pieces:
        piece = piece.strip()
        if len(piece) < 2:
            continue
        start = text.find(piece)
        if start >= 0:
            spans.append((start, start + len(piece)))
            continue
        tokens = piece.split()
        if not tokens:
            continue
        m = re.search(r"\s*".join(re.escape(t) for t in tokens), text)
        if m:
            spans.append(m.span())
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def highlight(text: str, pieces: list[str]) -> tuple[str, bool]:
    """The passage as HTML (escaped) with the supporting sentences wrapped in `<mark>`."""
    spans = quote_spans(text, pieces)
    out, pos = [], 0
    for s, e in spans:
        out.append(html.escape(text[pos:s]))
        out.append(f'<mark class="cc-quote">{html.escape(text[s:e])}</mark>')
        pos = e
    out.append(html.escape(text[pos:]))
    return "".join(out), bool(spans)


def _strip_md(text: str) -> str:
    return re.sub(r"\*\*|__|`", "", text).strip()


def supporting_pieces(answer: Answer, c: Citation) -> list[str]:
    """The sentences to highlight for citation `c`: its quote, split into sentences, and the answer's
    own sentences that cite it (extractive answers quote the passage verbatim)."""
    pieces = [c.quote, *split_sentences(c.quote)]
    for s in answer.sentences:
        if c.n in s.citations and s.claim:
            pieces.append(_strip_md(s.text))
    return pieces


def render_evidence_turn(answer: Answer, turn: int, korean: bool) -> str:
    """The cited passages of one answer, in marker order."""
    head = (f"답변 #{turn}의 근거 ({len(answer.citations)}개 구절)" if korean
            else f"Evidence for answer #{turn} ({len(answer.citations)} passage(s))")
    if not answer.citations:
        note = ("이 답변에는 인용된 구절이 없습니다." if korean else "This answer cites no passage.")
        return f'<div class="cc-ev-head">{html.escape(head)}</div><p class="cc-empty">{note}</p>'
    items = []
    for c in answer.citations:
        body, found = highlight(c.text, supporting_pieces(answer, c))
        stage_cls = f"cc-stage-{c.stage}" if c.stage else "cc-stage-none"
        # Answer sentences that cite this passage but are not verbatim in it (LLM paraphrases): list
        # them under the passage so the reader can compare the claim with the highlighted source.
        supports = [t for t in (_strip_md(s.text) for s in answer.sentences if c.n in s.citations)
                    if not quote_spans(c.text, [t])]
        extra = ""
        if not found and c.quote:
            extra = (f'<div class="cc-supports">{"뒷받침 문장" if korean else "Supporting sentence"}: '
                     f'<mark class="cc-quote">{html.escape(c.quote)}</mark></div>')
        if supports:
            label = "이 구절을 인용한 답변 문장" if korean else "Answer sentences citing this passage"
            shown = " · ".join(html.escape(s if len(s) <= 90 else s[:87] + "…") for s in supports[:4])
            extra += f'<div class="cc-supports">{label}: {shown}</div>'
        items.append(
            f'<li class="cc-cite" id="cite-{turn}-{c.n}">'
            f'<div class="cc-cite-head"><span class="cc-n">[{c.n}]</span>'
            f'<span class="cc-badge cc-stage {stage_cls}">{html.escape(stage_label(c.stage, korean))}</span>'
            f'<span class="cc-badge cc-voice cc-voice-{html.escape(c.voice)}">{html.escape(voice_label(c, korean))}</span>'
            f'<span class="cc-section">{html.escape(c.section)}</span></div>'
            f'<div class="cc-passage">{body}</div>{extra}</li>'
        )
    return f'<div class="cc-ev-head">{html.escape(head)}</div><ol class="cc-cites">{"".join(items)}</ol>'


def render_evidence(turns: list[tuple[int, str, bool]]) -> str:
    """Newest answer's evidence first; earlier answers' evidence folded below (their markers still work)."""
    if not turns:
        return EMPTY_EVIDENCE
    (_t, latest, _k), older = turns[-1], turns[-1 - MAX_OLDER_EVIDENCE:-1]
    parts = [f'<div class="cc-evidence">{latest}']
    for t, body, korean in reversed(older):
        summary = f"이전 답변 #{t}의 근거" if korean else f"Evidence for earlier answer #{t}"
        parts.append(f'<details class="cc-older"><summary>{summary}</summary>{body}</details>')
    parts.append("</div>")
    return "".join(parts)


_MARKER = re.compile(r"\[(\d{1,3})\]")
_DIAG_PREFIX = re.compile(r"^\*\*(?:진단|Diagnosis):\*\*\s*")


def format_answer(answer: Answer, turn: int) -> str:
    """The chat message: notice, the diagnosis line, then the answer with linked `[n]` markers."""
    korean = is_korean(answer.question)
    diag = ("🧭 **진단:** " if korean else "🧭 **Diagnosis:** ") + explain(answer.diagnosis, korean)
    lines = answer.text.strip().split("\n")
    if lines and _DIAG_PREFIX.match(lines[0]):
        lines = lines[1:]
        while lines and not lines[0].strip():
            lines = lines[1:]
    cited = {c.n for c in answer.citations}

    def link(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n not in cited:
            return m.group(0)
        return f'<a class="cc-ref" href="#cite-{turn}-{n}" title="[{n}]">[{n}]</a>'

    body = _MARKER.sub(link, "\n".join(lines))
    head = []
    if answer.notice:
        head.append(f"> ⚠️ {answer.notice}")
    head.append(diag)
    return "\n\n".join([*head, body])


def render_stages(coach: Coach) -> str:
    """The Stages tab, from the corpus (not hard-coded here)."""
    cards = []
    for s in coach.stages():
        head = f"{s.stage}단계 {s.name}" + (f" ({s.headcount})" if s.headcount else "")
        en = STAGE_NAMES_EN.get(s.stage, "")
        caps = "".join(f"<li>{html.escape(c)}</li>" for c in s.capabilities)
        summary = html.escape(s.summary_text)
        comment = html.escape(s.commentary)
        cards.append(
            f'<div class="cc-stage-card" id="stage-{s.stage}"><h3>{html.escape(head)} · {html.escape(en)}</h3>'
            f'<span class="cc-badge cc-voice-source">{html.escape(VOICE_LABELS["source"][0])}</span> '
            f"필요한 능력 / capabilities<ul>{caps}</ul>"
            + (f'<details><summary>원문 요약 전문 / full summary text</summary><p>{summary}</p></details>' if summary else "")
            + f'<span class="cc-badge cc-voice-blogger">{html.escape(VOICE_LABELS["blogger"][0])}</span> '
            f"<b>{html.escape(s.commentary_title)}</b><blockquote>{comment}</blockquote></div>"
        )
    if not cards:
        return "<p>단계 정보를 코퍼스에서 찾지 못했습니다. / No stage sections found in the corpus.</p>"
    return "".join(cards)


def stage_choices(coach: Coach) -> list[tuple[str, str]]:
    names = {s.stage: s.name for s in coach.stages()}
    return [("자동 진단 / Auto", AUTO)] + [
        (f"{n}단계 {names.get(n, STAGE_NAMES_KO[n])}", str(n)) for n in (1, 2, 3, 4)
    ]


def parse_stage(choice: object) -> int | None:
    if choice in (None, "", AUTO, "Auto", 0):
        return None
    try:
        n = int(str(choice).strip().split()[0].rstrip("단계"))
    except (ValueError, IndexError):
        return None
    return n if n in (1, 2, 3, 4) else None


def new_state() -> dict[str, Any]:
    """Per-session state: the conversation as the coach sees it, and the answers to attach feedback to."""
    return {"session": uuid.uuid4().hex[:12], "history": [], "turns": [], "evidence": []}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    elif isinstance(content, dict):
        text = str(content.get("text", ""))
    else:
        text = ""
    return re.sub(r"<[^>]+>", "", text)


def _history_from_chat(chat: list) -> list[tuple[str, str]]:
    out = []
    for m in chat or []:
        if isinstance(m, dict) and m.get("role") in ("user", "assistant"):
            out.append((m["role"], _text_of(m.get("content"))))
    return out


# --- handlers --------------------------------------------------------------------------------
class ChatHandlers:
    """Event handlers as plain methods (no Gradio needed to call them)."""

    def __init__(self, coach: Coach, store: FeedbackStore | None = None):
        self.coach = coach
        self.store = store or FeedbackStore.from_settings(coach.settings)

    def respond(self, message: str, chat: list | None, stage_choice: object, state: dict | None
                ) -> Iterator[tuple[str, list, str, dict | None, Any, dict]]:
        """Stream one answer. Yields (textbox, chat, evidence_html, answer_json, flag_choices, state)."""
        gr = _gr()
        state = state if isinstance(state, dict) and "turns" in state else new_state()
        chat = [dict(m) for m in (chat or []) if isinstance(m, dict)]
        message = message if isinstance(message, str) else ""
        history = list(state["history"]) or _history_from_chat(chat)
        stage = parse_stage(stage_choice)
        evidence = render_evidence(state["evidence"])
        chat.append({"role": "user", "content": message if message.strip() else "…"})
        chat.append({"role": "assistant", "content": "…"})
        yield "", [*chat], evidence, None, gr.update(), state

        answer: Answer | None = None
        text = ""
        try:
            for event in self.coach.stream(message, history, stage):
                if isinstance(event, Delta):
                    text += event.text
                    chat[-1] = {"role": "assistant", "content": text}
                    yield "", [*chat], evidence, None, gr.update(), state
                elif isinstance(event, Final):
                    answer = event.answer
        except CoachError as exc:
            chat[-1] = {"role": "assistant", "content": f"⚠️ {exc}"}
            yield "", [*chat], evidence, {"error": str(exc)}, gr.update(), state
            return
        except Exception:  # never a traceback in the chat
            log.exception("answering failed")
            chat[-1] = {"role": "assistant", "content": FRIENDLY_ERROR}
            yield "", [*chat], evidence, {"error": FRIENDLY_ERROR}, gr.update(), state
            return
        if answer is None:  # pragma: no cover - the coach always ends with Final
            chat[-1] = {"role": "assistant", "content": FRIENDLY_ERROR}
            yield "", [*chat], evidence, {"error": FRIENDLY_ERROR}, gr.update(), state
            return

        turn = (state["turns"][-1]["turn"] + 1) if state["turns"] else 1
        korean = is_korean(answer.question)
        chat[-1] = {"role": "assistant", "content": format_answer(answer, turn)}
        payload = {"turn": turn, "question": answer.question, **answer.to_json(),
                   "diagnosis_line": explain(answer.diagnosis, korean)}
        record = answer_record(question=answer.question, history=history, answer_json=payload,
                               stage_choice=stage, session=state["session"], turn=turn)
        keep = max(self.coach.settings.max_history_turns, 1) * 2  # what the coach would read anyway
        state = {
            **state,
            "history": [*history, ("user", answer.question), ("assistant", answer.text)][-keep:],
            "turns": [*state["turns"], {"turn": turn, "msg_index": len(chat) - 1, "record": record,
                                        "flags": self.flag_options(answer),
                                        "sentences": [_strip_md(x.text) for x in answer.sentences]}][-MAX_TURNS:],
            "evidence": [*state["evidence"],
                         (turn, render_evidence_turn(answer, turn, korean), korean)][-(MAX_OLDER_EVIDENCE + 1):],
        }
        choices = state["turns"][-1]["flags"]
        yield ("", [*chat], render_evidence(state["evidence"]), payload,
               gr.update(choices=choices, value=choices[0][1] if choices else None), state)

    @staticmethod
    def flag_options(answer: Answer) -> list[tuple[str, str]]:
        """(label, value) pairs "[n] sentence" for every cited claim sentence of the answer."""
        out = []
        for i, s in enumerate(answer.sentences):
            if not s.claim:
                continue
            for n in s.citations:
                text = _strip_md(s.text)
                out.append((f"[{n}] {text if len(text) <= 70 else text[:67] + '…'}", f"{i}:{n}"))
        return out

    def clear(self) -> tuple[list, str, None, Any, dict, str]:
        return [], EMPTY_EVIDENCE, None, _gr().update(choices=[], value=None), new_state(), ""

    def _turn_for_message(self, state: dict | None, index: Any) -> dict | None:
        if isinstance(index, list | tuple):
            index = index[0]
        for t in (state or {}).get("turns", []):
            if t["msg_index"] == index:
                return t
        return None

    def rate(self, state: dict | None, index: Any, liked: Any) -> str:
        """Store a like / dislike (or its removal) for the answer at chat message `index`."""
        turn = self._turn_for_message(state, index)
        if turn is None:
            return "ℹ️ 이 메시지는 평가할 답변이 아닙니다. / That message is not an answer to rate."
        rating = "like" if liked is True else "dislike" if liked is False else "unset"
        try:
            self.store.append(rating_record(turn["record"], rating))
        except FeedbackError as exc:
            return f"⚠️ {exc}"
        return {
            "like": "👍 고맙습니다! 피드백을 저장했습니다. / Thanks, feedback saved.",
            "dislike": "👎 피드백을 저장했습니다. 이 질문은 평가 후보가 됩니다. / Saved: this question becomes an eval candidate.",
            "unset": "평가를 취소했습니다. / Rating removed.",
        }[rating]

    def flag(self, choice: str | None, comment: str | None, state: dict | None) -> tuple[str, str]:
        """Store "citation [n] does not support this sentence" for the latest answer."""
        turns = (state or {}).get("turns", [])
        if not turns:
            return "ℹ️ 먼저 질문해 주세요. / Ask a question first.", comment or ""
        turn = turns[-1]
        try:
            i, n = (int(x) for x in str(choice).split(":"))
        except ValueError:
            return "ℹ️ 신고할 문장과 인용을 고르세요. / Pick a sentence and citation to flag.", comment or ""
        label = next((lbl for lbl, v in turn["flags"] if v == choice), None)
        if label is None:
            return "ℹ️ 이 선택지는 최신 답변에 없습니다. / That choice is not in the latest answer.", comment or ""
        sentence = label.split("] ", 1)[1] if "] " in label else label
        try:
            # The full sentence text, not the truncated label.
            sentence = _sentence_of(turn, i) or sentence
            self.store.append(flag_record(turn["record"], sentence=sentence, citation=n, comment=comment or ""))
        except FeedbackError as exc:
            return f"⚠️ {exc}", comment or ""
        return (f"🚩 [{n}] 신고를 저장했습니다. 평가 후보가 됩니다. / Flag saved: citation [{n}] "
                "does not support that sentence; it becomes an eval candidate."), ""


def _sentence_of(turn: dict, i: int) -> str | None:
    sentences = turn.get("sentences") or []
    return sentences[i] if 0 <= i < len(sentences) else None


# --- app -------------------------------------------------------------------------------------
def create_app(coach: Coach, store: FeedbackStore | None = None) -> gr.Blocks:
    """Build the Gradio app over a ready `Coach` (handlers: `ChatHandlers`)."""
    gr = _gr()
    h = ChatHandlers(coach, store)

    def like(state: dict, data) -> str:
        return h.rate(state, data.index, data.liked)

    # A real class, not a string: Gradio finds the LikeData parameter through get_type_hints.
    like.__annotations__ = {"state": dict, "data": gr.LikeData, "return": str}
    js = JS_ON_LOAD.replace("__CSS__", _js_string(CSS))
    with gr.Blocks(title=TITLE, analytics_enabled=False, fill_width=True) as app:
        gr.HTML(
            f'<div><h2 style="margin:0">🧭 {TITLE} — 회사 단계별 CTO의 역할</h2>'
            f'<div class="cc-mode" id="cc-mode">모드 / Mode: <b>{html.escape(coach.mode_label)}</b> · '
            "모든 답변 문장은 원문 구절을 인용합니다 / every sentence cites the article</div></div>",
            elem_id="cc-header",
        )
        state = gr.State(new_state())
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
                gr.HTML(render_stages(coach), elem_id="cc-stages")

        outputs = [msg, chat, evidence, answer_json, flag_choice, state]
        gr.on([msg.submit, send.click], h.respond, [msg, chat, stage, state], outputs, api_name="chat")
        clear.click(h.clear, None, [chat, evidence, answer_json, flag_choice, state, feedback_status],
                    api_name="clear")
        chat.clear(h.clear, None, [chat, evidence, answer_json, flag_choice, state, feedback_status],
                   api_visibility="private")
        chat.like(like, [state], [feedback_status], api_visibility="private")
        flag_btn.click(h.flag, [flag_choice, flag_comment, state], [feedback_status, flag_comment], api_name="flag")
    app.queue(default_concurrency_limit=1)
    return app


def _js_string(text: str) -> str:
    import json

    return json.dumps(text)


# --- serving ---------------------------------------------------------------------------------
def is_loopback(host: str) -> bool:
    if host.strip().lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_of(settings: Settings) -> tuple[str, str] | None:
    user = settings.auth_username or None
    password = settings.auth_password.get_secret_value() if settings.auth_password is not None else None
    if bool(user) != bool(password):
        raise SettingsError(
            "set both CTO_COACH_AUTH_USERNAME and CTO_COACH_AUTH_PASSWORD for web UI auth (or neither)"
        )
    return (user, password) if user and password else None


def check_exposure(settings: Settings) -> tuple[str, str] | None:
    """Refuse to serve on a non-loopback address without auth unless explicitly allowed."""
    auth = auth_of(settings)
    if not is_loopback(settings.host) and auth is None and not settings.allow_public:
        raise SettingsError(
            f"refusing to serve the web UI on {settings.host} without a password: anyone on the network could "
            "use it. Set CTO_COACH_AUTH_USERNAME and CTO_COACH_AUTH_PASSWORD, or opt in with "
            "CTO_COACH_ALLOW_PUBLIC=true, or bind to 127.0.0.1 (the default)."
        )
    return auth


def launch_app(app: gr.Blocks, settings: Settings, *, prevent_thread_lock: bool = False,
               quiet: bool = False) -> str:
    """Launch on settings.host/port with auth when set and share links off; returns the local URL."""
    auth = check_exposure(settings)
    try:
        _, url, _ = app.launch(
            server_name=settings.host, server_port=settings.port, auth=auth, share=False,
            prevent_thread_lock=prevent_thread_lock, quiet=quiet, show_error=False, ssr_mode=False,
            css=CSS, footer_links=["api"], inbrowser=False,
        )
    except OSError as exc:
        raise SettingsError(
            f"cannot serve on {settings.host}:{settings.port}: {exc}. Is the port in use? Pick another with "
            "--port or CTO_COACH_PORT."
        ) from None
    return url


def serve(settings: Settings) -> None:
    """`cto-coach serve`: build the coach (and the index if missing/stale), then serve until Ctrl-C."""
    check_exposure(settings)  # fail before loading anything
    from assistant.coach import Coach

    coach = Coach.from_settings(settings, progress=sys.stderr.isatty())
    if coach.index_note:
        print(coach.index_note, file=sys.stderr)
    app = create_app(coach)
    print(f"CTO Coach on http://{settings.host}:{settings.port}  ({coach.mode_label}); "
          f"feedback → {feedback_path(settings)}", file=sys.stderr)
    launch_app(app, settings)


__all__ = ["ChatHandlers", "create_app", "format_answer", "highlight", "launch_app", "render_evidence_turn", "serve"]

"""The web UI's event handlers as plain methods of `ChatHandlers`: callable and testable without a browser.

`respond` streams one answer into the chat and the evidence panel and records it for feedback: the
question at once, then an LLM's draft sentence by sentence (`pacing`), then the final answer with its
evidence in one update (an extractive answer arrives whole in that update);
`rate` and `flag` store likes, dislikes and "this citation does not support this sentence".
"""

from __future__ import annotations

import html
import logging
import re
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from assistant.app.feedback import FeedbackStore, answer_record, flag_record, rating_record
from assistant.app.ui import render
from assistant.app.ui.pacing import SentencePacer
from assistant.app.ui.render import (
    EMPTY_EVIDENCE,
    FRIENDLY_ERROR,
    as_text,
    format_answer,
    render_evidence,
    render_evidence_turn,
    strip_md,
)
from assistant.errors import CoachError, FeedbackError
from assistant.text import is_korean
from assistant.types import Answer, Delta, Final
from assistant.understand.diagnosis import explain
from assistant.understand.validation import check_stage

if TYPE_CHECKING:
    from assistant.coach import Coach

log = logging.getLogger("cto_coach.ui")

MAX_TURNS = 100  # answers per session that can still be rated (older ones drop out of the state)
MAX_CHAT_MESSAGES = 2 * MAX_TURNS  # the client's chat list is trimmed to this before anything else
MAX_TURN_CHARS = 4000  # per history turn kept in the state and stored with feedback
MAX_FLAGS_PER_ANSWER = 20
MAX_COMMENT_CHARS = 1000
STAGES_KO, STAGES_EN = "한국어", "English"  # the Stages tab's languages


def gradio() -> Any:
    """Gradio, imported on first use (2-6 s): `serve` can refuse bad settings before paying for it."""
    import gradio

    return gradio


def new_state(session: str | None = None) -> dict[str, Any]:
    """Per-session state: the conversation as the coach sees it, and the answers to attach feedback to.

    `session` is a fresh id unless given. The app's initial state has none (""): Gradio copies that one
    value into every session, so an id in it would be shared by all of them (their feedback records
    could not be told apart); `respond` gives a session its own id at its first answer."""
    return {"session": uuid.uuid4().hex[:12] if session is None else session, "history": [], "turns": [],
            "evidence": []}


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)
    elif isinstance(content, dict):
        text = str(content.get("text", ""))
    else:
        text = ""
    return html.unescape(re.sub(r"<[^>]+>", "", text))  # the chat shows escaped text (render.as_text)


def _history_from_chat(chat: list) -> list[tuple[str, str]]:
    out = []
    for m in chat or []:
        if isinstance(m, dict) and m.get("role") in ("user", "assistant"):
            out.append((m["role"], _text_of(m.get("content"))))
    return out


class ChatHandlers:
    """Event handlers as plain methods (no Gradio needed to call them)."""

    def __init__(self, coach: Coach, store: FeedbackStore | None = None):
        self.coach = coach
        self.store = store or FeedbackStore.from_settings(coach.settings)

    @property
    def streams_drafts(self) -> bool:
        """Whether answers are written by an LLM (a draft worth streaming) rather than composed at once."""
        return getattr(self.coach, "llm", None) is not None

    def answer(self, message: str, chat: list | None, stage_choice: object, state: dict | None
               ) -> tuple[str, list, str, dict | None, Any, dict]:
        """`respond` without streaming: its final update only. The chat event of an extractive coach:
        Gradio runs a plain function in one pass and sends its result once, where a generator costs a
        pass per update plus one to find it exhausted, and sends the final result twice."""
        updates = list(self.respond(message, chat, stage_choice, state))
        return updates[-1]  # respond always yields its final update last

    def respond(self, message: str, chat: list | None, stage_choice: object, state: dict | None
                ) -> Iterator[tuple[str, list, str, dict | None, Any, dict]]:
        """Stream one answer. Yields (textbox, chat, evidence_html, answer_json, flag_choices, state)."""
        gr = gradio()
        state = state if isinstance(state, dict) and "turns" in state else new_state()
        if not state.get("session"):
            state = {**state, "session": uuid.uuid4().hex[:12]}
        chat = [dict(m) for m in (chat if isinstance(chat, list) else [])[-MAX_CHAT_MESSAGES:] if isinstance(m, dict)]
        message = message if isinstance(message, str) else ""
        # What the coach reads, what the state keeps and what feedback stores: the newest
        # max_history_turns turns, each capped; never the client's whole list.
        keep = max(self.coach.settings.max_history_turns, 1) * 2
        history = [(r, t[:MAX_TURN_CHARS]) for r, t in (list(state["history"]) or _history_from_chat(chat))][-keep:]
        stage = check_stage(stage_choice, lenient=True)
        evidence = render_evidence(state["evidence"])
        chat.append({"role": "user", "content": as_text(message) if message.strip() else "…"})
        chat.append({"role": "assistant", "content": "…"})
        # An LLM's draft takes seconds: the question shows at once, then the draft sentence by sentence.
        # An extractive answer is complete the moment it exists (tens of ms): no placeholder and none of
        # its pieces, the final update below carries it whole. Each update costs Gradio a pass over every
        # output (the whole chat, the evidence panel, the state) and one server-sent event.
        pacer = SentencePacer() if self.streams_drafts else None
        if pacer is not None:
            yield "", [*chat], evidence, None, gr.update(), state

        answer: Answer | None = None
        try:
            for event in self.coach.stream(message, history, stage):
                if isinstance(event, Delta):
                    shown = pacer.feed(event.text) if pacer is not None else None
                    if shown is not None:
                        chat[-1] = {"role": "assistant", "content": as_text(shown)}
                        yield "", [*chat], evidence, None, gr.update(), state
                elif isinstance(event, Final):
                    answer = event.answer
        except CoachError as exc:
            chat[-1] = {"role": "assistant", "content": f"⚠️ {as_text(str(exc))}"}
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
        state = {
            **state,
            "history": [*history, ("user", answer.question[:MAX_TURN_CHARS]),
                        ("assistant", answer.text[:MAX_TURN_CHARS])][-keep:],
            "turns": [*state["turns"], {"turn": turn, "msg_index": len(chat) - 1, "record": record,
                                        "flags": self.flag_options(answer),
                                        "sentences": [strip_md(x.text) for x in answer.sentences]}][-MAX_TURNS:],
            "evidence": [*state["evidence"],
                         (turn, render_evidence_turn(answer, turn, korean), korean)][-(render.MAX_OLDER_EVIDENCE + 1):],
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
                text = strip_md(s.text)
                out.append((f"[{n}] {text if len(text) <= 70 else text[:67] + '…'}", f"{i}:{n}"))
        return out

    @staticmethod
    def stages_language(state: dict | None, current: Any = None) -> Any:
        """The Stages tab's language after an answer: the language of the question just asked."""
        history = (state or {}).get("history") or []
        last = next((turn[1] for turn in reversed(list(history)[-MAX_CHAT_MESSAGES:])
                     if isinstance(turn, (list, tuple)) and len(turn) == 2 and turn[0] == "user"), None)
        if not isinstance(last, str) or not last.strip():
            return gradio().update()
        return STAGES_KO if is_korean(last) else STAGES_EN

    def stages_html(self, language: Any) -> str:
        """The Stages tab in the chosen language (English from the article's English rendering)."""
        return render.render_stages(self.coach, english=language == STAGES_EN)

    def clear(self) -> tuple[list, str, None, Any, dict, str]:
        return [], EMPTY_EVIDENCE, None, gradio().update(choices=[], value=None), new_state(), ""

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
        if turn.get("flagged", 0) >= MAX_FLAGS_PER_ANSWER:
            return (f"ℹ️ 이 답변에는 신고를 {MAX_FLAGS_PER_ANSWER}개까지 남길 수 있습니다. / At most "
                    f"{MAX_FLAGS_PER_ANSWER} flags per answer."), comment or ""
        comment = (comment if isinstance(comment, str) else "")[:MAX_COMMENT_CHARS]
        sentence = label.split("] ", 1)[1] if "] " in label else label
        try:
            # The full sentence text, not the truncated label.
            sentence = _sentence_of(turn, i) or sentence
            self.store.append(flag_record(turn["record"], sentence=sentence, citation=n, comment=comment))
        except FeedbackError as exc:
            return f"⚠️ {exc}", comment
        turn["flagged"] = turn.get("flagged", 0) + 1
        return (f"🚩 [{n}] 신고를 저장했습니다. 평가 후보가 됩니다. / Flag saved: citation [{n}] "
                "does not support that sentence; it becomes an eval candidate."), ""


def _sentence_of(turn: dict, i: int) -> str | None:
    sentences = turn.get("sentences") or []
    return sentences[i] if 0 <= i < len(sentences) else None

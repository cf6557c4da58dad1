"""The messages an LLM answer starts from: a versioned system prompt (prompts/answer_v1.txt), the last
turns of the conversation, then the diagnosis, the passages and the question fenced as DATA.

Passages and the question sit inside `<passage n=… voice=… author=…>` / `<question>` fences with `<`
and `>` escaped, and the prompt says text inside them is never an instruction.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from string import Template

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from assistant.text import MARKER_LIST, is_korean
from assistant.types import Diagnosis, Passage
from assistant.understand.diagnosis import explain

PROMPT_VERSION = "answer_v1"
NOT_COVERED = "NOT_COVERED"  # what the prompt tells the model to write when the passages do not cover it
HISTORY_TURNS = 3  # user/assistant pairs of earlier conversation sent to the model


@lru_cache(maxsize=8)
def load_prompt(name: str) -> str:
    """A prompt file from assistant/answer/llm/prompts/ (versioned: answer_v1.txt is the v1 system prompt)."""
    return resources.files("assistant.answer.llm").joinpath(f"prompts/{name}.txt").read_text(encoding="utf-8")


def escape_data(text: str) -> str:
    """Text that goes inside a fence: no `<`/`>` so it cannot close the fence or open a new one."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: object) -> str:
    return escape_data(str(value)).replace('"', "&quot;")


def render_passages(passages: list[Passage]) -> str:
    out = []
    for n, p in enumerate(passages, 1):
        c = p.chunk
        out.append(
            f'<passage n="{n}" stage="{c.stage if c.stage is not None else "none"}" section="{_attr(c.section)}" '
            f'voice="{_attr(c.voice)}" author="{_attr(c.author)}">\n{escape_data(c.text)}\n</passage>'
        )
    return "\n".join(out) if out else "(no passages)"



def strip_markers(text: str) -> str:
    return re.sub(r"\s+([.!?,])", r"\1", MARKER_LIST.sub("", text)).strip()


def build_messages(question: str, history: list[tuple[str, str]], diagnosis: Diagnosis | str,
                   passages: list[Passage], korean: bool | None = None, turns: int = HISTORY_TURNS) -> list[BaseMessage]:
    """System prompt, the last `turns` exchanges, then the fenced diagnosis, passages and question."""
    korean = is_korean(question) if korean is None else korean
    diagnosis_line = diagnosis if isinstance(diagnosis, str) else explain(diagnosis, korean)
    messages: list[BaseMessage] = [SystemMessage(load_prompt(PROMPT_VERSION))]
    for role, text in history[-2 * turns:] if turns else []:
        if role == "user":
            messages.append(HumanMessage(f"<question>\n{escape_data(text)}\n</question>"))
        else:  # earlier answers' [n] point at other passages: drop them
            messages.append(AIMessage(strip_markers(text)))
    user = Template(load_prompt(f"{PROMPT_VERSION}_user")).substitute(
        diagnosis=escape_data(diagnosis_line),
        passages=render_passages(passages),
        question=escape_data(question),
        language="Korean" if korean else "English",
    )
    messages.append(HumanMessage(user.strip()))
    return messages


"""The messages an LLM answer starts from: a versioned system prompt (prompts/answer_v1.txt), the last
turns of the conversation, then the diagnosis, the passages and the question fenced as DATA.

Passages and the question sit inside `<passage n=… voice=… author=…>` / `<question>` fences with `<`
and `>` escaped, and the prompt says text inside them is never an instruction.

English questions about a document with an English rendering get `answer_v2` (PROMPT_VERSION_EN):
each passage also carries the project's rendering inside `<rendering lang="en">`, and the model is
told to answer in English from it, citing the passage's own number. Korean questions keep `answer_v1`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from string import Template

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from assistant.article.rendering import Rendering, english_of
from assistant.text import MARKER_LIST, is_korean
from assistant.types import Diagnosis, Passage
from assistant.understand.diagnosis import explain

PROMPT_VERSION = "answer_v1"
PROMPT_VERSION_EN = "answer_v2"  # English questions, passages with the project's English rendering
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


def render_passages(passages: list[Passage], renderings: dict[str, Rendering] | None = None) -> str:
    """The fenced passages; with `renderings`, each rendered passage also carries its English rendering."""
    out = []
    for n, p in enumerate(passages, 1):
        c = p.chunk
        en = english_of(renderings, c.doc_id, c.text) if renderings else None
        body = escape_data(c.text) + (f'\n<rendering lang="en">{escape_data(en)}</rendering>' if en else "")
        out.append(
            f'<passage n="{n}" stage="{c.stage if c.stage is not None else "none"}" section="{_attr(c.section)}" '
            f'voice="{_attr(c.voice)}" author="{_attr(c.author)}">\n{body}\n</passage>'
        )
    return "\n".join(out) if out else "(no passages)"



def strip_markers(text: str) -> str:
    return re.sub(r"\s+([.!?,])", r"\1", MARKER_LIST.sub("", text)).strip()


def prompt_version(korean: bool, passages: list[Passage], renderings: dict[str, Rendering] | None) -> str:
    """answer_v2 for an English question when some passage has an English rendering, else answer_v1."""
    if korean or not renderings or not any(english_of(renderings, p.chunk.doc_id, p.chunk.text) for p in passages):
        return PROMPT_VERSION
    return PROMPT_VERSION_EN


def build_messages(question: str, history: list[tuple[str, str]], diagnosis: Diagnosis | str,
                   passages: list[Passage], korean: bool | None = None, turns: int = HISTORY_TURNS,
                   renderings: dict[str, Rendering] | None = None) -> list[BaseMessage]:
    """System prompt, the last `turns` exchanges, then the fenced diagnosis, passages and question.
    `renderings` (English questions): the passages carry their English rendering (prompt answer_v2)."""
    korean = is_korean(question) if korean is None else korean
    diagnosis_line = diagnosis if isinstance(diagnosis, str) else explain(diagnosis, korean)
    version = prompt_version(korean, passages, renderings)
    messages: list[BaseMessage] = [SystemMessage(load_prompt(version))]
    for role, text in history[-2 * turns:] if turns else []:
        if role == "user":
            messages.append(HumanMessage(f"<question>\n{escape_data(text)}\n</question>"))
        else:  # earlier answers' [n] point at other passages: drop them
            messages.append(AIMessage(strip_markers(text)))
    user = Template(load_prompt(f"{version}_user")).substitute(
        diagnosis=escape_data(diagnosis_line),
        passages=render_passages(passages, renderings if version == PROMPT_VERSION_EN else None),
        question=escape_data(question),
        language="Korean" if korean else "English",
    )
    messages.append(HumanMessage(user.strip()))
    return messages


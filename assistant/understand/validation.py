"""Input validation at the API boundary: every adapter gets the same rules and messages."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from assistant.errors import InputError

# C0/C1 controls, DEL, zero-width characters and bidi overrides/isolates (they can reorder what is displayed).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069]")
ROLES = ("user", "assistant")


def clean_question(question: object, max_chars: int) -> str:
    """The question as the pipeline will see it, or an `InputError` saying what to fix."""
    if question is None:
        raise InputError("질문이 비어 있습니다. / The question is empty.")
    if not isinstance(question, str):
        raise InputError(f"The question must be text, not {type(question).__name__}.")
    # Lone surrogates (from broken clients) cannot be encoded: replace them rather than crash later.
    text = question.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(question) else question
    text = _CONTROL.sub(" ", unicodedata.normalize("NFC", text))
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise InputError("질문이 비어 있습니다. 궁금한 점을 입력해 주세요. / The question is empty: please type a question.")
    if len(text) > max_chars:
        raise InputError(
            f"질문이 너무 깁니다 ({len(text):,}자, 최대 {max_chars:,}자). 핵심만 짧게 물어봐 주세요. / "
            f"The question is too long ({len(text):,} characters; the limit is {max_chars:,})."
        )
    if not re.search(r"\w", text):
        raise InputError("질문에 글자가 없습니다. / The question has no words in it.")
    return text


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def clean_history(history: object, max_turns: int, max_chars: int) -> list[tuple[str, str]]:
    """A list of (role, text) pairs; the newest `max_turns` turns are kept."""
    if history is None:
        return []
    if not isinstance(history, Iterable) or isinstance(history, str | bytes | dict):
        raise InputError("history must be a list of [role, text] pairs")
    out: list[tuple[str, str]] = []
    for i, turn in enumerate(history):
        if isinstance(turn, dict) and "role" in turn and "content" in turn:
            turn = (turn["role"], turn["content"])
        if not isinstance(turn, list | tuple) or len(turn) != 2:
            raise InputError(f"history item {i} must be a [role, text] pair, got {str(turn)[:60]!r}")
        role, text = turn
        if role not in ROLES:
            raise InputError(f"history item {i}: role must be 'user' or 'assistant', got {str(role)[:20]!r}")
        if not isinstance(text, str):
            raise InputError(f"history item {i}: text must be a string")
        text = _CONTROL.sub(" ", text.encode("utf-8", "replace").decode("utf-8") if _has_surrogates(text) else text)
        out.append((role, text[: max_chars * 4]))
    return out[-max_turns * 2 :] if max_turns else []


def check_stage(stage: object, *, lenient: bool = False) -> int | None:
    """The stage a caller fixed (1-4), or None for automatic diagnosis.

    Strict (the API, `--stage`): anything else is an `InputError`. Lenient (the web UI's stage
    control, whose values may be labels such as "2단계 성장기"): the leading number counts, and
    anything that is not a stage means automatic.
    """
    if stage in (None, "", "auto", "Auto", 0):
        return None
    text = str(stage).strip()
    if lenient:
        text = (text.split() or [""])[0].rstrip("단계")
    try:
        value = int(text)
    except ValueError:
        if lenient:
            return None
        raise InputError(f"stage must be 1-4 or auto, got {stage!r}") from None
    if value not in (1, 2, 3, 4):
        if lenient:
            return None
        raise InputError(f"stage must be 1-4 or auto, got {value}")
    return value

"""`SentencePacer`: an LLM draft reaches the chat once per finished sentence, never mid-sentence."""

from __future__ import annotations

import re

import pytest

from assistant.app.ui.pacing import SentencePacer


def feed_all(pieces: list[str]) -> list[str]:
    pacer = SentencePacer()
    return [shown for p in pieces if (shown := pacer.feed(p)) is not None]


def words(text: str) -> list[str]:
    """How a chat model streams: words and the whitespace between them as separate pieces."""
    return [p for p in re.split(r"(\s)", text) if p]


def test_one_update_per_finished_sentence():
    text = "첫 문장입니다 [1]. Second one, with 3.5 people! 세 번째?\n마지막 문장 [2]."
    assert feed_all(words(text)) == [
        "첫 문장입니다 [1].",
        "첫 문장입니다 [1]. Second one, with 3.5 people!",
        "첫 문장입니다 [1]. Second one, with 3.5 people! 세 번째?\n",
    ]  # the last sentence has no whitespace after it yet: it comes with the final answer


def test_token_boundaries_do_not_matter():
    text = "A sentence (with a quote.)” Then another. And the rest"
    by_char = feed_all(list(text))
    by_word = feed_all(words(text))
    assert by_char == by_word == ["A sentence (with a quote.)”", "A sentence (with a quote.)” Then another."]


@pytest.mark.parametrize("text", ["", "no end yet", "3.5 and v1.2", "[1]"])
def test_nothing_is_shown_before_a_sentence_ends(text):
    assert feed_all(words(text)) == []


def test_a_line_break_ends_a_line_of_a_list():
    assert feed_all(words("- 항목 하나\n- 항목 둘\n")) == ["- 항목 하나\n", "- 항목 하나\n- 항목 둘\n"]

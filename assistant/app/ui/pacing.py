"""How often a streamed LLM draft reaches the browser: once per finished sentence.

Every update the chat handler yields costs Gradio a pass over all of its outputs (postprocessing the
whole conversation, the evidence panel and the session state, diffing them against the previous
update, one server-sent event). Per token that cost dwarfs the answer itself, and a half-written
sentence is no use to a reader anyway; a whole sentence is the smallest piece worth showing.
Extractive answers never come through here: they exist in full at once, so they go out in one update.
"""

from __future__ import annotations

import re

# A sentence ends at a newline, or at ., !, ?, …, 。 (optionally followed by closing quotes or
# brackets) once the whitespace after it has arrived: "3.5" or a decimal cut between tokens is not an end.
_SENTENCE_END = re.compile(r"\n|[.!?…。！？][\"'”’)\]]*(?=\s)")


class SentencePacer:
    """Accumulates streamed text; `feed` returns the text up to the last finished sentence, or None
    when no sentence finished since the previous return (so the caller yields only then)."""

    def __init__(self) -> None:
        self.text = ""
        self._shown = 0  # length of the prefix already returned

    def feed(self, piece: str) -> str | None:
        """Add one streamed piece; the new prefix to show, or None when nothing new is complete."""
        self.text += piece
        end = None
        for m in _SENTENCE_END.finditer(self.text, self._shown):
            end = m.end()
        if end is None or end <= self._shown:
            return None
        self._shown = end
        return self.text[:end]

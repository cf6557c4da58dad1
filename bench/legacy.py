"""The retrieval stack as it was before BM25 moved to `bm25s` (kept for `--retriever legacy`).

Every chunk text and metadata row is read into memory when the index opens, and BM25 is rebuilt
from scratch in every process (numpy postings). `bench.run --retriever legacy,bm25s` measures it
beside the new one in the same run, and tests/test_bm25.py checks the new BM25 ranks exactly like
this one. Delete this file once the comparison is no longer needed.
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from assistant.text import tokenize, translate_terms
from assistant.types import Chunk, Passage

RRF_K = 60


class LegacyBM25:
    """Okapi BM25 with precomputed posting weights, CSR-style numpy arrays (the pre-bm25s code, verbatim)."""

    def __init__(self, ids: list[str], texts: list[str], k1: float = 1.2, b: float = 0.75):
        self.ids = ids
        self.k1, self.b = k1, b
        vocab: dict[str, int] = {}
        term_of, doc_of, tf_of = array("i"), array("i"), array("i")
        lengths = []
        for d, text in enumerate(texts):
            counts = Counter(tokenize(text))
            lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                term_of.append(vocab.setdefault(term, len(vocab)))
                doc_of.append(d)
                tf_of.append(tf)
        n = len(texts)
        self.n = n
        self.avgdl = (sum(lengths) / n) if n else 1.0
        terms = np.frombuffer(term_of, dtype=np.int32) if len(term_of) else np.zeros(0, np.int32)
        order = np.argsort(terms, kind="stable")
        docs = np.frombuffer(doc_of, dtype=np.int32)[order] if len(doc_of) else np.zeros(0, np.int32)
        tf_arr = np.frombuffer(tf_of, dtype=np.int32)[order].astype(np.float64) if len(tf_of) else np.zeros(0)
        df = np.bincount(terms, minlength=len(vocab))
        self._offsets = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        self.idf = {t: math.log(1 + (n - int(df[i]) + 0.5) / (int(df[i]) + 0.5)) for t, i in vocab.items()}
        idf_arr = np.fromiter((self.idf[t] for t in vocab), dtype=np.float64, count=len(vocab))
        lens = np.asarray(lengths, dtype=np.float64)
        norm = k1 * (1 - b + b * lens / self.avgdl) if n else lens
        self._docs = docs
        self._w = idf_arr[terms[order]] * tf_arr * (k1 + 1) / (tf_arr + norm[docs]) if len(docs) else np.zeros(0)
        self._vocab = vocab
        self.max_idf = max(self.idf.values(), default=1.0)

    def query_terms(self, query: str) -> list[str]:
        extra = translate_terms(query)
        return tokenize(f"{query} {extra}" if extra else query)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        tids = [self._vocab[t] for t in set(self.query_terms(query)) if t in self._vocab]
        if not tids or k <= 0:
            return []
        scores = np.zeros(self.n, dtype=np.float64)
        touched = np.zeros(self.n, dtype=bool)
        for tid in tids:
            a, z = self._offsets[tid], self._offsets[tid + 1]
            d = self._docs[a:z]
            scores[d] += self._w[a:z]
            touched[d] = True
        cand = np.flatnonzero(touched)
        if len(cand) > k:
            part = cand[np.argpartition(-scores[cand], k - 1)[:k]]
            cand = cand[scores[cand] >= scores[part].min()]
        best = sorted(cand.tolist(), key=lambda i: (-scores[i], i))[:k]
        return [(self.ids[i], float(scores[i])) for i in best]


@dataclass
class LegacyOpenIndex:
    """The old OpenIndex: every chunk in memory."""

    store: Any
    manifest: Any
    chunks: list[Chunk]
    location: str
    generation: str | None

    def dense_search(self, vector: list[float], k: int) -> list[tuple[str, float]]:
        k = min(k, len(self.chunks))
        if k <= 0:
            return []
        hits = self.store.similarity_search_by_vector_with_relevance_scores(vector, k=k)
        return [(doc.id, 1.0 - float(dist)) for doc, dist in hits]


def legacy_open_index(settings, embeddings) -> LegacyOpenIndex:
    """The old `open_index`: verify the manifest, then read every chunk (paged); no BM25 files used."""
    from assistant.errors import IndexMissingError, IndexUnavailableError
    from assistant.search import store as st

    location = st.location_of(settings)
    generation = None
    if settings.chroma_host:
        client = st._server_client(settings)
    else:
        gen = st.live_generation(settings.index_dir)
        if gen is None:
            raise IndexMissingError(f"no index at {settings.index_dir}; run `cto-coach index` to build it")
        generation = gen.name
        client = st.persistent_client(gen)
    store = st.vector_store(client, settings, embeddings, create=False)
    manifest = st.Manifest.from_metadata(store._collection.metadata)
    chunks = st._all_chunks(store._collection)
    if manifest is None:
        raise IndexUnavailableError(f"the index at {location} has no manifest")
    st.check_compatible(manifest, settings, location)
    return LegacyOpenIndex(store, manifest, chunks, location, generation)


@dataclass
class LegacyRetriever:
    index: LegacyOpenIndex
    embeddings: Any
    mode: str = "hybrid"
    candidates: int = 20
    stage_boost: float = 2.0
    dense_weight: float = 0.5

    @classmethod
    def from_settings(cls, index, embeddings, settings) -> LegacyRetriever:
        return cls(index, embeddings, settings.retrieval, settings.candidates, settings.stage_boost,
                   settings.dense_weight)

    def __post_init__(self) -> None:
        self.by_id: dict[str, Chunk] = {c.id: c for c in self.index.chunks}
        self.by_stage: dict[int, list[str]] = {}
        for c in self.index.chunks:
            if c.stage:
                self.by_stage.setdefault(c.stage, []).append(c.id)
        self.bm25 = LegacyBM25([c.id for c in self.index.chunks], [c.text for c in self.index.chunks])

    @property
    def chunks(self) -> list[Chunk]:
        return self.index.chunks

    def retrieve(self, query: str, k: int, stage: int | None = None, stages: tuple[int, ...] = ()) -> list[Passage]:
        dense: list[tuple[str, float]] = []
        sparse: list[tuple[str, float]] = []
        if self.mode in ("hybrid", "dense"):
            dense = self.index.dense_search(self.embeddings.embed_query(query), self.candidates)
        if self.mode in ("hybrid", "bm25"):
            sparse = self.bm25.search(query, self.candidates)
        fused: dict[str, float] = {}
        for weight, ranking in ((self.dense_weight, dense), (1.0, sparse)):
            for rank, (cid, _) in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + rank + 1)
        boosted = set(stages) | ({stage} if stage else set())
        if boosted and self.stage_boost:
            for boosted_stage in boosted:
                for cid in self.by_stage.get(boosted_stage, ()):
                    fused[cid] = fused.get(cid, 0.0) + self.stage_boost / RRF_K
        dense_of, bm25_of = dict(dense), dict(sparse)
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return [Passage(self.by_id[cid], score, dense_of.get(cid), bm25_of.get(cid))
                for cid, score in ranked if cid in self.by_id]


def patch_legacy() -> None:
    """Make the Coach (CLI, UI, bench workers) open the index and retrieve the old way."""
    from assistant import coach

    coach.open_index = legacy_open_index
    coach.HybridRetriever = LegacyRetriever

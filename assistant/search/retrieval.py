"""Hybrid retrieval: dense (Chroma) + Korean-aware BM25, fused with reciprocal rank fusion.

The two retrievers fail differently on this corpus (dense misses rare exact terms like "P&L",
BM25 misses paraphrases), so RRF over both is more robust than either. When a stage is diagnosed,
that stage's passages get a fixed bonus so "직원 20명인데…" surfaces the 성장기 list and commentary
first; with no stage there is no bonus, so the intro and closing compete on their merits.

Nothing here holds the corpus: BM25 is the memory-mapped index saved with the generation, the
stage lists come with it, and the passages a query returns are fetched from Chroma by id.

Both languages: English questions search a second saved BM25 (`bm25-en/` in the generation, built
at index time over each chunk's searchable text: the original, then its English rendering), and the
index holds an English vector beside each rendered chunk, so an English question matches the
English words and still cites the one chunk. Korean questions search the originals only (BM25 over
the Korean texts, the Korean vectors), exactly as before the renderings existed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from assistant.article.rendering import Rendering, load_renderings
from assistant.search.embeddings import CachedEmbeddings
from assistant.search.store import OpenIndex
from assistant.text import is_korean
from assistant.types import Chunk, Passage

if TYPE_CHECKING:
    from assistant.settings import RetrievalMode, Settings

RRF_K = 60
QUERY_CACHE = 1024  # query vectors remembered by a retriever
PREFETCH_STAGE = 64  # fetch a boosted stage's chunks with the ranked ones when it has at most this many


class ChunksById(Mapping):
    """`retriever.by_id[cid]`: the chunk, fetched from the index by id (LRU-cached there)."""

    def __init__(self, index: OpenIndex):
        self._index = index

    def __getitem__(self, cid: str) -> Chunk:
        got = self._index.fetch([cid]).get(cid)
        if got is None:
            raise KeyError(cid)
        return got

    def __contains__(self, cid: object) -> bool:
        return isinstance(cid, str) and bool(self._index.fetch([cid]))

    def __iter__(self) -> Iterator[str]:
        return iter(self._index.bm25.ids)

    def __len__(self) -> int:
        return self._index.count


@dataclass
class HybridRetriever:
    index: OpenIndex
    embeddings: Embeddings
    mode: RetrievalMode = "hybrid"
    candidates: int = 20
    stage_boost: float = 2.0
    dense_weight: float = 0.5  # BM25's ranking counts 1.0
    renderings: dict[str, Rendering] = field(default_factory=dict)  # English renderings, by document id

    @classmethod
    def from_settings(cls, index: OpenIndex, embeddings: Embeddings, settings: Settings) -> HybridRetriever:
        """The retriever users get: every retrieval setting applied (the one way to build one)."""
        return cls(index, embeddings, mode=settings.retrieval, candidates=settings.candidates,
                   stage_boost=settings.stage_boost, dense_weight=settings.dense_weight,
                   renderings=load_renderings(settings.corpus_dir))

    def __post_init__(self) -> None:
        # Query vectors are remembered: web sessions asking the same follow-up ("그 다음 단계는?" becomes
        # the same standalone query) share one model call. Same vectors; bounded, oldest out first.
        self._query_vectors = CachedEmbeddings(self.embeddings, max_items=QUERY_CACHE)
        self.bm25 = self.index.bm25
        self.by_stage: dict[int, list[str]] = self.bm25.by_stage
        self.by_id = ChunksById(self.index)
        # English questions: the bilingual BM25 saved with the index (None without renderings).
        self.bm25_en = self.index.bm25_en or self.bm25

    @property
    def chunks(self) -> list[Chunk]:
        """Every chunk (read once from the store on first use: evals and tools, not the answer path)."""
        return self.index.chunks

    def retrieve(self, query: str, k: int, stage: int | None = None, stages: tuple[int, ...] = (),
                 vector: Sequence[float] | None = None, english: bool | None = None) -> list[Passage]:
        """`vector`: the query's embedding when the caller already has one (saves a model call); English
        vectors are matched by the same query vector. `english`: the question's language (English
        questions also search the English vectors and the bilingual BM25); None reads it off the query."""
        english = not is_korean(query) if english is None else english
        dense: list[tuple[str, float]] = []
        sparse: list[tuple[str, float]] = []
        if self.mode in ("hybrid", "dense"):
            qv = list(vector) if vector is not None else self._query_vectors.embed_query(query)
            dense = self.index.dense_search(qv, self.candidates, english=english)
        if self.mode in ("hybrid", "bm25"):
            sparse = (self.bm25_en if english else self.bm25).search(query, self.candidates)
        fused: dict[str, float] = {}
        for weight, ranking in ((self.dense_weight, dense), (1.0, sparse)):
            for rank, (cid, _) in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + rank + 1)
        boosted = set(stages) | ({stage} if stage else set())
        prefetch: list[str] = []
        if boosted and self.stage_boost:
            # Passages of the diagnosed stage(s) are candidates even if neither retriever ranked them.
            for boosted_stage in boosted:
                ids = self.by_stage.get(boosted_stage, ())
                if len(ids) <= PREFETCH_STAGE:  # the composer quotes the stage's chunks: one read for all
                    prefetch.extend(ids)
                for cid in ids:
                    fused[cid] = fused.get(cid, 0.0) + self.stage_boost / RRF_K
        dense_of, bm25_of = dict(dense), dict(sparse)
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        chunks = self.index.fetch([cid for cid, _ in ranked] + prefetch)
        return [
            Passage(chunks[cid], score, dense_of.get(cid), bm25_of.get(cid))
            for cid, score in ranked
            if cid in chunks
        ]

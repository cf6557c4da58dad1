"""Korean-aware BM25 over chunk texts (Okapi BM25, inverted index, no extra dependency).

Terms come from `text.tokenize`: particle-stripped stems plus Hangul character bigrams, which
measured as well as a morphological analyser here (15/20 vs 16/20 hit@3) without Kiwi's 2.5 s and
530 MB start-up. English questions are expanded with the Korean glossary aliases of their terms.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from .text import tokenize, translate_terms


class BM25:
    def __init__(self, ids: list[str], texts: list[str], k1: float = 1.2, b: float = 0.75):
        self.ids = ids
        self.k1, self.b = k1, b
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        self.lengths: list[int] = []
        for doc, text in enumerate(texts):
            counts = Counter(tokenize(text))
            self.lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                self.postings[term].append((doc, tf))
        n = len(texts)
        self.avgdl = (sum(self.lengths) / n) if n else 1.0
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}

    def query_terms(self, query: str) -> list[str]:
        extra = translate_terms(query)
        return tokenize(f"{query} {extra}" if extra else query)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) best first; chunks sharing no term with the query are left out."""
        scores: dict[int, float] = defaultdict(float)
        for term in set(self.query_terms(query)):
            postings = self.postings.get(term)
            if not postings:
                continue
            idf = self.idf[term]
            for doc, tf in postings:
                norm = tf + self.k1 * (1 - self.b + self.b * self.lengths[doc] / self.avgdl)
                scores[doc] += idf * tf * (self.k1 + 1) / norm
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return [(self.ids[d], s) for d, s in best]

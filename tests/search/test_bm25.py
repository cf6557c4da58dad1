"""The fast BM25 and tokenizer paths give exactly what the plain formulas give.

`assistant.search.bm25` precomputes posting weights into numpy arrays, `_strip_josa` is memoised by suffix
length and glossary matchers are compiled once (for 100k-chunk indexes, see `make bench`); these
reference versions are the straightforward definitions they must agree with.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from pathlib import Path

from assistant import text
from assistant.article.chunking import chunk_sections
from assistant.article.corpus import load_corpus
from assistant.search.bm25 import BM25

ROOT = Path(__file__).resolve().parents[2]


def reference_bm25(texts: list[str], query_terms: list[str], k1: float = 1.2, b: float = 0.75) -> dict[int, float]:
    docs = [Counter(text.tokenize(t)) for t in texts]
    lengths = [sum(d.values()) for d in docs]
    avgdl = sum(lengths) / len(docs)
    df: dict[str, int] = defaultdict(int)
    for d in docs:
        for term in d:
            df[term] += 1
    scores: dict[int, float] = defaultdict(float)
    for term in set(query_terms):
        if term not in df:
            continue
        idf = math.log(1 + (len(docs) - df[term] + 0.5) / (df[term] + 0.5))
        for i, d in enumerate(docs):
            tf = d.get(term, 0)
            if tf:
                scores[i] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * lengths[i] / avgdl))
    return scores


def reference_strip_josa(word: str) -> str:
    for josa in text._JOSA:  # longest first
        if word.endswith(josa) and len(word) - len(josa) >= 1:
            return word[: -len(josa)]
    return word


def reference_contains(haystack: str, phrase: str) -> bool:
    if re.fullmatch(r"[a-z0-9 &'.-]+", phrase):
        return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", haystack) is not None
    return phrase in haystack


def _texts() -> list[str]:
    from bench import synth

    chunks = [c.text for c in chunk_sections(load_corpus(ROOT / "corpus").sections)]
    _, synthetic, _, _ = synth.Generator(synth.corpus_sentences(), None, seed=2).chunks(300)
    return chunks + synthetic


QUERIES = ["성장기 CTO 기술 부채", "What should a growth-stage CTO do?", "직원 20명인데 뭘 해야 하죠?", "P&L 효율성", "AWS"]


def test_bm25_scores_and_order_match_the_formula():
    texts = _texts()
    ids = [str(i) for i in range(len(texts))]
    bm25 = BM25(ids, texts)
    for q in QUERIES:
        ref = reference_bm25(texts, bm25.query_terms(q))
        want = sorted(ref.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        got = bm25.search(q, 10)
        assert [i for i, _ in got] == [str(i) for i, _ in want]
        assert all(abs(s - w) < 1e-9 for (_, s), (_, w) in zip(got, want, strict=True))
    assert bm25.search("zzzz-no-such-term", 5) == []


def test_particle_stripping_and_glossary_matching_match_the_plain_versions():
    texts = _texts()
    words = [w for t in texts for w in text.words(t)]
    assert [text._strip_josa(w) for w in words] == [reference_strip_josa(w) for w in words]
    for t in [*texts[:50], "What about P&L and tech-first culture at AWS?"]:
        for entry in text.glossary():
            for alias in entry.english:
                assert text._contains_phrase(t.lower(), alias) == reference_contains(t.lower(), alias)

"""The fast BM25 and tokenizer paths give exactly what the plain formulas give.

`assistant.search.bm25` scores with `bm25s` (saved, memory-mapped), `_strip_josa` is memoised by suffix
length and glossary matchers are compiled once (for 100k-chunk indexes, see `make bench`); these
reference versions are the straightforward definitions they must agree with. The BM25 is also checked
against the numpy implementation it replaced (bench/legacy.py) on the real corpus and every question
of evals/cases.jsonl: same top-k ids in the same order, same scores.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from assistant import text
from assistant.article.chunking import chunk_sections
from assistant.article.corpus import load_corpus
from assistant.search.bm25 import BM25, BM25FilesError, signature

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


def _saved_and_loaded(ids, texts, folder, stages=None) -> BM25:
    BM25.build(ids, texts, stages, revision="r1").save(folder)
    return BM25.load(folder, revision="r1", n_docs=len(ids))  # memory-mapped, as the app opens it


def test_bm25_scores_and_order_match_the_formula(tmp_path):
    texts = _texts()
    ids = [f"c{i:04d}" for i in range(len(texts))]
    bm25 = _saved_and_loaded(ids, texts, tmp_path / "bm25")
    for q in QUERIES:
        ref = reference_bm25(texts, bm25.query_terms(q))
        want = sorted(ref.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        got = bm25.search(q, 10)
        assert [i for i, _ in got] == [ids[i] for i, _ in want]
        # postings are stored as float32 (FORMAT 2): each term's weight is exact to ~6e-8 of itself
        assert all(math.isclose(s, w, rel_tol=1e-6) for (_, s), (_, w) in zip(got, want, strict=True))
    assert bm25.search("zzzz-no-such-term", 5) == []
    # idf as the coach's premise check reads it: the formula, per term, and its maximum
    docs = [set(text.tokenize(t)) for t in texts]
    for term in ["성장기", "#기술", "cto", "aws"]:
        df = sum(term in d for d in docs)
        assert bm25.idf[term] == math.log(1 + (len(texts) - df + 0.5) / (df + 0.5))
    assert bm25.idf.get("zzzz-no-such-term") is None and "zzzz-no-such-term" not in bm25.idf
    assert bm25.max_idf == max(bm25.idf.values()) == math.log(1 + (len(texts) - 0.5) / 1.5)


def _cases() -> list[dict]:
    lines = (ROOT / "evals" / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_rankings_on_the_eval_questions_are_identical_to_the_replaced_bm25(tmp_path):
    """Top-20 ids (the retriever's candidates) and scores on the real corpus, for every eval question
    (and, for follow-ups, the question joined with its history, as the standalone query may be)."""
    from bench.legacy import LegacyBM25

    chunks = sorted(chunk_sections(load_corpus(ROOT / "corpus").sections),
                    key=lambda c: (c.doc_id, c.section_order, c.position))  # the index's document order
    ids, texts = [c.id for c in chunks], [c.text for c in chunks]
    new = _saved_and_loaded(ids, texts, tmp_path / "bm25", [c.stage for c in chunks])
    old = LegacyBM25(ids, texts)
    queries = []
    for case in _cases():
        queries.append(case["question"])
        history = " ".join(t for _, t in case.get("history") or [])
        if history:
            queries.append(f"{case['question']} {history}")
    assert len(queries) >= 40
    compared = 0
    for q in queries:
        got, want = new.search(q, 20), old.search(q, 20)
        assert [i for i, _ in got] == [i for i, _ in want], q
        assert all(math.isclose(s, w, rel_tol=1e-6) for (_, s), (_, w) in zip(got, want, strict=True)), q  # float32 postings
        compared += bool(want)
    assert compared >= 40
    assert {t: new.idf[t] for t in old.idf} == old.idf  # the premise check's weights, bit for bit
    assert new.max_idf == old.max_idf
    assert new.by_stage == {s: [c.id for c in chunks if c.stage == s] for s in (1, 2, 3, 4)}


def test_saved_bm25_refuses_other_parameters_or_revision(tmp_path):
    texts = _texts()[:40]
    ids = [f"c{i}" for i in range(len(texts))]
    folder = tmp_path / "bm25"
    BM25.build(ids, texts, revision="r1").save(folder)
    with pytest.raises(BM25FilesError, match="revision"):
        BM25.load(folder, revision="r2")
    with pytest.raises(BM25FilesError, match="40 documents"):
        BM25.load(folder, n_docs=41)
    meta = json.loads((folder / "meta.json").read_text())
    meta["signature"] = signature().replace("-v1-", "-v0-")
    (folder / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(BM25FilesError, match="built with"):
        BM25.load(folder)
    with pytest.raises(BM25FilesError, match="no BM25 index"):
        BM25.load(tmp_path / "nowhere")


def test_particle_stripping_and_glossary_matching_match_the_plain_versions():
    texts = _texts()
    words = [w for t in texts for w in text.words(t)]
    assert [text._strip_josa(w) for w in words] == [reference_strip_josa(w) for w in words]
    for t in [*texts[:50], "What about P&L and tech-first culture at AWS?"]:
        for entry in text.glossary():
            for alias in entry.english:
                assert text._contains_phrase(t.lower(), alias) == reference_contains(t.lower(), alias)


def test_token_ids_are_ranks_in_the_sorted_vocabulary_as_built_naively():
    from assistant.search.bm25 import _token_ids
    from assistant.text import tokenize
    texts = ["기술 부채의 관리", "", "Managing technical debt at 15 people", "개발 문화의 정착과 기술 부채"]
    terms, ids = _token_ids(texts)
    docs = [tokenize(t) for t in texts]
    naive_terms = sorted({t for d in docs for t in d})
    rank = {t: i for i, t in enumerate(naive_terms)}
    assert terms == naive_terms
    assert [list(d) for d in ids] == [[rank[t] for t in d] for d in docs]


def _mapped_kb(path: Path) -> int:
    """Resident kB of `path`'s pages mapped into this process (/proc/self/smaps)."""
    total, current = 0, None
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+$", head[0]):
            current = head[5] if len(head) > 5 else None
        elif head[0] == "Rss:" and current == str(path):
            total += int(head[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads /proc/self/smaps (Linux)")
def test_postings_read_by_a_query_do_not_stay_in_the_process(tmp_path):
    """A query reads its terms' postings from the page cache; none of them stays mapped into the process
    (at 100k chunks the touched pages of a mapped file were 58 MB of its RSS)."""
    texts = _texts()
    ids = [f"c{i:04d}" for i in range(len(texts))]
    bm25 = _saved_and_loaded(ids, texts, tmp_path / "bm25")
    for q in QUERIES * 3:
        assert bm25.search(q, 10) or q == "AWS"
    for name in ("data.csc.index.npy", "indices.csc.index.npy"):
        assert (tmp_path / "bm25" / name).stat().st_size > 4096
        assert _mapped_kb((tmp_path / "bm25" / name).resolve()) == 0, name


def test_truncated_postings_are_a_clear_error_not_a_wrong_score(tmp_path):
    texts = _texts()
    ids = [f"c{i:04d}" for i in range(len(texts))]
    bm25 = _saved_and_loaded(ids, texts, tmp_path / "bm25")
    data = tmp_path / "bm25" / "data.csc.index.npy"
    with data.open("r+b") as f:
        f.truncate(200)  # the header and a few weights: the map was made at open, the file shrank since
    with pytest.raises(BM25FilesError, match="truncated"):
        bm25.search("성장기 CTO 기술 부채", 10)

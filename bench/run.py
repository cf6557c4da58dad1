"""`make bench`: one reproducible run of every benchmark; prints a table, writes bench/results/<ts>.json.

    python -m bench.run                 # full run (~10 min on 2 cores)
    python -m bench.run --quick         # smaller sizes, fewer repeats (~3 min)
    python -m bench.run --only warm,cold,baseline --repeat 5
    python -m bench.run --retriever legacy,bm25s   # the pre-bm25s retrieval stack beside the new one (default)

Parts (each measured in its own process so memory numbers are its own):
  warm      warm answer latency (extractive), split diagnosis/retrieval/compose; retrieval hit@3
  cold      `cto-coach ask` from process start to answer (index already built), peak RSS
  baseline  the textbook LangChain pipeline: build, warm latency, cold start, RSS, hit@3
  serve     `cto-coach serve` from process start to ready and to the first answer (gradio_client)
  load      N parallel chat sessions (N = 1, 5, 20) against that live server on 127.0.0.1
  index     indexing throughput: the corpus, and a synthetic sample extrapolated to 10k chunks
  scale     retrieval latency and memory at 1k / 10k / 100k chunks (synthetic vectors)
With two retrievers (`--retriever legacy,bm25s`, the default until the old stack is deleted), warm,
cold, serve and scale are measured for both, interleaved run by run, and a table puts them side by side.
Benchmarks are never tests: nothing here fails `make test`. Exit code is 0 unless a part crashed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from .common import (
    RESULTS_DIR,
    ROOT,
    cli_cmd,
    load_questions,
    median,
    run_measured,
    run_worker,
    save_questions,
    state_env,
)

PARTS = ["warm", "cold", "baseline", "serve", "load", "index", "scale"]
ASK_Q = "직원 20명인데 CTO로서 뭘 해야 하죠?"
ASK_STAGE = 2
CACHE_VERSION = "v3"  # v3: the synthetic generations carry their BM25 files
RETRIEVERS = ("legacy", "bm25s")

TARGETS = {  # name: (limit, unit, lower is better)
    "warm_p95_ms": (30.0, "ms"),
    "cold_ask_s": (2.0, "s"),
    "serve_ready_s": (6.0, "s"),
    "peak_rss_mb": (400.0, "MB"),
    "query_p95_100k_ms": (40.0, "ms"),  # issue 14 (was 60)
    "ready_100k_s": (2.0, "s"),
    "rss_100k_mb": (400.0, "MB"),
}


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "assistant"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("+dirty(assistant)" if dirty else "")
    except Exception:
        return "unknown"


# --- parts ------------------------------------------------------------------------------------------
def part_index_ours(state: Path) -> dict:
    m = run_measured(cli_cmd("index", "--rebuild", "--quiet"), state_env(state), timeout=600)
    if m.rc != 0:
        raise RuntimeError(f"cto-coach index failed: {m.stderr[-2000:]}")
    return {"seconds": round(m.exit_s, 2), "maxrss_mb": round(m.maxrss_mb, 1), "summary": m.stdout.strip()}


@contextlib.contextmanager
def retriever_env(variant: str):
    """Run the block's workers and CLI processes with `variant` ("legacy" adds the legacy proto)."""
    before = os.environ.get("BENCH_PROTO")
    if variant == "legacy":
        os.environ["BENCH_PROTO"] = ",".join(x for x in [*(before or "").split(","), "legacy"] if x)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("BENCH_PROTO", None)
        else:
            os.environ["BENCH_PROTO"] = before


def interleaved(variants: list[str], repeat: int, one_run, combine) -> dict[str, dict]:
    """`repeat` runs of each variant, alternating (A B A B …) so machine load hits both alike."""
    runs: dict[str, list] = {v: [] for v in variants}
    for _ in range(repeat):
        for v in variants:
            with retriever_env(v):
                runs[v].append(one_run())
    return {v: combine(rs) for v, rs in runs.items()}


def cold_ask_once(state: Path) -> dict:
    m = run_measured(cli_cmd("ask", ASK_Q, "--json"), state_env(state), timeout=120)
    if m.rc != 0:
        raise RuntimeError(f"cto-coach ask failed (rc {m.rc}): {m.stderr[-2000:]}")
    answer = json.loads(m.stdout)
    ok = answer.get("stage") == ASK_STAGE and bool(answer.get("citations")) and "[1]" in answer.get("answer", "")
    return {"answer_s": round(m.first_output_s or m.exit_s, 3), "exit_s": round(m.exit_s, 3),
            "cpu_s": round(m.cpu_s, 2), "maxrss_mb": round(m.maxrss_mb, 1), "answer_ok": ok}


def part_cold_ask(state: Path, repeat: int, variants: list[str] | None = None) -> dict[str, dict]:
    return interleaved(variants or ["bm25s"], repeat, lambda: cold_ask_once(state),
                       lambda runs: _medians(runs, ["answer_s", "exit_s", "cpu_s", "maxrss_mb"]))


def part_serve(state: Path, repeat: int, variants: list[str], main_variant: str):
    """Cold starts of `cto-coach serve`, variants interleaved; the main variant's last server stays up."""
    from . import serve as srv

    runs: dict[str, list[dict]] = {v: [] for v in variants}
    kept = None
    for i in range(repeat):
        for v in variants:
            with retriever_env(v):
                server = srv.start_server(state)
            runs[v].append({"ready_s": round(server.ready_s, 3), "first_answer_s": round(server.first_answer_s, 3),
                            "ready_cpu_s": round(server.ready_cpu_s or 0.0, 2),
                            "peak_rss_mb": round(server.peak_rss_mb(), 1)})
            if i == repeat - 1 and v == main_variant:
                kept = server
            else:
                server.stop()
    out = {v: {"runs": rs, **{k: round(median([x[k] for x in rs]), 3)
                              for k in ("ready_s", "first_answer_s", "ready_cpu_s", "peak_rss_mb")}}
           for v, rs in runs.items()}
    return out, kept


def _medians(runs: list[dict], keys: list[str]) -> dict:
    out = {k: round(median([r[k] for r in runs]), 3) for k in keys}
    out["runs"] = runs
    if any("answer_ok" in r for r in runs):
        out["all_answers_ok"] = all(r.get("answer_ok", True) for r in runs)
    return out


def part_baseline(work: Path, questions_file: Path, repeat: int, warm_repeat: int) -> dict:
    persist = work / "baseline-chroma"
    shutil.rmtree(persist, ignore_errors=True)
    build, _ = run_worker("baseline", ["build", "--persist", str(persist)], timeout=600)
    warm, _ = run_worker("baseline", ["warm", "--persist", str(persist), "--questions", str(questions_file),
                                      "--repeat", str(warm_repeat)], timeout=900)
    runs = []
    from .common import PY, clean_env

    for _ in range(repeat):
        m = run_measured([PY, "-m", "bench.baseline", "ask", ASK_Q, "--persist", str(persist)], clean_env(), timeout=300)
        if m.rc != 0:
            raise RuntimeError(f"baseline ask failed: {m.stderr[-2000:]}")
        runs.append({"answer_s": round(m.first_output_s or m.exit_s, 3), "exit_s": round(m.exit_s, 3),
                     "cpu_s": round(m.cpu_s, 2), "maxrss_mb": round(m.maxrss_mb, 1)})
    return {"build": build, "warm": warm, "cold_ask": _medians(runs, ["answer_s", "exit_s", "cpu_s", "maxrss_mb"])}


def part_scale(work: Path, cache: Path | None, questions_file: Path, sizes: list[int], repeat: int, asks: int,
               variants: list[str] | None = None) -> dict:
    variants = variants or ["bm25s"]
    out = {}
    for n in sizes:
        where = (cache / f"scale-{n}-seed7-{CACHE_VERSION}") if cache else (work / f"scale-{n}")
        meta_file = where / "build.json"
        if cache and meta_file.is_file() and (where / "index" / "CURRENT").is_file():
            build = json.loads(meta_file.read_text())
            build["cached"] = True
            log(f"scale {n}: reusing the synthetic store in {where} (--no-cache rebuilds it)")
        else:
            log(f"scale {n}: building a synthetic store")
            build, _ = run_worker("scale", ["build", "--work", str(where), "--n", str(n)], timeout=1800)
            meta_file.write_text(json.dumps(build))
        entry: dict = {"build": build}
        # With two retrievers: two query processes each, A B A B, so both see the same machine load;
        # the headline figures are the medians over a variant's processes.
        runs: dict[str, list[dict]] = {v: [] for v in variants}
        rounds = 2 if len(variants) > 1 else 1
        for _ in range(rounds):
            for v in variants:
                log(f"scale {n}: querying ({v})")
                qargs = ["query", "--work", str(where), "--questions", str(questions_file), "--repeat", str(repeat),
                         "--asks", str(asks), "--max-queries", "60" if n >= 50_000 else "0", "--retriever", v]
                res, _ = run_worker("scale", qargs, timeout=1800)
                runs[v].append(res)
        for v, rs in runs.items():
            entry["query" if v == "bm25s" or len(variants) == 1 else f"query_{v}"] = _median_run(rs)
        out[str(n)] = entry
    return out


def _median_run(runs: list[dict]) -> dict:
    """One query process's result, with its headline figures replaced by the medians over the processes."""
    if len(runs) == 1:
        return runs[0]
    best = dict(runs[0])
    for key in ("open_index_s", "bm25_build_s", "first_retrieve_s", "ready_s", "maxrss_mb", "embedder_load_s"):
        if all(key in r for r in runs):
            best[key] = round(median([r[key] for r in runs]), 3)
    best["ms"] = {k: {**v, **{p: round(median([r["ms"][k][p] for r in runs]), 2) for p in ("p50", "p95", "p99")
                              if all(p in r["ms"][k] for r in runs)}}
                  for k, v in runs[0]["ms"].items()}
    if all("ask_ms" in r for r in runs):
        best["ask_ms"] = {**runs[0]["ask_ms"], **{p: round(median([r["ask_ms"][p] for r in runs]), 2)
                                                  for p in ("p50", "p95")}}
    best["processes"] = len(runs)
    return best


# --- report -------------------------------------------------------------------------------------------
def _get(d: dict, *path, default=None):
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return default
        d = d[p]
    return d


def _fmt(x, unit: str = "", digits: int = 1) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.{digits}f}{unit}"
    return f"{x}{unit}"


def _ratio(a, b) -> str:
    return f"{a / b:.2f}×" if a is not None and b else "—"


def evaluate_targets(r: dict) -> dict:
    warm_p95 = _get(r, "warm", "total_ms", "p95")
    cold = _get(r, "cold", "answer_s")
    serve_first = _get(r, "serve", "first_answer_s")
    rss = [x for x in (_get(r, "cold", "maxrss_mb"), _get(r, "serve", "peak_rss_mb"),
                       max((v.get("server_rss_mb", 0) for v in (_get(r, "load") or {}).values()), default=None))
           if x is not None]
    q100k = _get(r, "scale", "100000", "query", "ms", "retrieve", "p95")
    ours_ko = _get(r, "warm", "hit3", "ko", "strict", "rate")
    base_ko = _get(r, "baseline", "warm", "hit3", "ko", "relaxed", "rate")
    got = {
        "warm_p95_ms": warm_p95,
        "cold_ask_s": cold,
        "serve_ready_s": serve_first,
        "peak_rss_mb": max(rss) if rss else None,
        "query_p95_100k_ms": q100k,
        "ready_100k_s": _get(r, "scale", "100000", "query", "ready_s"),
        "rss_100k_mb": _get(r, "scale", "100000", "query", "maxrss_mb"),
    }
    out = {}
    for k, (limit, unit) in TARGETS.items():
        v = got[k]
        out[k] = {"value": v, "limit": limit, "unit": unit, "met": (v is not None and v <= limit) if v is not None else None}
    ratio = (ours_ko / base_ko) if ours_ko is not None and base_ko else None
    out["hit3_ko_vs_baseline"] = {"value": round(ratio, 2) if ratio else None, "limit": 2.0, "unit": "×",
                                  "met": (ratio >= 2.0) if ratio else None}
    return out


def render(r: dict) -> str:
    L: list[str] = []
    add = L.append
    meta = r["meta"]
    proto = f" · PROTOTYPE FIXES: {meta['proto']}" if meta.get("proto") else ""
    if meta.get("omp_env"):
        proto += " · " + " ".join(f"{k}={v}" for k, v in meta["omp_env"].items())
    add(f"CTO Coach benchmark{proto} · {meta['started']} · commit {meta['commit']} · {meta['cpus']} CPUs · "
        f"load avg {meta['loadavg_before']} → {meta.get('loadavg_after')} · questions: {meta['questions']} "
        f"({meta['question_source']})")
    add("")
    w = r.get("warm")
    if w:
        add(f"Warm answer latency (extractive, {w['questions']} questions × {w['repeat']}), ms")
        add(f"  {'':<12}{'p50':>8}{'p95':>8}{'p99':>8}")
        add(f"  {'total':<12}{_fmt(w['total_ms']['p50']):>8}{_fmt(w['total_ms']['p95']):>8}{_fmt(w['total_ms']['p99']):>8}")
        for k, v in w["parts_ms"].items():
            if v.get("n"):
                add(f"  {k:<12}{_fmt(v['p50']):>8}{_fmt(v['p95']):>8}{_fmt(v['p99']):>8}")
        kinds = ", ".join(f"{k} {v['p95']:.0f}" for k, v in w["by_kind_ms"].items())
        add(f"  p95 by answer kind: {kinds}")
        add("")
    c, s = r.get("cold"), r.get("serve")
    if c or s:
        add("Cold start (median of runs), process start →")
        if c:
            add(f"  cto-coach ask    answer {_fmt(c['answer_s'], ' s', 2)} (exit {_fmt(c['exit_s'], ' s', 2)}, "
                f"CPU {_fmt(c['cpu_s'], ' s', 2)}), peak RSS {_fmt(c['maxrss_mb'], ' MB', 0)}, answers ok: {c.get('all_answers_ok')}")
        if s:
            add(f"  cto-coach serve  ready {_fmt(s['ready_s'], ' s', 2)} (CPU {_fmt(s.get('ready_cpu_s'), ' s', 2)}), "
                f"first answer {_fmt(s['first_answer_s'], ' s', 2)}, "
                f"peak RSS {_fmt(s['peak_rss_mb'], ' MB', 0)}")
        add("")
    ld = r.get("load")
    if ld:
        add("Concurrent chat sessions via gradio_client (127.0.0.1)")
        add(f"  {'N':>3}{'answers':>9}{'correct':>9}{'ans/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'server RSS':>12}")
        for n, v in ld.items():
            add(f"  {n:>3}{v['answers']:>9}{v['correct']:>9}{v['throughput_per_s']:>8.1f}"
                f"{_fmt(_get(v, 'latency_ms', 'p50'), '', 0):>9}{_fmt(_get(v, 'latency_ms', 'p95'), '', 0):>9}"
                f"{_fmt(v['server_rss_mb'], ' MB', 0):>12}")
            for p in v.get("problems", [])[:3]:
                add(f"      ! {p}")
        add("")
    ix = r.get("index")
    if ix:
        add("Indexing throughput (real pipeline, bundled e5)")
        if "ours_cli" in ix:
            add(f"  `cto-coach index --rebuild` on the corpus: {ix['ours_cli']['seconds']} s wall (process incl. imports)")
        co, sy = ix.get("corpus"), ix.get("synthetic_sample")
        if co:
            add(f"  corpus: {co['chunks']} chunks in {co['seconds']} s = {co['chunks_per_s']} chunks/s")
        if sy:
            add(f"  synthetic: {sy['chunks']} chunks in {sy['seconds']} s = {sy['chunks_per_s']} chunks/s "
                f"(embedding alone {sy['embed_only_chunks_per_s']}/s, {sy['mean_chars']} chars/chunk) → "
                f"10k chunks ≈ {sy['extrapolated_10k_s']} s (extrapolated from the sample)")
        add("")
    sc = r.get("scale")
    if sc:
        add("Retrieval at scale (synthetic chunks with precomputed vectors; HybridRetriever.retrieve, ms)")
        add(f"  {'chunks':>7}{'p50':>7}{'p95':>7}{'nostage p95':>12}{'embed':>7}{'dense':>7}{'bm25':>7}"
            f"{'open s':>8}{'bm25 build s':>13}{'RSS MB':>8}{'ask p50':>9}")
        for n, v in sc.items():
            q = v["query"]
            ms = q["ms"]
            add(f"  {n:>7}{ms['retrieve']['p50']:>7.1f}{ms['retrieve']['p95']:>7.1f}{ms['retrieve_no_stage']['p95']:>12.1f}"
                f"{ms['embed']['p95']:>7.1f}{ms['dense']['p95']:>7.1f}{ms['bm25']['p95']:>7.1f}"
                f"{q['open_index_s']:>8.2f}{q['bm25_build_s']:>13.2f}{q['maxrss_mb']:>8.0f}"
                f"{_fmt(_get(q, 'ask_ms', 'p50'), '', 0):>9}")
        for n, v in sc.items():
            if v["query"].get("needed_fix"):
                add(f"  ! {n}: {v['query']['needed_fix']}")
            if v["query"].get("hit3_single_turn"):
                add(f"  {n}: hit@3 of the real evidence among the distractors (single-turn questions): "
                    + ", ".join(f"{k} {x:.2f} (n={_get(v, 'query', 'hit3_single_turn_n', k)})"
                                for k, x in v["query"]["hit3_single_turn"].items()))
        ins = ", ".join(f"{n}: {v['build']['insert_chunks_per_s']:.0f}/s" for n, v in sc.items())
        add(f"  Chroma insert of precomputed vectors: {ins}")
        add("")
    b = r.get("baseline")
    if b:
        bw, bc = b.get("warm") or {}, b.get("cold_ask") or {}
        add(f"Baseline: textbook LangChain (RecursiveCharacterTextSplitter 1000/200 → {_get(b, 'build', 'chunks')} chunks, "
            "all-MiniLM-L6-v2, Chroma, top-4)")
        add(f"  {'':<22}{'ours':>12}{'baseline':>12}{'ours/base':>11}")
        rows = [
            ("warm p50 ms", _get(r, "warm", "total_ms", "p50"), _get(bw, "total_ms", "p50")),
            ("warm p95 ms", _get(r, "warm", "total_ms", "p95"), _get(bw, "total_ms", "p95")),
            ("cold start s", _get(r, "cold", "answer_s"), _get(bc, "answer_s")),
            ("cold peak RSS MB", _get(r, "cold", "maxrss_mb"), _get(bc, "maxrss_mb")),
            ("warm-loop RSS MB", _get(r, "warm", "maxrss_mb"), _get(bw, "maxrss_mb")),
        ]
        for lang in ("ko", "en"):
            rows.append((f"hit@3 {lang}", _get(r, "warm", "hit3", lang, "strict", "rate"), _get(bw, "hit3", lang, "relaxed", "rate")))
            rows.append((f"  random-3 floor {lang}", _get(r, "warm", "hit3", lang, "random_strict", "rate"),
                         _get(bw, "hit3", lang, "random_relaxed", "rate")))
        for name, a, bb in rows:
            add(f"  {name:<22}{_fmt(a, '', 3 if 'hit' in name or 'random' in name else 1):>12}"
                f"{_fmt(bb, '', 3 if 'hit' in name or 'random' in name else 1):>12}{_ratio(a, bb):>11}")
        add(f"  (mean chunk: ours {_get(r, 'warm', 'mean_chunk_chars')} chars over {_get(r, 'warm', 'chunks')} chunks, "
            f"baseline {bw.get('mean_chunk_chars')} chars over {bw.get('chunks')}; ours: gold string inside a chunk; "
            "baseline: containment either way or ≥50% overlap)")
        add("")
    old = {k: v for k, v in r.items() if k in ("legacy",)}
    if old or any("query_legacy" in v for v in (sc or {}).values()):
        add("Retrieval stack: legacy (pre-bm25s: all chunks in memory, BM25 rebuilt per process) vs bm25s "
            "(saved with the index, mmap'd, passages fetched by id) — same run, interleaved")
        add(f"  {'':<40}{'legacy':>10}{'bm25s':>10}{'new/old':>9}")
        lg = r.get("legacy") or {}
        rows = [
            ("warm answer p50 ms", _get(lg, "warm", "total_ms", "p50"), _get(r, "warm", "total_ms", "p50")),
            ("warm answer p95 ms", _get(lg, "warm", "total_ms", "p95"), _get(r, "warm", "total_ms", "p95")),
            ("warm retrieval p95 ms", _get(lg, "warm", "parts_ms", "retrieval", "p95"),
             _get(r, "warm", "parts_ms", "retrieval", "p95")),
            ("cold ask → answer s", _get(lg, "cold", "answer_s"), _get(r, "cold", "answer_s")),
            ("cold ask CPU s", _get(lg, "cold", "cpu_s"), _get(r, "cold", "cpu_s")),
            ("cold ask peak RSS MB", _get(lg, "cold", "maxrss_mb"), _get(r, "cold", "maxrss_mb")),
            ("serve → ready s", _get(lg, "serve", "ready_s"), _get(r, "serve", "ready_s")),
            ("serve → first answer s", _get(lg, "serve", "first_answer_s"), _get(r, "serve", "first_answer_s")),
            ("serve peak RSS MB", _get(lg, "serve", "peak_rss_mb"), _get(r, "serve", "peak_rss_mb")),
        ]
        for n, v in (sc or {}).items():
            a, b = v.get("query_legacy") or {}, v.get("query") or {}
            rows += [
                (f"{n}: ready to answer s (excl. imports)", a.get("ready_s"), b.get("ready_s")),
                (f"{n}:   open index s", a.get("open_index_s"), b.get("open_index_s")),
                (f"{n}:   BM25 build at open s", a.get("bm25_build_s"), b.get("bm25_build_s")),
                (f"{n}: retrieve p50 ms", _get(a, "ms", "retrieve", "p50"), _get(b, "ms", "retrieve", "p50")),
                (f"{n}: retrieve p95 ms", _get(a, "ms", "retrieve", "p95"), _get(b, "ms", "retrieve", "p95")),
                (f"{n}:   BM25 p95 ms", _get(a, "ms", "bm25", "p95"), _get(b, "ms", "bm25", "p95")),
                (f"{n}: peak RSS MB", a.get("maxrss_mb"), b.get("maxrss_mb")),
                (f"{n}: full answer p50 ms", _get(a, "ask_ms", "p50"), _get(b, "ask_ms", "p50")),
            ]
        for name, a, b in rows:
            if a is None and b is None:
                continue
            add(f"  {name:<40}{_fmt(a, '', 2):>10}{_fmt(b, '', 2):>10}{_ratio(b, a):>9}")
        add("")
    t = r.get("targets")
    if t:
        add("Targets (2-core machine, extractive)")
        names = {"warm_p95_ms": "warm answer p95", "cold_ask_s": "cold `ask` to answer", "serve_ready_s": "serve start → first answer",
                 "peak_rss_mb": "peak RSS (ask, serve, under load)", "query_p95_100k_ms": "retrieve p95 at 100k chunks",
                 "ready_100k_s": "100k: ready to answer (excl. imports)", "rss_100k_mb": "100k: peak RSS (query process)",
                 "hit3_ko_vs_baseline": "hit@3 ko, ours/baseline"}
        for k, v in t.items():
            mark = "?" if v["met"] is None else ("✓" if v["met"] else "✗")
            op = "≥" if k == "hit3_ko_vs_baseline" else "≤"
            add(f"  {mark} {names[k]:<36} {_fmt(v['value'], '', 2):>9} {v['unit']:<3} (target {op} {v['limit']:g} {v['unit']})")
    if r.get("errors"):
        add("")
        for k, e in r["errors"].items():
            add(f"  part {k} FAILED: {e.splitlines()[-1] if e else ''}")
    return "\n".join(L)


# --- main ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes and fewer repeats (about 3 minutes)")
    ap.add_argument("--repeat", type=int, default=None, help="cold-start runs per measurement, median reported (3; quick 2)")
    ap.add_argument("--warm-repeat", type=int, default=None, help="timed passes over the questions (3; quick 1)")
    ap.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts: {','.join(PARTS)}")
    ap.add_argument("--sizes", default=None, help="scale sizes (1000,10000,100000; quick 1000,10000)")
    ap.add_argument("--sample", type=int, default=None, help="synthetic chunks embedded for throughput (1000; quick 200)")
    ap.add_argument("--sessions", default="1,5,20", help="concurrent chat sessions")
    ap.add_argument("--turns", type=int, default=None, help="questions per chat session (6; quick 3)")
    ap.add_argument("--asks", type=int, default=None, help="full answers timed per scale size (10; quick 5)")
    ap.add_argument("--proto", default="", help="apply prototype fixes from bench/proto.py everywhere "
                    "(e.g. josa,bm25np,lean,threads1) to measure them against a plain run")
    ap.add_argument("--retriever", default="legacy,bm25s",
                    help="retrieval stack(s) to measure: bm25s (current), legacy (pre-bm25s: every chunk in memory, "
                    "BM25 rebuilt per process; bench/legacy.py), or both, interleaved (default legacy,bm25s)")
    ap.add_argument("--no-cache", action="store_true", help="rebuild the synthetic scale stores")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    ap.add_argument("--out", type=Path, default=None, help="JSON file (default bench/results/<timestamp>.json)")
    args = ap.parse_args(argv)
    q = args.quick
    repeat = args.repeat or (2 if q else 3)
    warm_repeat = args.warm_repeat or (1 if q else 3)
    sizes = [int(x) for x in (args.sizes or ("1000,10000" if q else "1000,10000,100000")).split(",") if x]
    sample = args.sample or (200 if q else 1000)
    sessions = [int(x) for x in args.sessions.split(",") if x]
    turns = args.turns or (3 if q else 6)
    asks = args.asks if args.asks is not None else (5 if q else 10)
    parts = [p for p in args.only.split(",") if p]
    unknown = set(parts) - set(PARTS)
    if unknown:
        ap.error(f"unknown part(s) {', '.join(sorted(unknown))}; known: {', '.join(PARTS)}")
    if args.proto:
        from .proto import ALL

        bad = set(args.proto.split(",")) - set(ALL)
        if bad:
            ap.error(f"unknown --proto fix(es) {', '.join(sorted(bad))}; known: {', '.join(ALL)}")
        os.environ["BENCH_PROTO"] = args.proto  # inherited by every worker and CLI process
        if "threads1" in args.proto.split(","):
            os.environ["OMP_NUM_THREADS"] = "1"
    if "load" in parts and "serve" not in parts:
        parts.append("serve")
    variants = [v for v in args.retriever.split(",") if v]
    if not variants or set(variants) - set(RETRIEVERS):
        ap.error(f"--retriever takes {', '.join(RETRIEVERS)} (comma-separated)")
    variants = [v for v in RETRIEVERS if v in variants]  # legacy first, then bm25s: A B A B
    main_variant = variants[-1]

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_file = args.out or RESULTS_DIR / f"{stamp}.json"
    work = Path(tempfile.mkdtemp(prefix="cto-bench-"))
    state = work / "state"
    (state / "data").mkdir(parents=True)
    questions, source = load_questions()
    qfile = work / "questions.jsonl"
    save_questions(questions, qfile)
    cache = None if args.no_cache else RESULTS_DIR / ".cache"

    r: dict = {"meta": {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "commit": git_commit(), "cpus": os.cpu_count(),
                        "python": platform.python_version(), "loadavg_before": loadavg(), "questions": len(questions),
                        "question_source": source, "quick": q, "repeat": repeat, "warm_repeat": warm_repeat,
                        "parts": parts, "proto": os.environ.get("BENCH_PROTO", ""), "retrievers": variants,
                        "omp_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
                                    if k in os.environ}},
               "errors": {}}
    t_all = time.perf_counter()

    def attempt(name: str, fn):
        log(f"{name} …")
        t = time.perf_counter()
        try:
            return fn()
        except Exception:
            r["errors"][name] = traceback.format_exc()
            log(f"{name} FAILED:\n{r['errors'][name]}")
            return None
        finally:
            log(f"{name} done in {time.perf_counter() - t:.1f} s")

    try:
        built = attempt("build our index", lambda: part_index_ours(state))
        if built is None:
            raise SystemExit("cannot build the index; see above")
        other = [v for v in variants if v != main_variant]  # measured beside the main one, under r["legacy"]

        def store(part: str, res: dict | None) -> None:
            if res is None:
                return
            r[part] = res.get(main_variant)
            for v in other:
                r.setdefault(v, {})[part] = res.get(v)

        if "warm" in parts:
            def warm_once():
                return run_worker("warm", ["--state", str(state), "--questions", str(qfile),
                                           "--repeat", str(warm_repeat)])[0]

            store("warm", attempt("warm", lambda: interleaved(variants, 1, warm_once, lambda rs: rs[0])))
        if "cold" in parts:
            store("cold", attempt("cold ask", lambda: part_cold_ask(state, repeat, variants)))
        if "baseline" in parts:
            r["baseline"] = attempt("baseline", lambda: part_baseline(work, qfile, repeat, warm_repeat))
        if "serve" in parts:
            from . import serve as srv

            server = None

            def serve_part():
                nonlocal server
                res, server = part_serve(state, repeat, variants, main_variant)
                return res

            store("serve", attempt("serve cold start", serve_part))
            if server is not None:
                try:
                    if "load" in parts:
                        r["load"] = {}
                        for n in sessions:
                            res = attempt(f"load N={n}", lambda n=n: srv.run_load(server, questions, n, turns))
                            if res is not None:
                                r["load"][str(n)] = res
                finally:
                    server.stop()
        if "index" in parts:
            res = attempt("indexing throughput", lambda: run_worker("scale", ["index", "--work", str(work / "index-tp"),
                                                                             "--sample", str(sample)], timeout=1800)[0])
            if res is not None:
                res["ours_cli"] = built
                r["index"] = res
        if "scale" in parts:
            r["scale"] = attempt("scale", lambda: part_scale(work, cache, qfile, sizes, 1 if q else 2, asks, variants))
    finally:
        r = {k: v for k, v in r.items() if v is not None}
        r["targets"] = evaluate_targets(r)
        r["meta"]["loadavg_after"] = loadavg()
        r["meta"]["seconds"] = round(time.perf_counter() - t_all, 1)
        out_file.write_text(json.dumps(r, ensure_ascii=False, indent=1), encoding="utf-8")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"work folder kept: {work}")
    print(render(r))
    print(f"\nwrote {out_file.relative_to(ROOT) if out_file.is_relative_to(ROOT) else out_file} "
          f"({r['meta']['seconds']:.0f} s)")
    return 1 if r["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())

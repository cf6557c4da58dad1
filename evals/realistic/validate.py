"""Validate evals/realistic/cases.jsonl and dev_more.jsonl (standard library only).

    python evals/realistic/validate.py [CASES] [--extra DEV_MORE] [--corpus PATH]

Checks the schema and allowed values, unique ids, that every evidence/relevant string occurs
verbatim in the corpus (both sides normalised: NBSP -> space, runs of whitespace collapsed),
the coverage requirements of the set, and that dev/test are balanced within each (class, lang).
`dev_more.jsonl` (more dev-only questions, written later to tune on more than 120 cases) gets the
per-case checks and must not repeat an id or a question of the main file; it has no test half, so
the coverage and balance checks apply to the main file alone.
Prints the counts. Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_CASES = HERE / "cases.jsonl"
DEFAULT_EXTRA = HERE / "dev_more.jsonl"
DEFAULT_CORPUS = REPO / "corpus" / "cto-role-by-stage.md"

REQUIRED = ("id", "split", "lang", "class", "question", "behaviour", "stages", "evidence", "direct", "note")
OPTIONAL = ("history", "relevant")
SPLITS = {"dev", "test"}
LANGS = {"ko", "en"}
CLASSES = {
    "overview", "which_stage", "focus", "size_words", "comparison", "backstory", "indirect",
    "yes_no", "premise_story", "attribution", "near_scope", "out_of_scope", "followup",
    "choice",  # either-or asks (dev_more.jsonl, session 7): direct first / second / both / neither / depends
}
BEHAVIOURS = {"answer", "decline", "correct", "confirm"}
DIRECTS = {"stage:1", "stage:2", "stage:3", "stage:4", "yes", "no", "depends", "overview",
           "compare", "source", "blogger", "first", "second", "both", "neither", None}
MIN_PER_CLASS = {c: 12 for c in CLASSES - {"choice"}}  # the 240-case file predates the choice class
MIN_PER_CLASS.update({"backstory": 15, "near_scope": 30, "out_of_scope": 12, "followup": 8})
MIN_TOTAL = 220
MIN_EN_SHARE = 0.45
MIN_MULTI_SHARE = 0.50
MIN_DECLINE_CLASSES = 45  # near_scope + out_of_scope
EVIDENCE_LEN = (4, 60)

HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
LATIN = re.compile(r"[A-Za-z]")
SENTENCE_END = re.compile(r"(?<=[.?!。？！…])\s+")


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


def sentences(question: str) -> list[str]:
    parts = [p.strip() for p in SENTENCE_END.split(normalise(question))]
    return [p for p in parts if len(re.findall(r"\w", p)) >= 2]


def is_multi_sentence(question: str) -> bool:
    return len(sentences(question)) >= 2


def check_case(case: dict, corpus: str, errors: list[str]) -> None:
    cid = case.get("id", "?")

    def err(msg: str) -> None:
        errors.append(f"{cid}: {msg}")

    for key in REQUIRED:
        if key not in case:
            err(f"missing field {key!r}")
    for key in case:
        if key not in REQUIRED and key not in OPTIONAL:
            err(f"unknown field {key!r}")
    if any(key not in case for key in REQUIRED):
        return

    if not isinstance(cid, str) or not re.fullmatch(r"r\d{3,}", cid):
        err("id must look like r001")
    if case["split"] not in SPLITS:
        err(f"split {case['split']!r} not in {sorted(SPLITS)}")
    if case["lang"] not in LANGS:
        err(f"lang {case['lang']!r} not in {sorted(LANGS)}")
    cls = case["class"]
    if cls not in CLASSES:
        err(f"class {cls!r} unknown")
    beh = case["behaviour"]
    if beh not in BEHAVIOURS:
        err(f"behaviour {beh!r} not in {sorted(BEHAVIOURS)}")
    direct = case["direct"]
    if direct not in DIRECTS:
        err(f"direct {direct!r} not allowed")
    if not isinstance(case["note"], str) or not case["note"].strip() or "\n" in case["note"]:
        err("note must be one non-empty line")

    q = case["question"]
    if not isinstance(q, str) or not q.strip():
        err("empty question")
        return
    hangul, latin = len(HANGUL.findall(q)), len(LATIN.findall(q))
    if case["lang"] == "ko" and hangul == 0:
        err("lang ko but the question has no Hangul")
    if case["lang"] == "en" and hangul > 0.2 * max(latin, 1):
        err("lang en but the question is mostly Hangul")

    stages = case["stages"]
    if not isinstance(stages, list) or any(not isinstance(s, int) or isinstance(s, bool) or s not in (1, 2, 3, 4) for s in stages):
        err(f"stages must be a list of ints 1-4, got {stages!r}")
        stages = []
    elif stages != sorted(set(stages)):
        err("stages must be sorted and unique")

    for field in ("evidence", "relevant"):
        values = case.get(field, [])
        if not isinstance(values, list) or any(not isinstance(v, str) for v in values):
            err(f"{field} must be a list of strings")
            continue
        if len(set(values)) != len(values):
            err(f"duplicate strings in {field}")
        for v in values:
            nv = normalise(v)
            if not EVIDENCE_LEN[0] <= len(nv) <= EVIDENCE_LEN[1]:
                err(f"{field} string length {len(nv)} outside {EVIDENCE_LEN}: {v!r}")
            if nv not in corpus:
                err(f"{field} string not in corpus: {v!r}")
    if set(case.get("relevant", [])) & set(case["evidence"]):
        err("a string is both evidence and relevant")

    history = case.get("history", [])
    if not isinstance(history, list) or any(
        not isinstance(t, list) or len(t) != 2 or t[0] not in ("user", "assistant")
        or not isinstance(t[1], str) or not t[1].strip() for t in history
    ):
        err("history must be a list of [\"user\"|\"assistant\", text]")
        history = []
    if cls == "followup" and not history:
        err("followup case without history")
    if cls != "followup" and history:
        err("history on a non-followup case")
    if history and history[0][0] != "user":
        err("history must start with a user turn")

    # consistency between class, behaviour, stages and direct
    if beh == "decline":
        if stages:
            err("decline case must have stages []")
        if direct is not None:
            err("decline case must have direct null")
    if cls in ("near_scope", "out_of_scope") and beh != "decline":
        err(f"{cls} case must be behaviour decline")
    if cls == "out_of_scope" and case["evidence"]:
        err("out_of_scope case must have evidence []")
    if beh != "decline" and not case["evidence"]:
        err("non-decline case needs evidence")
    if cls == "premise_story" and beh not in ("correct", "confirm"):
        err("premise_story case must be correct or confirm")
    if cls != "premise_story" and beh in ("correct", "confirm"):
        err("correct/confirm used outside premise_story")
    if beh == "correct" and direct != "no":
        err("correct case should have direct 'no'")
    if beh == "confirm" and direct != "yes":
        err("confirm case should have direct 'yes'")
    if cls == "overview" and (stages or direct != "overview"):
        err("overview case must have stages [] and direct 'overview'")
    if direct == "overview" and cls != "overview":
        err("direct 'overview' outside the overview class")
    if cls == "comparison" and (direct != "compare" or len(stages) < 2):
        err("comparison case must have direct 'compare' and at least two stages")
    if cls == "attribution" and direct not in ("source", "blogger"):
        err("attribution case must have direct 'source' or 'blogger'")
    if cls == "which_stage" and not (isinstance(direct, str) and direct.startswith("stage:")):
        err("which_stage case must have direct 'stage:N'")
    if cls == "yes_no" and direct not in ("yes", "no", "depends"):
        err("yes_no case must have direct yes/no/depends")
    if direct == "depends" and stages:
        err("direct 'depends' means the answer varies by stage: stages should be []")
    if isinstance(direct, str) and direct.startswith("stage:") and int(direct[6:]) not in stages:
        err(f"direct {direct} not among stages {stages}")


def read_cases(path: Path, corpus: str, errors: list[str]) -> list[dict]:
    """The JSON objects of one JSONL file, each checked on its own."""
    cases: list[dict] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"{path.name} line {n}: invalid JSON ({e})")
            continue
        if not isinstance(case, dict):
            errors.append(f"{path.name} line {n}: not a JSON object")
            continue
        cases.append(case)
        check_case(case, corpus, errors)
    return cases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases", nargs="?", default=str(DEFAULT_CASES))
    ap.add_argument("--extra", default=str(DEFAULT_EXTRA), help="dev-only cases (per-case checks); '' for none")
    ap.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    args = ap.parse_args(argv)

    corpus = normalise(Path(args.corpus).read_text(encoding="utf-8"))
    errors: list[str] = []
    cases = read_cases(Path(args.cases), corpus, errors)
    extra = read_cases(Path(args.extra), corpus, errors) if args.extra and Path(args.extra).exists() else []
    errors += [f"{c.get('id')}: {Path(args.extra).name} holds only dev cases" for c in extra if c.get("split") != "dev"]

    both = cases + extra
    ids = Counter(c.get("id") for c in both)
    errors += [f"{i}: duplicate id" for i, k in ids.items() if k > 1]
    questions = Counter((normalise(c.get("question", "")).lower(), json.dumps(c.get("history", []), ensure_ascii=False)) for c in both)
    errors += [f"duplicate question: {q[0]!r}" for q, k in questions.items() if k > 1]

    total = len(cases)
    by_split = Counter(c.get("split") for c in cases)
    by_lang = Counter(c.get("lang") for c in cases)
    by_class = Counter(c.get("class") for c in cases)
    by_beh = Counter(c.get("behaviour") for c in cases)
    by_cls_lang_split = Counter((c.get("class"), c.get("lang"), c.get("split")) for c in cases)
    multi = sum(is_multi_sentence(c.get("question", "")) for c in cases)
    declines = by_beh["decline"]
    en_share = by_lang["en"] / total if total else 0.0
    multi_share = multi / total if total else 0.0

    # coverage requirements
    if total < MIN_TOTAL:
        errors.append(f"total {total} < {MIN_TOTAL}")
    if en_share < MIN_EN_SHARE:
        errors.append(f"English share {en_share:.1%} < {MIN_EN_SHARE:.0%}")
    if multi_share < MIN_MULTI_SHARE:
        errors.append(f"multi-sentence share {multi_share:.1%} < {MIN_MULTI_SHARE:.0%}")
    for cls, k in sorted(MIN_PER_CLASS.items()):
        if by_class[cls] < k:
            errors.append(f"class {cls}: {by_class[cls]} cases < {k}")
    if by_class["near_scope"] + by_class["out_of_scope"] < MIN_DECLINE_CLASSES:
        errors.append(f"near_scope + out_of_scope < {MIN_DECLINE_CLASSES}")
    for cls in sorted(CLASSES):
        for lang in sorted(LANGS):
            d, t = by_cls_lang_split[(cls, lang, "dev")], by_cls_lang_split[(cls, lang, "test")]
            if abs(d - t) > 1:
                errors.append(f"split imbalance in ({cls}, {lang}): dev {d} / test {t}")
    premise = Counter(c.get("behaviour") for c in cases if c.get("class") == "premise_story")
    if cases and (premise["correct"] == 0 or premise["confirm"] == 0):
        errors.append("premise_story needs both correct and confirm cases")

    # report
    if extra:
        print(f"{Path(args.extra).name}: {len(extra)} more dev cases (" +
              ", ".join(f"{k} {v}" for k, v in sorted(Counter(c.get('class') for c in extra).items())) + ")")
    print(f"cases: {total}")
    print("split: " + ", ".join(f"{k} {v}" for k, v in sorted(by_split.items())))
    print("lang:  " + ", ".join(f"{k} {v}" for k, v in sorted(by_lang.items())) + f"  (en {en_share:.1%})")
    print("behaviour: " + ", ".join(f"{k} {v}" for k, v in sorted(by_beh.items())))
    print(f"multi-sentence questions: {multi} ({multi_share:.1%})")
    print(f"declines: {declines} (near_scope {by_class['near_scope']} + out_of_scope {by_class['out_of_scope']}"
          f" + declining followups {declines - by_class['near_scope'] - by_class['out_of_scope']})")
    print()
    print(f"{'class':<15}{'total':>6}{'ko dev':>8}{'ko test':>8}{'en dev':>8}{'en test':>8}")
    for cls in sorted(CLASSES, key=lambda c: -by_class[c]):
        row = [by_cls_lang_split[(cls, lang, split)] for lang in ("ko", "en") for split in ("dev", "test")]
        print(f"{cls:<15}{by_class[cls]:>6}" + "".join(f"{v:>8}" for v in row))
    stage_counts = Counter(tuple(c.get("stages", [])) for c in cases)
    print()
    print("gold stages: " + ", ".join(f"{list(k)} {v}" for k, v in sorted(stage_counts.items())))
    direct_counts = Counter(str(c.get("direct")) for c in cases)
    print("direct: " + ", ".join(f"{k} {v}" for k, v in sorted(direct_counts.items())))

    print()
    if errors:
        print(f"FAILED: {len(errors)} problem(s)")
        for e in errors:
            print("  " + e)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())

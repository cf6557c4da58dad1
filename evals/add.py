"""`make eval-add FILE=…` — append reviewed candidate cases to `evals/cases.jsonl`.

Candidates come from `cto-coach feedback export` (one JSON object per line, the schema of
`evals/cases.jsonl`). A reviewer fills in what the export cannot know (expected behaviour, gold
stages, gold evidence, key points, a note); this command checks the result and appends it:

* the schema: every field present with the right type and allowed values; export-only annotations
  (the old answer, the user's comment, …) are dropped; any other unknown key is an error (a typo such
  as `gold_evidences` must not silently drop the evidence);
* unique ids (within the file and against the dataset) and no duplicate question;
* every gold evidence string is an exact substring of the normalised corpus;
* no placeholder left: empty required fields (gold evidence and key points for answerable cases, the
  note), or text like TODO / TBD / FIXME / ??? / <…>.

Valid cases are appended; rejected ones are listed with every reason. Exit status 1 if any was rejected.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from assistant.text import jsonl_dumps, jsonl_lines

from . import CASE_FIELDS, CASES, CATEGORIES, EXPECTS, LANGS, corpus_text, read_jsonl

# Keys an export may carry for the reviewer's benefit; not part of a case.
ANNOTATIONS = {"answer", "feedback", "comment", "rating", "created_at", "timestamp", "source", "citations", "mode",
               "stage", "kind", "reviewer", "answer_stage"}
PLACEHOLDER = re.compile(r"\bTODO\b|\bTBD\b|\bFIXME\b|\?\?\?|<[A-Za-z][A-Za-z_ ]{0,29}>|^\s*\.\.\.\s*$|^\s*…\s*$", re.I)
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def validate(case: Any, corpus: str, taken_ids: set[str], taken_questions: set[tuple]) -> tuple[dict[str, Any] | None, list[str]]:
    """(clean case, []) or (None, reasons)."""
    if not isinstance(case, dict):
        return None, ["not a JSON object"]
    errors: list[str] = []
    unknown = sorted(set(case) - set(CASE_FIELDS) - ANNOTATIONS)
    if unknown:
        errors.append(f"unknown field(s) {', '.join(unknown)} (known: {', '.join(CASE_FIELDS)})")
    missing = [f for f in CASE_FIELDS if f not in case]
    if missing:
        errors.append(f"missing field(s) {', '.join(missing)}")
    clean = {f: case.get(f) for f in CASE_FIELDS}

    cid = clean["id"]
    if not isinstance(cid, str) or not ID_RE.match(cid):
        errors.append(f"id must be lower-case letters, digits, '-' or '_' (got {cid!r})")
    elif cid in taken_ids:
        errors.append(f"id {cid!r} is already used")
    if clean["category"] not in CATEGORIES:
        errors.append(f"category must be one of {', '.join(CATEGORIES)} (got {clean['category']!r})")
    if clean["lang"] not in LANGS:
        errors.append(f"lang must be ko or en (got {clean['lang']!r})")
    q = clean["question"]
    if not isinstance(q, str) or not q.strip():
        errors.append("question is empty")
    elif clean["lang"] == "ko" and not re.search("[가-힣]", q):
        errors.append("lang is ko but the question has no Korean")
    hist = clean["history"]
    if not isinstance(hist, list) or not all(
        isinstance(t, list) and len(t) == 2 and t[0] in ("user", "assistant") and isinstance(t[1], str) and t[1].strip()
        for t in hist
    ):
        errors.append('history must be a list of ["user"|"assistant", text] pairs')
    expect = clean["expect"]
    if expect not in EXPECTS:
        errors.append(f"expect must be one of {', '.join(EXPECTS)} (got {expect!r})")
    stages = clean["gold_stages"]
    if not isinstance(stages, list) or not all(isinstance(s, int) and not isinstance(s, bool) and 1 <= s <= 4 for s in stages):
        errors.append("gold_stages must be a list of stage numbers 1-4 ([] = no particular stage)")
    gold = clean["gold_evidence"]
    if not isinstance(gold, list) or not all(isinstance(g, str) and g.strip() for g in gold):
        errors.append("gold_evidence must be a list of non-empty strings")
    else:
        if expect in ("answer", "correct") and not gold:
            errors.append(f"gold_evidence is empty (required when expect={expect})")
        for g in gold:
            if g not in corpus:
                errors.append(f"gold evidence not found verbatim in the corpus: {g[:60]!r}")
    kp = clean["key_points"]
    if not isinstance(kp, list) or not all(isinstance(g, list) and g and all(isinstance(a, str) and a.strip() for a in g) for g in kp):
        errors.append("key_points must be a list of non-empty lists of alternatives")
    elif expect in ("answer", "correct") and not kp:
        errors.append(f"key_points is empty (required when expect={expect})")
    note = clean["note"]
    if not isinstance(note, str) or not note.strip():
        errors.append("note is empty: say why this case exists and what the right answer is")
    for s in _strings([clean[f] for f in CASE_FIELDS if f != "id"]):
        if PLACEHOLDER.search(s):
            errors.append(f"placeholder left in {s[:50]!r}")
            break
    if isinstance(q, str) and isinstance(hist, list):
        key = (" ".join(q.split()).lower(), json.dumps(hist, ensure_ascii=False))
        if key in taken_questions:
            errors.append("the same question (with the same history) is already a case")
    return (None, errors) if errors else (clean, [])


def add(candidates: Path, cases_path: Path = CASES, corpus: str | None = None, dry_run: bool = False,
        out=None) -> tuple[list[str], list[tuple[str, list[str]]]]:
    out = out if out is not None else sys.stdout  # looked up per call, not frozen at import
    corpus = corpus if corpus is not None else corpus_text()
    existing = read_jsonl(cases_path) if cases_path.exists() else []
    taken_ids = {c["id"] for c in existing}
    taken_q = {(" ".join(c["question"].split()).lower(), json.dumps(c.get("history") or [], ensure_ascii=False)) for c in existing}
    added: list[dict[str, Any]] = []
    rejected: list[tuple[str, list[str]]] = []
    for lineno, line in enumerate(jsonl_lines(candidates.read_text(encoding="utf-8")), 1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            rejected.append((f"line {lineno}", [f"not JSON ({exc.msg})"]))
            continue
        label = case.get("id") if isinstance(case, dict) and isinstance(case.get("id"), str) else f"line {lineno}"
        clean, errors = validate(case, corpus, taken_ids, taken_q)
        if clean is None:
            rejected.append((label, errors))
            continue
        taken_ids.add(clean["id"])
        taken_q.add((" ".join(clean["question"].split()).lower(), json.dumps(clean["history"], ensure_ascii=False)))
        added.append(clean)
    if added and not dry_run:
        text = cases_path.read_text(encoding="utf-8") if cases_path.exists() else ""
        sep = "" if not text or text.endswith("\n") else "\n"
        with cases_path.open("a", encoding="utf-8") as fh:
            fh.write(sep + "".join(jsonl_dumps(c) + "\n" for c in added))
    for c in added:
        print(f"{'would add' if dry_run else 'added'} {c['id']} ({c['category']}, {c['lang']}, expect {c['expect']})", file=out)
    for label, errors in rejected:
        print(f"rejected {label}:", file=out)
        for e in errors:
            print(f"  - {e}", file=out)
    print(f"{len(added)} added, {len(rejected)} rejected" + (" (dry run)" if dry_run else f" → {cases_path}"), file=out)
    return [c["id"] for c in added], rejected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.add", description="validate candidate cases and append them")
    parser.add_argument("file", type=Path, nargs="?", help="candidate cases (JSONL), e.g. from `cto-coach feedback export`")
    parser.add_argument("--cases", type=Path, default=CASES, help="the dataset to append to")
    parser.add_argument("--dry-run", action="store_true", help="validate only")
    args = parser.parse_args(argv)
    if args.file is None:
        parser.error("give the candidates file: make eval-add FILE=evals/candidates.jsonl")
    if not args.file.is_file():
        print(f"error: {args.file}: no such file", file=sys.stderr)
        return 2
    _, rejected = add(args.file, args.cases, dry_run=args.dry_run)
    return 1 if rejected else 0


if __name__ == "__main__":
    sys.exit(main())

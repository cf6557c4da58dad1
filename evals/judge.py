"""An optional LLM judge of the answers' claims (report only, never gating): `EVAL_JUDGE_LLM=provider:model`.

The judge must quote the passage verbatim for a "supported" verdict; a reply that cannot be read as a
verdict is a grader error, counted apart and never as a score.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import metrics as M
from .scoring import verdict

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

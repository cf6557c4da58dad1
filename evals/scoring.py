"""Score one answer against its case: retrieval, stage, behaviour, citations, faithfulness, key points.

Each `_score_*` helper fills one part of the per-case record `score_case` returns; `failure_reasons`
turns a record into the lines the report lists under the case.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from . import ROOT
from . import metrics as M

ANSWER_KINDS = ("coaching", "general", "confirmation")
KS = (1, 3, 5)


def ask_case(coach: Any, case: dict[str, Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    answer = coach.ask(case["question"], case.get("history") or [])
    return answer, (time.perf_counter() - t0) * 1e3


def prompt_texts() -> list[str]:
    """The LLM prompt files, for the leak check (an answer must never echo them)."""
    folder = ROOT / "assistant" / "answer" / "llm" / "prompts"
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
    r: dict[str, Any] = {
        "id": case["id"], "category": case["category"], "lang": case["lang"], "expect": case["expect"],
        "kind": answer.kind,
        "retrieved": [f"{p.chunk.section}:{p.chunk.stage or '-'}:{p.chunk.id[:6]}" for p in answer.passages],
    }
    gold = case.get("gold_evidence") or []
    if gold:
        r["retrieval"] = _score_retrieval(answer, gold, coach.retriever.chunks)
    if not full:
        return r
    gold_stages = case.get("gold_stages") or []
    pred = answer.stage
    r["stage"] = {"pred": pred, "gold": gold_stages, "correct": M.stage_correct(pred, gold_stages),
                  "within_one": M.stage_within_one(pred, gold_stages), "source": answer.diagnosis.source}
    expect = case["expect"]
    r["behaviour_ok"] = (answer.kind in ANSWER_KINDS if expect == "answer"
                         else answer.kind == ("refusal" if expect == "refuse" else "correction"))
    r["citations"] = _score_citations(answer, coach, gold, expect)
    r["faithfulness"] = _score_faithfulness(answer, coach.checker, getattr(coach, "renderings", None) or {})
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


def _score_retrieval(answer: Any, gold: list[str], chunks: list[Any]) -> dict[str, Any]:
    texts = [p.chunk.text for p in answer.passages]
    ranked = M.relevance(texts, gold)
    n_relevant = sum(1 for c in chunks if any(g in c.text for g in gold))
    return {
        **{f"hit@{k}": M.hit_at_k(ranked, k) for k in KS},
        **{f"recall@{k}": M.recall_at_k(texts, gold, k) for k in KS},
        "mrr": M.reciprocal_rank(ranked),
        "ndcg@5": M.ndcg_at_k(ranked, 5, n_relevant),
        "ranked": ranked,
        "unreachable": [g for g in gold if not any(g in c.text for c in chunks)],
    }


def _score_citations(answer: Any, coach: Any, gold: list[str], expect: str) -> dict[str, Any]:
    """Markers → citations → retrieved passages, with the passage text unchanged."""
    pred = answer.stage
    by_n = {c.n: c for c in answer.citations}
    retrieved_ids = {p.chunk.id for p in answer.passages}
    chunk_text = {c.id: c.text for c in coach.retriever.chunks}
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
    out: dict[str, Any] = {
        "n": len(answer.citations), "markers": len(marks), "valid": not problems, "problems": problems,
        "lenient_valid": all((by_n.get(n) is not None and (by_n[n].id in retrieved_ids or by_n[n].id in stage_ids))
                             for n in set(marks)),
        "unused": uncited,
    }
    if gold and answer.citations:
        cited_rel = [any(g in c.text for g in gold) for c in answer.citations]
        out["precision"] = sum(cited_rel) / len(cited_rel)
        out["recall"] = sum(1 for g in gold if any(g in c.text for c in answer.citations)) / len(gold)
    elif gold and expect != "refuse":
        out["precision"] = None
        out["recall"] = 0.0
    return out


def _score_faithfulness(answer: Any, checker: Any, renderings: dict[str, Any] | None = None) -> dict[str, Any]:
    """Claim sentences under the SupportChecker; an unsupported one another passage supports is a misattribution.

    An English claim shown in the project's English rendering is checked against the cited passage's
    rendering as well as its original (the pair), like the LLM path's verifier does."""
    from assistant.article.rendering import english_of

    def pair(text: str, doc_id: str, en: str | None, english: bool) -> list[str]:
        en = en or (english_of(renderings or {}, doc_id, text) if english else None)
        return [text, en] if en else [text]

    by_n = {c.n: c for c in answer.citations}
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
        english = s.original is not None or any(c.text_en for c in cited)
        v = verdict(checker, s.text, [t for c in cited for t in pair(c.text, "", c.text_en, False)])
        if v.supported:
            n_supported += 1
            continue
        fired.update(v.fired)
        other = None
        for p in answer.passages:
            if p.chunk.id in {c.id for c in cited}:
                continue
            if verdict(checker, s.text, pair(p.chunk.text, p.chunk.doc_id, None, english)).supported:
                other = p.chunk.id
                break
        unsupported.append({"text": s.text, "fired": list(v.fired), "cited": [c.id[:8] for c in cited],
                            "lexical": round(v.lexical, 3), "cosine": None if v.cosine is None else round(v.cosine, 3),
                            "misattributed_to": other})
    return {"claims": len(claims), "supported": n_supported, "unsupported": unsupported,
            "fired": dict(fired), "uncited_claims": uncited_claims,
            "llm_flags": [s.text for s in answer.sentences if s.supported is False]}


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

"""Which passages an answer is written from, and whether there is anything to answer from at all.

Pure functions over ranked passages: the coach calls them between retrieval and composing.
"""

from __future__ import annotations

from assistant.article.profile import label
from assistant.text import content_terms, translate_terms
from assistant.types import Diagnosis, Passage

# Below both of these, no passage is close enough to answer from (looked at on evals/cases.jsonl).
# e5 cosines run higher for Korean text than for English, hence one threshold per language.
MIN_DENSE = {"ko": 0.84, "en": 0.79}
MIN_BM25 = 4.0


def relevant(passages: list[Passage], korean: bool) -> bool:
    """Is any passage close enough to answer from?"""
    dense = max((p.dense or 0.0 for p in passages), default=0.0)
    bm25 = max((p.bm25 or 0.0 for p in passages), default=0.0)
    return dense >= MIN_DENSE["ko" if korean else "en"] or bm25 >= MIN_BM25


def related(passages: list[Passage]) -> Passage | None:
    """A passage worth quoting in a refusal as "the closest thing it does say" (a strong BM25 match)."""
    for p in passages[:3]:
        if (p.bm25 or 0.0) >= MIN_BM25 * 1.5:
            return p
    return None


def focused(passages: list[Passage]) -> list[Passage]:
    """The top passage plus those nearly as close: a general answer should not wander."""
    if not passages:
        return []
    top = passages[0]
    keep = [top]
    for p in passages[1:3]:
        near_dense = p.dense is not None and top.dense is not None and p.dense >= top.dense - 0.02
        near_bm25 = p.bm25 is not None and (top.bm25 or 0) > 0 and p.bm25 >= 0.6 * (top.bm25 or 0)
        if near_dense or near_bm25:
            keep.append(p)
    return keep


def stage_from_passages(diag: Diagnosis, passages: list[Passage], korean: bool) -> Diagnosis:
    """No stage in the question, but the passage that answers it belongs to one: say which."""
    if diag.stage is not None or not passages:
        return diag
    top = passages[0]
    stage = top.chunk.stage
    if stage is None:
        return diag
    if len(passages) > 1 and passages[1].chunk.stage not in (None, stage) and (
        (passages[1].dense or 0) >= (top.dense or 0)
    ):
        return diag  # two stages compete: no honest single answer
    cue = label("diagnosis.from_passage", korean, stage=stage)
    return Diagnosis(stage, 0.5, cue, "retrieval", (stage,))


def specific(text: str, passage: Passage) -> bool:
    """Does the question name something only this off-stage passage talks about?"""
    q = content_terms(f"{text} {translate_terms(text)}") - {"cto", "단계", "stage", "회사", "company"}
    return len(q & content_terms(passage.chunk.text)) >= 2

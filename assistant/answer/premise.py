"""Premise questions ("…, right?", "the author said X, didn't he?"): confirm or correct the claim.

The claim is checked against its closest sentence in the article: terms weighted by BM25 idf, names
(glossary entities) triple, sentences stating the same kind of fact (a year, a count) preferred, and
embedding similarity deciding among the lexically closest. A claim that puts one author's words in
the other's mouth is corrected even when the words themselves are in the article.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from assistant.answer.compose import AnswerBuilder, compose_premise, compose_refusal
from assistant.answer.verifier import SupportChecker
from assistant.article.profile import PROFILE, label
from assistant.text import content_terms, entities, is_korean, split_sentences, translate_terms
from assistant.types import AnswerKind, Diagnosis, Passage

# A confirmed premise needs most of its words in the passage (stricter than verifying a paraphrase).
PREMISE_MIN_LEXICAL = 0.75
_PREMISE_GENERIC = {"cto", "글쓴이", "블로거", "저자", "author", "article", "blogger", "say", "said", "라면", "했죠", "했",
                    "hosang", "jeon", "mk", "hosang jeon", "단계", "stage", "중요", "important"}
_STAGE_WORDS = {"암흑기", "성장기", "르네상스", "성숙기", "dark", "age", "growth", "renaissance", "maturity", "시기", "가장", "제일", "젤", "most"}
# Kinds of quantity a claim can state; a sentence stating the same kind is a better witness.
_UNITS = {
    "stages": re.compile(r"\d\s*단계|\b(?:\d|one|two|three|four|five|six)\s+(?:stages?|phases?)\b", re.I),
    "people": re.compile(r"\d\s*명|\b\d+\s*(?:people|persons?|employees?)\b", re.I),
    "year": re.compile(r"\b(?:19|20)\d\d\b"),
}
_SAYS = re.compile(r"says?|said|argues?|claims?|wrote|writes|according to|thinks?|believes?|recommends?|말했|말한|주장|라고|다고|에 따르면|의견|생각", re.I)


def check_premise(b: AnswerBuilder, claim: str, pool: list[Passage], diag: Diagnosis, checker: SupportChecker,
                  idf: Mapping[str, float]) -> AnswerKind:
    """Check the claim inside "…, right?" against its closest sentence; confirm or correct it.

    Closeness weighs shared terms by their BM25 idf, names (glossary entities) triple, and prefers
    sentences stating the same kind of fact (a year, a number) as the claim. `pool` holds the retrieved
    passages, then the diagnosed stages' other passages; `idf` is the BM25 index's.
    """
    q_terms = {t for t in content_terms(claim if is_korean(claim) else f"{claim} {translate_terms(claim)}") if len(t) >= 2}
    q_terms -= _PREMISE_GENERIC | _STAGE_WORDS
    named = {t for t in content_terms(" ".join(entities(claim)))}
    # The BM25 index knows its largest idf (reading every value would walk the whole vocabulary).
    default_idf = float(getattr(idf, "max", 0.0)) or max(idf.values(), default=1.0)
    claim_units = {u for u, rx in _UNITS.items() if rx.search(claim)}
    lexical: list[tuple[float, int, Passage, str]] = []
    for rank, p in enumerate(pool):
        for s in split_sentences(p.chunk.text) or [p.chunk.text]:
            s_terms, low = content_terms(s), s.lower()
            score = sum(idf.get(t, default_idf) * (3 if t in named else 1) for t in q_terms if t in s_terms or t in low)
            score += 1.5 * sum(1 for u in claim_units if _UNITS[u].search(s))
            if score and p.chunk.stage and p.chunk.stage in (diag.stages or (diag.stage,)):
                score += 1.0  # the claim is about this stage
            lexical.append((score, -rank, p, s))
    # Embedding similarity decides among the lexically closest sentences only (it costs an embedding each).
    lexical.sort(key=lambda c: (-c[0], -c[1]))
    candidates = [
        ((checker.cosine(claim, s) or 0.0) + 0.1 * score, r, p, s) for score, r, p, s in lexical[:8] if score > 0
    ]
    if not candidates:
        compose_refusal(b, "", "", None, claim)
        return "refusal"
    candidates.sort(key=lambda c: (-c[0], -c[1]))
    _, _, p, s = candidates[0]
    v = checker.check(claim, f"{p.chunk.author}: {s}")
    misattributed = attribution_error(claim, p)
    if v.hard_fail or misattributed:
        note = ""
        if misattributed:
            said, actual = misattributed
            note = label("compose.misattributed", b.korean, actual=actual, said=said)
        compose_premise(b, "contradict", p, s, note)
        return "correction"
    confirmed = v.supported and v.lexical >= PREMISE_MIN_LEXICAL
    compose_premise(b, "confirm" if confirmed else "absent", p, s)
    return "confirmation" if confirmed else "correction"


def attribution_error(claim: str, passage: Passage) -> tuple[str, str] | None:
    """"Hosang Jeon says X" where X is the blogger's commentary (or the reverse)."""
    if not _SAYS.search(claim) or passage.chunk.voice not in ("source", "blogger"):
        return None
    low = claim.lower()
    if "hosang" in low or "jeon" in low or "원문" in claim or "source article" in low or "호상" in claim:
        said = "source"
    elif re.search(r"\bmk\b|blogger|블로거|글쓴이", low):
        said = "blogger"
    else:
        return None
    if passage.chunk.voice == said:
        return None
    names = {"source": PROFILE.source.short, "blogger": PROFILE.blogger.short}
    return names[said], names[passage.chunk.voice]

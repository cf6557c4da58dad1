"""Metric functions: pure, small, tested on hand-made inputs (tests/test_evals.py).

Conventions
-----------
* Retrieval relevance is binary: a retrieved passage is relevant when its chunk text contains one of
  the case's gold evidence strings (each gold string lies inside one sentence, hence one chunk).
* `ranked` below is a list of booleans, one per retrieved passage in rank order (True = relevant).
* Stage labels are ints 1-4 or None ("no stage"); a case may accept several gold stages.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from assistant.text import MARKER

# --- retrieval ---------------------------------------------------------------------------------


def relevance(passage_texts: Sequence[str], gold: Sequence[str]) -> list[bool]:
    """One flag per passage: does it contain any gold evidence string?"""
    return [any(g in text for g in gold) for text in passage_texts]


def hit_at_k(ranked: Sequence[bool], k: int) -> float:
    return 1.0 if any(ranked[:k]) else 0.0


def recall_at_k(passage_texts: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Share of the gold evidence strings found in the top-k passages (evidence-level recall)."""
    if not gold:
        return 0.0
    top = passage_texts[:k]
    return sum(1 for g in gold if any(g in t for t in top)) / len(gold)


def reciprocal_rank(ranked: Sequence[bool]) -> float:
    for i, rel in enumerate(ranked, 1):
        if rel:
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranked: Sequence[bool], k: int, n_relevant: int) -> float:
    """Binary-relevance nDCG@k; `n_relevant` = how many passages in the whole corpus are relevant."""
    dcg = sum(1.0 / math.log2(i + 2) for i, rel in enumerate(ranked[:k]) if rel)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, n_relevant)))
    return dcg / ideal if ideal > 0 else 0.0


# --- stage diagnosis -------------------------------------------------------------------------------

STAGE_LABELS: tuple[Any, ...] = (None, 1, 2, 3, 4)


def stage_correct(pred: int | None, gold: Sequence[int]) -> bool:
    """Right when the diagnosed stage is one of the gold stages; no gold stage means "no stage"."""
    return pred is None if not gold else pred in gold


def stage_within_one(pred: int | None, gold: Sequence[int]) -> bool:
    if not gold or pred is None:
        return stage_correct(pred, gold)
    return any(abs(pred - g) <= 1 for g in gold)


def resolve_true(pred: int | None, gold: Sequence[int]) -> int | None:
    """The single true label of a case for the confusion matrix: the prediction when it is one of
    several acceptable stages, else the first gold stage (None when there is none)."""
    if not gold:
        return None
    return pred if pred in gold else gold[0]


def confusion(pairs: Iterable[tuple[Any, Any]], labels: Sequence[Any] = STAGE_LABELS) -> list[list[int]]:
    """matrix[i][j] = how many cases with true label labels[i] were predicted labels[j]."""
    index = {lab: i for i, lab in enumerate(labels)}
    m = [[0] * len(labels) for _ in labels]
    for true, pred in pairs:
        m[index[true]][index[pred]] += 1
    return m


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def macro_f1(matrix: Sequence[Sequence[int]]) -> float:
    """Mean F1 over the labels that occur (as truth or prediction); absent labels do not count."""
    n = len(matrix)
    scores = []
    for i in range(n):
        tp = matrix[i][i]
        fn = sum(matrix[i]) - tp
        fp = sum(matrix[r][i] for r in range(n)) - tp
        if tp + fn + fp == 0:
            continue
        scores.append(prf(tp, fp, fn)[2])
    return sum(scores) / len(scores) if scores else 0.0


# --- answers -----------------------------------------------------------------------------------------


def key_point_recall(text: str, groups: Sequence[Sequence[str]]) -> float | None:
    """Share of key-point groups with at least one alternative in the answer (case-insensitive)."""
    if not groups:
        return None
    low = text.lower()
    return sum(1 for g in groups if any(alt.lower() in low for alt in g)) / len(groups)


def missing_key_points(text: str, groups: Sequence[Sequence[str]]) -> list[str]:
    low = text.lower()
    return [" | ".join(g) for g in groups if not any(alt.lower() in low for alt in g)]




def markers(text: str) -> list[int]:
    return [int(m) for m in MARKER.findall(text)]


# Who a line says it quotes: a section heading sets it for the lines below; a "Label: " prefix on
# the line itself wins. Indented sub-bullets inherit the label of the line above them.
_SOURCE = re.compile(r"원문|source article|Hosang Jeon", re.I)
_BLOGGER = re.compile(r"블로거|blogger|\bMK\b", re.I)
_PREFIX = re.compile(r"^\s*(?:[-*]\s+)?(?P<label>(?:원문|Source article|블로거|Blogger)[^:\[\]]{0,40}):\s", re.I)


def _label_of(text: str) -> str | None:
    src, blg = bool(_SOURCE.search(text)), bool(_BLOGGER.search(text))
    if src and not blg:
        return "source"
    if blg and not src:
        return "blogger"
    return None


def voice_labels(text: str) -> list[tuple[str, str | None, list[int]]]:
    """(line, label the line claims — "source" | "blogger" | None, markers on the line)."""
    out = []
    heading: str | None = None  # label of the last heading ("**…**" or a line ending with ":")
    parent: str | None = None  # label of the last "Label: …" line, for its indented sub-bullets
    for line in text.split("\n"):
        marks = markers(line)
        stripped = line.strip()
        if not marks:
            bold = re.match(r"^\*\*(.+?)\*\*", stripped)
            if bold or stripped.endswith(":"):
                heading = _label_of(bold.group(1) if bold else stripped)
                parent = None
            continue
        m = _PREFIX.match(line)
        if m:
            label = parent = _label_of(m.group("label"))
        elif line[:1] in (" ", "\t") and parent is not None:
            label = parent
        else:
            label, parent = heading, None
        out.append((line, label, marks))
    return out


def voice_mixups(text: str, voice_of: dict[int, str]) -> list[tuple[str, str, int, str]]:
    """Lines labelled as one voice that cite a passage of the other: (line, label, marker, voice)."""
    found = []
    for line, label, marks in voice_labels(text):
        if label is None:
            continue
        for n in marks:
            voice = voice_of.get(n)
            if voice in ("source", "blogger") and voice != label:
                found.append((line, label, n, voice))
    return found


_LEAK_MARKERS = re.compile(r"You are CTO Coach|system prompt|시스템 프롬프트|NOT_COVERED|^Rules:", re.I | re.M)


def prompt_leak(answer: str, prompt_texts: Sequence[str], min_chars: int = 40) -> str | None:
    """A fragment of the system prompt found in the answer (None when there is none)."""
    m = _LEAK_MARKERS.search(answer)
    if m:
        return m.group(0)
    flat = " ".join(answer.split())
    for prompt in prompt_texts:
        words = prompt.split()
        # every window of ~8 words that is long enough to be distinctive
        for i in range(0, max(0, len(words) - 7)):
            frag = " ".join(words[i : i + 8])
            if len(frag) >= min_chars and "{" not in frag and frag in flat:
                return frag
    return None


# --- summaries -----------------------------------------------------------------------------------------


def mean(xs: Iterable[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return sum(vals) / len(vals) if vals else None


def percentile(xs: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100)."""
    vals = sorted(xs)
    if not vals:
        return None
    pos = (len(vals) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)


def rate(flags: Iterable[bool]) -> float | None:
    vals = list(flags)
    return sum(vals) / len(vals) if vals else None

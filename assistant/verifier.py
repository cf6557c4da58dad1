"""Does a cited passage support an answer sentence?

Used on every LLM sentence before it is shown, on premises of "…, right?" questions, and by the
eval as its faithfulness proxy (with its own precision/recall published). Checks, cheapest first:

* hard checks — each one alone makes the sentence unsupported:
  - `number`: every number/date in the sentence appears in the passage (formats normalised:
    "2021년 6월 29일" = "June 29, 2021" = "2021-06-29"; "five" = "5");
  - `entity`: every named person/company in the sentence appears in the passage (glossary aliases
    make "Amazon" meet "아마존");
  - `negation`: the sentence's polarity matches the passage sentence it overlaps most, including the
    article's contrast idioms ("관리보다는 코칭", "관리 따위는 개나 줘버려도");
* soft support — lexical coverage of the sentence's content terms by the passage (English terms are
  mapped to Korean through the glossary) or embedding cosine; thresholds are fitted on the dev
  split of `evals/checker_set.jsonl` and stored in `assistant/data/verifier.json`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
from langchain_core.embeddings import Embeddings

from .text import content_terms, glossary, split_sentences, translate_terms, words

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"], 1)}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_EN_NUMS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
            "nine": 9, "ten": 10, "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "twice": 2,
            "double": 2, "triple": 3, "once": 1, "single": 1, "both": 2}
_KO_NUMS = {"하나": 1, "한": 1, "둘": 2, "두": 2, "셋": 3, "세": 3, "넷": 4, "네": 4, "다섯": 5, "여섯": 6,
            "첫": 1, "첫번째": 1, "두번째": 2, "세번째": 3, "네번째": 4, "더블": 2, "트리플": 3, "한두": 1}
_CIRCLED = {chr(0x2460 + i): i + 1 for i in range(20)}

_NEG_KO = re.compile(r"않|없|아니|아닙|못하|말아야|말고|불필요|필요\s*없|금물|따위는|개나\s*줘|쫌\.\.\.|웃기는\s*말|줄이")
_NEG_EN = re.compile(r"\b(?:not|no|never|n't|without|neither|nor|unnecessary|unimportant|irrelevant|"
                     r"forg[eo]t\w*|ignor\w*|skip\w*|dismiss\w*|absurd|laughable|ridiculous)\b|n't\b", re.I)
_CONTRAST_KO = re.compile(r"([가-힣A-Za-z ]{1,20}?)\s*보다는?\s+([가-힣A-Za-z ]{1,20})")
_CONTRAST_EN = re.compile(r"\b([a-z -]{2,30}?)\s+(?:rather than|instead of|over|more than|before|not)\s+([a-z -]{2,30})", re.I)


@dataclass(frozen=True)
class Verdict:
    supported: bool
    fired: tuple[str, ...]  # hard checks that failed, or "weak_support"
    lexical: float
    cosine: float | None
    best_sentence: str = ""

    @property
    def hard_fail(self) -> bool:
        return any(f != "weak_support" for f in self.fired)


@dataclass
class Thresholds:
    lexical: float = 0.5
    cosine: float = 0.88
    combined: float = 1.25  # lexical + cosine, for sentences neither check passes alone
    extra: dict = field(default_factory=dict)


@lru_cache(maxsize=1)
def default_thresholds() -> Thresholds:
    try:
        raw = resources.files("assistant").joinpath("data/verifier.json").read_text(encoding="utf-8")
        data = json.loads(raw)
        return Thresholds(**{k: v for k, v in data.items() if k in ("lexical", "cosine", "combined")})
    except (FileNotFoundError, ValueError, TypeError):
        return Thresholds()


# --- numbers -------------------------------------------------------------------------------------

def numbers(text: str) -> set[int]:
    """Every number a text states, in any of the formats the article or an answer might use."""
    low = text.lower()
    found: set[int] = set()
    for m in re.finditer(r"\d+(?:[.,]\d+)*", low):
        raw = m.group(0)
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+", raw):
            found.add(int(raw.replace(",", "")))
            continue
        for part in re.split(r"[.,]", raw):
            if part:
                found.add(int(part))
    for word, n in _EN_NUMS.items():
        if re.search(rf"\b{word}\b", low):
            found.add(n)
    for word, n in _KO_NUMS.items():
        if re.search(rf"(?<![가-힣]){word}(?=\s*(?:명|번|단계|배|째|개|가지)|번째)", low):
            found.add(n)
    for month, n in _MONTHS.items():
        if re.search(rf"\b{month}\b", low):
            found.add(n)
    for ch, n in _CIRCLED.items():
        if ch in text:
            found.add(n)
    return found


def _sentence_numbers(text: str) -> set[int]:
    # The verbs "double"/"triple" and ordinal list markers are words, not claims about counts.
    return {n for n in numbers(text)}


# --- entities --------------------------------------------------------------------------------------

def entities(text: str) -> set[str]:
    """Canonical names (first Korean alias) of the glossary entities a text mentions."""
    low = text.lower()
    found = set()
    for entry in glossary():
        if entry.kind != "entity":
            continue
        aliases = [*entry.english, *entry.korean]
        for alias in aliases:
            if re.fullmatch(r"[a-z0-9 &'.-]+", alias):
                hit = re.search(rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])", low)
            else:
                hit = alias in low
            if hit:
                found.add(entry.korean[0])
                break
    return found


_UNKNOWN_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+(?:\s+[A-Z][a-z]+)+)\b")


def unknown_names(sentence: str, passage: str) -> set[str]:
    """Capitalised multi-word names in an English sentence that the passage never mentions."""
    known = {a for e in glossary() for a in (*e.english, *e.korean)}
    out = set()
    for m in _UNKNOWN_NAME.finditer(sentence):
        name = m.group(1)
        if name.lower() not in known and name.lower() not in passage.lower():
            out.add(name)
    return out


# --- polarity ------------------------------------------------------------------------------------

def negated(text: str) -> bool:
    return bool(_NEG_KO.search(text) or _NEG_EN.search(text))


def _terms_both_ways(text: str) -> set[str]:
    extra = translate_terms(text)
    return content_terms(f"{text} {extra}")


def _order_of(text: str, a: str, b: str) -> int | None:
    i, j = text.find(a), text.find(b)
    if i < 0 or j < 0:
        return None
    return -1 if i < j else 1


def contrast_flipped(sentence: str, passage: str) -> bool:
    """'관리보다는 코칭' in the passage vs '코칭보다는 관리' (or 'management over coaching') in the sentence."""
    for m in _CONTRAST_KO.finditer(passage):
        low_a, high_b = m.group(1).strip().split()[-1:], m.group(2).strip().split()[:1]
        if not low_a or not high_b:
            continue
        a, b = _strip(low_a[0]), _strip(high_b[0])
        sent_ko = sentence + " " + translate_terms(sentence)
        for sm in _CONTRAST_KO.finditer(sent_ko):
            sa, sb = _strip(sm.group(1).strip().split()[-1]), _strip(sm.group(2).strip().split()[0])
            if sa.startswith(b[:2]) and sb.startswith(a[:2]):
                return True
        en = _CONTRAST_EN.search(sentence)
        if en:
            first, second = translate_terms(en.group(1)), translate_terms(en.group(2))
            if b[:2] in second and a[:2] in first:
                return True
    return False


def _strip(word: str) -> str:
    from .text import _strip_josa

    return _strip_josa(word)


# --- the checker ---------------------------------------------------------------------------------

class SupportChecker:
    def __init__(self, embeddings: Embeddings | None = None, thresholds: Thresholds | None = None):
        self.embeddings = embeddings
        self.t = thresholds or default_thresholds()
        self._cache: dict[str, np.ndarray] = {}

    def _vec(self, text: str, query: bool) -> np.ndarray:
        key = ("q:" if query else "p:") + text
        if key not in self._cache:
            assert self.embeddings is not None
            v = self.embeddings.embed_query(text) if query else self.embeddings.embed_documents([text])[0]
            self._cache[key] = np.asarray(v, dtype=np.float32)
            if len(self._cache) > 4096:
                self._cache.pop(next(iter(self._cache)))
        return self._cache[key]

    def cosine(self, sentence: str, passage: str) -> float | None:
        if self.embeddings is None:
            return None
        a, b = self._vec(sentence, True), self._vec(passage, False)
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))

    @staticmethod
    def lexical(sentence: str, passage: str) -> float:
        """Share of the sentence's content terms found in the passage (Korean aliases count)."""
        s_terms = content_terms(sentence)
        if not s_terms:
            return 1.0
        p_terms = content_terms(passage)
        p_text = passage.lower()
        gloss = {}
        for entry in glossary():
            for en in entry.english:
                gloss.setdefault(en, entry.korean)
        hits = 0
        for term in s_terms:
            if term in p_terms or (len(term) >= 2 and term in p_text):
                hits += 1
                continue
            aliases = gloss.get(term) or gloss.get(term + "s") or ()
            if any(a.lower() in p_text for a in aliases):
                hits += 1
                continue
            if term[0] >= "가" and len(term) >= 2 and any(term[:2] in w for w in words(p_text)):
                hits += 0.5
        return hits / len(s_terms)

    def best_sentence(self, sentence: str, passage: str) -> str:
        s_terms = _terms_both_ways(sentence)
        best, best_score = passage, -1.0
        for ps in split_sentences(passage) or [passage]:
            overlap = len(s_terms & _terms_both_ways(ps))
            if overlap > best_score:
                best, best_score = ps, overlap
        return best

    def hard_checks(self, sentence: str, passage: str) -> list[str]:
        fired = []
        if not _sentence_numbers(sentence) <= numbers(passage):
            fired.append("number")
        if not entities(sentence) <= entities(passage) or unknown_names(sentence, passage):
            fired.append("entity")
        best = self.best_sentence(sentence, passage)
        if contrast_flipped(sentence, best) or negated(sentence) != negated(best):
            fired.append("negation")
        return fired

    def check(self, sentence: str, passages: list[str] | str, use_embeddings: bool = True) -> Verdict:
        """Verdict for one sentence against the text of the passage(s) it cites."""
        passage = passages if isinstance(passages, str) else " ".join(passages)
        fired = self.hard_checks(sentence, passage)
        lex = self.lexical(sentence, passage)
        cos = self.cosine(sentence, passage) if use_embeddings else None
        soft = lex >= self.t.lexical or (cos is not None and (cos >= self.t.cosine or lex + cos >= self.t.combined))
        if not soft:
            fired.append("weak_support")
        return Verdict(not fired, tuple(fired), lex, cos, self.best_sentence(sentence, passage))

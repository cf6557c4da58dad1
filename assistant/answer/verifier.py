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

Over 300 lines on purpose: the hard checks (numbers and dates, names, negation and the article's
contrast idioms) and the soft support they gate form one decision; the eval measures them together.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.numbers import count_words_en, count_words_ko
from assistant.search.embeddings import CachedEmbeddings
from assistant.text import content_terms, entities, glossary, split_sentences, translate_terms, words

_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"], 1)}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items()) if m != "may"})
_EN_NUMS = count_words_en()
_KO_NUMS = count_words_ko()
# A number word is a claim about a count only next to what it counts ("five stages", "세 번째 단계").
_COUNTED = r"(?:-|\s)+(?:stages?|phases?|steps?|people|persons?|employees?|engineers?|founders?|members?|years?|times|capabilit\w*|items?|levels?)\b"
_KO_COUNTED = r"\s*(?:명|번|단계|배|째|개|가지|년)"
_CIRCLED = {chr(0x2460 + i): i + 1 for i in range(20)}
_MULTIPLIERS = {r"더블|\bdoubl\w*|\btwice\b": 2, r"트리플|\btripl\w*": 3}
_DATE_PATTERNS = [
    (re.compile(r"(?<!\d)(\d{4})[-./](\d{1,2})[-./](\d{1,2})(?!\d)"), (1, 2, 3)),
    (re.compile(r"(\d{4})\s*년\s*(\d{1,2})\s*월\s*(\d{1,2})\s*일"), (1, 2, 3)),
    (re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)"), (3, 1, 2)),
]
_MONTH_NAME = r"(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\.?"
_DATE_EN = [
    (re.compile(rf"\b{_MONTH_NAME}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.I), "mdy"),
    (re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_NAME},?\s+(\d{{4}})\b", re.I), "dmy"),
]

_NEG_KO = re.compile(r"않|없|아니|아닙|못하|못했|못 |말아야|말고|불필요|필요\s*없|금물|따위는|개나\s*줘|쫌\.\.\.|웃기는\s*말|줄이|줄여|줄어")
_NEG_EN = re.compile(r"\b(?:not|no|never|n't|without|neither|nor|unnecessary|unimportant|irrelevant|"
                     r"forg[eo]t\w*|ignor\w*|skip\w*|dismiss\w*|absurd|laughable|ridiculous)\b|n't\b", re.I)
_CONTRAST_KO = re.compile(r"([가-힣A-Za-z ]{1,20}?)\s*보다는?\s+([가-힣A-Za-z ]{1,20})")
_CONTRAST_EN = re.compile(r"\b([a-z -]{2,30}?)\s+(?:rather than|instead of|over|more than|before|not)\s+([a-z -]{2,30})", re.I)


CACHE_ITEMS = 4096  # embeddings the checker remembers (oldest out first)


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

def dates(text: str) -> set[tuple[int, int, int]]:
    """Full dates as (year, month, day), whatever the format."""
    found = set()
    for rx, (y, m, d) in _DATE_PATTERNS:
        for g in rx.finditer(text):
            found.add((int(g.group(y)), int(g.group(m)), int(g.group(d))))
    for rx, order in _DATE_EN:
        for g in rx.finditer(text):
            if order == "mdy":
                month, day, year = g.group(1), g.group(2), g.group(3)
            else:
                day, month, year = g.group(1), g.group(2), g.group(3)
            found.add((int(year), _MONTHS.get(month.lower().rstrip(".")[:3] if month.lower() != "may" else "may", 0)
                       or _MONTHS.get(month.lower().rstrip("."), 0), int(day)))
    return found


def _without_dates(text: str) -> str:
    for rx, _ in _DATE_PATTERNS:
        text = rx.sub(" ", text)
    for rx, _ in _DATE_EN:
        text = rx.sub(" ", text)
    return text


def numbers(text: str) -> set[int]:
    """Every count a text states (dates excluded: `dates` compares them whole)."""
    text = _without_dates(text)
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
        if re.search(rf"\b{word}{_COUNTED}", low) or re.search(rf"\b(?:stage|phase|step)\s+{word}\b", low):
            found.add(n)
    for word, n in _KO_NUMS.items():
        if re.search(rf"(?<![가-힣]){word}(?={_KO_COUNTED})|(?<![가-힣]){word}\s*번째", low):
            found.add(n)
    for word, n in _MULTIPLIERS.items():
        if re.search(word, low):
            found.add(n)
    for ch, n in _CIRCLED.items():
        if ch in text:
            found.add(n)
    return found


# --- entities: assistant.text.entities (the understanding layer needs them too) ------------------


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


_CONTRAST_SPLIT_KO = re.compile(r"보다는?\s|보다\s")
_CONTRAST_SPLIT_EN = re.compile(r"\b(?:rather than|instead of|over|more than|not)\b", re.I)


def _sides(text: str) -> tuple[set[str], set[str]] | None:
    """(demoted, promoted) terms of "A보다는 B" / "B rather than A" in a clause, or None."""
    m = _CONTRAST_SPLIT_KO.search(text)
    if m:
        a, b = text[: m.start()], text[m.end():]
        return _terms_both_ways(a), _terms_both_ways(b)
    m = _CONTRAST_SPLIT_EN.search(text)
    if m:
        b, a = text[: m.start()], text[m.end():]
        return _terms_both_ways(a), _terms_both_ways(b)
    return None


def contrast_flipped(sentence: str, passage: str) -> bool:
    """'관리보다는 코칭' in the passage vs '코칭보다는 관리' (or 'management over coaching') in the sentence."""
    p_sides, s_sides = _sides(passage), _sides(sentence)
    if not p_sides or not s_sides:
        return False
    (pa, pb), (sa, sb) = p_sides, s_sides
    shared = pa & pb
    pa, pb, sa, sb = pa - shared, pb - shared, sa - shared, sb - shared
    same = len(sa & pa) + len(sb & pb)
    flipped = len(sa & pb) + len(sb & pa)
    return flipped > same


# Cosine alone passes a sentence only if a fair share of its words are in the passage too: an
# added unsupported clause keeps the cosine high while its words are nowhere in the evidence.
COSINE_LEXICAL_FLOOR = 0.35


def soft_support(lex: float, cos: float | None, t: Thresholds) -> bool:
    if lex >= t.lexical:
        return True
    if cos is None:
        return False
    return (cos >= t.cosine and lex >= COSINE_LEXICAL_FLOOR) or lex + cos >= t.combined


def _clauses(passage: str) -> list[str]:
    """Sentences cut further at commas and ellipses: polarity belongs to a clause, not a sentence."""
    out: list[str] = []
    for sentence in split_sentences(passage) or [passage]:
        out.extend(p.strip() for p in re.split(r"(?<=[,，])\s+|\.{2,}\s*|…\s*", sentence) if p.strip())
    return out or [passage]


_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9&]{1,6}\b")
_COMMON_ACRONYMS = {"CTO", "MVP", "IT", "OK", "AI", "VP", "HR", "PM", "A", "I", "KO", "EN"}


def unknown_acronyms(sentence: str, passage: str) -> set[str]:
    """All-caps names (GCP, AWS) in the sentence that the passage never mentions."""
    low = passage.lower()
    return {a for a in _ACRONYM.findall(sentence) if a not in _COMMON_ACRONYMS and a.lower() not in low}


# --- the checker ---------------------------------------------------------------------------------

class SupportChecker:
    def __init__(self, embeddings: Embeddings | None = None, thresholds: Thresholds | None = None):
        self.embeddings = embeddings
        self.t = thresholds or default_thresholds()
        # Every answer sentence and cited passage is embedded once (the eval passes its own disk cache).
        self._cached: CachedEmbeddings | None = None
        if embeddings is not None:
            self._cached = embeddings if isinstance(embeddings, CachedEmbeddings) else CachedEmbeddings(
                embeddings, max_items=CACHE_ITEMS)

    def _vec(self, text: str, query: bool) -> np.ndarray:
        assert self._cached is not None
        v = self._cached.embed_query(text) if query else self._cached.embed_documents([text])[0]
        return np.asarray(v, dtype=np.float32)

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
        gloss: dict[str, tuple[str, ...]] = {}
        for entry in glossary():
            for en in entry.english:
                gloss.setdefault(en, entry.korean)
        hits = 0.0
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
        clauses = self.closest_clauses(sentence, passage)
        return clauses[0] if clauses else passage

    @staticmethod
    def closest_clauses(sentence: str, passage: str) -> list[str]:
        """The passage clauses sharing the most content terms with the sentence (ties all kept)."""
        s_terms = _terms_both_ways(sentence)
        scored = []
        for clause in _clauses(passage):
            overlap = len(s_terms & _terms_both_ways(clause))
            scored.append((overlap, clause))
        best = max((o for o, _ in scored), default=0)
        if best == 0:
            return []
        return [c for o, c in sorted(scored, key=lambda x: -x[0]) if o >= max(1, best - 1)]

    def hard_checks(self, sentence: str, passage: str, stages: tuple[int, ...] = ()) -> list[str]:
        fired = []
        # A stage named in the sentence is supported by the cited chunk's stage metadata.
        if not numbers(sentence) <= numbers(passage) | set(stages):
            fired.append("number")
        if not dates(sentence) <= dates(passage):
            fired.append("date")
        if (not entities(sentence) <= entities(passage) or unknown_names(sentence, passage)
                or unknown_acronyms(sentence, passage)):
            fired.append("entity")
        if self.polarity_mismatch(sentence, passage):
            fired.append("negation")
        return fired

    def polarity_mismatch(self, sentence: str, passage: str) -> bool:
        """Some clause of the sentence says the opposite of every passage clause it talks about."""
        for clause in _clauses(sentence):
            if not content_terms(clause):
                continue
            closest = self.closest_clauses(clause, passage)
            if not closest:
                continue
            if all(negated(clause) != negated(c) for c in closest) or any(contrast_flipped(clause, c) for c in closest):
                return True
        return False

    def check(self, sentence: str, passages: list[str] | str, use_embeddings: bool = True,
              stages: tuple[int, ...] = ()) -> Verdict:
        """Verdict for one sentence against the text of the passage(s) it cites (and their stages)."""
        passage = passages if isinstance(passages, str) else " ".join(passages)
        fired = self.hard_checks(sentence, passage, stages)
        lex = self.lexical(sentence, passage)
        cos = self.cosine(sentence, passage) if use_embeddings else None
        soft = soft_support(lex, cos, self.t)
        if not soft:
            fired.append("weak_support")
        return Verdict(not fired, tuple(fired), lex, cos, self.best_sentence(sentence, passage))

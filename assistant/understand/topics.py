"""A map of what the article talks about, built from the corpus itself, and matched by meaning.

Units are the things an answer can quote: each capability item (①…, with its stage), each summary
heading ("(5명~수십명) 성장기에서 필요한 능력"), and every sentence of the commentary, intro and closing,
with who said it. Each unit is embedded in Korean and, when the document has an English rendering,
in English too, so "When does tech debt become my problem?" lands on "④ 기술 부채의 관리" (stage 2)
without a phrase list. Two lexical signals join the cosine: coverage of the question's rare article
terms (`LEXICAL_WEIGHT`), and a keyword score over the units (BM25, built by the caller and passed
in as `keywords`, since search is a sibling layer), normalised to the best unit (`KEYWORD_WEIGHT`).
The keyword score orders the units; thresholds (scope, focus) stay on the cosine and coverage, whose
absolute values they were set on.
Measured on the realistic dev split (188 answerable questions with gold evidence): the unit holding
the gold evidence ranked first for 0.356 of them with the cosine and coverage alone, 0.447 with BM25
fused (MRR 0.465 → 0.545); the weight sits on a flat plateau (0.06–0.10 all within 0.01).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from assistant.article.corpus import Corpus, Section
from assistant.article.profile import PROFILE
from assistant.article.rendering import Rendering
from assistant.text import content_terms, glossary_phrases, normalize, split_sentences, translate_terms
from assistant.vector_cache import cached_vectors, unit

_ITEM = re.compile(r"[①-⑳][^①-⑳]+")
# The title itself: nearly every unit and every question says "CTO", so e5 ranks by it unless removed.
ROLE_WORDS = re.compile(r"\b(?:a |an |the |as |our |my |your )?(?:CTOs?|chief technology officers?)(?:'s)?\b|"
                        r"CTO(?:는|가|의|로서|에게|라는|인|님|도|를|랑)?|최고\s*기술\s*책임자", re.I)
# Words that say nothing about the topic of a question about this article.
_GENERIC = {"cto", "단계", "stage", "stages", "회사", "company", "startup", "스타트업", "역할", "role", "능력", "필요",
            "need", "중요", "important", "생각", "think", "기업", "해야", "should", "what", "글", "article", "블로거",
            "blogger", "언제", "when", "몇", "부터", "하나", "become", "problem", "문제", "직접", "챙기",
            # pronouns and time words: in a few units by chance, never what a question is about
            "우리", "저희", "제가", "저는", "나", "지금", "요즘", "이제", "we", "our", "us", "my", "now", "규모", "size",
            # the form of a "what should I do?" ask, never its topic
            "job", "doing", "here", "right", "focus", "priority", "prioritize", "what'", "할까", "이번엔", "이번",
            "다르게", "먼저", "우선", "집중",
            # the form of asking what the article says about something ("글에서 …에 대해서는 뭐라고 하나요?",
            # "What does the blogger say about …?"), never its topic
            "대해서", "대해", "관해서", "관해", "뭐라고", "say", "says", "said", "mention", "talk", "work",
            # hedges and fillers ("그냥 슈퍼개발자인가요?", "basically a tech manager?"): how it is said, not what
            "그냥", "진짜", "정말", "솔직히", "혹시", "basically", "really", "actually", "honestly", "literally"}
# Korean verb and adjective forms ("들어가나요", "중요할까요"): unknown to the article but not a topic.
_KO_PREDICATE = re.compile(r"[가-힣](?:요|다|까|죠|지|고|서|면|데|며|네|니|나|게|군)$")
LEXICAL_WEIGHT = 0.05  # one fully shared rare term ≈ 0.05 of cosine (tuned on the dev split)
KEYWORD_WEIGHT = 0.08  # the best unit's BM25 score ≈ 0.08 of cosine (tuned on the dev split)
GLOSS_WEIGHT = 1.0  # a gloss closer than the unit's own words adds the difference to its rank (dev: 0.25-1.0 tried)
# The article's advice lives in its four stages (the source's items, MK's commentary per stage); the
# intro, closing and framing sentences (rhetorical questions like "슈퍼개발자?", the bookmark remark) are
# short or generic and close to many questions by chance. Units that belong to no stage rank this much
# lower, so a general remark leads only when it matches clearly better. Dev split, answerable questions:
# the gold unit ranked first for 0.516 → 0.548 / 0.569 / 0.559 / 0.548 at 0.02 / 0.04 / 0.06 / 0.08.
UNSTAGED_PENALTY = 0.04


class EmbedsText(Protocol):
    def embed_query(self, text: str) -> list[float]: ...
    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...


class ScoresText(Protocol):
    def scores(self, query: str) -> np.ndarray | None: ...


# Builds a keyword index over the units' texts (document number = unit position).
KeywordIndexer = Callable[[list[str]], ScoresText]


@dataclass(frozen=True)
class Unit:
    """One quotable thing the article says."""

    text: str  # verbatim Korean (or the document's language)
    kind: str  # item | heading | sentence
    stage: int | None
    section: str
    voice: str
    author: str
    doc_id: str
    order: int  # reading order in the corpus
    en: str | None = None  # the project's English rendering, when there is one
    rejected: bool = False  # the article calls it nonsense in the sentence after it ("…, 웃기는 말이겠죠.")
    glosses: tuple[str, ...] = ()  # what it means in plain words (the rendering's `gloss`): matched, never quoted
    rules_out: tuple[str, ...] = ()  # practices it advises against, in plain words (`rules_out`): matched only

    @property
    def number(self) -> int | None:
        """1 for "① …", for capability items."""
        return ord(self.text[0]) - 0x2460 + 1 if self.kind == "item" and self.text else None


@dataclass(frozen=True)
class Match:
    unit: Unit
    score: float  # cosine plus a small lexical bonus: what thresholds (scope, focus) are set on
    cosine: float
    lexical: float = 0.0  # share of the question's rare article terms that the unit contains
    keyword: float = 0.0  # the unit's BM25 score over the best unit's (0…1); ranks, never thresholds
    meaning: float = 0.0  # how much closer one of its plain-words glosses is than its own words; ranks only
    against: bool = False  # the closest of those is a practice the unit advises against (`rules_out`)

    @property
    def own_rank(self) -> float:
        """The rank by the unit's own words only (what scope, attribution and belief sides were tuned on)."""
        return self.score + KEYWORD_WEIGHT * self.keyword - (UNSTAGED_PENALTY if self.unit.stage is None else 0.0)

    @property
    def rank(self) -> float:
        return self.own_rank + GLOSS_WEIGHT * self.meaning


def section_units(section: Section, start: int, rendering: Rendering | None) -> list[Unit]:
    raw: list[tuple[str, str]] = []
    items = [m.group(0).strip() for m in _ITEM.finditer(section.text)] if section.section == "summary" else []
    if items:
        head = section.text.split("①")[0].strip()
        if head:
            raw.append(("heading", head))
        raw += [("item", i) for i in items]
    else:
        raw += [("sentence", s) for s in split_sentences(section.text) if len(s) >= 6]
    rejected = rejected_by_next([text for _, text in raw])
    out = []
    for i, (kind, text) in enumerate(raw):
        en = rendering.english(text) if rendering else None
        out.append(Unit(text, kind, section.stage, section.section, section.voice, section.author, section.doc_id,
                        start + i, en, i in rejected, rendering.glosses_of(text) if rendering else (),
                        rendering.rules_out_of(text) if rendering else ()))
    return out


# A short verdict that dismisses what was just said: "이게 말이 안되는 말이거든요...", "웃기는 말이겠죠.".
_DISMISSES = re.compile(r"말이 안\s*되|말도 안\s*되|웃기는 (?:말|얘기|소리)|어불성설|넌센스|\bnonsense\b|laughable|"
                        r"(?:does ?n[o']t|doesn't) make (?:any )?sense|makes? no sense|\babsurd\b", re.I)
_TRAILS_OFF = re.compile(r"(?:\.{2,}|…)\s*$")


def rejected_by_next(sentences: list[str]) -> set[int]:
    """Indices of sentences that a following short verdict dismisses: the one just before the verdict,
    and before it those that trail off into it ("…평가의 기준으로 이야기 하는 건... 쫌..." / "반대로 … 또한..." /
    "웃기는 말이겠죠."). The article states such things only to reject them, so a question that matches one
    must not be told "yes"."""
    out: set[int] = set()
    for r, verdict in enumerate(sentences):
        if r == 0 or len(verdict) > 40 or not _DISMISSES.search(verdict):
            continue
        i = r - 1
        out.add(i)
        while i - 1 >= 0 and _TRAILS_OFF.search(sentences[i - 1]) and not _DISMISSES.search(sentences[i - 1]):
            i -= 1
            out.add(i)
    return out


def topic_text(text: str) -> str:
    """The text without the title "CTO", which would otherwise dominate every similarity."""
    return re.sub(r"\s{2,}", " ", ROLE_WORDS.sub(" ", text)).strip() or text


def terms_of(text: str) -> set[str]:
    return content_terms(text) - _GENERIC


class TopicMap:
    """The article's units, embedded once (cached beside the index), searchable by a question."""

    def __init__(self, corpus: Corpus, renderings: dict[str, Rendering], embeddings: EmbedsText,
                 cache_dir: Path | None = None, key: str = "", keywords: KeywordIndexer | None = None) -> None:
        self.embeddings = embeddings
        self._queries: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()  # the web UI answers sessions in parallel
        units: list[Unit] = []
        for section in corpus.sections:
            # Only the article's own attributed sections: another document dropped into the corpus is
            # still searchable (retrieval), but never becomes part of the article's map of topics.
            if PROFILE.is_article(section.voice, section.author):
                units += section_units(section, len(units), renderings.get(section.doc_id))
        self.units = units
        embed = embeddings.embed_documents
        self.ko = cached_vectors(cache_dir, f"{key}|units-ko", [topic_text(u.text) for u in units], embed)
        self.en = cached_vectors(cache_dir, f"{key}|units-en", [topic_text(u.en or u.text) for u in units], embed)
        # Hubness correction: a long, generic sentence is close to every question; subtract how close
        # each unit is to the article on average so that specific units can win.
        self.hub_ko = (self.ko @ self.ko.T).mean(axis=1) if len(units) else self.ko
        self.hub_en = (self.en @ self.en.T).mean(axis=1) if len(units) else self.en
        # Plain-words meanings, one row each, matched in either language: a unit is as close as its closest
        # meaning (less that meaning's own closeness to the whole article, like the hub correction above).
        rows = [(i, g, False) for i, u in enumerate(units) for g in u.glosses] + \
               [(i, g, True) for i, u in enumerate(units) for g in u.rules_out]
        self.gloss_of = [i for i, _, _ in rows]
        self.gloss_against = np.array([against for _, _, against in rows], dtype=bool)
        self.gloss = cached_vectors(cache_dir, f"{key}|units-gloss", [g for _, g, _ in rows], embed)
        self.hub_gloss = (self.gloss @ self.ko.T).mean(axis=1) if self.gloss_of else np.zeros(0, np.float32)
        self.terms = [terms_of(f"{u.text} {u.en or ''} {translate_terms(u.en or '')}") for u in units]
        df: dict[str, int] = {}
        for ts in self.terms:
            for t in ts:
                df[t] = df.get(t, 0) + 1
        n = max(1, len(units))
        # Terms in more than a quarter of the units (기술, 팀…) carry no topic.
        self.idf = {t: math.log(1 + n / (1 + c)) for t, c in df.items() if c <= n / 4}
        self.common = {t for t, c in df.items() if c > n / 4}
        self.max_idf = math.log(1 + n)
        # Korean text plus its English rendering: one index serves questions in either language.
        self.keywords = keywords([f"{u.text} {u.en or ''}" for u in units]) if keywords and units else None

    def vector(self, question: str) -> np.ndarray:
        """The question's e5 query vector without the title words (memoised: plans ask again)."""
        key = topic_text(question)
        with self._lock:
            v = self._queries.get(key)
        if v is None:
            v = unit(self.embeddings.embed_query(key))
            with self._lock:
                if len(self._queries) > 512:
                    self._queries.pop(next(iter(self._queries)))
                self._queries[key] = v
        return v

    def match(self, question: str, *, english: bool, stages: tuple[int, ...] = (),
              kinds: tuple[str, ...] = (), words: str | None = None) -> list[Match]:
        """Units ranked by closeness to the question (optionally only some stages or kinds).

        `words`: a longer text to take the rare terms and keywords from than the one embedded (the
        whole present situation, when only the asks are embedded: one e5 call per question)."""
        q = self.vector(question)
        question = words or question
        cos = self.ko @ q - self.hub_ko
        if english:
            cos = np.maximum(cos, self.en @ q - self.hub_en)
        # A unit's glosses may rank it higher, never lift it over a threshold (scope, focus): a question on
        # "one-on-one techniques" is no closer to what the article covers for a gloss that names 1:1s.
        meant = cos.copy()
        against = np.zeros(len(self.units), dtype=bool)
        if self.gloss_of:
            g = self.gloss @ q - self.hub_gloss
            np.maximum.at(meant, self.gloss_of, g)
            # the unit's closest gloss row, if closer than its own words, says whether it is ruled out
            for r in np.flatnonzero(self.gloss_against):
                i = self.gloss_of[r]
                if g[r] >= meant[i] and g[r] > cos[i]:
                    against[i] = True
        # Terms the article never uses count at full weight: a question about "외주 개발사" is mostly about
        # something the article does not cover, however well its one word "관리" matches.
        q_terms = self.topic_terms(question)
        total = sum(self.idf.get(t, self.max_idf) for t in q_terms) or 1.0
        # Only the terms that carry a topic: "stage", "company", "CTO" would match half the article.
        kw = self.keywords.scores(" ".join(sorted(q_terms))) if self.keywords is not None and q_terms else None
        kw = kw / kw.max() if kw is not None and kw.max() > 0 else np.zeros(len(self.units))
        out = []
        for i, u in enumerate(self.units):
            if stages and u.stage not in stages:
                continue
            if kinds and u.kind not in kinds:
                continue
            lexical = sum(self.idf[t] for t in q_terms & self.terms[i]) / total
            out.append(Match(u, float(cos[i]) + LEXICAL_WEIGHT * lexical, float(cos[i]), lexical, float(kw[i]),
                             float(meant[i] - cos[i]), bool(against[i])))
        return sorted(out, key=lambda m: -m.rank)

    def unit_terms(self, u: Unit) -> set[str]:
        """The unit's terms, Korean and English rendering (with its Korean aliases), as computed at load."""
        return self.terms[u.order if self.units[u.order] is u else self.units.index(u)]

    def topic_terms(self, text: str) -> set[str]:
        """The text's terms that can carry a topic: the article's rare terms and words it never uses, without
        its common terms and Korean verb forms (English terms also bring their Korean glossary aliases)."""
        return {t for t in terms_of(f"{topic_text(text)} {translate_terms(topic_text(text))}")
                if t in self.idf or (t not in self.common and not _KO_PREDICATE.search(t))}

    def item_of_term(self, text: str) -> Unit | None:
        """The capability item that the text names by a term no other unit of the article uses for a
        capability ("채용" → ⑤ 기술팀의 인재 영입(채용), "hiring" through the glossary), if any."""
        items = [(u, ts) for u, ts in zip(self.units, self.terms, strict=True) if u.kind == "item"]
        words = self.topic_terms(text)
        for u, ts in items:
            own = {t for t in ts & words if len(t) >= 2 and not any(t in other for v, other in items if v is not u)}
            if own and any(self.idf.get(t, 0.0) >= self.max_idf * 0.6 for t in own):
                return u
        return None

    def known_share(self, text: str) -> float:
        """Share (idf-weighted) of the text's topic terms that occur anywhere in the article; terms the
        article never uses weigh the most. "tech debt or hiring" → 1.0; "microservices or a monolith" → 0."""
        terms = self.topic_terms(text)
        # A user's own word for one of the article's terms ("코딩" for 구현, "hands-on") counts through
        # that term, not as a word the article never uses.
        for phrase, article_terms in glossary_phrases(topic_text(text)):
            if any(terms_of(a) & self.idf.keys() for a in article_terms):
                terms -= {t for t in terms_of(phrase) if t not in self.idf}
        # A Korean word the article uses only inside a compound ("개발자" in "슈퍼개발자", "관리자" in
        # "기술관리자") is the article's word too: Korean writes compounds as one word.
        known = {t: self.idf.get(t) or self._compound_idf(t) for t in terms}
        total = sum(known[t] or self.max_idf for t in terms)
        return sum(v for v in known.values() if v) / total if total else 0.0

    def _compound_idf(self, term: str) -> float | None:
        """The idf of the article's rarest Korean compound that holds `term` (three syllables or more), if any."""
        if len(term) < 3 or not re.fullmatch(r"[가-힣]+", term):
            return None
        holders = [v for t, v in self.idf.items() if term in t and t != term]
        return max(holders) if holders else None

    def named_item(self, text: str) -> Unit | None:
        """The capability item the text names nearly word for word ("초기 기술 스택 선정", "managing
        technical debt"): at least two of the item's terms, three quarters of them, in the text."""
        words = terms_of(f"{text} {translate_terms(text)}")
        best: tuple[float, Unit] | None = None
        for u in self.units:
            if u.kind != "item":
                continue
            # The Korean item and its English rendering, each on its own (a text names it in one language).
            for ts in (terms_of(u.text), terms_of(f"{u.en or ''} {translate_terms(u.en or '')}")):
                share = len(ts & words) / len(ts) if len(ts) >= 2 else 0.0
                if share >= 0.75 and (best is None or share > best[0]):
                    best = (share, u)
        return best[1] if best else None

    def dismissal(self, u: Unit) -> list[Unit]:
        """For a rejected unit, the sentences after it through the verdict that dismisses it: quoted alone,
        "…평가의 기준으로 이야기 하는 건... 쫌..." does not say what the article thinks of it."""
        out: list[Unit] = []
        for x in self.units[u.order + 1:] if u.rejected else []:
            if x.section != u.section or x.doc_id != u.doc_id:
                break
            out.append(x)
            if not x.rejected:
                break
        return out

    def items(self, stage: int) -> list[Unit]:
        return [u for u in self.units if u.stage == stage and u.kind == "item"]

    def heading(self, stage: int) -> Unit | None:
        return next((u for u in self.units if u.stage == stage and u.kind == "heading"), None)

    def find(self, text: str) -> Unit | None:
        t = normalize(text).strip()
        return next((u for u in self.units if u.text == t), None)

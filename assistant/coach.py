"""The one entry point: `Coach.from_settings(settings)` builds the whole pipeline once.

question + history → input checks → intent (answer / out of scope / premise / injection) → stage
diagnosis → standalone retrieval query → hybrid retrieval → answer (extractive composer, or an LLM
whose sentences are verified) → `Answer`. The CLI, the web UI and `make eval` are thin adapters
over `ask`/`stream`, so the eval measures exactly what users get.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.answer.compose import (
    BLOGGER_AUTHOR,
    SOURCE_AUTHOR,
    AnswerBuilder,
    compose_general,
    compose_injection,
    compose_premise,
    compose_refusal,
    compose_stage,
    diagnosis_line,
)
from assistant.answer.verifier import SupportChecker, entities
from assistant.article.corpus import STAGE_NAMES_KO, Corpus, load_corpus
from assistant.errors import CoachError
from assistant.search.embeddings import make_embeddings
from assistant.search.retrieval import HybridRetriever
from assistant.search.store import build_index, index_status, live_generation, open_index
from assistant.settings import Settings, load_settings
from assistant.text import content_terms, is_korean, split_sentences, translate_terms
from assistant.types import Answer, Chunk, Delta, Final, Passage, StageInfo
from assistant.understand.diagnosis import NONE, Diagnosis, diagnose, is_followup, override
from assistant.understand.scope import classify, premise_claim
from assistant.understand.validation import check_stage, clean_history, clean_question

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

log = logging.getLogger("cto_coach")

# Below both of these, no passage is close enough to answer from (looked at on evals/cases.jsonl).
# e5 cosines run higher for Korean text than for English, hence one threshold per language.
MIN_DENSE = {"ko": 0.84, "en": 0.79}
MIN_BM25 = 4.0
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


@dataclass
class Coach:
    settings: Settings
    corpus: Corpus
    embeddings: Embeddings
    retriever: HybridRetriever
    checker: SupportChecker
    llm: object | None = None  # assistant.answer.llm.LLMAnswerer when settings.llm is set
    index_note: str | None = None
    _stages: list[StageInfo] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, progress: bool = False) -> Coach:
        settings = settings or load_settings()
        corpus = load_corpus(settings.corpus_dir)
        embeddings = make_embeddings(settings.embedder)
        note = None
        if settings.auto_index:
            status = index_status(settings, corpus)
            if status in ("missing", "stale"):
                report = build_index(settings, embeddings, corpus=corpus, progress=progress)
                note = report.summary()
        index = open_index(settings, embeddings)
        retriever = HybridRetriever.from_settings(index, embeddings, settings)
        coach = cls(settings, corpus, embeddings, retriever, SupportChecker(embeddings), index_note=note)
        if settings.llm:
            from assistant.answer.llm import LLMAnswerer

            coach.llm = LLMAnswerer.from_settings(settings, coach.checker)
        return coach

    @property
    def mode(self) -> str:
        return f"llm:{self.settings.llm}" if self.llm is not None else "extractive"

    @property
    def mode_label(self) -> str:
        if self.llm is not None:
            return f"LLM {self.settings.llm} · verifier: {self.settings.verifier_policy}"
        return "extractive (no LLM): answers quote the article verbatim"

    def stages(self) -> list[StageInfo]:
        """The four stages as the corpus states them (for the UI's Stages tab)."""
        if self._stages:
            return self._stages
        out = []
        for stage in (1, 2, 3, 4):
            summary = [s for s in self.corpus.sections
                       if s.stage == stage and s.section == "summary" and s.author == SOURCE_AUTHOR]
            comment = [s for s in self.corpus.sections
                       if s.stage == stage and s.section == "commentary" and s.author == BLOGGER_AUTHOR]
            if not summary and not comment:
                continue
            out.append(
                StageInfo(
                    stage=stage,
                    name=(summary[0].stage_name if summary and summary[0].stage_name else STAGE_NAMES_KO[stage]),
                    headcount=summary[0].headcount if summary else None,
                    capabilities=tuple(f"{chr(0x2460 + i)} {item}" for i, item in enumerate(summary[0].items)) if summary else (),
                    summary_text=summary[0].text if summary else "",
                    commentary_title=comment[0].title if comment else "",
                    commentary=comment[0].text if comment else "",
                )
            )
        self._stages = out
        return out

    # --- answering ------------------------------------------------------------------------
    def ask(self, question: str, history: list | None = None, stage: int | str | None = None) -> Answer:
        final = None
        for event in self.stream(question, history, stage):
            if isinstance(event, Final):
                final = event.answer
        assert final is not None
        return final

    def refresh(self) -> bool:
        """Switch to a newer index generation if `cto-coach index` published one while we were serving.

        The old generation stays on disk until the one after, so queries already running on it finish;
        new queries use the new one. Cheap when nothing changed (one small file read).
        """
        if self.settings.chroma_host:
            return False
        try:
            live = live_generation(self.settings.index_dir)
        except CoachError:
            return False
        if live is None or live.name == self.retriever.index.generation:
            return False
        with self._lock:
            if live.name == self.retriever.index.generation:
                return False
            index = open_index(self.settings, self.embeddings)
            self.retriever = HybridRetriever.from_settings(index, self.embeddings, self.settings)
            self.corpus = load_corpus(self.settings.corpus_dir)
            self._stages = []
            log.info("switched to index generation %s", live.name)
        return True

    def stream(self, question: str, history: list | None = None, stage: int | str | None = None) -> Iterator[Delta | Final]:
        """Yield `Delta` pieces of the answer text as they are produced, then `Final(answer)`."""
        self.refresh()
        t0 = time.perf_counter()
        q = clean_question(question, self.settings.max_question_chars)
        hist = clean_history(history, self.settings.max_history_turns, self.settings.max_question_chars)
        fixed = check_stage(stage)
        intent = classify(q)
        korean = is_korean(q)
        diag = override(fixed) if fixed else diagnose(intent.cleaned or q, hist)
        t1 = time.perf_counter()
        b = AnswerBuilder(korean)
        if intent.kind == "injection":
            compose_injection(b)
            answer = self._answer(q, b, NONE, "refusal", [], {"diagnosis": (t1 - t0) * 1e3})
            yield from self._emit(answer)
            return
        text = intent.cleaned or q
        if intent.kind == "premise":
            query = premise_claim(text)
            passages = self.retriever.retrieve(query, self.settings.top_k, diag.stage, diag.stages)
        else:
            query = self.standalone_query(text, hist, diag)
            passages = self.retriever.retrieve(query, self.settings.top_k, diag.stage, diag.stages)
        t2 = time.perf_counter()
        timings = {"diagnosis": (t1 - t0) * 1e3, "retrieval": (t2 - t1) * 1e3}

        if intent.kind == "out_of_scope":
            compose_refusal(b, intent.topic_ko, intent.topic_en, self._related(passages), text)
            kind = "refusal"
        elif intent.kind == "premise":
            kind = self._premise(b, query, passages, diag)
        elif diag.stage is None and not self._relevant(passages, korean):
            compose_refusal(b, "", "", None, text)
            kind = "refusal"
        elif self.llm is not None:
            yield from self._llm_stream(q, text, hist, diag, passages, timings, t2)
            return
        else:
            diag = self.stage_from_passages(diag, passages, korean)
            kind = self._extractive(b, text, diag, passages)
        timings["compose"] = (time.perf_counter() - t2) * 1e3
        answer = self._answer(q, b, diag, kind, passages, timings, query)
        yield from self._emit(answer)

    def extractive_answer(self, question: str, diag: Diagnosis, passages: list[Passage]) -> AnswerBuilder:
        b = AnswerBuilder(is_korean(question))
        self._extractive(b, question, diag, passages)
        return b

    def _extractive(self, b: AnswerBuilder, text: str, diag: Diagnosis, passages: list[Passage]) -> str:
        if diag.stage is None or diag.source == "retrieval":
            compose_general(b, text, self._focused(passages))
            return "general"
        diagnosis_line(b, diag)
        for stage in (diag.stages or (diag.stage,))[:2]:
            compose_stage(b, text, stage, self._stage_passages(stage, passages))
        top = passages[0] if passages else None
        if top and top.chunk.stage not in (diag.stages or (diag.stage,)) and self._specific(text, top):
            b.frame("**관련 구절**" if b.korean else "**Also relevant:**")
            compose_general_one(b, text, top)
        return "coaching"

    @staticmethod
    def _focused(passages: list[Passage]) -> list[Passage]:
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

    @staticmethod
    def stage_from_passages(diag: Diagnosis, passages: list[Passage], korean: bool) -> Diagnosis:
        """No stage in the question, but the passage that answers it belongs to one: say which."""
        if diag.stage is not None or not passages or passages[0].chunk.stage is None:
            return diag
        top = passages[0]
        if len(passages) > 1 and passages[1].chunk.stage not in (None, top.chunk.stage) and (
            (passages[1].dense or 0) >= (top.dense or 0)
        ):
            return diag  # two stages compete: no honest single answer
        cue = (f"질문에 답하는 구절이 {top.chunk.stage}단계에 속함" if korean
               else f"the passage that answers this is about stage {top.chunk.stage}")
        return Diagnosis(top.chunk.stage, 0.5, cue, "retrieval", (top.chunk.stage,))

    def _stage_passages(self, stage: int, passages: list[Passage]) -> list[Passage]:
        scored = {p.chunk.id: p for p in passages}
        return [scored.get(cid) or Passage(self.retriever.by_id[cid], 0.0) for cid in self.retriever.by_stage.get(stage, [])]

    def _specific(self, text: str, passage: Passage) -> bool:
        """Does the question name something only this off-stage passage talks about?"""
        q = content_terms(f"{text} {translate_terms(text)}") - {"cto", "단계", "stage", "회사", "company"}
        return len(q & content_terms(passage.chunk.text)) >= 2

    @staticmethod
    def _relevant(passages: list[Passage], korean: bool) -> bool:
        dense = max((p.dense or 0.0 for p in passages), default=0.0)
        bm25 = max((p.bm25 or 0.0 for p in passages), default=0.0)
        return dense >= MIN_DENSE["ko" if korean else "en"] or bm25 >= MIN_BM25

    def _related(self, passages: list[Passage]) -> Passage | None:
        for p in passages[:3]:
            if (p.bm25 or 0.0) >= MIN_BM25 * 1.5:
                return p
        return None

    def _premise(self, b: AnswerBuilder, claim: str, passages: list[Passage], diag: Diagnosis) -> str:
        """Check the claim inside "…, right?" against its closest sentence; confirm or correct it.

        Closeness weighs shared terms by their BM25 idf, names (glossary entities) triple, and prefers
        sentences stating the same kind of fact (a year, a number) as the claim.
        """
        q_terms = {t for t in content_terms(claim if is_korean(claim) else f"{claim} {translate_terms(claim)}") if len(t) >= 2}
        q_terms -= _PREMISE_GENERIC | _STAGE_WORDS
        named = {t for t in content_terms(" ".join(entities(claim)))}
        idf = self.retriever.bm25.idf
        default_idf = self.retriever.bm25.max_idf
        pool = {p.chunk.id: p for p in passages}
        for stage in diag.stages or ((diag.stage,) if diag.stage else ()):
            for p in self._stage_passages(stage, passages):
                pool.setdefault(p.chunk.id, p)
        claim_units = {u for u, rx in _UNITS.items() if rx.search(claim)}
        lexical: list[tuple[float, int, Passage, str]] = []
        for rank, p in enumerate(pool.values()):
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
            ((self.checker.cosine(claim, s) or 0.0) + 0.1 * score, r, p, s) for score, r, p, s in lexical[:8] if score > 0
        ]
        if not candidates:
            compose_refusal(b, "", "", None, claim)
            return "refusal"
        candidates.sort(key=lambda c: (-c[0], -c[1]))
        _, _, p, s = candidates[0]
        v = self.checker.check(claim, f"{p.chunk.author}: {s}")
        misattributed = self._attribution_error(claim, p)
        if v.hard_fail or misattributed:
            note = ""
            if misattributed:
                said, actual = misattributed
                note = (f"이 내용은 {actual}의 말입니다 ({said}의 말이 아닙니다)." if b.korean
                        else f"That is {actual}'s view, not {said}'s.")
            compose_premise(b, "contradict", p, s, note)
            return "correction"
        confirmed = v.supported and v.lexical >= PREMISE_MIN_LEXICAL
        compose_premise(b, "confirm" if confirmed else "absent", p, s)
        return "confirmation" if confirmed else "correction"

    @staticmethod
    def _attribution_error(claim: str, passage: Passage) -> tuple[str, str] | None:
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
        names = {"source": "Hosang Jeon", "blogger": "MK"}
        return names[said], names[passage.chunk.voice]

    def standalone_query(self, question: str, history: list[tuple[str, str]], diag: Diagnosis) -> str:
        """Rewrite a follow-up ("그 다음 단계는?", "why?") into a question that stands on its own."""
        parts = [question]
        if diag.source in ("followup", "history") and diag.stage:
            parts.append(f"{diag.stage}단계 {STAGE_NAMES_KO[diag.stage]} CTO 역할")
        elif len(question) < 25 and history and not is_followup(question):
            last_user = next((t for r, t in reversed(history) if r == "user"), "")
            if last_user and diag.source == "none":
                parts.append(last_user)
        return " ".join(parts)

    def _answer(self, q: str, b: AnswerBuilder, diag: Diagnosis, kind: str, passages: list[Passage],
                timings: dict[str, float], query: str = "") -> Answer:
        # Stage chunks the composer pulled in by metadata count as retrieved: list them after the ranked ones.
        seen = {p.chunk.id for p in passages}
        extra = [Passage(self.retriever.by_id[c.id], 0.0) for c in b.citations if c.id not in seen and c.id in self.retriever.by_id]
        return Answer(q, b.text, diag, b.citations, kind, self.mode, b.sentences, passages + extra, None, timings, query)

    @staticmethod
    def _emit(answer: Answer) -> Iterator[Delta | Final]:
        for line in answer.text.split("\n"):
            yield Delta(line + "\n")
        yield Final(answer)

    def _llm_stream(self, q: str, text: str, hist: list[tuple[str, str]], diag: Diagnosis, passages: list[Passage],
                    timings: dict[str, float], t2: float) -> Iterator[Delta | Final]:
        from assistant.answer.llm import llm_answer_stream

        fallback = self.extractive_answer(text, diag, passages)
        yield from llm_answer_stream(self, q, text, hist, diag, passages, timings, t2, fallback)


def compose_general_one(b: AnswerBuilder, question: str, passage: Passage) -> None:
    from assistant.answer.compose import _who, pick_sentences

    for s in pick_sentences(question, passage.chunk.text, 2):
        b.claim(s, passage, prefix=_who(passage, b.korean))


def chunk_label(chunk: Chunk) -> str:
    stage = f"{chunk.stage}단계" if chunk.stage else "전체"
    return f"{stage} · {chunk.section} · {chunk.author}"


__all__ = ["Coach", "CoachError"]

"""The one entry point: `Coach.from_settings(settings)` builds the whole pipeline once.

question + history → understand (input checks, then a typed `Question`: situation, asks, question
type, scope, stage diagnosis, the article's closest topics) → standalone retrieval query → hybrid
retrieval → answer (the answer plan for the question's type, or an LLM whose sentences are
verified) → `Answer`. One `Turn` carries what is known about the question
from step to step. The CLI, the web UI and `make eval` are thin adapters over `ask`/`stream`, so the
eval measures exactly what users get.

About 450 lines, on purpose: the pipeline, the one `Turn` it carries, the dispatch from question
type to answer plan, and the LangChain step hook are one sequence that reads top to bottom; the steps
themselves live in understand/, search/ and answer/.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from assistant.answer import passage_choice as plan
from assistant.answer.compose import (
    AnswerBuilder,
    compose_general,
    compose_general_one,
    compose_injection,
    compose_refusal,
    compose_stage,
    diagnosis_line,
)
from assistant.answer.plans import (
    PlanContext,
    judge,
    plan_attribution,
    plan_belief,
    plan_by_stage,
    plan_choice,
    plan_comparison,
    plan_decline,
    plan_overview,
    plan_stage_advice,
    plan_which_stage,
    plan_yes_no,
)
from assistant.answer.premise import check_premise
from assistant.answer.verifier import SupportChecker
from assistant.article.corpus import Corpus, load_corpus
from assistant.article.profile import BLOGGER_AUTHOR, SOURCE_AUTHOR, STAGE_NAMES_KO, label
from assistant.article.rendering import Rendering, load_renderings
from assistant.errors import CoachError, IndexUnavailableError
from assistant.search.bm25 import BM25
from assistant.search.embeddings import embeddings_for
from assistant.search.retrieval import HybridRetriever
from assistant.search.store import build_index, index_status, live_generation, open_index
from assistant.settings import Settings, load_settings
from assistant.text import is_korean
from assistant.types import Answer, AnswerKind, Chunk, Delta, Final, Passage, StageInfo
from assistant.understand.diagnosis import NONE, Diagnosis, is_followup, override
from assistant.understand.examples import ScopeExamples
from assistant.understand.question import Question, third_party, understand
from assistant.understand.scope import Intent, premise_claim
from assistant.understand.topics import ROLE_WORDS, TopicMap, Unit
from assistant.understand.validation import check_stage, clean_history, clean_question

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

    from assistant.answer.llm import LLMAnswerer
    from assistant.lc import CoachRetriever, CoachRunnable

# Coach.stream's optional observer: called with a step name and the data that step starts from.
StepHook = Callable[[str, dict[str, Any]], None]


def _no_steps(name: str, data: dict[str, Any]) -> None:
    pass

log = logging.getLogger("cto_coach")
T = TypeVar("T")


@dataclass(kw_only=True)
class Turn:
    """One question on its way to an `Answer`: what was understood, what was found, how long each step took."""

    question: str  # cleaned (length, control characters); what the Answer reports as asked
    history: list[tuple[str, str]]  # cleaned earlier turns, oldest first
    understood: Question  # the typed understanding: situation, asks, type, scope, topics
    korean: bool  # the language of the answer's framing
    diagnosis: Diagnosis
    query: str = ""  # what retrieval searched for (standalone query, or the premise's claim)
    passages: list[Passage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # ms per step, in order
    _lap: float = field(default_factory=time.perf_counter, repr=False)

    @property
    def intent(self) -> Intent:
        return self.understood.intent

    @property
    def text(self) -> str:
        """The question without instructions embedded in it: what is searched for and answered."""
        return self.intent.cleaned or self.question

    def lap(self, step: str) -> None:
        """Record the time since the previous lap as `step`."""
        now = time.perf_counter()
        self.timings[step] = (now - self._lap) * 1e3
        self._lap = now

    def since_lap(self) -> float:
        return (time.perf_counter() - self._lap) * 1e3


# "What is a CTO?" asks for a definition, which the article's intro gives; not the stage map.
_WHAT_A_CTO_IS = re.compile(r"어떤 사람|누구|무엇인가|뭔가요|뭐예요|무엇인지|란\s*(?:무엇|뭐)|\bwho (?:is|are)\b|"
                            r"\bwhat (?:is|'s|are) (?:an? |the )?ctos?\b|\bdefin", re.I)


@dataclass
class Coach:
    settings: Settings
    corpus: Corpus
    embeddings: Embeddings
    retriever: HybridRetriever
    checker: SupportChecker
    llm: LLMAnswerer | None = None  # when settings.llm is set
    index_note: str | None = None
    topics: TopicMap | None = None  # the article's units, matched by meaning (question understanding)
    examples: ScopeExamples | None = None  # labelled in/out-of-scope examples
    renderings: dict[str, Rendering] = field(default_factory=dict)  # English renderings, by document id
    _located: dict[str, Passage | None] = field(default_factory=dict, repr=False)
    _stages: list[StageInfo] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- construction ---------------------------------------------------------------------
    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, progress: bool = False) -> Coach:
        settings = settings or load_settings()
        corpus = load_corpus(settings.corpus_dir)
        embeddings = embeddings_for(settings)
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

    def __post_init__(self) -> None:
        if self.topics is None:
            self._load_understanding()

    def _load_understanding(self) -> None:
        """The topic map and scope examples, embedded once per corpus and embedder (cached beside the index)."""
        cache = Path(self.settings.index_dir) / "vectors"
        key = self.settings.embedder
        self.renderings = load_renderings(self.settings.corpus_dir)
        self.topics = TopicMap(self.corpus, self.renderings, self.embeddings, cache, key,
                               keywords=lambda texts: BM25.build([str(i) for i in range(len(texts))], texts))
        # Every plain-words meaning of what the article says is an in-scope example too: the labelled
        # examples cannot name every topic the article covers ("is the title a certificate of skill?", "a
        # P&L line for engineering"), the corpus can.
        self.examples = ScopeExamples(self.embeddings, cache, key,
                                      also_in=[g for u in self.topics.units for g in u.glosses])
        self._located = {}

    def locate(self, unit: Unit) -> Passage | None:
        """The indexed chunk that contains a unit of the article, as a passage to cite."""
        key = f"{unit.doc_id}\x1f{unit.order}\x1f{unit.text}"
        if key not in self._located:
            # The unit's own words find its chunk through BM25 (a few fetches by id); only if that misses
            # is every chunk read (chunks are fetched from Chroma, not held: a scan costs a read each).
            ranked = [cid for cid, _ in self.retriever.bm25.search(unit.text, 5)]
            fetched = self._on_live_index(lambda: self.retriever.index.fetch(ranked))
            candidates = [fetched[c] for c in ranked if c in fetched]

            def holds(chunk: Chunk) -> bool:
                return (chunk.doc_id == unit.doc_id and chunk.section == unit.section and chunk.stage == unit.stage
                        and unit.text in chunk.text)

            found = next((c for c in candidates if holds(c)), None)
            if found is None:
                found = next((c for c in self.retriever.by_id.values() if holds(c)), None)
            self._located[key] = Passage(found, 0.0) if found is not None else None
        return self._located[key]

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

    # --- LangChain ---------------------------------------------------------------------------
    def as_retriever(self, stage: int | str | None = None, k: int | None = None, *,
                     diagnose: bool = True) -> CoachRetriever:
        """This coach's hybrid retrieval as a LangChain `BaseRetriever` of `Document`s (see `assistant.lc`)."""
        from assistant.lc import make_retriever

        return make_retriever(self, stage, k, diagnose=diagnose)

    def as_runnable(self) -> CoachRunnable:
        """This coach as a LangChain `Runnable`: question or {"question", "history", "stage"} → `Answer`."""
        from assistant.lc import make_runnable

        return make_runnable(self)

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
            self._load_understanding()
            log.info("switched to index generation %s", live.name)
        return True

    def stream(self, question: str, history: list | None = None, stage: int | str | None = None, *,
               steps: StepHook | None = None) -> Iterator[Delta | Final]:
        """Yield `Delta` pieces of the answer text as they are produced, then `Final(answer)`.

        `steps` (optional, observe-only) is called as `steps(name, data)` when a pipeline step starts —
        "understand", "retrieve" (not for refused injections), "compose" — with the data it starts from,
        which is also what the step before produced. `assistant.lc` turns these into tracing child runs.
        """
        step = steps or _no_steps
        self.refresh()
        step("understand", {"question": question, "history": history, "stage": stage})
        turn = self.understand(question, history, stage)
        q = turn.understood
        b = self.builder(turn.korean)
        if q.qtype == "injection":
            step("compose", {"intent": turn.intent.kind, "diagnosis": NONE, "passages": []})
            compose_injection(b)
            yield from self._emit(self._answer(turn, b, "refusal", diagnosis=NONE))
            return
        self.search(turn, step)
        step("compose", {"passages": turn.passages})
        kind: AnswerKind
        direct: str | None = None
        if not q.in_scope:
            kind, direct = plan_decline(b, self._plan_context(), q)
        elif q.qtype == "belief":
            kind, direct = plan_belief(b, self._plan_context(), q)
        elif q.qtype == "premise":
            kind = check_premise(b, turn.query, self._premise_pool(turn), turn.diagnosis, self.checker,
                                 self.retriever.bm25.idf)
            direct = {"confirmation": "yes", "correction": "no"}.get(kind)
        elif turn.diagnosis.stage is None and q.qtype == "general" and not plan.relevant(turn.passages, turn.korean):
            compose_refusal(b, "", "", None, turn.text)
            kind = "refusal"
        elif self.llm is not None:
            yield from self._llm_stream(turn, self.llm)
            return
        else:
            kind, direct = self._plan(b, turn)
        turn.lap("compose")
        yield from self._emit(self._answer(turn, b, kind, direct=direct))

    def builder(self, korean: bool) -> AnswerBuilder:
        """An answer builder in the answer's language: English answers show the English renderings."""
        return AnswerBuilder(korean, None if korean else self.renderings)

    def _plan_context(self) -> PlanContext:
        assert self.topics is not None
        return PlanContext(self.topics, self.locate, self.checker)

    def _plan(self, b: AnswerBuilder, turn: Turn) -> tuple[AnswerKind, str | None]:
        """The answer plan for the question's type; sets the stage the answer shows on the turn."""
        ctx = self._plan_context()
        q = turn.understood
        diag = turn.diagnosis
        kind: AnswerKind
        if q.qtype == "overview":
            return plan_overview(b, ctx, q)
        if q.qtype == "which_stage":
            kind, direct = plan_which_stage(b, ctx, q, turn.passages)
            if direct and direct.startswith("stage:") and third_party(q.ask_text):
                # The stage of a company the article names, not the user's: the user's stays as it was,
                # with the named company's beside it.
                s = int(direct.split(":")[1])
                if diag.stage is not None and s not in diag.stages:
                    turn.diagnosis = replace(diag, stages=(*diag.stages, s))
            elif direct and direct.startswith("stage:"):
                s = int(direct.split(":")[1])
                cue = f"질문의 주제가 {s}단계 항목" if b.korean else f"the topic is a stage-{s} item"
                turn.diagnosis = Diagnosis(s, 0.7, cue, "retrieval", (s,))
            return kind, direct
        if q.qtype == "comparison" and len(diag.stages) >= 2:
            return plan_comparison(b, ctx, q)
        if q.options:  # an either-or ask (understanding only finds options in yes/no, general and stage asks)
            return plan_choice(b, ctx, q)
        if q.qtype == "yes_no":
            kind, direct = plan_yes_no(b, ctx, q, turn.passages)
            if diag.stage is None and direct in ("yes", "no"):
                # No stage in the question: the answer is about the stage of the passage it rests on.
                _, top = judge(ctx, q, q.topic_text)
                if top is not None and top.unit.stage:
                    s = top.unit.stage
                    cue = f"질문한 내용은 {s}단계" if b.korean else f"what is asked about belongs to stage {s}"
                    turn.diagnosis = Diagnosis(s, 0.6, cue, "retrieval", (s,))
            return kind, direct
        if q.qtype == "attribution":
            kind, direct, about = plan_attribution(b, ctx, q, turn.passages)
            if diag.stage is None and about:
                cue = f"질문한 구절은 {about}단계" if b.korean else f"the passage asked about is from stage {about}"
                turn.diagnosis = Diagnosis(about, 0.6, cue, "retrieval", (about,))
            return kind, direct
        if diag.stage is not None and diag.source != "retrieval":
            return plan_stage_advice(b, ctx, q)
        turn.diagnosis = plan.stage_from_passages(diag, turn.passages, turn.korean)
        if turn.diagnosis.stage is None and q.qtype == "general" and q.in_scope and not turn.history \
                and ROLE_WORDS.search(q.ask_text) and not _WHAT_A_CTO_IS.search(q.ask_text):
            # …about what the CTO does, not what a CTO is ("CTO는 어떤 사람인가요?": the intro answers that).
            return plan_by_stage(b, ctx, q)
        kind = self._extractive(b, turn.text, turn.diagnosis, turn.passages)
        return kind, (f"stage:{turn.diagnosis.stage}" if turn.diagnosis.stage else None)

    def understand(self, question: str, history: list | None, stage: int | str | None) -> Turn:
        """Clean the input, then understand it once: a typed `Question` (see understand/question.py)."""
        started = time.perf_counter()
        q = clean_question(question, self.settings.max_question_chars)
        hist = clean_history(history, self.settings.max_history_turns, self.settings.max_question_chars)
        fixed = check_stage(stage)
        understood = understand(q, hist, self.topics, self.examples, fixed=override(fixed) if fixed else None)
        turn = Turn(question=q, history=hist, understood=understood, korean=is_korean(q),
                    diagnosis=understood.diagnosis, _lap=started)
        turn.lap("diagnosis")
        return turn

    def search(self, turn: Turn, step: StepHook | None = None) -> None:
        """The retrieval query (the premise's claim, or the question made standalone) and its passages."""
        if turn.understood.qtype in ("premise", "belief"):
            turn.query = turn.understood.claim or premise_claim(turn.text)
        else:
            turn.query = self.standalone_query(turn.text, turn.history, turn.diagnosis)
        d = turn.diagnosis
        if step is not None:
            step("retrieve", {"query": turn.query, "intent": turn.intent.kind, "diagnosis": d})
        # Dense search reuses the vector the question was understood with (what is asked, without the
        # title words): one model call per question instead of two. BM25 still reads the whole query.
        vector = None
        if self.topics is not None and turn.query == turn.text:
            vector = self.topics.vector(turn.understood.topic_text).tolist()
        turn.passages = self._on_live_index(lambda: self.retriever.retrieve(
            turn.query, self.settings.top_k, d.stage, d.stages, vector=vector, english=not turn.korean))
        turn.lap("retrieval")

    def _on_live_index(self, read: Callable[[], T]) -> T:
        """Run a read of the index; if it fails because a rebuild published a newer generation and removed
        the one this coach had open (it keeps only the live one and the one before), switch and read again.
        A coach serving while `cto-coach index` runs twice would otherwise fail that query."""
        opened = self.retriever.index.generation
        try:
            return read()
        except IndexUnavailableError:
            # Switched here, or already by another session's query that hit the same removal first.
            if not self.refresh() and self.retriever.index.generation == opened:
                raise
            log.info("index generation replaced during a query; read again on the live one")
            return read()

    def extractive_answer(self, question: str, diag: Diagnosis, passages: list[Passage]) -> AnswerBuilder:
        b = self.builder(is_korean(question))
        self._extractive(b, question, diag, passages)
        b.finish()
        return b

    def _extractive(self, b: AnswerBuilder, text: str, diag: Diagnosis, passages: list[Passage]) -> AnswerKind:
        if diag.stage is None or diag.source == "retrieval":
            compose_general(b, text, plan.focused(passages))
            return "general"
        diagnosis_line(b, diag)
        for stage in (diag.stages or (diag.stage,))[:2]:
            compose_stage(b, text, stage, self._stage_passages(stage, passages))
        top = passages[0] if passages else None
        if top and top.chunk.stage not in (diag.stages or (diag.stage,)) and plan.specific(text, top):
            b.frame(label("compose.also_relevant", b.korean))
            compose_general_one(b, text, top)
        return "coaching"

    def _stage_passages(self, stage: int, passages: list[Passage]) -> list[Passage]:
        scored = {p.chunk.id: p for p in passages}
        return [scored.get(cid) or Passage(self.retriever.by_id[cid], 0.0) for cid in self.retriever.by_stage.get(stage, [])]

    def _premise_pool(self, turn: Turn) -> list[Passage]:
        """The retrieved passages, then the rest of the diagnosed stages' passages (a claim may be about them)."""
        pool = {p.chunk.id: p for p in turn.passages}
        d = turn.diagnosis
        for stage in d.stages or ((d.stage,) if d.stage else ()):
            for p in self._stage_passages(stage, turn.passages):
                pool.setdefault(p.chunk.id, p)
        return list(pool.values())

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

    def _answer(self, turn: Turn, b: AnswerBuilder, kind: AnswerKind, diagnosis: Diagnosis | None = None,
                direct: str | None = None) -> Answer:
        # Stage chunks the composer pulled in by metadata count as retrieved: list them after the ranked ones.
        b.finish()
        seen = {p.chunk.id for p in turn.passages}
        extra = [Passage(self.retriever.by_id[c.id], 0.0) for c in b.citations if c.id not in seen and c.id in self.retriever.by_id]
        return Answer(question=turn.question, text=b.text, diagnosis=diagnosis or turn.diagnosis, citations=b.citations,
                      kind=kind, mode=self.mode, sentences=b.sentences, passages=turn.passages + extra,
                      timings_ms=turn.timings, retrieval_query=turn.query, direct=direct,
                      question_type=turn.understood.qtype)

    @staticmethod
    def _emit(answer: Answer) -> Iterator[Delta | Final]:
        for line in answer.text.split("\n"):
            yield Delta(line + "\n")
        yield Final(answer)

    def _llm_stream(self, turn: Turn, llm: LLMAnswerer) -> Iterator[Delta | Final]:
        """The LLM writes the answer from plain values; its timings join the turn's (counted from retrieval)."""
        from assistant.answer.llm import LLMRequest, llm_answer_stream

        fallback = self.builder(turn.korean)
        self._plan(fallback, turn)
        fallback.finish()
        request = LLMRequest(question=turn.question, text=turn.text, history=turn.history, diagnosis=turn.diagnosis,
                             query=turn.query, passages=turn.passages, related=plan.related(turn.passages),
                             fallback=fallback, policy=self.settings.verifier_policy,
                             renderings=None if turn.korean else self.renderings)
        offset = turn.since_lap()
        for event in llm_answer_stream(llm, request):
            if isinstance(event, Final):
                timings = {k: v + offset for k, v in event.answer.timings_ms.items()}
                event = Final(replace(event.answer, timings_ms={**turn.timings, **timings}))
            yield event


__all__ = ["Coach", "CoachError", "Turn"]

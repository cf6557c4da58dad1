"""The typed results every adapter (CLI, UI, evals) consumes, and the kinds they are made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, cast

# How a citation's English texts are labelled in JSON (the rendering is the project's, not the author's).
TRANSLATION_BY = "English rendering by the CTO Coach project; the Korean original is authoritative."

# --- kinds ---------------------------------------------------------------------------------------
# What kind of answer the coach gave: a stage's coaching, a general (no-stage) answer, a refusal
# (out of scope, nothing relevant, or an injection), or the verdict on a premise ("…, right?").
AnswerKind = Literal["coaching", "general", "refusal", "correction", "confirmation"]
# Where a diagnosed stage came from, strongest evidence first; "retrieval" when no stage was in the
# question but the passage that answers it belongs to one; "none" when there is no stage.
DiagnosisSource = Literal[
    "stage_name", "stage_number", "followup", "headcount", "cue", "history", "override", "retrieval", "none"
]
# What the question asks for (understand/scope.classify):
#   answer            — a question to answer;
#   injection_answer  — a question to answer, after instructions embedded in it were removed (the
#                       answer is built from the cleaned text; nothing of the instruction remains);
#   out_of_scope      — a topic the article never discusses: refuse, naming the topic;
#   premise           — "…, right?": check the claim against the article (confirm or correct);
#   injection         — nothing but instructions to the coach: refuse.
IntentKind = Literal["answer", "injection_answer", "out_of_scope", "premise", "injection"]
# Who says it: the summarised source article, the blogger's own commentary, or any other document.
Voice = Literal["source", "blogger", "document"]
# Which part of a document a section (and its chunks) is; "body" for documents without banners.
SectionKind = Literal["intro", "summary", "commentary", "closing", "body"]
# The verdict on a premise question's claim.
PremiseVerdict = Literal["confirm", "contradict", "absent"]


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str
    doc_id: str
    section: SectionKind
    stage: int | None
    voice: Voice
    author: str
    title: str
    section_order: int
    position: int  # index of this chunk inside its section

    def metadata(self) -> dict[str, str | int]:
        """Chroma metadata (no None values allowed there: stage 0 means "no stage")."""
        return {
            "doc_id": self.doc_id,
            "section": self.section,
            "stage": self.stage or 0,
            "voice": self.voice,
            "author": self.author,
            "title": self.title,
            "section_order": self.section_order,
            "position": self.position,
        }

    @classmethod
    def from_store(cls, id_: str, text: str, meta: dict) -> Chunk:
        return cls(
            id=id_,
            text=text,
            doc_id=str(meta.get("doc_id", "")),
            section=cast(SectionKind, str(meta.get("section", "body"))),
            stage=int(meta.get("stage") or 0) or None,
            voice=cast(Voice, str(meta.get("voice", "document"))),
            author=str(meta.get("author", "")),
            title=str(meta.get("title", "")),
            section_order=int(meta.get("section_order", 0)),
            position=int(meta.get("position", 0)),
        )


@dataclass(frozen=True)
class Diagnosis:
    stage: int | None
    confidence: float
    cue: str  # the words in the question (or history) the stage came from
    source: DiagnosisSource
    stages: tuple[int, ...] = field(default=())  # every stage the question names (comparisons)
    headcount: int | None = None


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the scores that ranked it."""

    chunk: Chunk
    score: float  # fused score used for ranking
    dense: float | None = None  # cosine similarity, when the dense retriever saw it
    bm25: float | None = None


@dataclass(frozen=True)
class Citation:
    """What a `[n]` marker in the answer points to."""

    n: int
    id: str
    text: str  # the whole cited chunk
    quote: str  # the sentence(s) of the chunk that support the answer sentence
    stage: int | None
    section: SectionKind
    voice: Voice
    author: str
    score: float
    # English answers: the project's English rendering of `quote` and of `text` (None when the answer is
    # Korean or the document has no rendering). `quote`/`text` always stay the original.
    quote_en: str | None = None
    text_en: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "id": self.id,
            "text": self.text,
            "quote": self.quote,
            "text_en": self.text_en,
            "quote_en": self.quote_en,
            "translation": TRANSLATION_BY if self.text_en is not None else None,
            "stage": self.stage,
            "section": self.section,
            "voice": self.voice,
            "author": self.author,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of the answer: `claim` sentences must be supported by their cited passages."""

    text: str
    citations: tuple[int, ...]  # marker numbers
    claim: bool  # False for framing lines (headings, the diagnosis line, refusal boilerplate)
    supported: bool | None = None  # verifier verdict, None when not checked
    checks: tuple[str, ...] = ()  # which verifier checks fired
    # An English claim shown in the project's English rendering: the Korean original it renders (what
    # the cited passage says verbatim). None when `text` is itself the original.
    original: str | None = None


@dataclass(kw_only=True)
class Answer:
    """What the coach answered, and everything behind it. Built with keyword arguments only."""

    question: str
    text: str  # markdown with [n] markers
    diagnosis: Diagnosis
    citations: list[Citation]
    kind: AnswerKind
    mode: str  # "extractive" or "llm:<provider:model>"
    sentences: list[AnswerSentence] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)  # everything retrieved (for evals)
    notice: str | None = None  # e.g. the LLM failed and the extractive answer is shown
    timings_ms: dict[str, float] = field(default_factory=dict)
    retrieval_query: str = ""
    # The direct answer in machine-readable form: "stage:2", "yes", "no", "depends", "overview",
    # "compare", "source", "blogger"; for an either-or ask "first", "second", "both", "neither" (or
    # "depends"); None when the question has no single direct answer.
    direct: str | None = None
    question_type: str = ""

    @property
    def stage(self) -> int | None:
        return self.diagnosis.stage

    @property
    def refused(self) -> bool:
        return self.kind == "refusal"

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.text,
            "stage": self.stage,
            "refused": self.refused,
            "citations": [c.to_json() for c in self.citations],
            "kind": self.kind,
            "mode": self.mode,
            "diagnosis": {
                "stage": self.diagnosis.stage,
                "confidence": self.diagnosis.confidence,
                "cue": self.diagnosis.cue,
                "source": self.diagnosis.source,
            },
            "notice": self.notice,
            "direct": self.direct,
            "question_type": self.question_type,
        }


@dataclass(frozen=True)
class Delta:
    """A piece of answer text, streamed as it is produced."""

    text: str


@dataclass(frozen=True)
class Final:
    """The end of a stream: the complete, verified answer (its text may differ from the deltas)."""

    answer: Answer


@dataclass(frozen=True)
class StageInfo:
    """One stage for the UI's Stages tab, read from the corpus."""

    stage: int
    name: str
    headcount: str | None
    capabilities: tuple[str, ...]
    summary_text: str
    commentary_title: str
    commentary: str

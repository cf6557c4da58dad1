"""The extractive composer: a coaching answer built only from the article's own sentences.

No LLM, so nothing can be invented: every claim line is a verbatim sentence (or capability item)
of a cited chunk, and framing lines (headings, the diagnosis, refusal boilerplate) are marked as
such so the faithfulness metric can tell them apart. The structure follows what a coaching user
wants: which stage am I in and why, what the source article lists for it, what the blogger adds.
Korean questions get Korean framing; English questions get English framing around Korean quotes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.article.corpus import ARTICLE_AUTHORS, STAGE_NAMES_EN, STAGE_NAMES_KO
from assistant.text import content_terms, is_korean, split_sentences, translate_terms
from assistant.types import AnswerSentence, Citation, Passage
from assistant.understand.diagnosis import Diagnosis, explain

_ITEM = re.compile(r"[①-⑳][^①-⑳]+")
_GENERIC = {"cto", "단계", "중요", "필요", "역할", "능력", "시기", "글", "블로거", "글쓴이", "저자", "author", "article",
            "blogger", "stage", "회사", "기업", "company", "startup", "스타트업", "해야", "생각", "가장", "what", "say"}
_ADVICE = re.compile(r"중요|필요|해야|합니다|됩니다|역할|must|should")


@dataclass
class AnswerBuilder:
    """Accumulates markdown lines, numbered citations and the sentence list of one answer."""

    korean: bool
    lines: list[str] = field(default_factory=list)
    sentences: list[AnswerSentence] = field(default_factory=list)
    _cites: dict[str, Citation] = field(default_factory=dict)

    def cite(self, passage: Passage, quote: str) -> int:
        chunk = passage.chunk
        existing = self._cites.get(chunk.id)
        if existing:
            if quote not in existing.quote:
                self._cites[chunk.id] = Citation(**{**existing.__dict__, "quote": f"{existing.quote} {quote}".strip()})
            return existing.n
        n = len(self._cites) + 1
        self._cites[chunk.id] = Citation(
            n, chunk.id, chunk.text, quote, chunk.stage, chunk.section, chunk.voice, chunk.author, passage.score
        )
        return n

    def frame(self, text: str) -> None:
        self.lines.append(text)
        self.sentences.append(AnswerSentence(text, (), claim=False))

    def claim(self, quote: str, passage: Passage, bullet: str = "- ", prefix: str = "") -> None:
        n = self.cite(passage, quote)
        self.lines.append(f"{bullet}{prefix}{quote} [{n}]")
        self.sentences.append(AnswerSentence(quote, (n,), claim=True))

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    @property
    def citations(self) -> list[Citation]:
        return sorted(self._cites.values(), key=lambda c: c.n)

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()


def query_terms(question: str) -> set[str]:
    if is_korean(question):
        return content_terms(question)
    return content_terms(f"{question} {translate_terms(question)}")


def rank_sentences(question: str, sentences: list[str]) -> list[tuple[float, int, str]]:
    """(relevance, position, sentence), most relevant first: term overlap plus a nudge for advice."""
    q = query_terms(question) - _GENERIC
    scored = []
    for i, s in enumerate(sentences):
        terms = content_terms(s)
        overlap = len(q & terms) + 0.5 * sum(1 for t in q if len(t) >= 2 and t in s.lower() and t not in terms)
        scored.append((overlap + (0.3 if _ADVICE.search(s) else 0.0) - 0.01 * i, i, s))
    return sorted(scored, key=lambda x: -x[0])


def pick_sentences(question: str, text: str, limit: int, min_chars: int = 12) -> list[str]:
    """The `limit` most relevant sentences of a passage, in their original order."""
    sentences = [s for s in split_sentences(text) if len(s) >= min_chars]
    chosen = sorted(rank_sentences(question, sentences)[:limit], key=lambda x: x[1])
    return [s for _, _, s in chosen]


# The headings and prefixes below name the article's two authors, so only their own sections may appear
# under them: another document that copies the banner layout (careless or hostile) must not borrow them.
SOURCE_AUTHOR, BLOGGER_AUTHOR = ARTICLE_AUTHORS["source"], ARTICLE_AUTHORS["blogger"]


def is_voice(p: Passage, voice: str) -> bool:
    return p.chunk.voice == voice and p.chunk.author == (SOURCE_AUTHOR if voice == "source" else BLOGGER_AUTHOR)


def capability_items(text: str) -> list[str]:
    return [m.group(0).strip() for m in _ITEM.finditer(text)]


def _labels(korean: bool, stage: int) -> dict[str, str]:
    name = STAGE_NAMES_KO[stage]
    if korean:
        return {
            "source": f"**원문(Hosang Jeon, 2021-04-11)이 꼽는 {stage}단계 {name}의 CTO 능력**",
            "blogger": f"**블로거(MK)의 조언 — {stage}단계**",
        }
    return {
        "source": f"**What the source article (Hosang Jeon, 2021-04-11) lists for stage {stage}, {name} ({STAGE_NAMES_EN[stage]})** — quoted in Korean:",
        "blogger": f"**What the blogger (MK) adds for stage {stage}:**",
    }


def compose_stage(b: AnswerBuilder, question: str, stage: int, passages: list[Passage], commentary_limit: int = 4) -> None:
    """Source article's list for the stage, then the blogger's commentary, each line cited."""
    labels = _labels(b.korean, stage)
    summary = [p for p in passages if p.chunk.stage == stage and p.chunk.section == "summary" and is_voice(p, "source")]
    commentary = sorted(
        (p for p in passages if p.chunk.stage == stage and p.chunk.section == "commentary" and is_voice(p, "blogger")),
        key=lambda p: p.chunk.position,
    )
    if summary:
        b.frame(labels["source"])
        for p in summary:
            for item in capability_items(p.chunk.text) or pick_sentences(question, p.chunk.text, 3):
                b.claim(item, p)
        b.blank()
    if commentary:
        b.frame(labels["blogger"])
        pool = [(p, s) for p in commentary for s in split_sentences(p.chunk.text) if len(s) >= 12]
        ranked = rank_sentences(question, [s for _, s in pool])
        keep = {i for _, i, _ in ranked[:commentary_limit]} | {0}  # the first sentence names the stage
        for i, (p, s) in enumerate(pool):
            if i in keep:
                b.claim(s, p)
        b.blank()


def compose_general(b: AnswerBuilder, question: str, passages: list[Passage], limit: int = 3) -> None:
    """No stage: the most relevant passages, each introduced by who said it."""
    b.frame("**글에서 관련된 부분**" if b.korean else "**What the article says** — quoted in Korean:")
    for p in passages[:limit]:
        who = _who(p, b.korean)
        items = capability_items(p.chunk.text)
        if items:
            head = p.chunk.text.split("①")[0].strip()
            b.claim(head, p, prefix=who)
            for item in items:
                b.claim(item, p, bullet="  - ")
        else:
            for s in pick_sentences(question, p.chunk.text, 2):
                b.claim(s, p, prefix=who)
    b.blank()


def _who(p: Passage, korean: bool) -> str:
    c = p.chunk
    if is_voice(p, "source"):
        return "원문 요약(Hosang Jeon): " if korean else "Source article (Hosang Jeon): "
    if is_voice(p, "blogger"):
        return "블로거(MK): " if korean else "Blogger (MK): "
    return f"{c.doc_id}: "


def diagnosis_line(b: AnswerBuilder, diagnosis: Diagnosis) -> None:
    label = "**진단:** " if b.korean else "**Diagnosis:** "
    b.frame(label + explain(diagnosis, b.korean))
    b.blank()


def compose_refusal(b: AnswerBuilder, topic_ko: str, topic_en: str, related: Passage | None, question: str) -> None:
    if b.korean:
        b.frame(
            f"이 글은 {topic_ko or '이 질문의 주제'}에 대해서는 다루지 않습니다. 이 글(MK, 2021-06-29)은 Hosang Jeon의 "
            "「스타트업에서 CTO의 역할」을 요약해 회사 성장 4단계(암흑기·성장기·르네상스·성숙기)별로 CTO에게 필요한 능력을 "
            "정리하고, 단계별로 블로거의 의견을 덧붙인 글입니다."
        )
        b.frame("이런 질문에 답할 수 있습니다: “직원 20명인데 CTO로서 뭘 해야 하죠?”, “암흑기 CTO에게 필요한 능력은?”")
    else:
        b.frame(
            f"The article does not cover {topic_en or 'this topic'}. It (MK, 2021-06-29) summarises Hosang Jeon's "
            "“스타트업에서 CTO의 역할” — the CTO capabilities needed at each of four growth stages (암흑기, 성장기, 르네상스, "
            "성숙기) — and adds the blogger's own view of each stage."
        )
        b.frame("Try, for example: “We have 20 employees — what should I focus on as CTO?”")
    if related is not None:
        b.blank()
        b.frame("**가장 가까운 내용:**" if b.korean else "**The closest thing it does say:**")
        for s in pick_sentences(question, related.chunk.text, 1):
            b.claim(s, related, prefix=_who(related, b.korean))


def compose_injection(b: AnswerBuilder) -> None:
    if b.korean:
        b.frame("질문에 포함된 지시는 따르지 않습니다. 저는 이 글(CTO의 단계별 역할)에 근거해서만 답합니다. 글에 대한 질문을 해 주세요.")
    else:
        b.frame("I don't follow instructions embedded in a question; I only answer from the article on the CTO's role "
                "at each company stage. Please ask about that.")


def compose_premise(b: AnswerBuilder, verdict_kind: str, evidence: Passage, sentence: str, attribution_note: str = "") -> None:
    """verdict_kind: 'confirm' | 'contradict' | 'absent'."""
    if b.korean:
        head = {
            "confirm": "**네, 글에 그렇게 나옵니다.**",
            "contradict": "**아닙니다 — 글의 내용은 다릅니다.**",
            "absent": "**글에서 그런 내용은 찾을 수 없습니다.** 가장 가까운 구절은 이것입니다:",
        }[verdict_kind]
    else:
        head = {
            "confirm": "**Yes — the article says so.**",
            "contradict": "**No — the article says otherwise.**",
            "absent": "**The article does not say that.** The closest passage is:",
        }[verdict_kind]
    b.frame(head)
    if attribution_note:
        b.frame(attribution_note)
    b.claim(sentence, evidence, prefix=_who(evidence, b.korean))

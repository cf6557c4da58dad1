"""The extractive composer: a coaching answer built only from the article's own sentences.

No LLM, so nothing can be invented: every claim line is a verbatim sentence (or capability item)
of a cited chunk, and framing lines (headings, the diagnosis, refusal boilerplate) are marked as
such so the faithfulness metric can tell them apart. The structure follows what a coaching user
wants: which stage am I in and why, what the source article lists for it, what the blogger adds.
Korean questions get Korean framing and Korean quotes. English questions get English framing, and
each quoted unit is shown in the project's English rendering with the Korean original on the line
below it (`↳ Korean: …`); the citation and the answer sentence keep both texts. A document without a
rendering is quoted in its original language, with a note saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.article.profile import BLOGGER_AUTHOR, PROFILE, SOURCE_AUTHOR, label
from assistant.article.rendering import TRANSLATION_NOTE, Rendering, english_of
from assistant.text import content_terms, is_korean, split_sentences, translate_terms
from assistant.types import AnswerSentence, Citation, Passage, PremiseVerdict
from assistant.understand.diagnosis import Diagnosis, explain

_ITEM = re.compile(r"[①-⑳][^①-⑳]+")
_GENERIC = {"cto", "단계", "중요", "필요", "역할", "능력", "시기", "글", "블로거", "글쓴이", "저자", "author", "article",
            "blogger", "stage", "회사", "기업", "company", "startup", "스타트업", "해야", "생각", "가장", "what", "say"}
_ADVICE = re.compile(r"중요|필요|해야|합니다|됩니다|역할|must|should")
ORIGINAL_MARK = "↳ Korean: "  # the line under an English claim that shows the Korean original
_HANGUL = re.compile(r"[가-힣]")


def _position(text: str, quote: str) -> int:
    """Where `quote` starts in the chunk's text; quotes not found verbatim sort last, in citing order."""
    at = text.find(quote)
    return at if at >= 0 else len(text)


@dataclass
class AnswerBuilder:
    """Accumulates markdown lines, numbered citations and the sentence list of one answer.

    `renderings` (the corpus's English renderings, by document id) is given for English answers: each
    claim then shows the rendering of the quoted unit, followed by the Korean original on its own line.
    Without it (Korean answers, or callers that do not know the renderings) claims quote the original.
    """

    korean: bool
    renderings: dict[str, Rendering] | None = None
    lines: list[str] = field(default_factory=list)
    sentences: list[AnswerSentence] = field(default_factory=list)
    _cites: dict[str, Citation] = field(default_factory=dict)
    _claim_lines: set[int] = field(default_factory=set)
    _pieces: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)  # each citation's quotes
    _rendered: bool = False  # some claim was shown in the English rendering
    _original_only: bool = False  # some claim of a document without a rendering was quoted as it is
    _finished: bool = False

    @property
    def english(self) -> bool:
        """Claims are shown in English (an English answer, and the renderings are known)."""
        return not self.korean and self.renderings is not None

    def english_of(self, passage: Passage, text: str) -> str | None:
        """The English rendering of `text` (a unit or a run of units of the passage), for English answers."""
        if not self.english:
            return None
        return english_of(self.renderings or {}, passage.chunk.doc_id, text)

    def cite(self, passage: Passage, quote: str, quote_en: str | None = None) -> int:
        chunk = passage.chunk
        existing = self._cites.get(chunk.id)
        if existing:
            if quote not in existing.quote:
                # The quotes of one chunk read in the chunk's order, whatever order the answer cites
                # them in: a stage's heading before its capability item ("성숙기에 필요한 능력 ①기술
                # 경영"), so the citation reads as the passage does.
                pieces = self._pieces.setdefault(chunk.id, [(existing.quote, existing.quote_en)])
                pieces.append((quote, quote_en))
                pieces.sort(key=lambda qe: _position(chunk.text, qe[0]))
                joined = " ".join(q for q, _ in pieces).strip()
                joined_en = existing.quote_en
                if quote_en and existing.quote_en is not None:
                    joined_en = " ".join(e or "" for _, e in pieces).strip()
                self._cites[chunk.id] = Citation(**{**existing.__dict__, "quote": joined, "quote_en": joined_en})
            return existing.n
        n = len(self._cites) + 1
        text_en = self.english_of(passage, chunk.text)
        self._cites[chunk.id] = Citation(
            n, chunk.id, chunk.text, quote, chunk.stage, chunk.section, chunk.voice, chunk.author, passage.score,
            quote_en=(quote_en or self.english_of(passage, quote)) if text_en else None, text_en=text_en,
        )
        return n

    def quoted(self, text: str) -> bool:
        """Is this unit already quoted in the answer?"""
        return any(text in c.quote for c in self._cites.values())

    def frame(self, text: str) -> None:
        self.lines.append(text)
        self.sentences.append(AnswerSentence(text, (), claim=False))

    def claim(self, quote: str, passage: Passage, bullet: str = "- ", prefix: str = "") -> None:
        en = self.english_of(passage, quote)
        n = self.cite(passage, quote, en)
        self._claim_lines.add(len(self.lines))
        if en is None:
            self._original_only = self._original_only or self.english
            self.lines.append(f"{bullet}{prefix}{quote} [{n}]")
            self.sentences.append(AnswerSentence(quote, (n,), claim=True))
            return
        # Two trailing spaces: a Markdown line break, so the original sits on its own line in the chat too.
        self._rendered = True
        self.lines.append(f"{bullet}{prefix}{en} [{n}]  ")
        self._claim_lines.add(len(self.lines))
        self.lines.append(f"{' ' * len(bullet)}{ORIGINAL_MARK}{quote}")
        self.sentences.append(AnswerSentence(en, (n,), claim=True, original=quote))

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def finish(self) -> None:
        """Close an English answer: Korean units quoted inside framing or assembled sentences are replaced
        by their renderings (the original kept on the sentence), then the translation note — and a note
        for quotes left in the original language. Does nothing for Korean answers; runs once."""
        if self._finished or not self.english:
            return
        self._finished = True
        pairs = sorted(((ko, en) for r in (self.renderings or {}).values() for ko, en in r.pairs.items() if len(ko) >= 6),
                       key=lambda kv: -len(kv[0]))

        def localize(text: str) -> str:
            if not _HANGUL.search(text):
                return text
            for ko, en in pairs:
                if ko in text:
                    text = text.replace(ko, en)
            return text

        for i, line in enumerate(self.lines):
            if i not in self._claim_lines:
                self.lines[i] = localize(line)
        for i, s in enumerate(self.sentences):
            if s.original is None and _HANGUL.search(s.text):
                shown = localize(s.text)
                if shown != s.text:
                    self.sentences[i] = AnswerSentence(shown, s.citations, s.claim, s.supported, s.checks,
                                                       original=s.text if s.claim else None)
        if self._rendered:
            self.blank()
            self.frame(f"_{TRANSLATION_NOTE}_")
        if self._original_only:
            if not self._rendered:
                self.blank()
            self.frame(f"_{label('compose.original_only', False)}_")

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


def is_voice(p: Passage, voice: str) -> bool:
    """The headings and prefixes below name the article's two authors, so only their own sections may appear
    under them: another document that copies the banner layout (careless or hostile) must not borrow them."""
    return p.chunk.voice == voice and p.chunk.author == (SOURCE_AUTHOR if voice == "source" else BLOGGER_AUTHOR)


def capability_items(text: str) -> list[str]:
    return [m.group(0).strip() for m in _ITEM.finditer(text)]


def _labels(korean: bool, stage: int) -> dict[str, str]:
    return {
        "source": PROFILE.stage_label(stage, korean, "compose.source_heading"),
        "blogger": PROFILE.stage_label(stage, korean, "compose.blogger_heading"),
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
    b.frame(label("compose.general_heading", b.korean))
    for p in passages[:limit]:
        speaker = who(p, b.korean)
        items = capability_items(p.chunk.text)
        if items:
            head = p.chunk.text.split("①")[0].strip()
            b.claim(head, p, prefix=speaker)
            for item in items:
                b.claim(item, p, bullet="  - ")
        else:
            for s in pick_sentences(question, p.chunk.text, 2):
                b.claim(s, p, prefix=speaker)
    b.blank()


def who(p: Passage, korean: bool) -> str:
    """Who said the quoted line, as a prefix: "블로거(MK): "; other documents by their id."""
    if is_voice(p, "source"):
        return label("who.source", korean)
    if is_voice(p, "blogger"):
        return label("who.blogger", korean)
    return f"{p.chunk.doc_id}: "


def diagnosis_line(b: AnswerBuilder, diagnosis: Diagnosis) -> None:
    b.frame(label("diagnosis.prefix", b.korean) + explain(diagnosis, b.korean))
    b.blank()


def compose_refusal(b: AnswerBuilder, topic_ko: str, topic_en: str, related: Passage | None, question: str) -> None:
    topic = (topic_ko if b.korean else topic_en) or label("refusal.default_topic", b.korean)
    b.frame(label("refusal.scope", b.korean, topic=topic))
    b.frame(label("refusal.examples", b.korean))
    if related is not None:
        b.blank()
        b.frame(label("compose.closest", b.korean))
        for s in pick_sentences(question, related.chunk.text, 1):
            b.claim(s, related, prefix=who(related, b.korean))


def compose_injection(b: AnswerBuilder) -> None:
    b.frame(label("refusal.injection", b.korean))


def compose_premise(b: AnswerBuilder, verdict_kind: PremiseVerdict, evidence: Passage, sentence: str,
                    attribution_note: str = "") -> None:
    b.frame(label(f"premise.{verdict_kind}", b.korean))
    if attribution_note:
        b.frame(attribution_note)
    b.claim(sentence, evidence, prefix=who(evidence, b.korean))


def compose_general_one(b: AnswerBuilder, question: str, passage: Passage) -> None:
    """Two sentences of one more passage, introduced by who said them."""
    for s in pick_sentences(question, passage.chunk.text, 2):
        b.claim(s, passage, prefix=who(passage, b.korean))

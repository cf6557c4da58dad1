"""Parse an LLM's answer into sentences with their `[n]` markers, verify each against the passages it
cites, and assemble what the user sees.

    text ─► Units (one per sentence or heading; markers, list bullets, "(추론)" labels)
         ─► verify_units: markers point at given passages, no echoed instruction, SupportChecker verdict
         ─► assemble: drop (or flag) unsupported claims, renumber markers by first appearance, quotes
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from assistant.answer.llm.prompt import NOT_COVERED, strip_markers
from assistant.article.profile import label
from assistant.article.rendering import Rendering, english_of
from assistant.text import LEADING_MARKERS, MARKER_LIST, marker_numbers, split_sentences
from assistant.types import AnswerSentence, Citation, Passage
from assistant.understand.scope import has_instruction

if TYPE_CHECKING:
    from assistant.answer.verifier import SupportChecker, Verdict
    from assistant.settings import VerifierPolicy

INFERENCE_LABELS = ("(추론)", "(inference)", "(Inference)")
FLAG = "⚠"
# An LLM sentence must share at least this much of its content words with the passage it cites, even
# when the embedding cosine alone would pass it: e5 scores any on-topic Korean sentence ~0.86, so
# "암흑기 CTO는 매주 1:1 미팅을 해야 합니다" passed against the stage-2 commentary on cosine alone.
# On evals/checker_set.jsonl (all 338 rows) the floor raises recall of fabricated sentences from
# 0.833 to 0.876 for a precision of 0.724 instead of 0.760: for text shown to users, recall first.
LEXICAL_FLOOR = 0.3

_LIST_PREFIX = re.compile(r"^(\s*(?:[-*•·]|\d{1,2}[.)])\s+)")
_TAG_LINE = re.compile(r"(?:\s*</?[A-Za-z_][\w-]*(?:\s[^<>]*)?>)+\s*")
_HEADING = re.compile(r"^\s*(?:#{1,6}\s+.*|\*\*[^*]+\*\*\s*:?|[^.!?。\[\]]{1,60}:)\s*$")


@dataclass
class Unit:
    """One sentence (or heading) of the generated answer, where it sits, and what the verifier said."""

    line: int
    prefix: str  # list bullet, on the first unit of a line
    text: str  # as generated, markers inline
    markers: list[int]
    claim: bool
    inference: bool = False
    valid: bool = True  # every marker points at a passage the model was given
    verdict: Verdict | None = None
    checks: tuple[str, ...] = ()

    @property
    def plain(self) -> str:
        text = strip_markers(self.text)
        for inference in INFERENCE_LABELS:
            text = text.replace(inference, "")
        return text.strip()

    @property
    def supported(self) -> bool:
        return self.claim and self.valid and bool(self.markers) and self.verdict is not None and self.verdict.supported


def _sentences(line: str) -> list[str]:
    """split_sentences, with marker-only pieces ("[12]", "[1][2].") joined to the sentence they follow
    and markers at the start of a sentence ("…했다. [1] 다음") moved back to the previous one."""
    out: list[str] = []
    for piece in split_sentences(line):
        lead = LEADING_MARKERS.match(piece)
        if out and lead:
            out[-1] = f"{out[-1]} {lead.group(1).strip()}"
            piece = piece[lead.end():]
        if not piece.strip():
            continue
        if out and sum(ch.isalnum() for ch in MARKER_LIST.sub("", piece)) < 2:
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def parse_answer(text: str) -> list[Unit]:
    units: list[Unit] = []
    for i, raw in enumerate(text.replace("\r\n", "\n").split("\n")):
        line = raw.strip()
        if not line or line == NOT_COVERED or _TAG_LINE.fullmatch(line):
            continue  # nothing, or bare markup ("<answer>", "</question>") a weak model echoes
        if _HEADING.fullmatch(line) and not marker_numbers(line):
            units.append(Unit(i, "", line, [], claim=False))
            continue
        m = _LIST_PREFIX.match(line)
        prefix = ""
        if m:
            prefix, line = m.group(1).strip() + " ", line[m.end():]
        for j, s in enumerate(_sentences(line)):
            units.append(Unit(i, prefix if j == 0 else "", s, marker_numbers(s), claim=True,
                              inference=any(lbl in s for lbl in INFERENCE_LABELS)))
    return units


def source_label(p: Passage) -> str:
    """Who said it, prepended to the passage for checking: "원문(Hosang Jeon)에 따르면 …" meets the
    source article's chunks, and naming MK on a chunk of the source article is an entity mismatch."""
    c = p.chunk
    if c.voice in ("source", "blogger"):
        return label(f"checker.{c.voice}", True) + c.text
    return f"{c.author}: {c.text}"


def cited_text(p: Passage, renderings: dict[str, Rendering] | None = None) -> str:
    """What a claim citing `p` is checked against: who said it and the passage, and for English answers
    the project's English rendering of the passage too (the pair is one passage)."""
    en = english_of(renderings, p.chunk.doc_id, p.chunk.text) if renderings else None
    return f"{source_label(p)}\n{en}" if en else source_label(p)


def verify_units(units: list[Unit], passages: list[Passage], checker: SupportChecker, question: str,
                 renderings: dict[str, Rendering] | None = None) -> None:
    """Attach a verdict to every claim: markers must point at given passages and the cited text must
    support the sentence. A labelled inference may also lean on what the asker said (their headcount).
    `renderings` (English answers): a claim is checked against the cited passage and its English rendering."""
    for u in units:
        if not u.claim:
            continue
        if not u.markers:
            u.checks = ("no_citation",)
            continue
        if any(not 1 <= n <= len(passages) for n in u.markers):
            u.valid = False
            u.checks = ("bad_marker",)
            continue
        if has_instruction(u.plain):  # an instruction echoed from a passage or the question
            u.valid = False
            u.checks = ("instruction",)
            continue
        cited = [cited_text(passages[n - 1], renderings) for n in dict.fromkeys(u.markers)]
        if u.inference:
            cited.append(f"질문 question: {question}")
        v = checker.check(u.plain, cited)
        if v.lexical < LEXICAL_FLOOR:  # cosine alone said yes: on-topic is not the same as supported
            v = replace(v, supported=False, fired=(*v.fired, "low_overlap"))
        u.verdict = v
        u.checks = v.fired


@dataclass
class Verified:
    text: str
    sentences: list[AnswerSentence]
    citations: list[Citation]
    unsupported: int
    flagged: int
    kept_claims: int
    dropped_examples: list[str] = field(default_factory=list)


def _best_pair(checker: SupportChecker, sentence: str, p: Passage, rendering: Rendering) -> tuple[str, str] | None:
    """The passage sentence (original, rendering) whose rendering an English claim is closest to."""
    pairs = [(s, en) for s in split_sentences(p.chunk.text) if (en := rendering.english_text(s))]
    if not pairs:
        return None
    return max(pairs, key=lambda pair: checker.lexical(sentence, pair[1]))


def assemble(units: list[Unit], passages: list[Passage], checker: SupportChecker, policy: VerifierPolicy,
             renderings: dict[str, Rendering] | None = None) -> Verified:
    """The verified answer: drop (or flag) unsupported claims, renumber markers by first appearance.
    `renderings` (English answers): citations carry the passage's English rendering beside the original."""
    flag = policy == "flag"
    keep = [u for u in units if not u.claim or u.supported or flag]
    # A heading with no kept claim under it goes too.
    trimmed: list[Unit] = []
    for i, u in enumerate(keep):
        if not u.claim and (i + 1 >= len(keep) or not keep[i + 1].claim):
            continue
        trimmed.append(u)
    renumber: dict[int, int] = {}
    for u in trimmed:
        for n in u.markers:
            if u.claim and 1 <= n <= len(passages) and n not in renumber:
                renumber[n] = len(renumber) + 1
    quotes: dict[int, list[str]] = {}
    quotes_en: dict[int, list[str]] = {}
    sentences: list[AnswerSentence] = []
    lines: dict[int, list[str]] = {}
    prefixes: dict[int, str] = {}
    for u in trimmed:
        if not u.claim:
            lines.setdefault(u.line, []).append(u.text)
            sentences.append(AnswerSentence(u.text, (), claim=False))
            continue

        def sub(m: re.Match[str]) -> str:
            nums = [int(x) for x in re.split(r"\s*[,，]\s*", m.group(1))]
            return "".join(f"[{renumber[n]}]" for n in nums if n in renumber)

        shown = re.sub(r"\s+([.!?,])", r"\1", re.sub(r"\s{2,}", " ", MARKER_LIST.sub(sub, u.text))).strip()
        if not u.supported:
            shown = f"{FLAG} {shown}"
        new = tuple(dict.fromkeys(renumber[n] for n in u.markers if n in renumber))
        for old in dict.fromkeys(u.markers):
            if old in renumber and u.supported:
                p = passages[old - 1]
                rendering = (renderings or {}).get(p.chunk.doc_id)
                pair = _best_pair(checker, u.plain, p, rendering) if rendering else None
                q = pair[0] if pair else checker.best_sentence(u.plain, p.chunk.text)
                if q not in quotes.setdefault(old, []):
                    quotes[old].append(q)
                    if pair:
                        quotes_en.setdefault(old, []).append(pair[1])
        prefixes.setdefault(u.line, u.prefix)
        lines.setdefault(u.line, []).append(shown)
        sentences.append(AnswerSentence(u.plain, new, claim=True, supported=u.supported, checks=u.checks))
    text_lines = []
    for i in sorted(lines):
        text_lines.append(prefixes.get(i, "") + " ".join(lines[i]))
    citations = []
    for old, n in sorted(renumber.items(), key=lambda kv: kv[1]):
        p = passages[old - 1]
        c = p.chunk
        found = quotes.get(old) or [checker.best_sentence(" ".join(u.plain for u in trimmed if old in u.markers), c.text)]
        quote = " ".join(sorted(found, key=lambda s: (c.text.find(s), s)))  # in the passage's own order
        text_en = english_of(renderings, c.doc_id, c.text) if renderings else None
        quote_en = None
        if text_en:
            en_found = quotes_en.get(old) or [e for s in found if (e := english_of(renderings or {}, c.doc_id, s))]
            quote_en = " ".join(sorted(en_found, key=lambda s: (text_en.find(s), s))) or None
        citations.append(Citation(n, c.id, c.text, quote, c.stage, c.section, c.voice, c.author, p.score,
                                  quote_en=quote_en, text_en=text_en))
    unsupported = [u for u in units if u.claim and not u.supported]
    return Verified("\n".join(text_lines).strip(), sentences, citations, len(unsupported),
                    len(unsupported) if flag else 0, sum(1 for u in trimmed if u.claim and u.supported),
                    [u.text for u in unsupported])


def is_refusal(text: str) -> bool:
    """The model said the passages do not cover the question: NOT_COVERED first, or alone with a few
    words and no citation. A long uncited ramble that merely contains the token (a base model echoing
    the prompt) is not a refusal: it goes to the verifier like any other answer."""
    text = text.strip()
    if text.startswith(NOT_COVERED):
        return not marker_numbers(text)
    rest = text.replace(NOT_COVERED, "")
    return NOT_COVERED in text and not marker_numbers(rest) and len(rest.strip()) <= 40

"""Answer plans: one per question type, so the first sentence answers the question asked.

Each plan writes into an `AnswerBuilder` and returns `(kind, direct)`: the answer kind and the
direct answer in machine-readable form (`"stage:2"`, `"yes"`, `"no"`, `"depends"`, `"overview"`,
`"compare"`, `"source"`, `"blogger"`, or None). The order inside every plan is the same: the
direct answer first, then only the passages that bear on it — the unit the question is about, the
stage heading that places it, and at most a couple of the blogger's sentences that speak to it.

A direct-answer sentence that is not a verbatim quote is assembled from corpus facts (a capability
item, its stage heading) and is checked by the same `SupportChecker` as any other claim against
the passage it cites; if the checker does not accept it, it is shown as framing instead.

About 400 lines, on purpose: eight small plans share the same quoting helpers (`_quote`, `_who`,
`_commentary`, `_stage_block`, `judge`); one module per plan would scatter them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.answer.compose import (
    AnswerBuilder,
    compose_general,
    compose_refusal,
    diagnosis_line,
)
from assistant.answer.verifier import SupportChecker, negated
from assistant.article.profile import PROFILE, STAGE_NAMES_EN, STAGE_NAMES_KO
from assistant.text import entities, split_sentences, translate_terms
from assistant.types import AnswerKind, AnswerSentence, Passage
from assistant.understand.diagnosis import (
    cue_stage,
    diagnose_text,
    names_the_stage_model,
    stage_for_headcount,
)
from assistant.understand.question import ROLE_SAME, ROLE_VARIES, Question, points_back, quoted, third_party
from assistant.understand.topics import ROLE_WORDS, Match, TopicMap, Unit, terms_of, topic_text

STAGE_PREFERENCE = 0.02  # how much closer another stage's unit must be to beat the user's stage (dev-tuned)
FOCUS_MIN = 0.045  # topic score at which a question is about one specific unit (tuned on dev)
RELATED_MIN = 0.03  # commentary sentences at least this close are shown beside the lead unit
ADJACENT_MIN = 0.05  # a declined question's closest unit is cited only when at least this close
_ATTRIBUTION_WORDS = re.compile(r"\b(?:original|source|article|list|blogger|author|hosang|jeon|mk|post|from|said|"
                                r"wrote|addition|own|opinion|or|is|that|the|this|on|in)\b|원문|원래 글|블로거|저자|"
                                r"글쓴이|누가|한 말|말이에요|의견|생각|덧붙인|목록|Hosang Jeon|호상|출처", re.I)

Locate = Callable[[Unit], Passage | None]


@dataclass
class PlanContext:
    """What plans need besides the question: the topic map, a way from a unit to its passage, the checker."""

    topics: TopicMap
    locate: Locate  # the indexed chunk that contains a unit (for citing it)
    checker: SupportChecker


def stage_label(stage: int, korean: bool) -> str:
    s = PROFILE.stages[stage]
    if korean:
        rng = f" ({s.range_ko})" if stage != 4 else ""
        return f"{stage}단계 {s.ko}{rng}"
    rng = f", {s.range_en}" if stage != 4 else ""
    return f"stage {stage}, {s.ko} ({s.en}{rng})"


def _quote(b: AnswerBuilder, ctx: PlanContext, u: Unit, prefix: str = "", bullet: str = "- ") -> bool:
    p = ctx.locate(u)
    if p is None:
        return False
    b.claim(u.text, p, bullet=bullet, prefix=prefix)
    _cite_heading(b, ctx, u, p)
    return True


def _cite_heading(b: AnswerBuilder, ctx: PlanContext, u: Unit, p: Passage) -> None:
    """A capability item's citation carries its stage's heading ("④ 기술 부채의 관리" alone does not say
    it is stage 2's; "(5명~수십명) 성장기에서 필요한 능력" does), so the stage an answer gives an item is
    in the quoted evidence, not only in the framing. Added to the item's own citation (same chunk)."""
    if u.kind != "item" or not u.stage:
        return
    head = ctx.topics.heading(u.stage)
    hp = ctx.locate(head) if head is not None else None
    if head is not None and hp is not None and hp.chunk.id == p.chunk.id:  # never a citation of its own
        b.cite(hp, head.text)


def _checked_claim(b: AnswerBuilder, ctx: PlanContext, sentence: str, u: Unit) -> None:
    """A sentence built from corpus facts: a cited claim if the checker accepts it, else framing."""
    p = ctx.locate(u)
    # Lexical and hard checks only: the sentence is assembled from the passage's own words, so the
    # embedding comparison (two more model calls per answer) adds nothing but latency.
    if p is not None and ctx.checker.check(sentence, f"{p.chunk.author}: {p.chunk.text}", use_embeddings=False,
                                           stages=(u.stage,) if u.stage else ()).supported:
        n = b.cite(p, u.text)
        _cite_heading(b, ctx, u, p)
        b.lines.append(f"**{sentence}** [{n}]")
        b.sentences.append(AnswerSentence(sentence, (n,), claim=True))
    else:
        b.frame(f"**{sentence}**")


def _who(u: Unit, korean: bool) -> str:
    if u.section == "summary" and u.kind in ("item", "heading"):
        return "원문(Hosang Jeon): " if korean else "Source article (Hosang Jeon): "
    if u.voice in ("blogger", "source"):
        return "블로거(MK): " if korean else "Blogger (MK): "
    return f"{u.doc_id}: "


def _commentary(ctx: PlanContext, q: Question, stage: int, limit: int, exclude: set[str],
                at_least: int = 0) -> list[Unit]:
    """The blogger's sentences on this stage closest to the question: those above `RELATED_MIN`, and at
    least `at_least` of them even when none is that close (a stage answer always says what MK adds)."""
    ms = [m for m in q.match(ctx.topics, stages=(stage,))
          if m.unit.section == "commentary" and m.unit.text not in exclude]
    keep = [m.unit for m in ms if m.score >= RELATED_MIN][:limit]
    if len(keep) < at_least:
        keep += [m.unit for m in ms if m.unit not in keep][: at_least - len(keep)]
    return sorted(keep, key=lambda u: u.order)


def _stage_block(b: AnswerBuilder, ctx: PlanContext, q: Question, stage: int, *, lead: Unit | None,
                 commentary: int) -> None:
    """The stage's heading, its items (or just the lead item), and the blogger's sentences that bear on it."""
    head = ctx.topics.heading(stage)
    items = ctx.topics.items(stage)
    b.frame(("**원문(Hosang Jeon, 2021-04-11)의 " + f"{stage}단계**") if b.korean
            else f"**Source article (Hosang Jeon, 2021-04-11), stage {stage}:**")
    if head:
        _quote(b, ctx, head)
    shown = {lead.text} if lead else set()
    for it in items:
        if lead is None or it.text == lead.text or lead.kind != "item":
            if lead is not None and lead.kind == "item" and it.text != lead.text:
                continue
            _quote(b, ctx, it, bullet="  - ")
            shown.add(it.text)
    b.blank()
    extra = _commentary(ctx, q, stage, commentary, shown, at_least=1 if lead else 2)
    if lead is not None and lead.kind == "sentence" and lead.stage == stage:
        extra = sorted({u.text: u for u in [lead, *extra]}.values(), key=lambda u: u.order)[:max(1, commentary)]
    if extra:
        b.frame(f"**블로거(MK)의 의견 — {stage}단계**" if b.korean else f"**What the blogger (MK) adds for stage {stage}:**")
        for u in extra:
            _quote(b, ctx, u)
        b.blank()


def _placed(u: Unit, korean: bool) -> str:
    """" The article places this at stage N …" for a unit that belongs to a stage, else nothing."""
    if not u.stage:
        return ""
    return (f" 글은 이것을 {stage_label(u.stage, True)}의 일로 봅니다." if korean
            else f" The article places this at {stage_label(u.stage, False)}.")


def _quote_with_dismissal(b: AnswerBuilder, ctx: PlanContext, u: Unit) -> None:
    """The unit a verdict rests on, and the sentences that call it nonsense when the article does."""
    _quote(b, ctx, u, prefix=_who(u, b.korean))
    for x in ctx.topics.dismissal(u):
        if not b.quoted(x.text):
            _quote(b, ctx, x, prefix=_who(x, b.korean))


def _quote_with_context(b: AnswerBuilder, ctx: PlanContext, q: Question, u: Unit) -> None:
    """The unit a verdict rests on, then its stage heading (for an item) and the blogger's closest sentence."""
    _quote_with_dismissal(b, ctx, u)
    if not u.stage:
        return
    head = ctx.topics.heading(u.stage)
    if head is not None and u.kind == "item":
        _quote(b, ctx, head)
    for e in _commentary(ctx, q, u.stage, 1, {u.text}):
        _quote(b, ctx, e, prefix=_who(e, b.korean))


# Asking what comes first ("which of those matters most", "the biggest deal", "제일 중요한 건", "뭐부터");
# the article's own superlatives ("가장 중요", "젤 중요").
_PRIORITY_ASK = re.compile(r"\b(?:matters? (?:the )?most|most important|biggest deal|top priority|number[- ]one|first thing|"
                           r"focus on first|start with)\b|가장 중요|제일 중요|젤 중요|제일 먼저|가장 먼저|뭐부터|무엇부터|우선순위", re.I)
_SUPERLATIVE = re.compile(r"가장 중요|젤 중요|제일 중요")


def _puts_first(ctx: PlanContext, q: Question, stage: int) -> Unit | None:
    """The stage's sentence that says what matters most, when the ask is what comes first."""
    if not _PRIORITY_ASK.search(q.ask_text):
        return None
    return next((u for u in ctx.topics.units if u.stage == stage and u.kind == "sentence" and _SUPERLATIVE.search(u.text)), None)


def _lead(ctx: PlanContext, q: Question, stages: tuple[int, ...]) -> Match | None:
    """The unit the question is specifically about, within these stages, if any is close enough."""
    ms = ctx.topics.match(q.ask_text, english=not q.korean, stages=stages)
    ms = [m for m in ms if m.unit.kind in ("item", "sentence")]
    return ms[0] if ms and ms[0].score >= FOCUS_MIN else None


# --- plans ------------------------------------------------------------------------------------------


def _thesis(ctx: PlanContext) -> list[Unit]:
    """The intro's point that a CTO's job is not one fixed skill set (the sentence naming a certificate)."""
    return [u for u in ctx.topics.units if u.section == "intro" and "자격증" in u.text]


def plan_overview(b: AnswerBuilder, ctx: PlanContext, q: Question) -> tuple[AnswerKind, str | None]:
    intro = _thesis(ctx)
    framing = [u for u in ctx.topics.units if u.kind == "sentence" and "4단계로" in u.text]
    b.frame("**글의 답: CTO의 역할은 회사의 성장 단계에 따라 다릅니다.**" if b.korean
            else "**The article's answer: what a CTO does depends on the company's stage.**")
    for u in intro[:1] + framing[:1]:
        _quote(b, ctx, u, prefix=_who(u, b.korean))
    b.blank()
    for stage in (1, 2, 3, 4):
        head = ctx.topics.heading(stage)
        if head is None:
            continue
        _quote(b, ctx, head, prefix=f"**{stage_label(stage, b.korean)}** — ")
        for it in ctx.topics.items(stage):
            _quote(b, ctx, it, bullet="  - ")
    return "general", "overview"


_STATED_STAGE = re.compile(r"(?<![\d.])([1-4])(?:\.\d)?\s*단계")  # "4단계의 정점", "2단계쯤" ("2.5단계" → 2)


def plan_which_stage(b: AnswerBuilder, ctx: PlanContext, q: Question,
                     passages: list[Passage]) -> tuple[AnswerKind, str | None]:
    ranked = q.match(ctx.topics)
    named = third_party(q.ask_text)
    # "Amazon … which stage?": the sentences that name it and state its stage answer, wherever they sit
    # ("아마존은 3단계를 한참 전에 넘어서 4단계의 정점에 있지요" sits in the stage-3 commentary).
    saying = [m.unit for m in ranked if named and _STATED_STAGE.search(m.unit.text) and named & entities(m.unit.text)]
    if saying:
        said = int(_STATED_STAGE.findall(saying[0].text)[-1])
        # The sentence right after, when it goes on about stages ("정확하게는 회사는 2.5단계, 우리 IT는 2단계").
        after = next((u for u in ctx.topics.units if u.order == saying[0].order + 1
                      and u.section == saying[0].section and _STATED_STAGE.search(u.text)), None)
        saying = [saying[0], after] if after is not None else saying
        b.frame(f"**{stage_label(said, b.korean)}**")
        for u in sorted(saying[:2], key=lambda x: x.order):
            _quote(b, ctx, u, prefix=_who(u, b.korean))
        said_head = ctx.topics.heading(said)
        if said_head is not None:
            _quote(b, ctx, said_head)
        return "general", f"stage:{said}"
    staged = [m for m in ranked if m.unit.stage]
    if not staged or (ranked and not ranked[0].unit.stage and ranked[0].lexical > staged[0].lexical):
        # What is asked about sits outside the four stages (e.g. the closing: "알스퀘어는 2단계쯤"):
        # quote it rather than force a stage.
        return plan_general(b, ctx, q, passages)
    best = staged[0]
    u = best.unit
    stage = u.stage
    assert stage is not None
    if q.diagnosis.stage is not None and q.diagnosis.source == "headcount":
        diagnosis_line(b, q.diagnosis)  # the user's own stage beside the stage the topic belongs to
    head = ctx.topics.heading(stage)
    if head is not None and u.kind == "item":
        sentence = (f"{u.text} → {head.text}" if b.korean else f"{u.text} → {head.text} — {stage_label(stage, False)}")
        _checked_claim(b, ctx, sentence, u)
    else:
        b.frame(f"**{stage_label(stage, b.korean)}**")
        if head:
            _quote(b, ctx, head)
    _quote(b, ctx, u, prefix=_who(u, b.korean))
    b.blank()
    extra = _commentary(ctx, q, stage, 2, {u.text})
    if extra:
        b.frame(f"**블로거(MK)의 의견 — {stage}단계**" if b.korean else f"**What the blogger (MK) adds for stage {stage}:**")
        for e in extra:
            _quote(b, ctx, e)
    return "coaching", f"stage:{stage}"


def plan_stage_advice(b: AnswerBuilder, ctx: PlanContext, q: Question) -> tuple[AnswerKind, str | None]:
    d = q.diagnosis
    assert d.stage is not None
    diagnosis_line(b, d)
    stage = d.stage
    lead = _lead(ctx, q, (stage,))
    first = _puts_first(ctx, q, stage)
    if first is not None:
        # "Which of those matters most for us?": the article's own word on what comes first at this stage
        # ("이 단계는 체계를 잡는 것이 가장 중요하다고 생각합니다"), before the list.
        b.frame(f"**{stage}단계에서 가장 중요한 것 — {_who(first, True).rstrip(': ')}:**" if b.korean
                else f"**What {_who(first, False).rstrip(': ')} puts first at stage {stage}:**")
        _quote(b, ctx, first)
        b.blank()
        lead = None
    if lead is not None and lead.unit.kind == "item":
        b.frame(f"**이 질문에 해당하는 항목: {lead.unit.text}**" if b.korean else f"**The item this question is about: {lead.unit.text}**")
        b.blank()
    _stage_block(b, ctx, q, stage, lead=lead.unit if lead else None, commentary=2 if lead else 3)
    ambiguous = d.headcount is not None and 20 <= d.headcount < 100 and d.source == "headcount" and d.confidence < 0.8
    return "coaching", (None if ambiguous else f"stage:{stage}")


def plan_comparison(b: AnswerBuilder, ctx: PlanContext, q: Question) -> tuple[AnswerKind, str | None]:
    d = q.diagnosis
    stages = tuple(sorted(d.stages[:2]))
    asked = _asked_stage(q, stages)
    if asked is not None:
        other = next(s for s in stages if s != asked)
        b.frame(f"**{stage_label(asked, True)}** — 지금까지의 {stage_label(other, True)}와 비교:" if b.korean
                else f"**{stage_label(asked, False)}** — compared with {stage_label(other, False)}:")
    else:
        b.frame("**두 단계의 CTO 역할 비교:** " + " vs ".join(stage_label(s, True) for s in stages) if b.korean
                else "**Comparing the CTO's role at two stages:** " + " vs ".join(stage_label(s, False) for s in stages))
    # The article's own sentence that sets the CTO of these stages against each other ("3단계의 CTO는 …
    # 4단계의 CTO는 …"): found by the stages and the role it names, first.
    for u in ctx.topics.units:
        named = {int(n) for n in _STATED_STAGE.findall(u.text)}
        if u.kind == "sentence" and set(stages) <= named and ROLE_WORDS.search(u.text):
            _quote(b, ctx, u, prefix=_who(u, b.korean))
    b.blank()
    # What each stage says on the compared point ("how hands-on the CTO is with the team"), matched
    # without the stage names and numbers, which would otherwise pull in any sentence naming a stage;
    # close enough, or sharing one of the article's rare terms with it ("팀 운영"), else the stage's
    # description.
    point = _STAGE_MENTION.sub(" ", q.topic_text)
    # (a follow-up's new stage first and in full; where the company is now only by its heading and the
    # blogger's line on it)
    for stage in sorted(stages, key=lambda st: st != asked):
        head = ctx.topics.heading(stage)
        if head:
            _quote(b, ctx, head, prefix=f"**{stage_label(stage, b.korean)}** — ")
        for it in ctx.topics.items(stage) if asked in (None, stage) else []:
            _quote(b, ctx, it, bullet="  - ")
        said = [m.unit for m in q.match(ctx.topics, point, stages=(stage,))
                if m.unit.section == "commentary" and (m.score >= RELATED_MIN or m.lexical > 0)
                and not b.quoted(m.unit.text)][:1]
        for u in said or [u for u in ctx.topics.units if u.stage == stage and u.section == "commentary"][:1]:
            _quote(b, ctx, u, prefix=_who(u, b.korean))
        b.blank()
    return "coaching", ("compare" if asked is None else f"stage:{asked}")


def _asked_stage(q: Question, stages: tuple[int, ...]) -> int | None:
    """A follow-up that brings one new size ("ok and what changes once we hit 15?", "we just merged, now
    about 140 — does that change what I should do?") is compared with the conversation's stage, but what
    it asks about is the stage of that size. (A question that names the other side itself — "2명짜리
    스타트업이랑 대기업" — asks for the comparison.)"""
    told = {stage_for_headcount(s.n)[0] for s in q.situation.sizes if s.tense != "past"}
    if len(told) == 1 and len(q.situation.sizes) == 1 and next(iter(told)) in stages \
            and not _STAGE_MENTION.search(q.cleaned) and cue_stage(q.cleaned) is None:
        return next(iter(told))
    return None


_STAGE_MENTION = re.compile(
    r"(?<![\d.])[1-4](?:\.\d)?\s*단계|\bstages?\s*[1-4](?:\s*(?:and|vs\.?|or|,|&)\s*[1-4])*\b|"
    + "|".join(re.escape(n) for n in [*STAGE_NAMES_KO.values(), *STAGE_NAMES_EN.values()]), re.I)


_CLAUSE_KO = re.compile(r",\s*|(?<=고)\s+|(?<=며)\s+|(?<=면서)\s+")
_CONTRAST_KO = re.compile(r"보다는?\s+")  # "A보다는 B": A is what the article advises against
_CONTRAST_EN = re.compile(r"\b(?:rather than|instead of|more than|over)\b", re.I)  # "B rather than A"
_LESS_EN = re.compile(r"\b(?:less|fewer|reduce|stop|drop|throw it to the dogs|not|no|never|don't|doesn't|without)\b|n't\b", re.I)


# Negation that describes the situation, not what is advised: an adnominal "없는" before a noun ("제품이라는
# 것이 아예 없는 시기"), "there is no …", "has no …", "no … yet", "with no …".
_SITUATION_NEG = re.compile(r"없는\s+(?=[가-힣])|\bthere (?:is|are|was|were) no\b|\b(?:has|have|had|with) no\b|"
                            r"\bno\s+\w+(?:\s+\w+)?\s+yet\b", re.I)


def advice_negated(text: str) -> bool:
    """Does the text say not to do something (negation of the advice, not of the situation it describes)?"""
    return negated(_SITUATION_NEG.sub(" ", text))


def _clauses(u: Unit) -> list[tuple[str, bool]]:
    """(clause, advised against?) for the Korean text and the English rendering of a unit."""
    out: list[tuple[str, bool]] = []
    for part in _CLAUSE_KO.split(u.text):
        m = _CONTRAST_KO.search(part)
        if m:
            out += [(part[:m.start()], True), (part[m.end():], False)]
        else:
            out.append((part, advice_negated(part)))
    if u.en:
        for part in re.split(r",\s*|;\s*|\band\b", u.en):
            m = _CONTRAST_EN.search(part)
            if m:
                out += [(part[:m.start()], False), (part[m.end():], True)]
            else:
                out.append((part, bool(_LESS_EN.search(_SITUATION_NEG.sub(" ", part)))))
    return [(c, neg) for c, neg in out if c.strip()]


# The user's own contrast: what follows "보다(는)", "(아/어/해)도", "더라도", "지만" is what they favour ("깊이는 좀
# 얕아도 빨리 만드는 게 맞다"); what precedes "rather than", "instead of", "over" in English.
_FOCUS_AFTER_KO = re.compile(r"(?:보다(?:는|도)?|[아어해]도|더라도|지만)\s+")
_FOCUS_BEFORE_EN = re.compile(r"\s+(?:rather than|instead of|over|more than|before)\s+", re.I)


def _claim_focus(ask: str) -> str | None:
    """The side of the user's own contrast that they favour, or None without one."""
    parts = _FOCUS_AFTER_KO.split(ask, maxsplit=1)
    if len(parts) == 2 and parts[1].strip():
        return parts[1]
    parts = _FOCUS_BEFORE_EN.split(ask, maxsplit=1)
    return parts[0] if len(parts) == 2 and parts[0].strip() else None


def advised_against(u: Unit, ask: str) -> bool:
    """Does the clause of the unit that the question is about advise against it ("줄이고", "보다는", "개나 줘버려도")?"""
    def overlap(text: str) -> list[tuple[int, bool]]:
        words = terms_of(f"{topic_text(text)} {translate_terms(topic_text(text))}")
        return [(len(words & terms_of(f"{c} {translate_terms(c)}")), neg) for c, neg in _clauses(u)]

    scored = overlap(ask)
    if not scored:
        return False
    best = max(n for n, _ in scored)
    if best == 0:
        return advice_negated(u.text)
    tied = {neg for n, neg in scored if n == best}
    focus = _claim_focus(ask) if tied == {True, False} else None
    if focus is not None:
        # The ask touches both sides of the unit's contrast ("깊은 지식보다는 얕고 넓은 지식과 엄청난 스피드"
        # against "깊이는 좀 얕아도 빨리 만드는 게"): the side the user favours decides.
        by_focus = overlap(focus)
        top = max(n for n, _ in by_focus)
        if top > 0:
            return any(neg for n, neg in by_focus if n == top)
    return True in tied


_ASKS_OF_LIST = re.compile(r"(?:항목|목록|리스트)(?:들)?(?:은|는|이|가|인가요|이에요|예요)|"
                           r"\b(?:is|was) (?:this|that|the) list\b|\b(?:this|that|the) list (?:is|was|from|by)\b|"
                           r"\bwho (?:made|wrote|compiled|put together) (?:the|this|that) list\b", re.I)
_WORRY = re.compile(r"\b(?:is (?:that|this|it) (?:a )?(?:problem|red flag|bad sign|wrong|a mistake)|a red flag|"
                    r"am i (?:failing|doing (?:it|this|something) wrong|overstepping|messing (?:it|this) up)|"
                    r"should i (?:be )?worr(?:y|ied)|"
                    # "Is it too early to…?", "Am I overthinking…?": yes means the practice is not for now
                    r"(?:is|was) (?:it|this|that) (?:too (?:early|soon)|premature|overkill)|too (?:early|soon) (?:for|to)|"
                    r"am i overthinking)\b|너무 이른|아직 이른|시기상조|오버(?:인가요|일까요|하는 건가요)|문제(?:인가요|일까요|인 건가요|가 되나요|될까요|있는 건가요)|"
                    r"잘못(?:된 건가요|하고 있는 건가요|하는 건가요)|이상한(?:가요| 건가요)|걱정해야", re.I)
_POINTS_BACK = re.compile(r"\b(?:that|this|it)(?:'s| is)?\b|이게|이거|그게|그거|이렇게|그렇게", re.I)
_DEICTIC_ASK = re.compile(r"^\s*(?:is|does|would|was) (?:that|this|it)\b|^\s*(?:이게|이거|그게|그거|이렇게|그렇게)", re.I)
_ASKS_ONLY = re.compile(r"[?？][.…!]*\s*$")


def _names_other_stage_item(topics: TopicMap, text: str, unit: Unit, user_stage: int) -> bool:
    """Is `unit` the capability item the text names by a term only it uses among the items, a term that
    nothing the article says for the user's stage uses ("채용 계획" → ⑤ 인재 영입(채용), at stage 1)? Not
    "비전" at stage 4: the stage-4 commentary speaks of "사업의 비전" too."""
    if topics.item_of_term(text) is not unit:
        return False
    named = topics.topic_terms(text) & topics.unit_terms(unit)
    return not any(u.stage == user_stage and named & ts for u, ts in zip(topics.units, topics.terms, strict=True))


def judge(ctx: PlanContext, q: Question, text: str, told: bool = False) -> tuple[str, Match | None]:
    """yes / no / depends for a yes-no question (or a belief), and the unit it rests on.

    The article says yes when the unit the question is about belongs to the user's stage (or to no
    stage) and does not advise against it; no when it advises against it, or places it at another
    stage than the user's; it depends when the user's stage is unknown and the unit belongs to one.
    `told`: the text tells what the user does (a yes/no ask about their story, not a claim): a "no" in
    the clause that speaks of the stage's advice ("…방향 얘기는 거의 안 해요") means it is not being done.
    """
    user_stage = q.diagnosis.stage
    # A sentence that only asks ("슈퍼개발자?", "뭐하는 사람들일까요...?") states nothing to say yes or no on.
    ms = [m for m in q.match(ctx.topics, text) if m.unit.kind in ("item", "sentence") and not _ASKS_ONLY.search(m.unit.text)]
    if not ms:
        return "depends", None
    named = diagnose_text(text)
    if user_stage and named.source in ("stage_name", "stage_number") and named.stage not in (None, user_stage) \
            and not q.asks_article:
        # "회사 인원은 12명이에요. 르네상스 단계 CTO처럼 움직여야 하나요?": acting as another stage's CTO is
        # what the ask is about; the article places that role at the stage named, not the user's.
        head = ctx.topics.heading(named.stage)
        if head is not None:
            return "no", Match(head, 0.0, 0.0)
    top = ms[0]
    if user_stage:
        # The user's stage is the context: its closest unit wins when it is nearly as close as the best.
        own = next((m for m in ms if m.unit.stage == user_stage), None)
        # …unless the best unit holds the question's distinctive terms (then it is what was asked about), or
        # is the capability item named by a term only it uses ("채용 계획 짜는 게" → ⑤ 인재 영입(채용)).
        if own is not None and top.lexical < 0.5 and not _names_other_stage_item(ctx.topics, text, top.unit, user_stage) \
                and (own.rank >= top.rank - STAGE_PREFERENCE or top.score < RELATED_MIN):
            top = own
    u = top.unit
    if q.asks_article:
        return ("yes" if top.score >= FOCUS_MIN or top.lexical >= 0.5 else "no"), top
    if u.rejected:
        # Said only to be called nonsense ("쿠팡의 CTO에게 react 코드를 … 평가의 기준으로 이야기 하는 건… / 반대로
        # 5명짜리 스타트업 CTO에게 기술 경영의 … 또한… 웃기는 말이겠죠"): the article's point is that what a
        # CTO is judged on depends on the company's stage.
        return ("no" if user_stage is not None else "depends"), top
    if user_stage is None and u.stage is not None:
        # Advice the article gives for one stage (even advice against: "관리 따위는 개나 줘버려도" is stage 1,
        # "⑥ 기술팀의 사람 관리" stage 2) answers a stage-less question with "it depends on the stage".
        return "depends", top
    said = f"{text} {q.topic_words}" if _POINTS_BACK.search(text) else text  # "that's what…" → the story
    if top.against and _DISMISSIVE.search(said) and not _TAKES_UP.search(said) \
            and not any(_DISMISSIVE.search(r) for r in u.rules_out):
        # Letting go of the very practice the unit rules out ("I've stopped doing sprint planning") is what
        # the article asks for.
        return ("yes" if u.stage in (None, user_stage) else "no"), top
    if top.against or advised_against(u, text):
        # (`against`: what is asked is closest to a practice the unit rules out — "reviewing every PR
        # myself" against "팀 운영의 디테일을 챙기는 것은 점점 줄이고".)
        return "no", top
    if user_stage is not None:
        if told and u.stage in (None, user_stage) and _does_not_do(text, ctx.topics.unit_terms(u)):
            # "아직도 저는 코드만 치고 팀원들한테 방향 얘기는 거의 안 해요. 이대로 괜찮을까요?": what the stage asks
            # for is what the story says is not done.
            return "no", top
        return ("yes" if u.stage in (None, user_stage) else "no"), top
    return ("yes" if u.stage is None else "depends"), top


# The user's own "not" in what they tell they do: "거의 안 해요", "챙기지 않아요", "I never…", "I don't…".
_NOT_DONE = re.compile(r"(?:^|\s)(?:거의\s*|전혀\s*|별로\s*|잘\s*)?안\s*(?:해|하|돼|되|챙기|봐|보|써|쓰|들어|했|가|나)|"
                       r"지\s*(?:않|못)|(?:^|\s)못\s|\b(?:don't|do not|never|rarely|hardly|barely|haven't|hasn't|didn't|"
                       r"no longer|not)\b|n't\b", re.I)


def _does_not_do(text: str, unit_terms: set[str]) -> bool:
    """Is the story's clause that speaks of what a unit advises (the unit's terms) one that says it is not done?"""
    best: tuple[int, str] | None = None
    for sentence in split_sentences(text):
        for clause in _CLAUSE_BREAK.split(sentence):
            if _ASKS_ONLY.search(clause):
                continue
            n = len(terms_of(f"{clause} {translate_terms(clause)}") & unit_terms)
            if n and (best is None or n > best[0]):
                best = (n, clause)
    return best is not None and bool(_NOT_DONE.search(_SITUATION_NEG.sub(" ", best[1])))


def asks_to_drop(ask: str, unit_text: str) -> bool:
    """Does the ask propose dropping, deferring or handing off the thing the article tells this stage to do
    ("프론트 개발자 뽑을 때까지 그쪽은 손 놓고 기다려도 될까요?" against stage 1's "다재다능해야 합니다")? Then the
    article's "yes, that is your stage's job" answers the ask with "no". Not when the unit itself speaks of
    letting go ("팀 운영의 디테일을 챙기는 것은 점점 줄이고"): there the dropping is what the unit is about."""
    return bool(_DISMISSIVE.search(ask)) and not _DISMISSIVE.search(unit_text) and not advice_negated(unit_text)


def _lets_go_of(text: str, unit_terms: set[str]) -> bool:
    """Does a sentence of the text let go of what the unit speaks of — a dismissive verb ("넘기", "handed",
    "stepping back") in a sentence sharing a term with the unit ("팀 세부 운영은 팀장들한테 넘기라" and "팀 운영의
    디테일을 챙기는 것은 점점 줄이고")? Not "hand off all coding … and focus on managing" against "관리 따위는
    개나 줘버려도 됩니다": what is let go of there is not what the unit dismisses. (`unit_terms`: the unit's.)"""
    for sentence in split_sentences(text):
        # ("ignore process and management stuff": an "and" that joins two objects of one verb is not a
        # clause break; one followed by a new subject, or by what is taken up instead — "hand off all
        # coding and focus on managing" — is)
        for clause in re.split(r",\s*|\b(?:and|so|but)\s+(?=(?:i|we|my|our|they|he|she|you)\b|" + _TAKES_UP_EN + r")|고\s+",
                               sentence, flags=re.I):
            if _DISMISSIVE.search(clause) and terms_of(f"{clause} {translate_terms(clause)}") & unit_terms:
                return True
    return False


_CLAUSE_BREAK = re.compile(r"(?<=는데|인데|지만)\s+|,\s*|;\s*|\s[-–—]\s|\s(?=(?:and|but|so) (?:i|we|my|our)\b)", re.I)


# Someone else's view, reported ("The CFO says …", "Everyone says I should …", "I keep hearing that …",
# "투자자가 … 하라고 하네요"), and an ask whether it holds ("Are they right?", "Should I listen?", "Does the
# article agree with him?", "True for my stage?", "맞는 말인가요?").
_REPORTED_EN = re.compile(r"\b(?:someone|somebody|everyone|everybody|people|(?:my|our|the|an?|one of (?:my|our)) "
                          r"(?:ceo|cfo|coo|cofounder|co-founder|advisor|adviser|investors?|board|boss|friend|mentor|vc|manager|"
                          r"founder|lead investor|recruiter|colleague|peers?)s?)\b[^.?!]{0,30}?\b(?:says?|said|told me|tells me|"
                          r"keeps? (?:saying|telling me)|thinks?|insists?|claims?|argues?)\b(?:\s+that)?\s+(?P<claim>[^.?!]{8,})|"
                          r"\bI (?:keep|kept) hearing(?: that)?\s+(?P<claim2>[^.?!]{8,})", re.I)
_REPORTED_KO = re.compile(r"(?:대표|투자자|주변|친구|선배|어드바이저|멘토|이사회|VC|CFO|CEO|다들|사람들)[^.?!]{0,15}?(?:이|가|은|는|님이|님은|들이|들은)\s+"
                          r"(?P<claim>[^.?!]{6,}?)(?:라고|다고|하라고|해야 한다고|보라고)\s*(?:하네요|하더라고요|해요|하는데|하던데|말하|그러)", re.I)
_ASKS_IF_HOLDS = re.compile(r"\b(?:are|is) (?:they|he|she|that|it|this) (?:right|correct|true)\b|\bshould I (?:listen|believe|trust)\b|"
                            r"\bdo(?:es)? (?:the article|the post|it|the author|the blogger) (?:agree|back (?:that|this|him|her|them))\b|"
                            r"\b(?:do|does) (?:they|he|she) have a point\b|^\s*(?:is that |that'?s? )?true\b|\bthe consensus\b|"
                            r"맞는 말(?:인가요|이에요|일까요)|말이 맞(?:나요|아요|을까요)|들어야 (?:하나요|할까요)|일리가 있", re.I)


def reported_claim(q: Question) -> str:
    """What someone else claimed, when the ask is whether it holds; '' otherwise."""
    if not _ASKS_IF_HOLDS.search(q.ask_text):
        return ""
    m = (_REPORTED_KO if q.korean else _REPORTED_EN).search(q.situation.present_text or q.cleaned)
    if not m:
        return ""
    return (m.group("claim") or m.groupdict().get("claim2") or "").strip()


def _names_nothing(q: Question, topics: TopicMap) -> bool:
    """Does the ask name nothing of the article's (no rare article term), only ask about the story before it
    ("계속 유지하는 게 맞을까요?", "Am I doing the CTO job right?")?"""
    return len(q.asks) < len(split_sentences(q.situation.present_text or q.cleaned)) and \
        not (topics.topic_terms(q.ask_text) & topics.idf.keys())


def practice_text(q: Question, topics: TopicMap, pointed_at: bool = False) -> str:
    """What an ask that only points back ("이게 맞는 순서일까요?", "Is that right?") asks about: the story's
    sentences that tell what is done or proposed, without those that only place the company (its size,
    "아직 제품이 없어요", "revenue doubled") and without the ask. Judged on the whole present text, the
    situation's words ("MVP", "제품이 없는 시기") pull every story towards the stage's own description, and
    the verdict to "yes"."""
    if not (pointed_at or points_back(q.ask_text, topics) or _DEICTIC_ASK.search(q.ask_text) or _names_nothing(q, topics)):
        return q.topic_text
    sizes = [s.words for s in q.situation.sizes if s.words]
    kept = [c for s in split_sentences(q.situation.present_text or q.cleaned) if s.strip() and s.strip() not in q.asks
            for c in _CLAUSE_BREAK.split(s) if not any(w in c for w in sizes) and cue_stage(c) is None]
    rest = " ".join(kept).strip()
    return rest if len(terms_of(rest)) >= 3 else q.topic_text


def plan_yes_no(b: AnswerBuilder, ctx: PlanContext, q: Question, passages: list[Passage]) -> tuple[AnswerKind, str | None]:
    user_stage = q.diagnosis.stage
    if user_stage is None and (ROLE_VARIES.search(q.ask_text) or ROLE_SAME.search(q.ask_text)):
        # "Does company size really change what a CTO should be doing?": yes, that is the article's point
        # ("Is the CTO role the same regardless of size?": no) — answered with its map of the stages.
        same = bool(ROLE_SAME.search(q.ask_text)) and not ROLE_VARIES.search(q.ask_text)
        b.frame(("**아니요.**" if same else "**네.**") if b.korean else ("**No.**" if same else "**Yes.**"))
        kind, _ = plan_overview(b, ctx, q)
        return kind, "no" if same else "yes"
    reported = reported_claim(q)
    if reported:
        # "The CFO says the CTO doesn't need to think about revenue. Does the article agree?": whether what
        # someone else claims holds at the user's stage — the unit's verdict, turned when the claim rejects it.
        verdict, top = judge(ctx, q, reported)
        if top is not None and verdict in ("yes", "no"):
            # (closest to a practice the unit rules out, the verdict has read the claim's negation already)
            holds = (verdict == "yes") if top.against else (verdict == "yes") == _believes(ctx, q, reported, top.unit)
            return _say_yes_no(b, ctx, q, "yes" if holds else "no", top)
    verdict, top = judge(ctx, q, practice_text(q, ctx.topics), told=True)
    # An ask that only points back ("Is that right?") drops what the story says it drops.
    dropping = q.topic_words if points_back(q.ask_text, ctx.topics) or _DEICTIC_ASK.search(q.ask_text) else q.ask_text
    if verdict == "yes" and top is not None and asks_to_drop(dropping, top.unit.text):
        verdict = "no"
    elif verdict == "no" and top is not None and top.unit.stage in (None, user_stage) \
            and advice_negated(top.unit.text) and _lets_go_of(q.topic_words, ctx.topics.unit_terms(top.unit)):
        # Letting go of what the article tells this stage to let go of ("팀 세부 운영은 팀장들한테 넘기라는데
        # 맞나요?" against stage 3's "팀 운영의 디테일을 챙기는 것은 점점 줄이고"): the article agrees.
        verdict = "yes"
    # (Only the first of two yes/no clauses is answered: "Should I pick the stack, or is that premature?")
    main_ask = re.split(r",?\s+(?:or|아니면)\s+(?=(?:is|are|am|was|should|would|do|does|can)\b|[가-힣])", q.ask_text, maxsplit=1)[0]
    if top is not None and top.unit.stage is not None and verdict in ("yes", "no") and _WORRY.search(main_ask):
        # "Is it a problem / am I failing / am I overstepping?" asks the opposite of "is it fine?": the
        # stage's advice agreeing with what the user does means "no, it is not a problem". (Not for the
        # intro's stage-less thesis: "the title is no certificate" already answers "am I unqualified?".)
        verdict = "no" if verdict == "yes" else "yes"
    if top is None:
        if user_stage:
            return plan_stage_advice(b, ctx, q)
        return plan_general(b, ctx, q, passages)
    return _say_yes_no(b, ctx, q, verdict, top)


def _say_yes_no(b: AnswerBuilder, ctx: PlanContext, q: Question, verdict: str, top: Match) -> tuple[AnswerKind, str | None]:
    """The verdict first, where the article places what it rests on, then the passages."""
    user_stage = q.diagnosis.stage
    u = top.unit
    head_ko = {"yes": "네.", "no": "아니요.", "depends": "단계에 따라 다릅니다."}[verdict]
    head_en = {"yes": "Yes.", "no": "No.", "depends": "It depends on the stage."}[verdict]
    reason = _placed(u, b.korean)
    if user_stage and u.stage and u.stage != user_stage and verdict == "no":
        reason += (f" (질문하신 회사는 {user_stage}단계)" if b.korean else f" (your company: stage {user_stage})")
    if q.diagnosis.stage is not None and q.diagnosis.source != "none":
        diagnosis_line(b, q.diagnosis)
    b.frame(f"**{head_ko if b.korean else head_en}**{reason}")
    if verdict == "depends" and not user_stage and re.search(r"\bctos?\b", q.ask_text, re.I):
        # "Does a CTO need to …?" asked of no stage: why it depends is the article's opening point — the
        # title is not a certificate of one fixed skill set — before the stage's passage it rests on.
        for thesis in _thesis(ctx)[:1]:
            _quote(b, ctx, thesis, prefix=_who(thesis, b.korean))
    _quote_with_context(b, ctx, q, u)
    # The user's stage's closest item and commentary, unless the verdict already rests on a unit of that
    # stage that both signals agree on (closest by meaning and the best keyword match of the whole
    # article): then it is the passage that answers, and more quotes only dilute the answer (dev yes/no
    # with a known stage: such a unit holds the gold passage in 54 of 58; precision 0.765 → 0.780,
    # evidence 0.928 → 0.926).
    if user_stage and not (u.stage == user_stage and top.keyword >= 0.99):
        _for_your_stage(b, ctx, q, q.topic_text, user_stage)
    elif verdict == "depends":
        _at_each_stage(b, ctx, q, q.topic_text)
    if user_stage and u.stage == user_stage and _describes_stage(ctx, u):
        # The verdict rests on the sentence that describes the stage as a whole (matched through the
        # user's situation more than through what they asked): show the stage's capability list too,
        # so the item the question is about is there to read.
        b.blank()
        _items_of(b, ctx, user_stage)
    return "coaching" if q.diagnosis.stage else "general", verdict


def plan_choice(b: AnswerBuilder, ctx: PlanContext, q: Question) -> tuple[AnswerKind, str | None]:
    """An either-or ask ("Should I keep coding or start managing?"): each option judged as its own yes/no
    question against the user's stage, and the lead says which one the article gives that stage — one,
    both, neither, or "it depends on the stage" — before the passages each verdict rests on. A yes or
    no to the whole question would answer neither option."""
    user_stage = q.diagnosis.stage
    judged: list[tuple[str, str, Match]] = []
    for option in q.options:
        # An option that points back at the story ("이걸 계속할까요", "keep doing that") is judged on the story.
        verdict, top = judge(ctx, q, practice_text(q, ctx.topics, pointed_at=True) if points_back(option, ctx.topics)
                             else option)
        if top is None:
            continue
        if verdict == "yes" and asks_to_drop(option, top.unit.text):
            verdict = "no"
        judged.append((option, verdict, top))
    if len(judged) < 2 or (judged[0][2].unit.text == judged[1][2].unit.text and judged[0][1] == judged[1][1] != "depends"):
        # Both options rest on one unit with one verdict: it does not tell them apart. (One unit with two
        # verdicts does: "깊은 지식보다는 얕고 넓은 지식" says no to one option and yes to the other; and with no
        # stage known, "it depends on the stage" answers both.)
        return plan_stage_advice(b, ctx, q) if user_stage else plan_general(b, ctx, q, [])
    yes = [o for o, v, _ in judged if v == "yes"]
    if q.diagnosis.stage is not None and q.diagnosis.source != "none":
        diagnosis_line(b, q.diagnosis)
    if any(v == "depends" for _, v, _ in judged) and not yes:
        lead, direct = ("단계에 따라 다릅니다." if b.korean else "It depends on the stage."), "depends"
    elif len(yes) == 1:
        lead = f"글의 답은 ‘{yes[0]}’ 쪽입니다." if b.korean else f"The article's answer for your stage: {yes[0]}."
        direct = "first" if yes[0] == judged[0][0] else "second"
    elif len(yes) == 2:
        lead, direct = ("둘 다 글이 이 단계의 일로 봅니다." if b.korean
                        else "Both: the article gives your stage both."), "both"
    else:
        lead, direct = ("둘 다 글이 이 단계에 두는 일이 아닙니다." if b.korean
                        else "Neither is what the article gives your stage."), "neither"
    b.frame(f"**{lead}**")
    if direct == "depends" and not user_stage:
        # As for a yes/no question asked of no stage: why it depends is the article's opening point.
        for thesis in _thesis(ctx)[:1]:
            _quote(b, ctx, thesis, prefix=_who(thesis, b.korean))
    for option, verdict, top in judged:
        said = {"yes": ("네", "yes"), "no": ("아니요", "no"), "depends": ("단계에 따라 다름", "depends on the stage")}[verdict]
        b.frame(f"**‘{option}’ — {said[0]}.**{_placed(top.unit, True)}" if b.korean
                else f"**“{option}” — {said[1]}.**{_placed(top.unit, False)}")
        _quote_with_dismissal(b, ctx, top.unit)
    if user_stage:
        _for_your_stage(b, ctx, q, q.topic_text, user_stage)
    elif direct == "depends":
        _at_each_stage(b, ctx, q, q.topic_text)
    return ("coaching" if user_stage else "general"), direct


def _for_your_stage(b: AnswerBuilder, ctx: PlanContext, q: Question, text: str, stage: int) -> None:
    """What the article says for the user's own stage that is closest to what they ask: the closest
    capability item on the source's list and the blogger's closest sentence, when not quoted yet.

    A question from a company at a known stage is answered by that stage's advice far more often than
    by the single closest sentence of the whole article (dev, yes/no and belief questions with a known
    stage: the gold passage is the closest unit overall for 0.51 of them, the closest item or sentence
    of the user's stage for 0.76; end to end, dev evidence hit 0.828 -> 0.863, precision 0.781 -> 0.755)."""
    ms = q.match(ctx.topics, text, stages=(stage,))
    item = next((m.unit for m in ms if m.unit.kind == "item"), None)
    said = next((m.unit for m in ms if m.unit.kind == "sentence" and m.unit.section == "commentary"), None)
    picks = [u for u in (item, said) if u is not None and not b.quoted(u.text)]
    if not picks:
        return
    b.blank()
    b.frame(f"**{stage_label(stage, True)}에 대해 글이 하는 말 중 가장 가까운 것:**" if b.korean
            else f"**Closest to your question in what the article says for {stage_label(stage, False)}:**")
    for u in sorted(picks, key=lambda x: x.order):
        _quote(b, ctx, u, prefix=_who(u, b.korean))


def _at_each_stage(b: AnswerBuilder, ctx: PlanContext, q: Question, text: str) -> None:
    """"It depends on the stage", shown: for each stage, what the article says there that is closest to
    the question (one unit per stage, when not quoted yet), so the user finds their own stage's answer."""
    picks: list[Unit] = []
    for stage in (1, 2, 3, 4):
        ms = q.match(ctx.topics, text, stages=(stage,))
        u = next((m.unit for m in ms if m.unit.kind in ("item", "sentence")), None)
        if u is not None and not b.quoted(u.text):
            picks.append(u)
    if not picks:
        return
    b.blank()
    b.frame("**단계별로 글이 하는 말 중 질문에 가장 가까운 것:**" if b.korean
            else "**At each stage, what the article says closest to your question:**")
    for u in picks:
        _quote(b, ctx, u, prefix=f"{stage_label(u.stage or 0, b.korean)} — {_who(u, b.korean)}")


def _describes_stage(ctx: PlanContext, u: Unit) -> bool:
    """Is `u` the blogger's first sentence on its stage (the one that says what the stage is)?"""
    first = next((x for x in ctx.topics.units if x.stage == u.stage and x.section == "commentary"), None)
    return first is not None and first.text == u.text


def _items_of(b: AnswerBuilder, ctx: PlanContext, stage: int) -> None:
    """The stage's heading and each capability item on the source's list, as quotes."""
    head = ctx.topics.heading(stage)
    if head is not None and not b.quoted(head.text):
        _quote(b, ctx, head)
    for it in ctx.topics.items(stage):
        if not b.quoted(it.text):
            _quote(b, ctx, it, bullet="  - ")


def plan_attribution(b: AnswerBuilder, ctx: PlanContext, q: Question,
                     passages: list[Passage]) -> tuple[AnswerKind, str | None, int | None]:
    """Who said it: the source article's list, or the blogger's commentary; returns the unit's stage too."""
    # A quoted phrase is what is asked about ("Whose point is 'managing technical debt'?").
    # An ask that points back ("그거 원글에 있는 내용이에요?") is about what the last answer named.
    topic = next((x for x in [*quoted(q.cleaned), *quoted(q.referent)] if ctx.topics.known_share(x) >= 0.5),
                 _ATTRIBUTION_WORDS.sub(" ", q.referent or q.ask_text))
    # Who said it is asked of words (a phrase, a list), so the units' own words rank them, not their glosses.
    ms = sorted((m for m in ctx.topics.match(topic, english=not q.korean) if m.unit.voice in ("source", "blogger")),
                key=lambda m: -m.own_rank)
    if _ASKS_OF_LIST.search(q.ask_text):
        # "항목은 누가 정리한 거예요?", "Is that list the blogger's?": the list is the source's headings and items
        ms = [m for m in ms if m.unit.kind in ("heading", "item")] or ms
    if q.diagnosis.source in ("stage_name", "stage_number") and ms and ms[0].unit.stage is not None \
            and ms[0].unit.stage not in q.diagnosis.stages:
        # "1단계 필요 능력 두 가지는 원문 저자가 정리한 건가요?": what is asked about sits in the stage named,
        # not in another stage's passage (a stage-less one, "알스퀘어는 2단계쯤", may be what is asked about)
        ms = [m for m in ms if m.unit.stage in q.diagnosis.stages] or ms
    split = names_the_stage_model(topic)
    if split:
        # "Who came up with the 4 stages thing?": the split itself is the source's, told in the summary's
        # stage-less sentence that introduces it ("…기업의 성장 단계를 4단계로 나누었고")
        ms = [m for m in ms if m.unit.voice == "source" and m.unit.stage is None and m.unit.kind == "sentence"] or ms
    if not ms:
        return (*plan_general(b, ctx, q, passages), None)
    u = ms[0].unit
    source = (u.section == "summary" and u.kind in ("item", "heading")) or (split and u.voice == "source")
    if b.korean:
        b.frame("**원문(Hosang Jeon, 2021-04-11)의 목록에 있는 내용입니다.**" if source
                else "**블로거(MK)의 의견입니다** — 원문(Hosang Jeon)의 목록에는 없습니다.")
    else:
        b.frame("**It is from the source article's list (Hosang Jeon, 2021-04-11).**" if source
                else "**It is the blogger's (MK's) own commentary**, not part of Hosang Jeon's list.")
    _quote(b, ctx, u, prefix=_who(u, b.korean))
    if source and u.stage:
        head = ctx.topics.heading(u.stage)
        if head is not None:
            _quote(b, ctx, head)
    return "general", "source" if source else "blogger", u.stage


def plan_by_stage(b: AnswerBuilder, ctx: PlanContext, q: Question) -> tuple[AnswerKind, str | None]:
    """An open question about the CTO's work with no stage in it and none in the passages found
    ("스타트업 CTO는 코딩을 얼마나 해야 하나요?"): the article's answer is its stage map, so show what each
    stage says closest to the question instead of the intro's generalities."""
    b.frame("**글은 이것을 회사의 성장 단계에 따라 다르게 봅니다.**" if b.korean
            else "**The article's answer depends on the company's stage.**")
    _at_each_stage(b, ctx, q, q.topic_text)
    return "general", "depends"


def plan_general(b: AnswerBuilder, ctx: PlanContext, q: Question, passages: list[Passage]) -> tuple[AnswerKind, str | None]:
    compose_general(b, q.cleaned, passages)
    return "general", None


def plan_decline(b: AnswerBuilder, ctx: PlanContext, q: Question) -> tuple[AnswerKind, str | None]:
    """The article does not cover it: say so plainly; cite the one adjacent thing it does say, if any."""
    near = [m for m in q.topics if m.unit.kind in ("item", "sentence") and m.score >= ADJACENT_MIN]
    compose_refusal(b, q.scope_reason_ko, q.scope_reason, None, q.cleaned)
    if near:
        u = near[0].unit
        b.blank()
        b.frame("**가장 가까운 내용:**" if b.korean else "**The closest thing it does say:**")
        _quote(b, ctx, u, prefix=_who(u, b.korean))
    return "refusal", None


# A belief that something can wait or be skipped ("a later-stage problem", "ignore it for now").
# …or that it is someone else's to do: handed off, stayed out of, given up ("hiring is HR's job and I'll
# stay out of it", "outsource the MVP", "효율은 좀 포기하더라도", "채용은 인사팀에 맡기고").
# Taking something up beside letting something go ("hand off all coding and focus on managing"): what is
# closest to the ruled-out practice may be the thing taken up, so the letting-go reading does not hold.
_TAKES_UP_EN = r"(?:focus(?:ing)? on|concentrat\w* on|spend (?:my |more )?time on|move (?:in)?to|switch to)\b"
_TAKES_UP = re.compile(r"\b" + _TAKES_UP_EN + r"|에\s*집중|에\s*전념|(?:으로|로)\s*(?:넘어가|옮기|전환)", re.I)
_DISMISSIVE = re.compile(r"\b(?:ignore|skip|later|postpone|defer|put off|not yet|can wait|don't need|no need|unnecessary|overrated|"
                         r"stay out of|step (?:back|away) from|hand (?:it |this |that )?off|outsourc\w*|give up|giving up|"
                         r"sacrific\w*|not my job|someone else's|stepp?(?:ed|ing)? back|stopped|handed|delegat\w*)\b|"
                         r"\bluxury\b|sorts? (?:itself|themselves) out|takes? care of itself|not a priority|"
                         r"나중에|나중 일|미뤄|미루|무시|필요\s*없|안 해도|안해도|안 써도|신경\s*(?:안|끄)|사치|건너뛰|포기|손\s*(?:떼|놓|놔)|(?:에게|한테|에) 맡기|외주|"
                         r"(?:에게|한테)\s*넘기|넘겨|위임", re.I)


# A belief that endorses one thing over another: "an MVP out fast, not building process", "X rather than
# Y", "not Y but X", "깊게 파는 것보다 넓게 아는 게", "사업 지원만 하는 게 아니라 … 만들어내는", "Y 말고 X".
_PREFER_EN = re.compile(r"^(?P<pos>.+?)(?:,\s*(?:and\s+)?not\s+|\s+rather than\s+|\s+instead of\s+)(?P<neg>.+)$|"
                        r"\bnot\s+(?P<neg2>.+?),?\s+but\s+(?P<pos2>.+)$", re.I)
_PREFER_KO = re.compile(r"^(?P<neg>.+?)(?:것보다는?|보다는?|(?:이|가|게|는)\s*아니라|\s말고|\s대신에?)\s+(?P<pos>.+)$")


def _believes(ctx: PlanContext, q: Question, claim: str, u: Unit) -> bool:
    """Does the user hold what `u` is about (True), or hold against it (False)?

    A belief that prefers one thing over another holds the preferred part and rejects the other; which
    part the unit is about is decided by which one the unit ranks higher for. Otherwise the belief holds
    it unless it says not to do it or that it can wait."""
    m = _PREFER_KO.search(claim) if q.korean else _PREFER_EN.search(claim)
    if m:
        pos = m.group("pos") or (m.groupdict().get("pos2") or "")
        neg = m.group("neg") or (m.groupdict().get("neg2") or "")
        if pos.strip() and neg.strip():
            def closeness(part: str) -> float:
                hit = next((x for x in ctx.topics.match(part, english=not q.korean) if x.unit.text == u.text), None)
                return hit.own_rank if hit is not None else float("-inf")  # its own words
            return closeness(pos) >= closeness(neg)
    return not (advice_negated(claim) or _DISMISSIVE.search(claim))


def plan_belief(b: AnswerBuilder, ctx: PlanContext, q: Question) -> tuple[AnswerKind, str | None]:
    """A belief inside a story ("I thought a CTO should mostly manage people, but…"): confirm or correct it
    against what the article says for the user's stage."""
    claim = q.claim or q.topic_text
    verdict, top = judge(ctx, q, claim)
    if top is None:
        compose_refusal(b, "", "", None, claim)
        return "refusal", None
    u = top.unit
    believes = _believes(ctx, q, claim, u)
    agrees = (verdict == "yes") == believes and verdict != "depends"
    if q.diagnosis.stage is not None:
        diagnosis_line(b, q.diagnosis)
    if b.korean:
        head = "**네, 글도 그렇게 봅니다.**" if agrees else "**글의 입장은 다릅니다.**"
    else:
        head = "**Yes — the article agrees.**" if agrees else "**The article sees it differently.**"
    b.frame(head + _placed(u, b.korean))
    _quote_with_context(b, ctx, q, u)
    if q.diagnosis.stage:
        _for_your_stage(b, ctx, q, claim, q.diagnosis.stage)
    if q.diagnosis.stage and u.stage == q.diagnosis.stage and _describes_stage(ctx, u):
        b.blank()
        _items_of(b, ctx, q.diagnosis.stage)
    return ("confirmation" if agrees else "correction"), ("yes" if agrees else "no")

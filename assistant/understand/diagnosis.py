"""Which of the article's four stages is the user's company in, and why.

Sources of evidence, strongest first: a stage named or numbered in the question ("성장기", "stage 3"),
a follow-up relative to the conversation ("그 다음 단계는?"), a headcount ("직원 12명", "team of 50"),
and situational cues (no product yet → 1; doubling → 2; unicorn → 3; IPO → 4). The article's own
ranges are the source of truth: 1 = under 5 people, 2 = 5 to a few dozen (수십명), 3 = a few dozen
to hundreds (수십명~수백명), 4 = maturity. Where the ranges overlap (roughly 20-99 people), cues
decide and the confidence says so. The result keeps the cue so the answer can explain itself.
"""

from __future__ import annotations

import re

from assistant.article.profile import PROFILE, label
from assistant.numbers import EN_ORDINALS, KO_ORDINALS, headcount_words_en, headcount_words_ko
from assistant.types import Diagnosis, DiagnosisSource

OVERLAP = range(20, 100)  # "수십명" ends stage 2 and starts stage 3


def explain(diagnosis: Diagnosis, korean: bool) -> str:
    """One line like "직원 25명 → 2단계 성장기 (원문 기준 5명~수십명)"."""
    if diagnosis.stage is None:
        return label("diagnosis.general", korean)
    s = diagnosis.stage
    line = PROFILE.stage_label(s, korean, "diagnosis.stage", cue=diagnosis.cue)
    if s != 4:
        line += label("diagnosis.range", korean, range=PROFILE.stages[s].range(korean))
    if diagnosis.headcount is not None and diagnosis.headcount in OVERLAP:
        line += label("diagnosis.overlap", korean)
    return line


NONE = Diagnosis(None, 0.0, "", "none")

_NAMES = [
    (1, r"암흑기|dark[\s-]*ages?|darkness stage"),
    (2, r"성장기|growth[\s-]*(?:stage|phase|period)|growth-stage|scale-?up stage"),
    (3, r"르네상스|renaissance"),
    (4, r"성숙기|maturity|mature[\s-]*(?:stage|phase|company|companies)"),
]
_ORD_EN = {**{w: n for w, n in EN_ORDINALS.items() if n <= 4}, "last": 4, "final": 4}
_ORD_KO = {**KO_ORDINALS, "마지막": 4}
_STAGE_NUM = [
    re.compile(r"(?<![\d.])([1-4])\s*단계(?!로\s*나)(?!\s*로\s*나)"),
    re.compile(r"(?:stage|phase|step|level)\s*#?\s*([1-4])(?![\d.])", re.I),
    re.compile(r"\b(first|second|third|fourth|last|final)\s+(?:stage|phase)\b", re.I),
    re.compile(r"(첫번째|두번째|세번째|네번째|첫째|둘째|셋째|넷째|마지막|첫)\s*단계"),
]
_GENERAL_STAGES = re.compile(r"4\s*단계\s*(?:로|구분|모델|체계|분류)|단계\s*구분|four-stage|4-stage|네\s*단계|four stages|4 stages|몇\s*단계|how many stages|각\s*단계|단계별|each stage|all (?:four|4) stages", re.I)


def names_the_stage_model(text: str) -> bool:
    """Does the text speak of the four-stage split itself ("the 4 stages thing", "4단계 구분")?"""
    return bool(_GENERAL_STAGES.search(text))

_FOLLOW_NEXT = re.compile(
    r"(?:그\s*)?다음\s*단계|다음\s*스텝|next\s+(?:stage|phase|step|level)|what comes (?:next|after)|stage after|after that stage|그\s*이후|그\s*다음은",
    re.I,
)
_FOLLOW_PREV = re.compile(r"이전\s*단계|그\s*전\s*단계|앞\s*단계|previous\s+(?:stage|phase)|stage before|earlier stage", re.I)

_KO_NUM = headcount_words_ko()
_EN_NUM = headcount_words_en()
_PEOPLE_EN = r"(?:people|persons?|employees?|engineers?|developers?|devs|staff(?:ers)?|members?|FTEs?|workers|folks|heads|hires)"
_NUM = r"\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?\s*[kK]?|\d+"
_HEADCOUNT = [
    # (regex, group holding the number, modifier)
    (re.compile(rf"({_NUM})\s*(?:명|인)\s*(?:미만|이하|보다 적)"), 1, -1),
    (re.compile(rf"({_NUM})\s*(?:명|인)\s*(?:이상|넘|초과|이 넘)"), 1, +1),
    (re.compile(rf"({_NUM})\s*(?:명|인(?=\s*(?:회사|스타트업|기업|팀|조직|규모|체제))|人)"), 1, 0),
    (re.compile(rf"({'|'.join(sorted(_KO_NUM, key=len, reverse=True))})\s*(?:명|사람)"), 1, 0),
    (re.compile(rf"(?:fewer|less) than\s+({_NUM}|{'|'.join(_EN_NUM)})\s*{_PEOPLE_EN}?", re.I), 1, -1),
    (re.compile(rf"(?:more than|over|above)\s+({_NUM}|{'|'.join(_EN_NUM)})\s*{_PEOPLE_EN}", re.I), 1, +1),
    (re.compile(rf"(?:team|company|startup|org(?:anization)?|headcount) of\s+(?:about\s+|around\s+|~)?({_NUM}|{'|'.join(_EN_NUM)})", re.I), 1, 0),
    (re.compile(rf"({_NUM}|{'|'.join(_EN_NUM)})[\s-]*(?:person|people|man|member)[\s-]+(?:startup|company|team|shop|org)", re.I), 1, 0),
    (re.compile(rf"({_NUM}|{'|'.join(_EN_NUM)})\s*(?:full[\s-]time\s+)?{_PEOPLE_EN}", re.I), 1, 0),
    (re.compile(r"(\d+)(?:st|nd|rd|th)\s+(?:person|employee|hire|engineer|team member)", re.I), 1, 0),
    (re.compile(rf"headcount\s*(?:is|:|=)?\s*(?:about\s+|around\s+)?({_NUM})", re.I), 1, 0),
]
_TOTAL_WORDS = re.compile(r"전체|총|회사|직원|임직원|구성원|employees|company|total|overall|headcount|in all|전사", re.I)
_NOUN_BEFORE = re.compile(r"(직원|개발자|엔지니어|팀원|구성원|임직원|인원|전체|총|회사|기술팀|멤버)\s*$")
_SOLO = re.compile(r"혼자|1인 창업|나 혼자|solo (?:technical |tech |non-technical )?(?:co-?)?founder|by myself|just me|one-person|공동\s*창업자\s*(?:둘|2명|셋|3명)|two co-?founders|co-?founders? only", re.I)

_CUES: list[tuple[int, float, re.Pattern[str]]] = [
    (1, 0.75, re.compile(r"제품이?\s*(?:아직\s*)?(?:없|안\s*나)|아직 제품|no product|pre-?product|before (?:we have|having) a product|mvp|최소 기능 제품|아이디어 단계|막 창업|창업 초기|갓 창업|just (?:started|founded)|day one|pre-?seed|시드 단계|seed stage|프로토타입|prototype|첫 제품|no code yet|nothing built|haven't built|아직 코드|코드 한 줄|초기 (?:스타트업|회사|단계|CTO|창업)|초창기|early[- ](?:stage|days|startup|technical|cofounder|co-founder|ctos?)\b|earliest days|no (?:users|customers) yet|pre-?launch|not (?:yet )?launched|haven't launched|출시 전|유저가? (?:아직 )?없", re.I)),
    (3, 0.8, re.compile(r"유니콘|unicorn|billion-dollar|\$1b|1조|수백\s*명|hundreds of (?:people|employees|engineers)|시리즈\s*[cdCD]|series [cd]\b|트리플 더블|더블 트리플|꽤 커진|규모가 커진|커진 뒤", re.I)),
    (4, 0.75, re.compile(r"(?<![a-z])ipo(?![a-z])|"
                         # a company like the article's own big-company examples ("쿠팡 같은 회사", "Coupang-sized")
                         r"(?:쿠팡|아마존)\s*(?:같은|급|규모|정도)|\b(?:coupang|amazon)[- ](?:sized|scale|size|level)\b|"
                         r"\b(?:like|such as) (?:coupang|amazon)\b|상장|대기업|위대한 기업|great company|enterprise|수천\s*명|thousands of (?:people|employees)|public company|publicly (?:listed|traded)|listed company|fortune 500|글로벌 기업|성숙한 (?:기업|회사)|mature company|거대 기업|업계를 대표|big tech|huge company|large enterprise|multinational|conglomerate|다국적|대그룹|재벌", re.I)),
    (2, 0.7, re.compile(r"더블|트리플|두\s*배|세\s*배|2배|3배|doubl|tripl|\b[23]x\b|시리즈\s*[abAB]|series [ab]\b|pmf|product[- ]market fit|빠르게 성장|급성장|growing fast|rapid growth|hypergrowth|체계를 잡|scal(?:e|ing) (?:the|our) team|팀이 커지|한창 (?:커|성장)|커가는 중|growing quickly", re.I)),
]


def _to_int(raw: str) -> int | None:
    raw = raw.strip().lower()
    if raw in _EN_NUM:
        return _EN_NUM[raw]
    if raw in _KO_NUM:
        return _KO_NUM[raw]
    mult = 1000 if raw.endswith("k") else 1
    raw = raw.rstrip("k").strip().replace(",", "")
    try:
        return round(float(raw) * mult)
    except ValueError:
        return None


def stage_for_headcount(n: int) -> tuple[int, float]:
    """The article's ranges; 20-99 sits in both stage 2 ("수십명") and stage 3 ("수십명~")."""
    if n < 5:
        return 1, 0.9
    if n < 20:
        return 2, 0.9
    if n < 50:
        return 2, 0.65
    if n < 100:
        return 3, 0.55
    if n < 1000:
        return 3, 0.85
    return 4, 0.7


def find_headcount(text: str) -> tuple[int, str] | None:
    """The company's headcount and the words it came from; the total wins over a team size."""
    found: list[tuple[int, str, bool, int]] = []
    taken: list[range] = []
    for pattern, group, modifier in _HEADCOUNT:
        for m in pattern.finditer(text):
            if any(m.start() in r for r in taken):
                continue
            n = _to_int(m.group(group))
            if n is None or n <= 0 or n > 10_000_000:
                continue
            n = max(1, n + modifier) if modifier < 0 else n + modifier
            window = text[max(0, m.start() - 12) : m.end() + 3]
            noun = _NOUN_BEFORE.search(text[: m.start()])
            words = (noun.group(1) + " " if noun else "") + m.group(0).strip()
            found.append((n, words, bool(_TOTAL_WORDS.search(window)), m.start()))
            taken.append(range(m.start(), m.end()))
    if not found:
        return None
    totals = [f for f in found if f[2]]
    best = max(totals or found, key=lambda f: f[0])
    return best[0], best[1]


def _named_stages(text: str) -> list[tuple[int, str, int]]:
    hits: list[tuple[int, str, int]] = []
    for stage, name in _NAMES:
        for m in re.finditer(name, text, re.I):
            hits.append((stage, m.group(0), m.start()))
    if not _GENERAL_STAGES.search(text) or len(hits) > 0:
        for pattern in _STAGE_NUM:
            for m in pattern.finditer(text):
                raw = m.group(1)
                n = int(raw) if raw.isdigit() else _ORD_EN.get(raw.lower()) or _ORD_KO.get(raw.replace(" ", ""))
                if n:
                    hits.append((n, m.group(0), m.start()))
    hits.sort(key=lambda h: h[2])
    return hits


# A cue the user sets aside right after saying it ("유니콘 얘기는 아직 한참 먼 얘기고요", "unicorn? not even close").
_SET_ASIDE = re.compile(r"^[^.?!]{0,14}?(?:아니|먼\s*(?:얘기|이야기|일)|멀었|멀어|거리가 멀|\bnot (?:yet|even|there|us)\b|"
                        r"\bfar (?:off|away|from)\b|\bnowhere near\b)", re.I)


def cue_hits(text: str) -> list[tuple[int, float, re.Match[str]]]:
    """Every situational cue in the text (no product yet → 1, unicorn → 3, IPO → 4…), unless set aside."""
    out = []
    for stage, conf, pattern in _CUES:
        for m in pattern.finditer(text):
            if not _SET_ASIDE.search(text[m.end():]):
                out.append((stage, conf, m))
                break
    return out


def cue_stage(text: str) -> tuple[int, float, str] | None:
    """The first situational cue in the text: (stage, confidence, words)."""
    hits = cue_hits(text)
    return (hits[0][0], hits[0][1], hits[0][2].group(0)) if hits else None


def diagnose_text(text: str) -> Diagnosis:
    """Diagnose one message on its own (no history)."""
    named = _named_stages(text)
    if named:
        stages = tuple(dict.fromkeys(h[0] for h in named))
        source: DiagnosisSource = "stage_name" if any(re.fullmatch(p, named[0][1], re.I) for _, p in _NAMES) else "stage_number"
        return Diagnosis(named[0][0], 0.95, named[0][1], source, stages)
    if _SOLO.search(text):
        m = _SOLO.search(text)
        return Diagnosis(1, 0.85, m.group(0) if m else "", "headcount", (1,), 1)
    hits = cue_hits(text)
    head = find_headcount(text)
    if head:
        n, words = head
        stage, conf = stage_for_headcount(n)
        if n in OVERLAP:
            for cue_stage, _, m in hits:
                if cue_stage in (2, 3):
                    return Diagnosis(cue_stage, 0.8, f"{words}, {m.group(0)}", "headcount", (cue_stage,), n)
        return Diagnosis(stage, conf, words, "headcount", (stage,), n)
    if hits:
        stage, conf, m = hits[0]
        return Diagnosis(stage, conf, m.group(0), "cue", (stage,))
    return NONE


def is_followup(text: str) -> int:
    """+1 for "next stage", -1 for "previous stage", 0 otherwise."""
    if _FOLLOW_NEXT.search(text):
        return 1
    if _FOLLOW_PREV.search(text):
        return -1
    return 0


def diagnose(question: str, history: list[tuple[str, str]] | None = None) -> Diagnosis:
    """Diagnose a question in the context of the conversation so far (user turns, newest last)."""
    step = is_followup(question)
    own = diagnose_text(question)
    if own.stage is not None and not (step and own.source == "cue"):
        return own
    previous = NONE
    turns = history or []
    for i in range(len(turns) - 1, -1, -1):
        role, text = turns[i]
        if role != "user":
            continue
        d = diagnose(text, turns[:i])  # a chain of "그 다음 단계는?" resolves turn by turn
        if d.stage is not None:
            previous = d
            break
    if previous.stage is None:  # the coach's last answer may have named the stage ("… 2단계 …")
        last = next((t for r, t in reversed(history or []) if r == "assistant"), "")
        named = _named_stages(last)
        if named:
            previous = Diagnosis(named[0][0], 0.6, named[0][1], "history", (named[0][0],))
    if step and previous.stage is not None:
        target = min(4, max(1, previous.stage + step))
        m = (_FOLLOW_NEXT if step > 0 else _FOLLOW_PREV).search(question)
        cue = f"{m.group(0) if m else ''} ({previous.stage}단계 다음)" if step > 0 else f"{m.group(0) if m else ''}"
        return Diagnosis(target, 0.85, cue.strip(), "followup", (target,))
    if own.stage is not None:
        return own
    if previous.stage is not None:
        return Diagnosis(previous.stage, round(previous.confidence * 0.8, 2), previous.cue, "history", previous.stages, previous.headcount)
    return NONE


def override(stage: int) -> Diagnosis:
    """A stage fixed by the user (UI stage control, --stage)."""
    return Diagnosis(stage, 1.0, f"{stage}단계 선택", "override", (stage,))

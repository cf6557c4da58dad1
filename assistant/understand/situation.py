"""The user's situation, read from the whole question: company sizes, and whether each is now, past or planned.

Real questions come with a backstory ("I left a big corporation to join…", "We used to be 180 people,
but after two layoffs we're down to 14", "지금 8명인데, 2년 뒤 200명이 되면…"). Only the company the
user is in *now* decides the stage, so every size keeps the clause it came from and a tense:
`past` (backstory), `now`, or `future` (a plan or a hypothetical, which makes a comparison).
`present_text` is the question without its past clauses, so cue words in the backstory (대기업,
IPO, unicorn…) cannot decide the stage either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from assistant.numbers import (
    KO_APPROX,
    KO_UNITS,
    decade_phrase,
    digits,
    english_words,
    korean_words,
    sino_korean,
)

Tense = Literal["past", "now", "future", "other", "unknown"]

# Clause boundaries: sentence ends, and the contrastive joints where a story turns from then to now.
_CLAUSE = re.compile(r"(?<=[.!?…])\s+|\n+|\s*;\s*|,\s*(?=(?:but|and now|now|though|however|yet)\b)|"
                     r"\s+(?=(?:and|while|whereas|but) (?:my|our|his|her|their|a) (?:main |biggest |closest )?(?:friend|buddy|cofounder's|former|competitor|rival)\b)|(?<=[는인]데,)\s*|"
                     r"(?<=지만)\s+|(?<=는데)\s+|(?<=다가)\s+|(?<=었고)\s+|(?<=였고)\s+|(?<=했고)\s+|(?<=인데)\s+(?=지금|현재|이제|저희|우리)|(?<=이고)\s+(?=저|제|우리|저희)|,\s*(?=(?:our|my|we're|we are|I'm|I am)\b)|"
                     r"\s+(?=(?:that was |which was )?(?:spun|spin) (?:out|off) )", re.I)
_PAST = re.compile(
    r"\b(?:used to|previously|formerly|former|before (?:this|that|joining)|left|quit|was at|were at|worked at|"
    r"back when|back then|years? ago|months? ago|my (?:last|previous|old) (?:company|job|employer|startup)|"
    r"started (?:as|with|out (?:as|with))|began (?:as|with)|"
    r"at my (?:last|previous|old)|came from|spent \w+ years|ran an? |had been|once was|i was (?:a|an|the)\b)|"
    r"(?<!기 )전에|예전(?!부터)|(?:하|있|다니|맡|일하)다가(?:\s|$)|이전 (?:회사|직장)|전 (?:직장|회사)|전직|있었|였었|했었|다녔|출신|떠나|나와서|그만두|퇴사|시절|때는|당시|"
    r"(?:이었|였)(?:는데|고|어요|습니다|지만)|(?:창업|시작)(?:할|했을) 때|처음에?는",
    re.I)
_FUTURE = re.compile(
    r"\b(?:will|plan(?:ning)? to|aim(?:ing)? to|goal|by next year|in (?:a|one|two|three|\d+) years?|once we|"
    r"if we|when we (?:hit|reach|get to)|going to|expect to|hope to|next year)\b|"
    r"되면|될 때|뒤에|후에|후엔|목표|예정|계획|늘어나면|커지면|늘리려|될 거|할 거",
    re.I)
_NOW = re.compile(r"\b(?:now|currently|today|these days|right now|at the moment|so far|we're|we are|i'm|my own (?:company|startup)|"
                  r"the one where i|where i'm)\b|저희 회사|우리 회사|제 회사|"
                  r"지금|현재|요즘|이제|현재는|저희는?|우리는?", re.I)
# "from X to Y": X is the past, Y the present.
_FROM_TO = re.compile(r"\bfrom\s+(?P<a>[\w ,.-]{1,30}?)\s+to\s+(?P<b>[\w ,.-]{1,30}?)(?=\s|[,.!?]|$)|"
                      r"(?P<ka>[\w ]{1,12}?)\s*명에서\s*(?P<kb>[\w ]{1,12}?)\s*명", re.I)

_PEOPLE_EN = (r"(?:people|ppl|peeps|persons?|employees?|engineers?|developers?|devs|staff(?:ers)?|members?|FTEs?|workers|"
              r"folks|heads|hires|full[\s-]?timers?|contractors?|founders?|co-?founders?)")
# "직원 20명": the noun before a Korean count, kept so the diagnosis line quotes the user's own words.
_NOUN_BEFORE = re.compile(r"(직원|개발자|엔지니어|팀원|구성원|임직원|인원|전체|총|회사|기술팀|멤버)\s*(?:이|가|은|는)?\s*$")
_TEAM_ONLY = re.compile(r"engineers?|developers?|devs|개발자|엔지니어|개발팀|기술팀|팀원", re.I)
_EN_WORD = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
            r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
            r"(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?")
# "a hundred and fifty", "two thousand five hundred": the tail after hundred/thousand.
_EN_TAIL = rf"(?:\s+(?:and\s+)?{_EN_WORD}(?!\s+(?:hundred|thousand)))?"
_EN_NUMWORD = (r"(?:\d[\d,.]*\s*k?\+?(?:-?ish|\s*-?odd)?|(?:a |an )?(?:couple(?: of)?|few|handful(?: of)?|dozen|half a dozen|several)"
               r"(?:\s+(?:hundred|thousand|dozen))?|(?:tens|hundreds|thousands|dozens) of(?: thousands)?|"
               rf"{_EN_WORD}(?:\s+(?:hundred|thousand){_EN_TAIL})?(?:-?ish|-something)?|"
               rf"(?:a |one )?(?:hundred|thousand){_EN_TAIL})")
_KO_WORD = "|".join(sorted({*KO_APPROX, *KO_UNITS}, key=len, reverse=True))
_KO_NUM = rf"(?:\d[\d,.]*\s*[십백천만]|\d[\d,.]*|[일이삼사오육칠팔구십백천만]{{1,6}}|(?:{_KO_WORD})[가-힣]{{0,2}}?)"

_SIZE_PATTERNS: list[tuple[re.Pattern[str], int]] = [
    # Korean: "직원 12명", "열댓 명", "천오백 명", "이백 명대 중반", "스무 명 좀 넘어요", "둘이서"
    (re.compile(rf"(?P<n>{_KO_NUM})\s*(?:여\s*)?(?:명|인)(?P<mod>\s*(?:대(?!기업|형|표|부분|학)\s*(?:초반|중반|후반)?|미만|이하|이상|넘|남짓|정도|쯤|가량|안팎|좀 넘|조금 넘|넘게|조금 안|좀 안|안 ?돼|안 ?되|가까이|못 ?돼))?"), 0),
    (re.compile(r"(?P<n>둘|셋|넷|다섯|여섯|혼자)\s*(?:이서|서|뿐)"), 0),
    (re.compile(r"(?:저|제가|대표)\s*포함(?:해서)?\s*(?P<n>둘|셋|넷|다섯|여섯|일곱|여덟|아홉|열)(?=이|뿐|$|\s)"), 0),
    # "친구랑 둘이 창업 준비 중", "셋이 하고 있어요": a count word + 이 before a verb of working together
    (re.compile(r"(?P<n>둘|셋|넷|다섯|여섯)이\s+(?=창업|하고|해요|해서|일하|시작|운영|만들|준비|개발|꾸려|꾸리)"), 0),
    # "저희 둘이고", "우리 셋이에요": the count word right after "we" (not "저희 둘 다": both of us)
    (re.compile(r"(?:저희|우리)(?:는|도)?\s+(?P<n>둘|셋|넷|다섯|여섯|일곱|여덟|아홉)(?=이에요|이고|이라|이죠|인데|입니다|예요|이요|뿐)"), 0),
    # "팀원 넷이에요", "직원은 총 다섯이고": a word for the members, then the count word
    (re.compile(r"(?:팀원|직원|인원|멤버|구성원|식구|전체 인원)(?:은|는|이|가|도)?\s*(?:총\s*|다\s*해서\s*|모두\s*)?"
                r"(?P<n>둘|셋|넷|다섯|여섯|일곱|여덟|아홉|열)(?=이에요|이고|이라|이죠|인데|입니다|예요|이요|뿐|\s*명|[.,!\s]|$)"), 0),
    # English: "12 people", "a couple hundred people", "half a dozen of us", "three of us", "5,000-person"
    (re.compile(rf"(?P<n>{_EN_NUMWORD})[\s-]+(?:of\s+)?(?:(?:full|part)[\s-]time\s+)?{_PEOPLE_EN}\b", re.I), 0),
    (re.compile(rf"(?P<n>{_EN_NUMWORD})\s+of us\b", re.I), 0),
    # "me and two other devs", "just me and three engineers": the others plus the user
    (re.compile(rf"\bme and (?P<n>{_EN_NUMWORD})\s+(?:other\s+)?{_PEOPLE_EN}\b", re.I), 1),
    (re.compile(rf"(?P<n>{_EN_NUMWORD})[\s-]+(?:person|people|man|member|employee)[\s-]+(?:startup|company|team|shop|org|firm|business)", re.I), 0),
    (re.compile(rf"(?:team|company|startup|org(?:anization)?|headcount|staff|shop|outfit|firm|crew|agency|business) of\s+(?:about |around |roughly |~)?(?P<n>{_EN_NUMWORD})", re.I), 0),
    # "at our size (~150)", "our size, about 40": a number given for "our size"
    (re.compile(r"\b(?:our|my company's|the company's) (?:size|headcount)\s*(?:\(|,|:|of|is)?\s*(?:about |around |roughly |approx\.? |~)?"
                r"(?P<n>\d[\d,]*)\b(?!\s*(?:%|percent|years?|months?|[km]\b|million|billion|users|customers))", re.I), 0),
    (re.compile(rf"(?:headcount|head count|company size|team size|org size)\s*(?:is|of|:|=|at|in the)?\s*(?:just |now |currently |recently )?(?:crossed |passed |hit |reached |topped )?(?:about |around |roughly |~)?(?P<n>{_EN_NUMWORD}|(?:low|mid|high|early|late)[\s-]+\w+ties)", re.I), 0),
    (re.compile(rf"\b(?P<n>{_EN_NUMWORD})\s+strong\b", re.I), 0),
    # "We're a bit over two hundred now", "we are at 45 today": a bare count of "we", with a time word after
    (re.compile(rf"\bwe(?:'re| are)\s+(?:now\s+|currently\s+)?(?:at\s+)?(?:about |around |roughly |nearly |almost |just |~)?"
                rf"(?:(?:a bit|a little|slightly) )?(?:over |under )?(?P<n>{_EN_NUMWORD})"
                r"(?=\s*(?:now|today|these days|this year|at this point)\b)", re.I), 0),
    # "our unit is about 120", "the company has about 40": a size stated of the user's own unit
    (re.compile(rf"\b(?:our|my) (?:unit|division|team|company|org|organization|startup|business|subsidiary|branch|group) "
                rf"(?:is|has|employs|counts|totals)\s+(?:about |around |roughly |nearly |almost |just over |over |~)?(?P<n>{_EN_NUMWORD})\b"
                r"(?!\s*(?:%|percent|years?|months?|weeks?|days?|products?|customers?|users?|services?|teams?|offices?))", re.I), 0),
    # "we just hired our 20th employee": the ordinal of the latest hire is the headcount
    (re.compile(r"\bour (?P<n>\d{1,5})(?:st|nd|rd|th) (?:employee|hire|person|team member|engineer)\b", re.I), 0),
    (re.compile(r"(?P<n>(?:low|mid|high|early|late)[\s-]+(?:twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties))\s*(?:headcount|people|employees|-wise)?", re.I), 0),
    # "once we hit 15", "we're down to 14": a bare number after a verb of size
    (re.compile(rf"\b(?:hit|reach|get to|grow to|grew to|down to|up to|we're|we are|we r)\s+(?:at |like |only |just |now |currently )?(?:about |around |roughly |nearly |almost |close to |~)?(?P<n>\d{{1,6}}|{_EN_NUMWORD})\b(?!\s*(?:%|percent|years?|months?|weeks?|days?|hours?|[km]\b|million|billion|users|customers|servers|dollars|usd|times|x\b|stages?|people|persons?|employees?|engineers?|developers?|devs|staff|members?|heads|of us))", re.I), 0),
]
_SOLO = re.compile(r"\b(?:solo (?:technical |tech |non-technical )?(?:co-?)?founder|just me\b(?! and)|by myself|one-person|only me)\b|혼자(?:서)?\s*(?:창업|개발|하고|해요|합니다|운영)|1인 (?:창업|기업|개발)", re.I)
_PAIR = re.compile(r"\bjust (?:me and )?(?:my )?co-?founder\b|\bme and (?:my|one|another|an?|the)(?: other)? (?:co-?founder|ceo)\b|\bthe two of us\b|\bme and one other\b|\btwo co-?founders\b|\btwo of us\b|"
                   r"공동\s*창업자(?:랑|와|하고)\s*(?:저\s*)?둘|둘이서|창업자\s*두\s*명", re.I)


@dataclass(frozen=True)
class Size:
    """One company or team size the question states."""

    n: int
    words: str  # the words it came from, e.g. "열댓 명"
    clause: str  # the clause around it, so an answer can quote the user back
    tense: Tense
    team_only: bool = False  # "7 engineers" — a team, not the whole company


@dataclass(frozen=True)
class Situation:
    sizes: tuple[Size, ...]
    present_text: str  # the question without its past (backstory) clauses

    @property
    def current(self) -> Size | None:
        """The company the user is in now: the last present size, else the largest untagged one.

        A whole-company size wins over a team size ("12 people, 7 of them engineers" → 12).
        """
        now = [s for s in self.sizes if s.tense == "now"]
        if now:
            return ([s for s in now if not s.team_only] or now)[-1]
        unknown = [s for s in self.sizes if s.tense == "unknown"]
        if unknown:
            return max([s for s in unknown if not s.team_only] or unknown, key=lambda s: s.n)
        return None

    @property
    def others(self) -> list[Size]:
        """Sizes other than the current one that are not backstory: plans and hypotheticals to compare with."""
        cur = self.current
        return [s for s in self.sizes if s is not cur and s.tense != "past" and not s.team_only]

    @property
    def planned(self) -> Size | None:
        return next((s for s in self.sizes if s.tense == "future"), None)


# Where a past clause turns to the present: "left a bank to be CTO of…", "…, and I just joined…", "그만두고".
_TO_JOIN = re.compile(r"\bto (?:join|be|become|start|run|lead|build|co-?found|work (?:at|for|on))\b|"
                      r"\b(?:and|but|then|now)\s+(?:i(?:'ve| have)?\s+)?(?:just\s+|recently\s+)?(?:joined|moved to|became)\b|"
                      r"\b(?:grew|grown|have grown|'ve grown) (?:to|into)\b|"
                      r"(?:그만두고|관두고|퇴사하고|나와서|떠나서|떠나고)\s", re.I)
# "from a 5 person startup to a 500 person company", "5명 스타트업에서 500명 회사로 가면": any company, not one's own
_SIDE_BY_SIDE = re.compile(r"\bfrom an?\s|(?:으로|로)\s*(?:가면|갈 때|넘어가면|바뀌면)", re.I)
_FIRST_PERSON = re.compile(r"\b(?:we|we're|we've|us|our|i|i'm|i've|my)\b|저희|우리|제가|저는|내가|나는|제 회사", re.I)


def clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE.split(text) if c and c.strip()]


# Someone else's company ("my friend's startup", "친구 회사는"); a friend one works *with* ("친구랑 둘이
# 창업", "me and a friend started") is a co-founder, so the size is the user's own.
_OTHER = re.compile(r"(?<!with )(?<!and )\b(?:my|a) (?:friend|buddy|peer|classmate)\b(?! and (?:I|me)\b)|\bfreelanc\w*|"
                    r"\bon the side\b|\b(?:our|a|my) (?:client|customer)s?\b|"
                    r"\b(?:(?:a|our|my|the) )?(?:competitors?|rivals?)\b|\bother (?:company|companies|startups?)\b|"
                    r"\bparent(?:'s|\s+(?:company|group|org(?:anization)?|corp(?:oration)?))?\b|\b(?:spun|spin) (?:out|off) (?:of|from)\b|"
                    r"\bconglomerate\b|\bholding company\b|\bsubsidiary of\b|"
                    r"친구(?!랑|와|하고|이랑|들이랑|들과)|지인(?!이랑|과|하고|랑)|다른 회사|고객사|거래처|부업|경쟁사|경쟁 ?업체|다른 스타트업|"
                    r"모회사|본사(?:는|가)|지주사|(?:아버지|아버님|부모님|어머니|가족) 회사|그룹(?:은|이) (?:직원|전체)", re.I)


# A size named as a point of comparison ("3명일 때와 15명일 때", "네 명일 때랑 지금"): not the present one.
_REFERENCE = re.compile(r"(?:명|people|person)\s*(?:일|이었을|였을)\s*때(?:랑|와|하고|는|에는|의)?(?!\s*(?:지금|현재))", re.I)


_SAID_NOW = re.compile(r"(?:we're|we are|we r|저희|우리)\b", re.I)


def tense_of(clause: str) -> Tense:
    if _OTHER.search(clause) or _REFERENCE.search(clause):
        return "other"  # someone else's company: something to compare with, never the user's own
    if _PAST.search(clause) and not re.search(r"지금|현재|이제|\bnow\b|currently|down to|we're|we are", clause, re.I):
        return "past"
    if _FUTURE.search(clause):
        return "future"
    if _NOW.search(clause):
        return "now"
    return "unknown"


def _value(raw: str, mod: str = "") -> int | None:
    raw = re.sub(r"\s*-?(?:ish|odd|something)$", "", raw.strip().rstrip("+").strip())  # "30-ish", "40-odd", "sixty-something", "500+"
    if raw == "혼자":
        return 1
    amount = decade_phrase(raw)
    if amount is not None:
        return amount.value
    ko_scaled = re.fullmatch(r"(\d[\d,.]*)\s*([십백천만])", raw)
    if ko_scaled:
        base = digits(ko_scaled.group(1)) or 0
        raw = str(base * {"십": 10, "백": 100, "천": 1000, "만": 10000}[ko_scaled.group(2)])
    n = digits(raw) if raw[:1].isdigit() else None
    if n is None:
        n = korean_words(raw) if re.search(r"[가-힣]", raw) else english_words(raw)
    if n is None and re.search(r"[가-힣]", raw):
        n = sino_korean(re.sub(r"[^일이삼사오육칠팔구십백천만]", "", raw))
    if n is None:
        return None
    mod = mod.strip()
    if "중반" in mod:
        n += 5 * (10 ** max(0, len(str(n)) - 2))
    elif "후반" in mod:
        n += 8 * (10 ** max(0, len(str(n)) - 2))
    elif "초반" in mod or mod.startswith("대"):
        n += 1 * (10 ** max(0, len(str(n)) - 2))
    elif any(w in mod for w in ("넘", "이상", "남짓")):
        n += 1
    elif any(w in mod for w in ("미만", "안", "가까이", "못")):
        n = max(1, n - 1)
    return n


_BELOW = {"under", "fewer than", "less than", "below"}
_EN_BOUND = re.compile(r"\b(under|fewer than|less than|below|over|more than|above)\s+$", re.I)


# A count of people outside the company ("사용자는 200만 명", "회원 3천 명", "고객 50명"): never its size.
_NOT_STAFF = re.compile(r"(?:사용자|유저|이용자|고객|회원|가입자|구독자|방문자|시청자|수강생|팔로워|\bMAU|\bDAU)"
                        r"(?:\s*수)?(?:가|는|이|은|도|만)?\s*(?:약\s*|대략\s*|한\s*)?$", re.I)


def find_sizes(clause: str) -> list[tuple[int, str, bool, int]]:
    """(n, words, team_only, position) for every size in one clause."""
    found: list[tuple[int, str, bool, int]] = []
    taken: list[range] = []
    if _PAIR.search(clause):
        m = _PAIR.search(clause)
        assert m is not None
        found.append((2, m.group(0), False, m.start()))
        taken.append(range(m.start(), m.end()))
    elif _SOLO.search(clause):
        m = _SOLO.search(clause)
        assert m is not None
        found.append((1, m.group(0), False, m.start()))
        taken.append(range(m.start(), m.end()))
    for pattern, others in _SIZE_PATTERNS:  # others: people the count leaves out ("me and two other devs")
        for m in pattern.finditer(clause):
            if any(m.start() in r or m.end() - 1 in r for r in taken):
                continue
            n = _value(m.group("n"), m.groupdict().get("mod") or "")
            if n is None or n <= 0 or n > 10_000_000 or _NOT_STAFF.search(clause[: m.start()]):
                continue
            n += others
            bound = _EN_BOUND.search(clause[: m.start("n")])
            if bound:
                # "the one under 5 people" is 4 at most (the article's own "5명 미만"); "over 300 people" 301.
                n = max(1, n - 1) if bound.group(1).lower() in _BELOW else n + 1
            around = clause[max(0, m.start() - 12): m.end() + 4]
            noun = _NOUN_BEFORE.search(clause[: m.start()])
            # ("직원 아홉 명 회사고 개발자는 세 명": the noun the count belongs to decides, not a word nearby)
            team = bool(_TEAM_ONLY.search(m.group(0))) or bool(noun and _TEAM_ONLY.search(noun.group(1))) or \
                bool(re.search(r"개발자|엔지니어|개발팀|기술팀", around) and not re.search(r"직원|전체|회사|총|인원|포함|company|employees|including", around, re.I))
            words = (noun.group(1) + " " if noun else "") + m.group(0).strip()
            found.append((n, words, team, m.start()))
            taken.append(range(m.start(), m.end()))
    # "Three of us plus a part-time designer": the designer joins the count.
    if found and re.search(r"\bplus (?:a|an|one) (?:part[\s-]time )?\w+|\band (?:a|an|one) (?:part[\s-]time )?(?:designer|intern|pm|marketer)\b", clause, re.I):
        n, words, team, pos = found[0]
        found[0] = (n + 1 if n < 5 else n, words, team, pos)
    return sorted(found, key=lambda f: f[3])


def _bare_to(ft: re.Match[str]) -> tuple[int, str] | None:
    """The number right after "to" (or before "명" in "X명에서 Y명"), when it is one."""
    key = "b" if ft.group("b") is not None else "kb"
    rest = ft.string[ft.start(key):] if ft.group(key) is not None else ""
    m = re.match(r"(?:about |around |roughly |nearly |almost |over |~)?(\d[\d,.]*\s*k?\+?)(?![\w%])", rest, re.I)
    n = _value(m.group(1)) if m else None
    return (n, m.group(0).strip()) if m and n else None


def read_situation(text: str) -> Situation:
    sizes: list[Size] = []
    present: list[str] = []
    for clause in clauses(text):
        tense = tense_of(clause)
        ft = _FROM_TO.search(clause)
        hits = find_sizes(clause)
        if ft and len(hits) >= 2 and _SIDE_BY_SIDE.search(clause) and not _FIRST_PERSON.search(clause):
            # "from a 5 person startup to a 500 person company": two sizes set side by side, nobody's history
            for n, words, team, _ in hits:
                sizes.append(Size(n, words, clause, "unknown", team))
        elif ft and len(hits) == 1 and _bare_to(ft) is not None:
            # "We went from 4 people to 40 in a year": the size after "to" needs no noun of its own
            n, words, team, _ = hits[0]
            sizes.append(Size(n, words, clause, "past", team))
            to_n, to_words = _bare_to(ft)  # type: ignore[misc]
            sizes.append(Size(to_n, to_words, clause, "now", team))
        elif ft and len(hits) >= 2:
            # "we went from two contractors to nine full-timers": the last size is now, the others past
            for i, (n, words, team, _) in enumerate(hits):
                sizes.append(Size(n, words, clause, "now" if i == len(hits) - 1 else "past", team))
        else:
            # "I left a 5000-person bank to be CTO of a 10 person startup": past up to the purpose, now after it
            turn = _TO_JOIN.search(clause) if tense == "past" else None
            mixed = tense == "now" and _PAST.search(clause) is not None
            for n, words, team, pos in hits:
                t = "now" if turn is not None and pos > turn.start() else tense
                if mixed:
                    # "We're a couple dozen people now (started as four of us in a garage)": in a clause with
                    # both, the nearest marker before a size says whether it is then or now
                    marks: list[tuple[int, Tense]] = [(m.start(), "past") for m in _PAST.finditer(clause)] + \
                        [(m.start(), "now") for m in _NOW.finditer(clause)]
                    before = [k for k in marks if k[0] < pos]
                    t = max(before)[1] if before else t
                if re.search(r"down to|now|지금|현재|이제", clause[clause.find(words) - 12: clause.find(words)] if words in clause else "", re.I) \
                        or (t == "future" and _SAID_NOW.match(words)):
                    t = "now"  # "I'm planning to build it myself, since we're only 3": the size is said in the present
                sizes.append(Size(n, words, clause, t, team))
        if tense != "past":
            present.append(clause)
    return Situation(tuple(sizes), " ".join(present) if present else text)

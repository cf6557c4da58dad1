"""What kind of question is this: answerable, out of scope, a premise to check, or an injection?

Refusing when the article is silent is the behaviour users of RAG apps ask for most. Two signals:
topic patterns for things the article never discusses (pay, equity, specific tools, code, the
weather…), and retrieval confidence (no passage close enough). Instructions embedded in a question
are removed before anything else; they never change what the coach does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.types import IntentKind

# Picking a framework, cloud or database: its (Korean, English) label, shared with the scope examples.
TOOL_TOPIC = ("특정 기술·도구 선택", "choosing specific tools or technologies")

# Topics the article does not cover, with a short label for the refusal message.
_OUT_OF_SCOPE: list[tuple[str, str, re.Pattern[str]]] = [
    ("연봉·보상", "salary and compensation", re.compile(r"연봉|월급|급여|보상 ?패키지|처우|salary|salaries|compensation|\bpay\b|paid|wage|bonus|보너스|인센티브", re.I)),
    ("지분·스톡옵션", "equity and stock options", re.compile(r"지분|스톡\s*옵션|stock ?options?|equity|vesting|베스팅|주식 ?보상|shares", re.I)),
    ("투자 유치", "fundraising", re.compile(r"투자 ?유치|펀딩|fundrais|\bVCs?\b|investor pitch|IR 자료", re.I)),
    (*TOOL_TOPIC, re.compile(
        r"쿠버네티스|kubernetes|k8s|docker|도커|마이크로서비스|microservice|\bgcp\b|azure|terraform|kafka|postgres|mysql|mongodb|"
        r"django|spring|rails|next\.?js|vue|angular|flutter|react[\s-]?native|golang|\bgo\b 언어|rust|kotlin|typescript|파이썬|python|java\b|자바|"
        r"(?:어떤|어느|which|what)\s+(?:프로그래밍\s*)?(?:언어|프레임워크|framework|language|database|데이터베이스|db|cloud|클라우드|tool|툴|라이브러리|library|IDE)|"
        r"\b(?:react|vue|svelte|aws|gcp|java|python|go|node)\s+(?:vs\.?|or|아니면)\s+\w+", re.I)),
    ("코드 작성", "writing code", re.compile(
        r"코드\s*(?:를\s*)?(?:좀\s*)?(?:짜|작성해|만들어)\s*(?:줘|주세요|줄래)|짜\s*줘|(?:write|generate|give)\s+(?:me\s+)?(?:a|an|some|the)?\s*(?:python|javascript|sql|bash)?\s*(?:code|function|script|program|class|query)|implement (?:a|an|this)|how to (?:write|build|code|hack) (?:a|an)\b|keylogger|malware|exploit|해킹|fizzbuzz|정렬 알고리즘|알고리즘을? 구현", re.I)),
    ("날씨·일상", "the weather and everyday topics", re.compile(r"날씨|weather|기온|비가 ?(?:오|와)|맛집|레시피|recipe|요리|cook|끓이는|김치찌개|movie|영화 추천|여행|travel|주식 ?시장|stock market|주식 ?(?:하나 )?추천|stock (?:tip|pick)|살 만한 주식|\b(?:is|are) [A-Z]{2,5} an? (?:buy|sell)\b|\bover-?valued\b|\bunder-?valued\b|주식\s*(?:지금\s*)?(?:사도|사야|살까|매수)|(?:buy|sell)\s+(?:\w+\s+)?(?:stock|shares)\b|비트코인|bitcoin|crypto|로또|축구|football|soccer|노래|song|poem|시를 써|소설|novel|책 (?:추천|좀)|book recommendation|recommend a (?:good )?book", re.I)),
    ("구체적인 실행 방법", "step-by-step how-tos the article does not give", re.compile(r"구체적인 (?:\S+ )?(?:방법|절차|단계별)|방법론|체크리스트|템플릿|step[- ]by[- ]step|checklist|template|best practices|playbook|이사회|board meeting|board deck|예산 ?(?:짜|편성)|budget", re.I)),
    ("채용 절차 세부", "interview and hiring process details", re.compile(r"면접 ?질문|interview questions?|코딩 ?테스트|coding test|take-?home|몇 번의 면접|how many interview|job description|채용 공고 작성", re.I)),
    ("조직 운영 세부 기법", "specific management techniques", re.compile(r"\bOKR|KPI|1:1|원온원|one-on-one|1on1|코드 ?리뷰|code reviews?|on-?call|온콜|스크럼|scrum|애자일|agile|스프린트|sprint|회고|retrospective|성과 평가|performance review|퍼포먼스 리뷰", re.I)),
    ("CTO가 되는 경력 경로", "career paths to becoming a CTO", re.compile(
        # (not "become a CTO priority", "a CTO who only thinks about vision가 되고 싶은데")
        r"\b(?:become|becoming|path to (?:becoming )?) ?(?:a |the )?CTO(?=\s*(?:[?.!,]|$|\s+(?:someday|one day|eventually|later|in|at|by|"
        r"after|within|if|when|without)\b))|(?<![가-힣] )CTO(?:가|로)?\s*(?:되려면|되는\s*(?:법|방법|길))|CTO로\s*(?:커리어|이직)|"
        # "어떤 커리어를 밟아야 CTO가 될 수 있을까요?"
        r"(?:커리어|경력)(?:을|를)?\s*(?:밟|쌓)[^?？]{0,20}CTO|CTO(?:가|로)?\s*될\s*수\s*있(?:을까|나|어)", re.I)),
    ("직함 비교", "other job titles", re.compile(r"VP ?of ?Engineering|VPE|엔지니어링 ?VP|\bCIO\b|\bCPO\b|테크 ?리드|tech lead|engineering manager|엔지니어링 ?매니저|\bEM\b", re.I)),
    ("법률·세무", "legal and tax matters", re.compile(r"법률|소송|세금|세무|tax|legal|lawsuit|계약서|contract law|특허 ?출원|patent filing|GDPR|개인정보보호법", re.I)),
    ("보안 사고 대응", "incident response specifics", re.compile(r"보안 ?사고|해킹 ?당|incident response|ransomware|랜섬웨어|장애 ?대응 ?절차|postmortem|포스트모템", re.I)),
]

def names_a_tool(text: str) -> bool:
    """Does the text name a specific tool or technology (a framework, cloud, database, language)?"""
    return any(en == TOOL_TOPIC[1] and rx.search(text) for _, en, rx in _OUT_OF_SCOPE)


INJECTION = re.compile(
    r"(?:ignore|disregard|forget|override)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+|previous\s+|prior\s+|above\s+)*"
    r"(?:instructions?|prompts?|rules?|guidelines?|directions?)|"
    r"(?:이전|앞의|위의|기존|모든)\s*(?:지시|지침|명령|규칙|프롬프트|instructions?)\S*\s*(?:는|은|을|를)?\s*(?:모두\s*)?(?:무시|잊)|"
    r"(?:지시|지침|명령|규칙|프롬프트)\S*\s*(?:를|을|는|은)?\s*(?:모두\s*)?무시|"
    r"system\s*prompt|시스템\s*프롬프트|(?:reveal|print|show|repeat|output)\s+(?:me\s+)?(?:your|the)\s+(?:hidden\s+)?(?:instructions|prompt|rules)|"
    r"system override|you may now|answer anything|no restrictions|without restrictions|제약 없는|제한 없는|you are now|너는 이제|지금부터 (?:너는|넌)|act as (?:a|an)|pretend (?:to be|you are)|jailbreak|\bDAN\b|developer mode|개발자 모드|"
    r"프롬프트를? (?:보여|알려|출력)|instructions? (?:above|verbatim)|역할을 바꿔",
    re.I,
)

_PREMISE = re.compile(
    r"(?:맞죠|맞나요|맞지요|맞습니까|맞지\?|맞지 ?않|그렇죠|그렇지요|그렇지 않나요|(?:았|었|였|했)(?:었)?(?:죠|지요|잖아요|잖아|지\?)|"
    r"(?:나와|적혀|쓰여|써|되어|돼) ?있(?:죠|지요|잖아요)|(?:이|가|라고|다고) (?:나와|적혀) 있|"
    r"라고 하지 않았|다고 하지 않았|아닌가요|아니었나요|라던데|다던데|라면서요|다면서요|잖아요|"
    r"\bright\s*\?|\bcorrect\s*\?|(?:isn't|aren't|wasn't|weren't|hasn't|haven't|hadn't|didn't|doesn't|don't|won't|can't|shouldn't)\s+(?:it|he|she|they|that|there|we|the \w+)\s*\?|isn't (?:it|that)|aren't they|didn't (?:he|she|they|the (?:author|blogger|article))|"
    r"doesn't (?:he|she|it|the (?:author|blogger|article))|is it true|did the (?:author|blogger|article) (?:say|claim|write)|"
    r"(?:the )?(?:author|blogger|article|post) (?:says|said|claims|claimed|argues|argued|wrote) that|"
    r"according to the (?:author|blogger|article), .+,? right|wasn't it|wasn't he|true or false)",
    re.I,
)


def has_instruction(text: str) -> bool:
    """Does the text try to instruct the coach ("ignore previous instructions", "시스템 프롬프트")?"""
    return INJECTION.search(text) is not None


@dataclass(frozen=True)
class Intent:
    kind: IntentKind  # see assistant.types.IntentKind
    topic_ko: str = ""
    topic_en: str = ""
    cleaned: str = ""  # the question with injected instructions removed


def strip_injection(question: str) -> tuple[str, bool]:
    """Remove sentences that try to give the coach instructions; keep the rest of the question."""
    if not INJECTION.search(question):
        return question, False
    parts = re.split(r"(?<=[.!?。])\s+|\n+|(?<=[,，])\s*(?=(?:그리고|and|then)\b)", question)
    kept = [p for p in parts if p.strip() and not INJECTION.search(p)]
    return " ".join(kept).strip(), True


def out_of_scope_topic(text: str) -> tuple[str, str] | None:
    """(Korean, English) label of the first out-of-scope topic pattern the text matches."""
    for ko, en, pattern in _OUT_OF_SCOPE:
        if pattern.search(text):
            return ko, en
    return None


def classify(question: str) -> Intent:
    cleaned, injected = strip_injection(question)
    if injected and len(re.findall(r"[가-힣A-Za-z]", cleaned)) < 6:
        return Intent("injection", "지시 변경 요청", "requests to change my instructions", cleaned)
    text = cleaned or question
    for ko, en, pattern in _OUT_OF_SCOPE:
        if pattern.search(text):
            return Intent("out_of_scope", ko, en, text)
    if _PREMISE.search(text):
        return Intent("premise", cleaned=text)
    return Intent("injection_answer" if injected else "answer", cleaned=text)


def premise_claim(question: str) -> str:
    """The claim inside a "…, right?" question, without the tag that asks for confirmation."""
    claim = _PREMISE.sub(" ", question)
    claim = re.sub(r"^(?:so|and|but|그러니까|그럼|그래서)\s*,?\s*", "", claim.strip(), flags=re.I)
    return re.sub(r"[\s?？!,]+$", "", claim).strip() or question

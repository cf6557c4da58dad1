"""Understanding a question once, as a typed `Question`, for the extractive composer and the LLM alike.

Real questions are long: a backstory, a size in words, then the actual ask, often in the last
sentence. So the question is read in parts:

* the **situation** (`understand.situation`): sizes with the clause and tense they came from; only
  the present decides the stage, a planned or someone else's size makes a comparison;
* the **asks**: the sentences that actually ask something;
* the **type** (`QuestionType`), from the grammar of the asks (wh-words, yes/no forms, who-said-it
  forms) — not from topic phrases;
* the **topics**: the article's units closest in meaning to the asks (`understand.topics`);
* the **scope**: out of scope when a labelled out-of-scope example is clearly closer to the asks than
  anything the article says or any in-scope example (`understand.examples`), or a topic pattern fires.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from assistant.text import entities, is_korean, split_sentences
from assistant.types import Diagnosis
from assistant.understand.diagnosis import (
    OVERLAP,
    cue_hits,
    cue_stage,
    diagnose,
    diagnose_text,
    names_the_stage_model,
    stage_for_headcount,
)
from assistant.understand.examples import LEXICAL_STRONG, UNIT_STRONG, UNIT_WEAK, ScopeExamples, ScopeVerdict
from assistant.understand.scope import (
    TOOL_TOPIC,
    Intent,
    classify,
    names_a_tool,
    out_of_scope_topic,
    premise_claim,
)
from assistant.understand.situation import Situation, read_situation
from assistant.understand.topics import ROLE_WORDS, Match, TopicMap, terms_of, topic_text

# premise: "…, right?" about what the article says; belief: the user's own belief inside a story
# ("I thought a CTO should mostly manage people…"), checked against the article for the user's stage.
QuestionType = Literal["overview", "stage_advice", "which_stage", "comparison", "yes_no", "attribution",
                       "premise", "belief", "general", "out_of_scope", "injection"]

# Not knowing the answer to an embedded question is asking it ("…어떻게 바꿔야 할지 감이 안 와요", "뭘 해야 할지
# 모르겠어요"), however statement-like its ending.
_NOT_KNOWING = (r"지\s*(?:잘\s*|도\s*)?(?:감이\s*안\s*(?:와요|오네요|옵니다|잡혀요|잡히네요)|모르겠(?:어요|습니다|네요|더라고요)|"
                r"헷갈려요|헷갈리네요|막막해요|막막하네요)\s*[.!~ㅋㅎㅠㅜ]*$")
_ASK_END = re.compile(r"[?？]|(?:나요|까요|가요|습니까|ㅂ니까|니까|을까|할까|일까|죠|지요|는지|건지|어요|아요|에요|예요|"
                      r"해요|돼요|되나요|인가요|인지|알려줘|알려주세요|말해줘|정리해줘|요약해줘|궁금해요|궁금합니다|"
                      r"같기도\s*하고요|싶기도\s*하고요|싶네요|싶어요|싶어서요|싶더라고요|고민이네요|고민이에요|고민입니다)\s*[.!~ㅋㅎㅠㅜ]*$|"
                      + _NOT_KNOWING)
# Without question marks, endings that only a question has ("…하나 싶어서요.", "…맞을까요.") say which
# sentences ask before those a statement shares ("…두 배 찍었어요.", "…했어요.").
_ASK_END_WEAK = re.compile(r"(?:어요|아요|에요|예요|해요|돼요|죠|지요|니까)\s*[.!~ㅋㅎㅠㅜ]*$")
# Wondering aloud is asking ("Not sure if that's right.", "I wonder whether I should keep doing this.").
_EN_NOT_KNOWING = r"^\s*(?:honestly\s*,?\s*)?(?:i'?m\s+|i am\s+)?(?:not sure|unsure|wondering|i wonder|i don'?t know|i do not know|i have no idea|curious|(?:just )?trying to figure out)\s+"
_EN_WONDER = _EN_NOT_KNOWING + r"(?:if|whether)\b"
# …and not knowing what, how, which ("I have no idea what I should stop doing") asks an open question.
_EN_WONDER_WH = _EN_NOT_KNOWING + r"(?:how|what|where|when|which|who)\b"
_EN_ASK = re.compile(r"^\s*(?:so\s*,?\s*|and\s+|but\s+|ok(?:ay)?\s*,?\s*|also\s*,?\s*|honestly\s*,?\s*)?"
                     r"(?:what|when|which|who|whose|where|why|how|do|does|did|should|is|are|was|were|can|could|"
                     r"must|will|would|have|has|tell me|explain|give me|summari[sz]e)\b|" + _EN_WONDER + "|" + _EN_WONDER_WH, re.I)
# Asking where the user's own company sits.
_PLACE_ME = re.compile(r"(?:저희|우리|제)\s*(?:회사|팀|조직)?\s*(?:는|은)?\s*(?:어디에|어느\s*단계|몇\s*단계)|어디에\s*해당|"
                       r"\b(?:which|what) stage (?:are we|am i|is my|is our|would we|do we)|\bwhere (?:do|would|does) (?:we|my|our)\b.{0,20}\b(?:fall|fit|sit|land)", re.I)
_REQUEST = re.compile(r"(?:주세요|줘요|줘|주실 수 있나요|주실 수 있을까요|줄 수 있나요|줄래요|부탁(?:해요|드려요|드립니다))\s*[.!~ㅠㅎ?？]*$|"
                      r"^\s*(?:please\s+)?(?:explain|summari[sz]e|tell me|give me|walk me through|list)\b|"
                      # Wanting to know something is asking it: "전체 그림을 먼저 보고 싶습니다", "I'd like to understand…"
                      # (not "CTO를 해보고 싶어요": wanting to do something).
                      r"(?:을|를)\s*(?:먼저\s*|좀\s*|한번\s*)?(?:보고|알고|듣고|이해하고)\s*싶(?:어요|습니다|네요|은데요?)\s*[.!~ㅠㅎ]*$|"
                      r"^\s*I(?:'d| would) (?:like|love) to (?:know|see|understand|hear|learn)\b|"
                      r"^\s*I (?:want|need) to (?:know|understand|see|learn)\b", re.I)
_WHEN = re.compile(r"\b(?:when|at what (?:point|stage|phase|size|headcount|scale)|(?:which|what) (?:stage|phase|period|step)|"
                   r"at which|how (?:big|large|many people)|at what number)\b|언제|몇\s*단계|어느\s*(?:단계|시기|시점)|"
                   r"어떤\s*(?:단계|시기)|몇\s*명\s*(?:규모\s*)?(?:부터|쯤|일 때|정도에서)|규모부터|단계부터|시점|"
                   # "회사가 어느 정도 됐을 때부터", "얼마나 커야": a size asked for, in words
                   r"어느\s*정도\s*(?:규모|(?:됐|되었|커졌|컸|클|될)\S{0,2}\s*때)|얼마나\s*(?:커야|커지면|커졌을\s*때)", re.I)
# Where a company sits, asked without a stage word ("블로거 회사는 어디쯤이래요?", "Where does Amazon fall?").
_WHERE_PLACED = re.compile(r"어디(?:쯤|에|인|예요|일까|래요|라고)|\bwhere (?:does|do|is|are|would|did) [^?？]{1,40}\b(?:sit|fall|stand|fit|land|be)\b|"
                           # "where does the blogger put his own company on that scale?"
                           r"\bwhere (?:does|do|would|did) [^?？]{1,30}\b(?:put|place|rank|position|rate)\b", re.I)
# Whether a CTO's job changes with the company's size or stage (the article's own thesis, asked as yes/no).
ROLE_VARIES = re.compile(r"\b(?:size|stage|scale|grow\w*)\b[^?？]{0,40}\b(?:chang|differ|var(?:y|ies)|depend)|"
                          r"\b(?:chang\w*|differ\w*|var(?:y|ies)|depend\w*)\b[^?？]{0,30}\b(?:size|stage|grow\w*|how (?:big|large))\b|"
                          r"(?:규모|단계|성장)[^?？]{0,20}(?:달라|다르|바뀌|변하)", re.I)
ROLE_SAME = re.compile(r"\b(?:the same|regardless of)\b[^?？]{0,40}\b(?:size|stage|compan)|똑같|어디서든 같", re.I)
# Asking from which stage something holds (not "what should we do when…"): a stage or point named with "from".
_STAGE_OF_TOPIC = re.compile(r"(?:어느|몇|어떤)\s*(?:단계|시기|시점)(?:부터|에서부터|에|쯤)|단계부터|"
                             r"\bat (?:which|what) (?:stage|phase|point|size|headcount)\b", re.I)
_PLACE_ME_EN = re.compile(r"\b(?:which|what) (?:stage|phase) (?:are we|am i|is (?:my|our))\b|\bwhere (?:are we|do we (?:sit|fall|fit))\b", re.I)
_WH = re.compile(r"\b(?:what|when|which|who|where|why|how)\b|뭐|뭘|뭔|뭣|무엇|무슨|어떻게|어떤|어느|어디|왜|언제|몇|누가|누구|얼마", re.I)
# (after a lead-in that sets the scene: "At 9 people, is hiring…", "As a 3-person startup, should I…")
_EN_LEAD_IN = r"(?:(?:at|with|as|for|in|now that|since|given)\s[^,?]{1,40},\s*)?"
_YES_NO_EN = re.compile(r"^\s*(?:so\s*,?\s*|and\s+|but\s+|ok(?:ay)?\s*,?\s*|honestly\s*,?\s*)?" + _EN_LEAD_IN +
                        r"(?:do|does|did|should|shall|is|are|was|were|can|could|must|will|would|have|has|am)(?:n't|n’t)?\b|"
                        + _EN_WONDER, re.I)
_YES_NO_CLAUSE_EN = re.compile(r"(?:[,;:]|\s[-–—]+)\s*(?:so|and|but|then)?\s*(?:do|does|should|is|are|can|could|must|would)\s+"
                               r"(?:i|we|you|it|they|that|this|there|my|our|the)\b[^,;:]*[?？]\s*$|"
                               # after a dash or colon, any auxiliary-led clause: "8 ppl startup - is recruiting … on me?"
                               r"(?::|\s[-–—]+)\s*(?:do|does|did|should|is|are|was|can|could|must|would|will|am)\b[^:–—]*[?？]\s*$", re.I)
_KO_YES_NO = re.compile(r"(?:(?:건지|것인지|는지|인지)\s*(?:잘\s*)?(?:모르겠|궁금|고민)[가-힣]*[.~ㅠㅜ]*|"
                        # doubting aloud: "이거 제 일 아닌 것 같기도 하고요", "맞는 건지 싶기도 해요"
                        r"(?:것|거)\s*같기도\s*(?:하고|해|합니다)요?[.~ㅠㅜ]*|(?:거|것|건)\s*아니(?:에요|예요|야|지|잖아요)|나요|까요|가요|습니까|ㅂ니까|할까|일까|죠|지요|되나요|인가요|맞나요|있나요|없나요|해야\s*(?:하나|돼|할까|해)요?|"
                        r"도\s*(?:되나|돼|될까)요?|어야\s*(?:하나|해|돼)요?|[가-힣]+(?:어|아|해)요|(?:에요|예요|이야)(?=\s*[?？])|"
                        # typed casually, with the question mark that makes it one: "하는거임?", "해야 함?", "되냐?"
                        r"(?<=[가-힣])(?:임|함|됨|냐|나|니|음)\s*[?？]+|"
                        # wondering whether: "이게 맞나 싶어요", "CTO가 챙겨야 하나 싶네요", "욕심내는 건가 싶어요"
                        r"(?:나|까|가|는지|인지)\s*싶(?:어요|어서요|네요|습니다|다|어|고|은데|더라고요)[.~ㅠㅜ]*)\s*[?？]?\s*$")
# A verdict asked in a fragment: "Worth it?", "Too early?", "Good idea or bad idea?", "Right?"
_YES_NO_FRAGMENT_EN = re.compile(r"^(?:(?:is it |is that |is this |that'?s? |this'?s? |it'?s? )?(?:the right \w+|worth it|too (?:early|soon|late|much)|premature|overkill|"
                                 r"(?:an? )?(?:good|bad|smart|dumb|wise|sensible|poor|better|worse|reasonable|efficient) (?:idea|call|move|plan|use|way|fit|approach|investment|habit|trade-?off)|right|fair|normal|ok(?:ay)?|legit|reasonable|true|accurate|valid|"
                                 r"makes? sense|a red flag|my job|my call|on me|wrong|off|accurate))\b[^?？]{0,40}[?？]\s*$", re.I)
_WHO = re.compile(r"\bwho (?:(?:actually|really|first|originally|exactly) )?(?:said|says|wrote|writes|came up|is behind)|\b(?:original|source) (?:article|list|author|post)|"
                  r"\bthe blogger(?:'s)? (?:own|addition|opinion|view|take)|\b(?:hosang|jeon)\b.*\b(?:or|vs\.?)\b.*\b(?:blogger|mk)\b|"
                  r"\b(?:blogger|mk)\b.*\b(?:or|vs\.?)\b.*\b(?:hosang|jeon|original|source)\b|from the (?:original|source)|"
                  r"누구의? (?:말|의견|생각|주장|거|것|표현|아이디어)|"
                  r"\bwhose (?:point|idea|words?|phrase|term|view|claim|list|framework|model|split|stages)\b|"
                  r"누가 (?:말|한|쓴|했|정리|만든|만들었|작성)|(?:원문|원래|블로거|글쓴이)?\s*저자가 한|한 말(?:이에요|인가요|이야|이죠)|(?:원문|원글)(?:에|의|에서|에 있|이에요|인가요|내용| 저자)|원래 글|블로거(?:의|가)? (?:의견|생각|말|추가|덧붙)|"
                  r"Hosang Jeon (?:글|의 글)|호상|글쓴이(?:의|가)? (?:의견|생각)|출처|"
                  r"\bdid (?:hosang|jeon|the (?:original )?author|the blogger|mk) (?:say|mention|write|talk|bring up)|"
                  r"(?:Hosang Jeon|Hosang|Jeon|원문 저자|원저자|블로거|글쓴이|MK)(?:이|가|은|는|도)?\s.{0,30}(?:했나요|했어요\?|말했|언급|얘기를? 했|썼)|"
                  # a source named beside a word for whose words or thoughts ("블로거 본인 생각이에요, 아니면 원문
                  # 내용이에요?", "원글 작성자가 한 거예요?"): asking who said it
                  r"(?:원문|원글|원래 글|원저자|작성자|저자|블로거|글쓴이|필자)(?:의|이|가|은|는)?\s*(?:본인\s*|직접\s*)?"
                  r"(?:생각|의견|말|내용|주장|아이디어|견해|해석|추가|덧붙|한 (?:거|것|말)|쓴 (?:거|것))|"
                  # "원문 글에 나온 거예요? 아니면 블로그 쓴 분이 덧붙인 거?": the source, or whoever wrote this post
                  r"(?:원문|원글|원래)\s*(?:글)?\s*에\s*(?:나온|나와|있는|있던|있었)|"
                  r"(?:블로그|포스트|이 글|글)\s*(?:를\s*|을\s*)?(?:쓴|작성한|올린)\s*(?:분|사람|이|님)(?:이|가|은|는)?\s*(?:덧붙|추가|생각|의견|지어|만든|한 (?:거|것|말))", re.I)
# Asking for the whole map even while naming one stage ("단계별로 알려줘, 암흑기 말고 나머지가 기억이 안 나").
_OVERVIEW_STRONG = re.compile(r"\b(?:tl;?dr|summar(?:y|i[sz]e)|overview|each stage|every stage|all (?:four|4|the) stages|"
                              r"how many stages|what are the stages|the (?:four|4) stages)\b|단계별로?|각 단계|모든 단계|네 단계|4단계 ?(?:전부|다)|"
                              r"요약|한눈에|전체 그림|나머지(?:가| 단계)", re.I)
_OVERVIEW = re.compile(r"\b(?:tl;?dr|summar(?:y|i[sz]e)|overview|in a nutshell|the gist|big picture|framework|"
                       r"what does an? cto (?:actually |really )?do|what (?:is|'s) (?:the )?(?:job|role) of (?:a|the) cto|"
                       r"what (?:do|does) ctos? (?:actually |really |exactly )?do|what exactly does an? cto do|short version|main point|key points?|"
                       r"how many stages|what are the stages|each stage|all (?:four|4) stages|"
                       # How the role changes as a company grows: the article's thesis, its four-stage map.
                       r"as (?:the |a |your )?compan(?:y|ies) (?:grows?|scales?|gets? bigger)|"
                       r"(?:chang|differ|vary|varies)\w* (?:with|by|depending on) (?:the )?(?:company(?:'s)? )?(?:size|stage|growth))\b|"
                       r"(?:회사|규모|조직)\S*\s*(?:가\s*|이\s*)?(?:커가면서|커지면서|성장하면서|성장함에 따라|에 따라)\s*\S*\s*(?:CTO|역할|하는 일)|"
                       r"요약|요지|핵심만|한마디로|정리해|한눈에|전체적|단계별로|각 단계|몇 단계로|네 단계|4단계로|무슨 일을? 하|뭐 하는|뭐하는|무엇을 하는|하는 일이 뭐|(?<!해야 )하는 일이 (?:뭔|무엇)|"
                       r"\bwhat (?:is|makes) (?:a|an|the) cto\b|\bdifference between (?:a |an |the )?cto and|CTO란|CTO(?:와|랑|하고) .{1,20}(?:차이|다른)|"
                       # the role asked about in other words: "what does that person actually do", "what's the role
                       # really about", "what should I expect that role to look like", "어떤 일을 하게 되는지 큰 그림"
                       r"\bwhat (?:does|do|will|would) (?:that|this|the|a|an|our|my) (?:person|role|job|title|position) (?:\w+ )?"
                       r"(?:do|involve|entail|mean|look like|cover)\b|\bwhat(?:'s| is) (?:the|that|this) (?:role|job|title) (?:\w+ )?about\b|"
                       r"\bwhat (?:should|do|would) (?:i|we|you) expect (?:that|the|this|a) (?:role|job|cto)|"
                       r"어떤 일을? (?:하|맡)|큰 그림|"
                       r"(?:CTO|씨티오)(?:는|란|가)? (?:정확히 |대체 |도대체 )?(?:뭐|뭘|무엇|무슨)", re.I)
_COMPARE = re.compile(r"\b(?:vs\.?|versus|differ(?:ence|ent|s)?|compare[ds]?|comparison|between|change[sd]?|"
                      r"shift|evolve|how does .+ change|what changes)\b|차이|달라|다른가|다르|다른 (?:거|건|점)|비교|바뀌|변하|달라지", re.I)
# The user's own belief in a story ("I always thought…", "…라고 생각했는데"). What someone else says or
# was heard ("my CEO says…", "…다던데") is not the user's view: asking whether it holds is a question.
_STORY_PREMISE = re.compile(r"\b(?:i (?:always )?(?:thought|assumed|believed|figured)|isn't it (?:true|the case))\b|"
                            r"\b(?:i(?:'ve| have) been assuming|my understanding (?:is|was)|i was under the impression|"
                            r"from what i(?:'ve| have) (?:read|heard)|as far as i know)\b|"
                            r"(?:라고|다고|하다고|해야 한다고) (?:생각했|생각하는데|알았는데|배웠)|"
                            r"제 생각엔|제 생각에는|생각엔|(?:알고|믿고) 있었", re.I)
# The grammar of holding a view, whatever the topic: a first-person stance verb or noun
# ("I figure…", "the way I see it", "my plan is", "…라고 봐요", "믿어서", "생각하는데").
_STANCE = re.compile(r"\bI(?:'ve| have)? (?:always |really |honestly |kind of |sort of |just )?"
                     r"(?:think|thought|believe|believed|assume|assumed|figure|figured|feel|felt|guess|reckon|suppose|"
                     r"(?:have )?been telling myself)\b|\bI(?:'m| am) (?:assuming|convinced|sure|guessing|thinking)\b|"
                     r"\bI (?:don't|do not|didn't) (?:think|believe|see)\b|\bthe way I see it\b|\bin my (?:opinion|view|book)\b|"
                     r"\b(?:my|our) (?:view|take|plan|belief|assumption|instinct|philosophy|thinking|stance|rule) (?:is|was|has been)\b|"
                     r"\bmy (?:instinct|gut|intuition|hunch) (?:says|tells me)\b|"
                     r"\bI(?:'ve| have)? decided\b|\bmy (?:take|view|read|gut|hunch)\s*[:,]|\b(?:i'm |i am )?pretty sure\b|"
                     r"\bas I (?:understand|see|read) it\b|\bI(?:'ve| have)? (?:been telling|kept telling|keep telling) (?:my|the|our|everyone)\b|"
                     r"생각(?:해요|합니다|하는데|해서|했어요|했는데|하고 있|이에요|입니다|이었|하거든요|하고요)|(?:라고|다고|고) (?:봐요|봅니다|보는데|봤는데|보고)|"
                     r"하기로 (?:했|결정)|"
                     r"믿어(?:서|요)|믿는데|믿고 있|제 생각|내 생각|저는 .{0,40}(?:게|것이) (?:맞|낫|중요)", re.I)
# An open question (not a request for agreement): a wh-word opening an English ask, or a Korean one
# anywhere ("that's what a CTO should be doing, right?" still only seeks agreement).
_OPEN_ASK = re.compile(r"^\s*(?:so\s*,?\s*|and\s+|but\s+)?(?:what|when|which|who|where|why|how)\b|"
                       r"뭐|뭘|무엇|무슨|어떻게|어떤|어느|왜|언제|몇|누가|누구|얼마", re.I)
# An ask that only seeks agreement with what was just said ("…, right?", "Agree?", "맞죠?",
# "이 생각 맞죠?", "Does the article back me up?", "그래도 되지 않나요?").
_CONFIRM_ASK = re.compile(r"\b(?:right|correct|yes|yeah|yep|no|agree|agreed|true|fair|ok|okay|reasonable|isn't it|aren't i|"
                          r"don't you think|wouldn't you say|am i wrong|am i right|makes sense|agree or not|"
                          r"(?:am i |are we )?on the right track)\s*[?？!.]*\s*$|"
                          r"\b(?:is (?:that|this) )?the article's (?:view|take|position|stance)\b|"
                          r"\b(?:does|do|would|did) (?:the article|the post|the author|the blogger|it|you) (?:back|agree|support|see it)|"
                          r"\bis (?:that|this) (?:how|what|the right|right|correct|fair|true|a fair)|"
                          # "Am I right for this stage?", "Are we wrong to…?": agreement asked, whatever follows
                          r"^\s*(?:so\s*,?\s*)?(?:am i|are we) (?:right|wrong|correct|on the right track)\b|"
                          r"\bthat's (?:the right|right|correct|fine|what)|\bsounds? (?:right|reasonable|fair|good)|"
                          r"맞(?:죠|지요|나요|는 거죠|는 거지요|는 생각이죠|지 않나요|을까요|는 건가요|는지)|그렇(?:죠|지요|게 (?:말하|얘기하|보))|"
                          r"되지 않나요|되죠|괜찮(?:죠|은 거죠|겠죠)|틀렸나요|틀린 건가요|잘못된 건가요|관점과 맞|맞는 (?:생각|말|판단|방향)|"
                          r"[는인한운은된] 거죠\s*[?？]?\s*$", re.I)
# Asking what the coach makes of a view just stated ("제 생각은 …예요. 어떻게 보세요?", "Thoughts?"): a belief to check.
_OPINION_ASK = re.compile(r"어떻게 (?:보세요|보시나요|생각하세요|생각하시나요)|\bwhat do you (?:think|make of (?:it|that|this))\b|"
                          r"^\s*(?:thoughts|your take)\s*[?？]", re.I)
_DEICTIC = re.compile(r"\b(?:that|this|it|so)\b.{0,25}\?\s*$|^\s*(?:is that|is this|does that|would that|right|correct)\b|"
                      r"\b(?:is|was|are|does|do|did|should|would|will|can|could|isn't|doesn't)\s+(?:that|this|it|these|those)\b(?!\s+(?:company|team|stage|size|startup|article|point))|"
                      r"\b(?:let|keep|allow|stop|fix|change|continue|handle|do)\s+(?:that|this|it)\b|\b(?:they|them|those|these)\b|\b(?:that|this|it)(?:'s| is) (?:normal|ok|okay|fine|right|wrong|a problem|reasonable|healthy)\b|"
                      r"이게|이거|그게|그거|그렇게|이렇게|이런|그런|이대로|그대로|이 방식|이 생각|이래도|그래도 되|이렇게 해도|그쪽|이쪽|그 부분", re.I)
# A question about the article itself (its author, blogger, ending, list): in scope whatever it asks.
_ABOUT_ARTICLE = re.compile(r"글쓴이|저자|블로거|원문|이 글|글에서|마무리|\bMK\b|Hosang|Jeon|\bthe (?:article|author|blogger|post|"
                            r"source|original|list)\b", re.I)
# Choosing between named options ("웹 먼저 할까요, 앱 먼저 할까요?", "git-flow랑 trunk-based 중에 뭐가",
# "Jira, Linear, or SonarQube?"): the article never picks between tools or options.
_CHOICE = re.compile(r"(?:까요|할래요|갈까요)[,\s]+\S.{0,40}(?:까요|할래요)\s*[?？]|"
                     r"\s(\S+요)[,\s]+\S.{0,40}\s\1\s*[?？]|"  # "채용 계획 짜는 게 먼저예요, MVP 만드는 게 먼저예요?"
                     r"(?:갈지|할지|쓸지|고를지|정할지)\s+\S+?\s*(?:갈지|할지|쓸지|고를지|정할지)|"  # "Jira로 갈지 Linear로 갈지"
                     r"\S+(?:랑|이랑|와|과|하고)\s+\S+\s*(?:중에?서?|중)\s*(?:뭐|뭘|어느|어떤|무엇)|"
                     # (not "…, or is that premature?": an "or" that opens a second yes/no clause)
                     r"\b(?:which|what)\b[^?]{0,60}\b(?:or(?!\s+(?:is|are|was|should|would|do|does|did|can|could|will|not|am)\b)|vs\.?|versus)\b[^?]{1,40}\?|"
                     r"\w+,\s*\w+,?\s+or\s+\w+\s*\?|"
                   r"\b(?:use|pick|choose|go with|adopt|switch to|build (?:it |our \w+ |the \w+ )?(?:in|with|on))\s+(?:a |an |the )?"
                   r"[\w.+#-]+(?:\s[\w.+#-]+)?\s+or\s+(?:a |an |the )?[\w.+#-]+", re.I)
_DOES_ARTICLE_SAY = re.compile(r"\b(?:does|did) the (?:article|post|blog|author|blogger|list) (?:say|mention|talk|cover|discuss|include)|"
                               r"글에(?:서)?(?:는)? .{0,30}(?:나와|나오|언급|있나요|있어요|다루)", re.I)


@dataclass(frozen=True)
class Question:
    """Everything the answer needs to know about what was asked, computed once."""

    text: str  # the question as the user typed it (validated)
    cleaned: str  # without injected instructions
    language: Literal["ko", "en"]
    situation: Situation
    asks: tuple[str, ...]  # the sentences that ask something
    qtype: QuestionType
    diagnosis: Diagnosis
    intent: Intent
    topics: tuple[Match, ...] = field(default=())  # the article's closest units, best first
    in_scope: bool = True
    scope_reason: str = ""  # the out-of-scope topic, in English (for the refusal message)
    scope_reason_ko: str = ""
    claim: str = ""  # for premises: the belief to check
    asks_article: bool = False  # "does the article say …?"
    options: tuple[str, ...] = ()  # an either-or ask's two options ("keep coding", "start managing")
    # What an ask that points back ("그거 원글에 있는 내용이에요?", "Is that list from the blogger?") points at: the
    # coach's last answer in the conversation ('' without one, or when the ask names its own topic).
    referent: str = ""

    @property
    def korean(self) -> bool:
        return self.language == "ko"

    @property
    def ask_text(self) -> str:
        return " ".join(self.asks) or self.cleaned

    @property
    def topic_text(self) -> str:
        """What is embedded to find the question's topic: the asks, or — when they only point back
        ("Is that right?", "이게 맞는 순서일까요?") — the present part of the whole question. Without the
        "when / at which stage" form. One e5 call per question, shared with retrieval."""
        return _asked_or(self.ask_text, _WHEN.sub(" ", self.situation.present_text or self.cleaned))

    @property
    def topic_words(self) -> str:
        """Where the topic's words are taken from (rare terms, keywords): the present part of the whole
        question — situation and asks, backstory out. In "We're 9 and every engineer picks their own
        framework. Is that OK?" the topic is in the situation. Measured on the dev split: the gold unit
        ranks first for 0.500 of questions with these words vs 0.415 with the asks' words alone
        (0.505 when the whole present text is embedded too, at twice the embedding cost)."""
        return _WHEN.sub(" ", self.situation.present_text or self.ask_text or self.cleaned)

    def match(self, topics: TopicMap, text: str | None = None, **kw: Any) -> list[Match]:
        """The article's units for this question (or for `text`, e.g. a claim), best first."""
        if text is None or text == self.topic_text:
            return topics.match(self.topic_text, english=not self.korean, words=self.topic_words, **kw)
        return topics.match(text, english=not self.korean, **kw)


def _sentences_and_asks(text: str) -> tuple[list[str], list[str]]:
    """The text's sentences, and those that ask something (possibly none)."""
    sentences = [s.strip() for s in split_sentences(text) if s.strip()] or [text.strip()]
    # With question marks, they say which sentences ask (Korean polite statements and questions share
    # their endings: "직원 2천 명이에요." is not an ask) — besides requests ("한 번에 정리해 주세요.",
    # "Explain the stages."); without, endings and wh-/auxiliary starts do.
    marked = [s for s in sentences if re.search(r"[?？]", s) or _REQUEST.search(s)]
    if marked:
        # The last sentence asks too when it opens like a question and only its mark was left off ("Is CTO
        # just a fancy title? what's the role really about").
        last = sentences[-1]
        if last not in marked and _EN_ASK.search(last) and not is_korean(last):
            marked.append(last)
        return sentences, marked
    ended = [s for s in sentences if _ASK_END.search(s) or _EN_ASK.search(s)]
    strong = [s for s in ended if not _ASK_END_WEAK.search(s) or re.search(_NOT_KNOWING, s)]
    return sentences, strong or ended


def asks_of(text: str) -> tuple[str, ...]:
    """The sentences that ask something; the last sentence when none looks like a question."""
    sentences, asks = _sentences_and_asks(text)
    return tuple(asks or sentences[-1:])


def asks_explicitly(text: str) -> bool:
    """Does any sentence ask (a question mark, a request, a question's ending)? A story that only ends
    ("…my calendar is wall-to-wall 1:1s. Something feels off but I can't name it.") asks with all of it."""
    return bool(_sentences_and_asks(text)[1])


# Quoted speech ("'기술 경영 비전이 뭐냐'는 질문을 받았는데"): its wh-words are not the user's. (Not `_QUOTED`
# below, which finds the article's quoted words and so wants no letter right after the closing mark: here a
# particle — "'…뭐냐'는", "'…쓰냐'고" — usually follows.)
_QUOTED_SPEECH = re.compile(r"'[^']{1,80}'|\"[^\"]{1,80}\"|‘[^’]{1,80}’|“[^”]{1,80}”|「[^」]{1,80}」")
# A Korean sentence's type is in its last clause: "…질문을 받았는데, 지금 그런 걸 고민할 단계인가요?" asks yes or no.
_KO_CLAUSE_END = re.compile(r"(?:는데|은데|인데|던데|지만|거든요|니까)[,.]?\s+")
# "어떤 … 있나요?" asks whether there is any: yes or no ("추천하는 어떤 언어가 있나요?").
_ANY_KO = re.compile(r"^(?:(?!뭐|뭘|무엇|어떻게|왜|언제|몇|누가|누구|얼마|어느).)*(?:어떤|무슨)[^?？]*(?:있|없)(?:나요|어요|을까요|는지)\s*[?？]?\s*$")


def is_yes_no(ask: str) -> bool:
    if is_korean(ask):
        last = _KO_CLAUSE_END.split(_QUOTED_SPEECH.sub(" ", ask))[-1]
        if _ANY_KO.search(last):
            return True
        return bool(_KO_YES_NO.search(last)) and not _WH.search(last)
    # English: a question that opens with an auxiliary is yes/no ("Is hiring my job when we're 4?"), and so is
    # one whose last clause does when nothing else is asked ("I only know mobile, so can I skip the backend?").
    # (not "ok and what changes when we're 30?": a fragment's "ok" that opens a wh-question)
    return bool(_YES_NO_EN.search(ask)) or (bool(_YES_NO_FRAGMENT_EN.search(ask.strip())) and not _WH.search(ask)) \
        or (bool(_YES_NO_CLAUSE_EN.search(ask)) and not _WH.search(ask))


def _size_diagnosis(sit: Situation, present: Diagnosis) -> Diagnosis | None:
    """The stage from the user's current size, with the article's overlap rule; None without a size."""
    cur = sit.current
    if cur is None:
        return None
    stage, conf = stage_for_headcount(cur.n)
    cue = cue_stage(sit.present_text) if cur.n in OVERLAP else None
    if cue is not None and cue[0] in (2, 3):
        # Where the article's ranges overlap (20-99 people), the situation decides: doubling → 2, unicorn → 3.
        return Diagnosis(cue[0], 0.8, f"{cur.words}, {cue[2]}", "headcount", (cue[0],), cur.n)
    return Diagnosis(stage, conf, cur.words, "headcount", (stage,), cur.n)


_SAME_COMPANY_BEFORE = re.compile(r"작년|재작년|\d+\s*년 전|몇 년 전|창업 (?:때|당시|초기)|처음(?:엔|에는)|"
                                  r"\blast year\b|\b(?:a|one|two|\d+) years? ago\b|\bused to be\b|\bwhen we started\b|"
                                  r"\bat (?:the )?(?:start|founding)\b", re.I)
_ELSEWHERE = re.compile(r"전 직장|이전 (?:회사|직장)|전 회사|다녔|퇴사|그만두|\b(?:my|a) (?:previous|last|old|former) "
                        r"(?:company|job|employer|startup)\b|\bleft\b|\bquit\b|\bworked at\b", re.I)


_BARE_NUMBER = re.compile(r"(?<![\w.,$])(\d{1,3}(?:,\d{3})+|\d+)(?![0-9A-Za-z.,%$]|\s*(?:%|원|년|개월|주|시간|일|달|단계|stage|years?|months?|weeks?|percent|x\b|배))")


def diagnose_question(text: str, sit: Situation, history: list[tuple[str, str]], comparing: bool) -> Diagnosis:
    """The stage(s) of the user's company: named stages and follow-ups first, then the present size, then cues."""
    present = diagnose(sit.present_text, history)
    bare = _BARE_NUMBER.search(text) if history and not sit.sizes and len(text) <= 40 else None
    if bare is not None:
        # "and at 5000?", "그럼 200은요?" after a conversation about the company's headcount: a bare number
        # is a headcount too.
        before = diagnose("", history)
        n = int(bare.group(1).replace(",", ""))
        if before.headcount is not None and n >= 2:
            new = stage_for_headcount(n)[0]
            return Diagnosis(new, 0.7, bare.group(1), "headcount", (new,), n)
    planned = [s for s in sit.sizes if s.tense == "future"]
    if history and sit.current is None and planned and present.source == "headcount" and present.headcount == planned[-1].n:
        # "그럼 나중에 30명 되면 뭐가 달라져요?" after "저희 3명이에요": the size is a plan, the conversation
        # says where the company is now; what is asked about is the planned size's stage, beside it.
        before = diagnose("", history)
        new = stage_for_headcount(planned[-1].n)[0]
        if before.stage is not None and new != before.stage:
            return Diagnosis(new, 0.8, planned[-1].words, "headcount", (new, before.stage), planned[-1].n)
    if present.source in ("followup", "history"):
        # A follow-up that brings its own size: a present one replaces the conversation's ("we just merged,
        # now about 140"); a planned one is what is asked about ("what changes once we hit 15?"), with
        # the conversation's stage beside it.
        if sit.current is not None:
            by_size = _size_diagnosis(sit, present)
            if by_size is not None:
                return by_size
        planned = [s for s in sit.others if s.tense == "future"]
        if planned and present.stage is not None:
            new = stage_for_headcount(planned[-1].n)[0]
            if new != present.stage:
                return Diagnosis(new, 0.8, planned[-1].words, "headcount", (new, present.stage), planned[-1].n)
    if present.source in ("stage_name", "stage_number") and sit.current is not None and _PLACE_ME.search(text):
        # "다들 성숙기 얘기만 하는데 저희 회사(15명)는 어디에 해당돼요?": the stage named is others' talk; the
        # user asks where their own company sits, and its size says.
        by_size = _size_diagnosis(sit, present)
        if by_size is not None:
            return by_size
    if present.source in ("stage_name", "stage_number") and not comparing and sit.current is not None \
            and not sit.current.team_only and present.cue not in sit.current.clause:
        # (Not a size said of the stage itself: "성장기는 직원 100명 이상부터라고 했죠?" is a premise about the
        # stage's range.)
        # "회사 인원은 12명이에요. 르네상스 단계 CTO처럼 움직여야 하나요?": the stage named is what is asked
        # about; the company's present size, outside that stage's range, says where the user is.
        by_size = _size_diagnosis(sit, present)
        if by_size is not None and by_size.stage is not None and by_size.stage not in present.stages \
                and sit.current.n not in OVERLAP:
            return by_size
    if present.source in ("stage_name", "stage_number", "followup", "override"):
        if comparing and present.source != "followup":
            sizes = [stage_for_headcount(s.n)[0] for s in sit.sizes if s.tense != "past"]
            # "창업 초기 제품도 없을 때랑 성숙기 대기업일 때": a named stage beside a described one.
            cues = [stage for stage, _, _ in cue_hits(text)]
            stages = tuple(dict.fromkeys([*present.stages, *sizes, *cues]))
            if len(stages) >= 2:
                return replace(present, stages=stages[:2])
        return present
    by_size = _size_diagnosis(sit, present)
    if comparing:
        found: list[int] = []
        if by_size is not None and by_size.stage is not None:
            found.append(by_size.stage)
        for s in sit.others:
            found.append(stage_for_headcount(s.n)[0])
        if not sit.others and _COMPARE.search(" ".join(asks_of(text))):
            # "작년엔 직원 8명이었는데 지금은 150명이에요. 그 사이에 CTO 역할이 어떻게 바뀌었어야 하나요?": the
            # same company's earlier size, asked how the role changes since, is the other side of the comparison
            found += [stage_for_headcount(s.n)[0] for s in sit.sizes if s.tense == "past" and not s.team_only
                      and _SAME_COMPANY_BEFORE.search(s.clause) and not _ELSEWHERE.search(s.clause)]
        # The other side told by a cue ("예비 유니콘 단계 회사 CTO랑 직원 수천 명 되는 대기업 CTO"): read without
        # the sizes already counted, in numerals or in words.
        rest = sit.present_text
        for size in sit.sizes:
            rest = rest.replace(size.words, " ") if size.words else rest
        rest = re.sub(r"\d[\d,.]*\s*(?:명|people|employees|person)", " ", rest)
        cue_stage = diagnose(rest, []).stage
        if cue_stage:
            found.append(cue_stage)
        unique = list(dict.fromkeys(found))
        if len(unique) >= 2:
            base = by_size or present
            return Diagnosis(unique[0], 0.8, base.cue or "", base.source if base.stage else "cue", tuple(unique[:2]),
                             base.headcount)
    if by_size is not None:
        return by_size
    return present


_POINTS_BACK_ONLY = re.compile(r"^\s*(?:is|was|does|would|should)\s+(?:that|this|it)\b|^\s*(?:이게|이거|그게|그거|이 정도|그 정도)", re.I)
_EN_CONTEXT = re.compile(r"^.*[,;]\s*(?:so|but)\s+(?=(?:what|which|how|where)\b)", re.I)


def _asking_part(ask: str) -> str:
    """The ask without a context clause before it ("코드리뷰 프로세스부터 만들고 있는데, 지금 CTO로서 제가 해야
    할 일이 뭔가요?" asks what to do; what the user is doing is the story) — unless what is left only points
    back at it ("…만들고 있는데, 이게 맞나요?") or names almost nothing."""
    rest = _EN_CONTEXT.sub("", _KO_CONTEXT.sub("", ask)) if _WH.search(ask) else ask
    if rest == ask or _DEICTIC.search(rest) or len(terms_of(rest)) < 2:
        return ask
    return rest


_TAG_END = re.compile(r"(?:,\s*(?:right|correct|yeah|no|yes)|\bisn't (?:it|that)|\bdon't you think)\s*[?？]*\s*$", re.I)


# What was said, asked to be confirmed: "…가장 중요하다고 했죠?", "…워너보겔스라고 했죠?", "…라고 나와 있죠?"
# (a premise about the article, as "…, right?" is in English).
_SAID_TAG_KO = re.compile(r"(?:다|라|자|냐)고\s*(?:했|하셨|하잖|말했|말하|얘기했|나와\s*있|나왔|써\s*있|적혀\s*있|쓰셨)[가-힣]*\s*[?？]*\s*$")


_EXPLAIN_ASK = re.compile(r"설명|말하면|말해야|말해 주|\b(?:explain|describe)\b|\bhow (?:do|should|would|can) i (?:put|say|tell)\b", re.I)


def classify_type(intent: Intent, asks: tuple[str, ...], diag: Diagnosis, text: str) -> tuple[QuestionType, str]:
    """(type, claim): grammar of the asks, most specific first."""
    ask = " ".join(asks)
    if intent.kind == "injection":
        return "injection", ""
    if intent.kind == "out_of_scope" and (out_of_scope_topic(_asking_part(ask))
                                          or (_POINTS_BACK_ONLY.search(ask) and not _WHO.search(ask)
                                              and len(terms_of(ask)) <= 4
                                              and out_of_scope_topic(text) not in (None, TOOL_TOPIC))):
        # (an ask that only points back — "Is that a fair number or should I push for more?" — asks about
        # what the story names: "1.5% equity on a 4-year vest")
        return "out_of_scope", ""
    story = _STORY_PREMISE.search(text)
    # "Am I doing the CTO job right?": an auxiliary-led question whose "right" is an adverb, not a tag
    # asking to confirm a stated view — a yes/no question unless a view is stated. In Korean too: "이 단계
    # CTO한테는 기술 경영이 핵심 역량인 게 맞나요?" asks; "제 생각엔 … 것 같은데 맞나요?" holds a view.
    asks_plainly = is_yes_no(asks[-1]) and not story and not _STANCE.search(text) \
        and not re.search(r",\s*(?:right|correct|yes|no)\s*[?？]\s*$", asks[-1], re.I) and not _SAID_TAG_KO.search(asks[-1])
    # A tag at the end ("…since that's what CTOs are supposed to do, right?") asks to confirm, whatever
    # wh-words the clause before it holds.
    tagged = bool(_TAG_END.search(asks[-1]))
    # (a request — "…다르다던데 단계별로 정리해 주실 수 있나요?" — asks for something, not whether it holds)
    if intent.kind == "premise" and (not _WH.search(ask) or tagged) and not asks_plainly and not _REQUEST.search(asks[-1]):
        if story or diag.source == "headcount":
            held = story or _STANCE.search(text)  # the sentence that holds the view, not the whole story
            return "belief", _belief(text, held) if held else premise_claim(intent.cleaned or text)
        return "premise", premise_claim(intent.cleaned or text)
    if story and (is_yes_no(asks[-1]) or re.search(r"맞|틀렸|지\s*궁금|는지|\b(?:right|correct|true|wrong|wondering|whether|"
                                                  r"if (?:that|this|it)|still (?:holds|true|the case|applies))\b", ask, re.I)):
        return "belief", _belief(text, story)
    stance = _STANCE.search(text)
    if stance and ((_CONFIRM_ASK.search(asks[-1]) and not _OPEN_ASK.search(asks[-1])) or _OPINION_ASK.search(asks[-1])):
        return "belief", _belief(text, stance)
    if _WHO.search(ask):
        return "attribution", ""
    if _OVERVIEW_STRONG.search(ask) and diag.source not in ("headcount", "followup") and len(diag.stages) <= 1:
        return "overview", ""
    if len(diag.stages) >= 2 and (_COMPARE.search(ask) or _COMPARE.search(text)):
        return "comparison", ""
    if diag.stage is None and _EXPLAIN_ASK.search(ask) and not _OVERVIEW.search(ask) and _OVERVIEW.search(text) \
            and _WH.search(text):
        # "엄마가 CTO가 뭐 하는 거냐고 물어보시네요. 쉽게 설명하려면 어떻게 말하면 될까요?": how to explain what the
        # story asks — what a CTO does.
        return "overview", ""
    if diag.stage is None and len(asks) > 1 and any(_OVERVIEW.search(a) and _WH.search(a) for a in asks):
        # "…what does that person actually do? Like day to day, and does it change as we grow?": the open
        # question about the role is what the yes/no beside it elaborates.
        return "overview", ""
    if diag.stage is None and is_yes_no(asks[-1]) and (ROLE_VARIES.search(ask) or ROLE_SAME.search(ask)):
        return "yes_no", ""  # "Does it really depend on how big the company is?" (not "at which size")
    if _WHERE_PLACED.search(ask) and third_party(ask):
        return "which_stage", ""  # "블로거 본인 회사는 어디쯤이래요?": where a named company sits
    if _WHEN.search(ask) and (diag.source not in ("headcount", "followup", "history") or third_party(ask)
                              or (diag.source == "headcount" and _STAGE_OF_TOPIC.search(ask)
                                  and not _PLACE_ME.search(ask) and not _PLACE_ME_EN.search(ask))):
        # "CTO가 채용까지 신경 써야 하는 건 어느 단계부터인가요? 지금은 셋이서…": the stage of a topic is asked,
        # whatever the user's own size (which the answer states beside it).
        return "which_stage", ""
    if diag.stage is None and _OVERVIEW.search(ask):
        return "overview", ""
    if is_yes_no(asks[-1]):
        return "yes_no", ""
    if diag.stage is not None:
        return "stage_advice", ""
    if _OVERVIEW.search(ask):
        return "overview", ""
    return "general", ""


# Names that are not a company or person whose stage one could ask about.
_NOT_PLACES = {"ceo", "hosang jeon", "mk", "popit", "react", "cto"}


def third_party(ask: str) -> set[str]:
    """The article's named companies and people an ask is about ("And Amazon, which stage would that be?",
    "블로거 회사는 몇 단계래요?"): a which-stage question about them, not about the user's company."""
    return entities(ask) - _NOT_PLACES


def _belief(text: str, m: re.Match[str] | None) -> str:
    """The belief a story states: the clause that holds "I thought …" / "…라고 생각했는데" / "…고 봐요",
    without the clauses around it ("직원 7명인데 저는 … 봐요" → "저는 … 봐요")."""
    for s in split_sentences(text) or [text]:
        if m is not None and m.group(0) in s:
            clauses = [c for c in re.split(r"\s*\b(?:but|however)\b\s*|(?<=데|만),?\s+", s, flags=re.I) if c.strip()]
            held = next((c for c in clauses if m.group(0) in c), s)
            return re.sub(r"(?:는데|지만|데),?$", "", held.strip()).strip() or s
    return text


def _without_situation(ask: str, sit: Situation) -> str:
    """The ask without the clauses that only state the user's size ("공동창업자 둘이서 시작했는데 …")."""
    size_words = [s.words for s in sit.sizes]
    kept = [c for c in re.split(r"(?<=는데|인데|지만)\s+|,\s*", ask) if not any(w and w in c for w in size_words)]
    rest = " ".join(kept).strip()
    return rest if len(terms_of(rest)) >= 1 else ask


def _asked_or(ask: str, fallback: str) -> str:
    """The asks without the "when / at which stage" form ("몇 명 규모부터", "at what point": the form, not
    the topic), or `fallback` when they only point back ("Is that OK?", "이게 맞는 순서일까요?")."""
    ask = _WHEN.sub(" ", ask)
    if len(terms_of(ask)) >= 3 and not _DEICTIC.search(ask):
        return ask
    return fallback


def _scope_text(ask: str, sit: Situation, cleaned: str) -> str:
    """What scope is judged on: the asks, or the present text (with its "when" words) when they point back."""
    return _asked_or(ask, sit.present_text or cleaned)


def _by_own_words(ms: list[Match]) -> list[Match]:
    """Matches ranked as the units' own words rank them (without their glosses): what scope was tuned on."""
    return sorted(ms, key=lambda m: -m.own_rank)


def _article_silent_on(near: list[Match]) -> bool:
    """No unit of the article is even weakly close to the ask (without its words naming the article:
    "글에서", "the blogger"), by meaning or by its rare terms."""
    ms = _by_own_words(near)[:3]
    return max((m.score for m in ms), default=-1.0) < UNIT_WEAK and max((m.lexical for m in ms), default=0.0) < LEXICAL_STRONG / 2


def _article_speaks_to(ask: str, sit: Situation, topic_map: TopicMap, language: str) -> bool:
    """Does one of the article's units match the ask strongly (by meaning or by its rare terms)?

    The out-of-scope topic patterns fire on single words ("code", "sprint", "tech lead"); when the
    article itself answers the ask ("Does a CTO need to write code?" → 설계, 구현 능력), the word was
    incidental. Measured on the dev split: two false declines fewer, no near-scope question let through.
    """
    if any(topic_map.known_share(q) >= 0.99 and terms_of(q) for q in quoted(ask)):
        return True  # the user quotes the article's own words ("'기술 브랜딩' 하자며 …")
    about = _without_situation(ask, sit)
    ms = topic_map.match(about, english=language == "en")[:3]
    return (max((m.score for m in ms), default=0.0) >= UNIT_STRONG
            or max((m.lexical for m in ms), default=0.0) >= LEXICAL_STRONG)


# Quotes, not apostrophes: a single quote opens after a space or start and closes before a non-letter.
_QUOTED = re.compile(r"(?<![\w])'([^'\n]{2,40}?)'(?![\w])|[\"“「‘]([^\"”」’\n]{2,40})[\"”」’]")


def quoted(text: str) -> list[str]:
    """Phrases the user put in quotes: often the article's own words ("the 'managing technical debt' point")."""
    found = [(m.group(1) or m.group(2) or "").strip() for m in _QUOTED.finditer(text)]
    return [f for f in found if len(f) >= 2]


# Who makes the choice, not which option to take ("Should I be the one deciding what database we use?",
# "기술 스택은 누가 정해야 하나요?"): the article's "② 초기 기술 스택의 선정" says whose job it is.
_WHO_DECIDES = re.compile(r"\bthe one (?:deciding|choosing|picking|making the call)\b|\bwho (?:should )?(?:decides?|chooses?|picks?)\b|"
                          r"\b(?:should|must) I (?:be the one to )?(?:decide|choose|pick|own)\b|누가 (?:정|결정|선택|고르|골라)|"
                          r"제가 (?:직접 )?(?:정해야|결정해야|선택해야|골라야)|CTO가 (?:직접 )?(?:정해야|결정해야|선택해야|골라야)", re.I)


# "… or a monolith for our MVP?": what the choice is for is context, not one of the options.
_FOR_CONTEXT = re.compile(r"\s+(?:for|in|at|during|before|after|on)\s+(?:our|the|a|an|my|this|its)\b[^?]*|"
                          # what is built with the options: "build our MVP in Flutter or React Native"
                          r"\bbuild\s+(?:it|our \w+|the \w+)\s+(?=(?:in|with|on)\b)", re.I)


_AUX_SUBJECT = re.compile(r"^.*?\b(?:should|shall|do|does|must|can|could|would|will|is|are|am)\s+"
                          r"(?:i|we|you|it|they|he|she|ctos|(?:the|a|an|our|my) (?:cto|ctos|team|company|job|role|priority|focus|"
                          r"main job|first priority|time)(?:\s+be)?)\s+", re.I)
_EN_OR = re.compile(r"\s*,?\s+\bor\b\s+", re.I)
# A clause or a negation after "or" makes it a yes/no question ("…, or is that premature?", "…or not?", "…or
# just corporate noise?", "…or am I overstepping?"), not a choice between two things to do.
_NOT_AN_OPTION = re.compile(r"^(?:not|no|just|only|merely|is|are|am|was|were|do|does|did|should|can|could|would|"
                            r"will|has|have|it|that|this|there|something|anything|what|which|who|more|less|else)\b", re.I)
_LEAD_PREP = re.compile(r"^(?:on|in|with|to|for|at|into|about)\b", re.I)
# Syllables whose final consonant is ㄹ: "챙길지", "잡을지", "할지" all end in one of them before 지.
_RIEUL_FINAL = "".join(chr(0xAC00 + i * 28 + 8) for i in range(19 * 21))
_KO_WHETHER = f"[{_RIEUL_FINAL}]지"
_KO_OR = re.compile(r"[,\s]*아니면\s+|\s+(?:vs\.?|VS\.?|대)\s+|(?<=까요)[,\s]+(?=\S)|"
                    # "A를 챙길지 B를 잡을지", "코딩하냐 매니징하냐": two clauses, each closed the same way
                    rf"(?<={_KO_WHETHER})[,\s]+(?=\S.*{_KO_WHETHER})|(?<=냐)[,\s]+(?=\S.*냐)")
# "채용이랑 기술 부채 정리 중에 뭐가 먼저예요?", "A 하는 거랑 B 하는 거, 둘 중 뭐가": the options before "중".
_KO_AMONG = re.compile(r"^(.+?)(?:이랑|랑|하고|와|과)\s+(.+?)[,\s]*(?:둘\s*)?중(?:에서|에)?\s*"
                       r"(?:뭐|뭘|무엇|어느|어떤|어디|누가|더)")
# "Which should come first, the P&L or org efficiency?": the options follow the wh-clause.
_EN_WHICH_OF = re.compile(r"^.*?\b(?:which|what)\b[^,?]*,\s*(?:the\s+)?(.+?)\s*,?\s+or\s+(?:the\s+)?(.+)$", re.I)
_KO_SUBJECT = re.compile(r"^.*?(?:제가|저는|내가|나는|저희가|우리가|CTO는|CTO가|CTO란)\s+(?:지금\s+|이제\s+|요즘\s+|당장\s+)?", re.I)  # who asks
_KO_WHICH_TAIL = re.compile(r"\s*(?:뭐가|뭘|어느\s*(?:게|쪽이)|어떤\s*게|무엇이)\s*(?:더\s*)?\S*$")  # "…, 뭐가 더 중요?"
_KO_PARALLEL = re.compile(r"^(.+?)\s(\S+요)[,\s]+(.+?)\s\2$")
_KO_CONTEXT = re.compile(r"^.*(?:는데|인데|은데|니까|어서|아서|해서)[,\s]+")
_KO_ASK_END = re.compile(r"\s*(?:해야\s*)?(?:할까요|될까요|하나요|까요|나요|돼요|해요|에요|예요)$|"
                         rf"\s*(?:{_KO_WHETHER}|하냐|냐)(?:\s*(?:고민|모르겠|궁금)[가-힣]*)?$")
# "Between A and B, which …", "A or B — which matters more …", "…, prioritise: A or B": the options come
# before the wh-word or after the colon, whatever opens the sentence.
_EN_BETWEEN = re.compile(r"^.*?\bbetween\s+(.+?)\s+and\s+(.+?)\s*(?:[,:;]|\s[-–—])\s*(?:which|what|where|who|how)\b", re.I)
_EN_OR_THEN_WH = re.compile(r"^(.+?)\s+or\s+(.+?)\s*(?:[,:;]|\s?[-–—]+)\s*(?:which|what|where)\b", re.I)
# what frames an option without being part of it: "(it's) better for me to …", "say the CTO should …"
_OPTION_FRAME = re.compile(r"^(?:(?:it'?s?|is it)\s+)?(?:better|best|wiser|smarter|more important|smart)\s+(?:for (?:me|us|a cto|the cto)\s+)?to\s+|"
                           r"^(?:say|think|recommend|suggest|advise)\s+(?:that\s+)?(?:the cto|a cto|i|we|ctos)\s+(?:should|must|needs? to|ought to)\s+",
                           re.I)
_ASPECT = re.compile(r"\b(?:keep|start|stop|stay|still|continue)\b|계속|그만", re.I)


# "Which of the two should I do first?", "둘 중에 뭘 챙겨야 돼요?": the two were named before the ask.
_OF_THE_TWO = re.compile(r"\bwhich (?:of the two|one of the two|of (?:them|those|these) (?:two )?)\b|\b(?:which|what) (?:one )?(?:first|comes first)\b|"
                         r"둘\s*중|두\s*(?:개|가지)\s*중|어느\s*쪽", re.I)
_EITHER_EN = re.compile(r"\beither\s+(.+?)\s*,?\s+or\s+(.+?)\s*(?:[.?!;]|$)", re.I)
# Two options asked about in the story, Korean style: "슈퍼개발자냐 기술관리자냐 (물어보는데)", "A인지 B인지".
_ASKED_PAIR_KO = re.compile(r"((?:[^\s.?!,]+\s){0,2}[^\s.?!,]+?)(?:이)?(?:냐|인지|일지)[,\s]\s*"
                            r"((?:[^\s.?!,]+\s){0,2}[^\s.?!,]+?)(?:이)?(?:냐|인지|일지)(?=[\s,.?!]|$)")
_PAIR_KO = re.compile(r"(?:^|\s)(?:(?:요즘|지금|현재|당장|일단|사실|솔직히|근데|그런데)\s+)?([^\s.?!,]+?(?:\s[^\s.?!,]+?){0,3}?)(?:이랑|랑|하고|와|과)\s+"
                      r"([^.?!,]+?)\s*(?:둘\s*다|두\s*(?:개|가지)\s*(?:다|모두)?)")


def _options_told(text: str, ask: str) -> tuple[str, ...]:
    """The two options named before an ask that picks one of them ("An advisor says I should either set up a
    P&L for engineering or start building our tech brand. Which of the two should I do first?")."""
    if not _OF_THE_TWO.search(ask):
        return ()
    m = _EITHER_EN.search(text) or _PAIR_KO.search(text) or _ASKED_PAIR_KO.search(text)
    if not m:
        return ()
    left, right = (g.strip(" ,") for g in m.groups())
    return (left, right) if left and right and len(left.split()) <= 10 and len(right.split()) <= 10 else ()


def either_or(ask: str) -> tuple[str, str] | None:
    """The two options of an either-or ask ("Should I keep coding or start managing?", "코딩을 계속 해야
    할까요 아니면 관리에 집중해야 할까요?"), each as a short phrase; None for a yes/no question whose "or"
    opens a second clause or a negation ("…or not?", "…, or is that premature?")."""
    a = ask.strip().rstrip("?？.!~ ").strip()
    if is_korean(a):
        among = _KO_AMONG.match(a)
        options = _ko_options(among.groups()) if among else None
        if options:
            return options
        parts = _KO_OR.split(a)
        parallel = _KO_PARALLEL.match(a)
        if len(parts) != 2 and parallel:
            # two clauses that end in the same word ("A가 먼저예요, B가 먼저예요?"): the options before it
            parts = [parallel.group(1), parallel.group(3)]
        return _ko_options(parts) if len(parts) == 2 else None
    for pattern in (_EN_BETWEEN, _EN_OR_THEN_WH):
        pair = pattern.match(a)
        if pair and all(0 < len(g.split()) <= 8 for g in pair.groups()):
            return _option(pair.group(1)), _option(pair.group(2))
    after_colon = _EN_OR.split(a.rsplit(":", 1)[1]) if ":" in a else []
    if len(after_colon) == 2:  # "What should I prioritise: A or B?"
        left, right = (_option(o) for o in after_colon)
        if left and right and len(left.split()) <= 8 and len(right.split()) <= 8:
            return left, right
    which = _EN_WHICH_OF.match(a)
    if which:
        return (which.group(1).strip(), which.group(2).strip()) if all(
            len(g.split()) <= 6 for g in which.groups()) else None
    parts = _EN_OR.split(a)
    if len(parts) != 2 or not _AUX_SUBJECT.search(parts[0]) or _NOT_AN_OPTION.search(parts[1]):
        return None
    framed = _OPTION_FRAME.search(_AUX_SUBJECT.sub("", parts[0]).strip()) is not None
    left, right = _option(_AUX_SUBJECT.sub("", parts[0])), _option(parts[1])
    if framed and right.lower().startswith("to "):  # "better to keep shipping or to start hiring": both infinitives
        right = right[3:]
    elif _LEAD_PREP.search(right):  # "focus on hiring or on tech debt": the second option shares the verb
        verb = re.split(r"\s+(?=(?:on|in|with|to|for|at|into|about)\b)", left, maxsplit=1)[0]
        right = f"{verb} {right}"
    return (left, right) if left and len(left.split()) <= 12 and len(right.split()) <= 12 else None


def _ko_options(parts: Sequence[str]) -> tuple[str, str] | None:
    """Two Korean options without the ask's ending, a trailing "뭐가 더", the context clause and who asks."""
    left, right = (_KO_ASK_END.sub("", _KO_WHICH_TAIL.sub("", p.strip(" ,")).strip(" ,")) for p in parts)
    left = _KO_SUBJECT.sub("", _KO_CONTEXT.sub("", left))
    return (left, right) if left and right else None


def _option(text: str) -> str:
    """An English option without what frames it ("better for me to keep shipping" → "keep shipping")."""
    return _OPTION_FRAME.sub("", text.strip(" ,:;-–—")).strip()


_LATIN_JOSA = re.compile(r"(?<=[A-Za-z0-9])(?:으로|로|를|을|이|가|은|는|와|과|랑|이랑|부터|도)(?![가-힣])")  # "Linear로"
_BACK_REFERENCE = re.compile(r"^(?:이걸|이거|그걸|그거|이것|그것|지금처럼|that|this|it|so|doing)$", re.I)


def option_topic(option: str) -> str:
    """An option without its aspect words ("keep", "계속") and the particles on a Latin name ("Linear로")."""
    return _LATIN_JOSA.sub(" ", _ASPECT.sub(" ", option))


def points_back(option: str, topic_map: TopicMap) -> bool:
    """Does the option name nothing of its own, only point back at the story ("이걸 계속", "keep doing that")?"""
    return all(_BACK_REFERENCE.match(t) for t in topic_map.topic_terms(option_topic(option)))


def _options_discussed(options: tuple[str, ...], topic_map: TopicMap) -> bool:
    """Are the options of an either-or ask things the article speaks of ("기술 부채 정리부터 할까요, 아니면 MVP
    빨리 내는 거부터 할까요?"), rather than alternatives it never names ("웹 먼저 할까요, 앱 먼저 할까요?")?
    Each option that names something (not "이걸 계속", "keep doing that") must hold the article's terms
    for at least 0.3 of its topic words — users add their own words around the article's."""
    named = [option_topic(o) for o in options if not points_back(o, topic_map)]
    return bool(named) and all(topic_map.known_share(o) >= 0.3 for o in named)


def _options_in_article(options: str, topics: tuple[Match, ...], topic_map: TopicMap | None, language: str) -> bool:
    """Are the options chosen between things the article itself discusses ("MVP부터 할까요, 채용부터 할까요?")?
    Judged on the ask without what the choice is for, so "microservices or a monolith for our MVP" is not
    saved by "MVP"."""
    if topic_map is None:
        return max((m.lexical for m in topics[:3]), default=0.0) >= 0.5
    return topic_map.known_share(options) >= 0.5


_TOOL_CHOICE = TOOL_TOPIC[1]  # also the examples' label (examples.yaml)
# Picking among tools: a wh-word or an "or" beside the tool, or a named tool (the scope patterns hold the names).
_PICK = re.compile(r"\b(?:which|what|or|vs\.?|versus)\b|뭘|뭐|무엇|무슨|어떤|어느|어디|아니면|중에", re.I)


# Topics the article declines as techniques ("How do I write OKRs?") yet answers as a question of how much of
# them is the CTO's own job at a stage (its stage-3 "팀 운영의 디테일을 챙기는 것은 점점 줄이고").
_ROLE_SCOPED_TOPICS = {"specific management techniques"}
# The user's own job named without the title ("이거 제 일 아닌 것 같기도 하고요", "Is that really my job?").
_OWN_JOB = re.compile(r"\bmy (?:job|role|responsibility|call|place)\b|제\s*(?:일|역할|몫|업무)(?:이|가|은|는|인|아닌|맞)|내\s*(?:일|역할)(?:이|가|은|는|인|아닌|맞)", re.I)
# Examples given of what is asked about ("…, like code review norms and how we document things"): a wh-word
# inside them does not make the ask a how-to.
_EXAMPLES = re.compile(r"[,(]?\s*\b(?:like|such as|e\.g\.|for example|for instance|including)\b[^?？.!]*|"
                       r"(?:예를 들(?:면|어)|예컨대)[^?？.!]*", re.I)


def _asks_about_own_involvement(intent: Intent, asks: tuple[str, ...], diag: Diagnosis) -> bool:
    """A yes/no question, at a known stage, on whether the CTO should be doing a management routine
    ("직원 30명인데 CTO인 제가 모든 회고에 다 들어가도 괜찮을까요?"), not how to run it ("How should I structure
    on-call?", "OKR은 어떻게 세우나요?"): what the article says the CTO's job is at that stage answers it."""
    said = [_EXAMPLES.sub("", a) for a in asks]  # "…culture, like code review norms and how we document things?"
    return (intent.topic_en in _ROLE_SCOPED_TOPICS and diag.stage is not None and bool(asks)
            and is_yes_no(asks[-1]) and not _WH.search(" ".join(said))
            # …not whether the article covers the routine ("Does the article have anything on OKRs?")
            and not _ABOUT_ARTICLE.search(" ".join(asks)))


def _tools_either_side(ask: str) -> bool:
    """"flutter or react native for our mvp?": a tool named on each side of an "or", however the ask is put."""
    sides = _EN_OR.split(ask)
    return len(sides) == 2 and all(names_a_tool(side) for side in sides)


def _picks_a_tool(ask: str) -> bool:
    """Does the ask pick a tool ("Which database should we pick?", "Should we move to Kubernetes?"), as opposed to
    asking about the team's way of choosing them ("Everyone uses their own framework. Is that OK?")?"""
    return bool(_PICK.search(ask)) or out_of_scope_topic(ask) is not None


_UNRELATED = ("topics unrelated to the CTO's role", "CTO 역할과 관계없는 주제")  # (English, Korean) refusal label


def _summary_of_something_else(ask: str, text: str, topic_map: TopicMap) -> bool:
    """Does an ask worded like a request for the overview ("요약 좀 해줄 수 있어요?", "give me the gist")
    name a subject the article never speaks of ("어제 발표된 부동산 대책"), and neither the CTO, the article
    nor its stages? Then it is not asking for the article's map."""
    if ROLE_WORDS.search(text) or _ABOUT_ARTICLE.search(text) or names_the_stage_model(text) \
            or re.search(r"단계|시기|\bstages?\b|글|\b(?:article|post|blog)\b", text, re.I):
        return False
    subject = _OVERVIEW.sub(" ", _OVERVIEW_STRONG.sub(" ", ask))  # without the words that ask for a summary
    # (three words of its own: "요약해 주세요", "전체적으로 한번 정리해 줄래요?" leave only request forms)
    return len([t for t in topic_map.topic_terms(subject) if len(t) >= 2]) >= 3 and topic_map.known_share(subject) < 0.5


def understand(text: str, history: list[tuple[str, str]], topic_map: TopicMap | None,
               examples: ScopeExamples | None = None, fixed: Diagnosis | None = None) -> Question:
    intent = classify(text)
    cleaned = intent.cleaned or text
    language: Literal["ko", "en"] = "ko" if is_korean(cleaned) else "en"
    sit = read_situation(cleaned)
    asks = asks_of(cleaned)
    # (two sizes of the company, not the company and its engineering team: "직원 아홉 명 회사고 개발자는 세 명")
    # A comparison is asked ("어떻게 달라요?"), not told in the story ("코드 컨벤션도 다르고").
    comparing = bool(_COMPARE.search(" ".join(asks))) or len([s for s in sit.sizes if s.tense != "past" and not s.team_only]) >= 2
    diag = fixed or diagnose_question(cleaned, sit, history, comparing)
    qtype, claim = classify_type(intent, asks, diag, cleaned)
    if qtype == "overview" and topic_map is not None and _summary_of_something_else(" ".join(asks), cleaned, topic_map):
        qtype = "general"  # judged for scope like any other question
    topics: tuple[Match, ...] = ()
    ask = " ".join(asks)
    # A topic word ("코드 리뷰", "sprint") does not decline an ask that names one of the article's stages
    # ("성숙기 CTO가 코드까지 봐야 한다고 하나요?") or that the article answers strongly.
    if qtype == "out_of_scope" and topic_map is not None and (
            (diag.source in ("stage_name", "stage_number") and diagnose_text(ask).source in ("stage_name", "stage_number"))
            or topic_map.named_item(ask) is not None
            or _WHO_DECIDES.search(ask)
            or _asks_about_own_involvement(intent, asks, diag)
            or _article_speaks_to(ask, sit, topic_map, language)):
        intent = replace(intent, kind="answer")
        qtype, claim = classify_type(intent, asks, diag, cleaned)
    if topic_map is not None and qtype not in ("injection", "out_of_scope"):
        probe = Question(text, cleaned, language, sit, asks, qtype, diag, intent)
        topics = tuple(probe.match(topic_map, claim or None)[:8])
    in_scope, reason, reason_ko = True, "", ""
    options: tuple[str, ...] = next((o for o in map(either_or, asks) if o), ()) or _options_told(cleaned, ask) \
        if qtype in ("yes_no", "general", "stage_advice") else ()
    if intent.kind == "out_of_scope" and qtype != "out_of_scope":
        # The out-of-scope topic is only in the backstory ("the CEO wants me in every sprint planning");
        # what is asked is in scope.
        intent = replace(intent, kind="answer")
    if qtype == "out_of_scope":
        in_scope, reason, reason_ko = False, intent.topic_en, intent.topic_ko
    elif (options and any(names_a_tool(o) for o in options)) or _tools_either_side(ask):
        # "Should we build our MVP in Flutter or React Native?": picking between tools, whatever the
        # options are for (the article's stage-1 item is choosing the stack, never which one).
        in_scope, reason, reason_ko = False, TOOL_TOPIC[1], TOOL_TOPIC[0]
    elif qtype in ("general", "yes_no", "stage_advice") and _CHOICE.search(ask) \
            and not _options_in_article(_FOR_CONTEXT.sub("", ask), topics, topic_map, language) \
            and not (options and topic_map is not None and _options_discussed(options, topic_map)):
        in_scope, reason, reason_ko = False, "choosing between specific options", "특정 선택지 중 고르기"
    elif options and topic_map is not None and _options_discussed(options, topic_map):
        pass  # choosing between things the article speaks of ("개발자인지 관리자인지"): what it answers
    elif examples is not None and qtype not in ("injection", "premise", "belief", "attribution", "overview", "comparison") \
            and diag.source not in ("stage_name", "stage_number", "followup") and not _WHO_DECIDES.search(ask):
        # A question that names one of the article's stages, or the article itself, is about the article;
        # otherwise the scope is judged on what is asked, without the clauses that describe the user's
        # situation.
        # What scope is judged on: the ask, or the story with it when nothing is asked explicitly or the ask
        # names nothing itself ("…후배가 슈퍼개발자냐 기술관리자냐 묻네요. 둘 중에 뭐라고 보는 게 맞아요?").
        names_nothing = len([t for t in terms_of(topic_text(ask)) if len(t) >= 2 and not _WH.fullmatch(t)]) <= 1
        told = ask if asks_explicitly(cleaned) and not (names_nothing and len(asks) < len(split_sentences(cleaned))) \
            else (sit.present_text or cleaned)
        scoped = _scope_text(told, sit, cleaned)
        # what is asked about, not the examples given of it ("engineering culture, like code review norms")
        asked_about = _EXAMPLES.sub("", scoped)
        about = _without_situation(asked_about if len(terms_of(asked_about)) >= 3 else scoped, sit)
        generic = diag.stage is not None and len([t for t in terms_of(topic_text(_without_situation(ask, sit)))
                                                  if len(t) >= 2 and not _WH.fullmatch(t)]) <= 1
        # "지금 뭘 챙겨야 하나요?" (at most one topic word) with the user's stage known is what the article
        # answers: there is no topic to decline.
        # How strongly the article speaks to the ask: its best units for the ask itself (the question's
        # topics are matched on the whole present text and ordered with keywords, not by this score).
        near = topic_map.match(about, english=language == "en") if topic_map else list(topics)
        verdict = ScopeVerdict(True) if generic else examples.judge(
            about, max((m.score for m in [*near, *topics]), default=None), topic_map.vector(about) if topic_map else None,
            max((m.lexical for m in [*_by_own_words(near)[:3], *_by_own_words(list(topics))[:3]]), default=0.0),
            about_own_role=diag.stage is not None and bool(ROLE_WORDS.search(told) or _OWN_JOB.search(told)))
        if not verdict.in_scope and _ABOUT_ARTICLE.search(cleaned) and not _article_silent_on(
                topic_map.match(_ABOUT_ARTICLE.sub(" ", about), english=language == "en") if topic_map else list(topics)):
            # A question about the article ("What does the blogger think about management early on?") is
            # declined only when nothing in the article comes close to what it asks about ("…about remote
            # work?"): the examples alone would decline everything that sounds like everyday talk.
            verdict = ScopeVerdict(True)
        if not verdict.in_scope and diag.stage is not None and ROLE_WORDS.search(ask) and topic_map is not None \
                and topic_map.item_of_term(about) is not None:
            # A CTO at a known stage asking whether one of the article's capabilities is their job, named by
            # a term only that item uses ("이 단계에서 개발자 채용하는 게 CTO 일 맞아요?" → ⑤ 채용).
            verdict = ScopeVerdict(True)
        if not verdict.in_scope and verdict.reason == _TOOL_CHOICE and not _picks_a_tool(about):
            # Close to "which framework should we use?" by meaning, yet nothing is being picked: "개발자들이
            # 각자 원하는 프레임워크를 쓰는데 그냥 둬도 될까요?" asks how far the CTO steers the team's
            # technology, which the article's architecture and stack items speak to.
            verdict = ScopeVerdict(True)
        if verdict.in_scope and qtype == "general" and topic_map is not None and not history and diag.stage is None \
                and _summary_of_something_else(about, cleaned, topic_map) \
                and max((m.score for m in near), default=0.0) < UNIT_WEAK:
            # An open question (not which stage, not yes/no) with nothing of the CTO, the article or its stages,
            # nothing the article comes close to, and words of its own ("허리가 아파요 … 스트레칭 추천"): a question about something else, however much its
            # form ("추천해 주세요") resembles an in-scope example's.
            verdict = ScopeVerdict(False, *_UNRELATED)
        in_scope, reason, reason_ko = verdict.in_scope, verdict.reason, verdict.reason_ko
    return Question(text=text, cleaned=cleaned, language=language, situation=sit, asks=asks, qtype=qtype,
                    diagnosis=diag,
                    intent=intent, topics=topics, in_scope=in_scope, scope_reason=reason, scope_reason_ko=reason_ko, claim=claim,
                    asks_article=bool(_DOES_ARTICLE_SAY.search(ask)), options=options,
                    referent=_referent(ask, history, topic_map))


def _referent(ask: str, history: list[tuple[str, str]], topic_map: TopicMap | None) -> str:
    """The coach's last answer, when the ask points back at it and names nothing of the article itself."""
    last = next((t for role, t in reversed(history or []) if role == "assistant"), "")
    if not last or not _DEICTIC.search(ask):
        return ""
    if topic_map is not None and (topic_map.topic_terms(ask) & topic_map.idf.keys()) - _ASKING_FORM:
        return ""
    return last


# Words of the asking form of "whose is it / is it in the article", never its topic.
_ASKING_FORM = {"있", "내용", "의견", "추가", "생각", "말", "own", "idea", "list", "original", "source", "author",
                "blogger", "article", "part", "item", "items", "원글", "원문", "블로거", "목록", "항목"}

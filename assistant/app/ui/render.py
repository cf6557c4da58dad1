"""The web UI's HTML and markdown, as pure functions of an `Answer` (no Gradio here).

Evidence panel: the cited passages in marker order, stage and who-said-it badges, the supporting
sentence highlighted inside the escaped passage text — for English answers the project's English
rendering and the Korean original side by side, the supporting sentence highlighted in both; chat
message: notice, diagnosis line, answer with clickable `[n]` markers; the Stages tab rendered from
the corpus (in Korean, or from the English rendering).
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

from assistant.article.profile import PROFILE, STAGE_NAMES_EN, STAGE_NAMES_KO, label
from assistant.article.rendering import TRANSLATION_NOTE
from assistant.text import MARKER, is_korean, split_sentences
from assistant.types import Answer, Citation
from assistant.understand.diagnosis import explain

if TYPE_CHECKING:
    from assistant.coach import Coach

AUTO = "auto"
MAX_OLDER_EVIDENCE = 8  # earlier answers whose evidence stays reachable from their markers

FRIENDLY_ERROR = (
    "⚠️ 답변을 만드는 중 문제가 생겼습니다. 잠시 후 다시 시도해 주세요. / "
    "Something went wrong while answering; please try again."
)
EMPTY_EVIDENCE = (
    '<div class="cc-evidence"><p class="cc-empty">질문하면 답변의 근거가 되는 원문 구절이 여기에 표시됩니다.<br>'
    "Ask a question: the passages behind each <code>[n]</code> marker appear here.</p></div>"
)


def stage_label(stage: int | None, korean: bool) -> str:
    if not stage:
        return label("stage.none", korean)
    return PROFILE.stage_label(stage, korean)


def voice_label(c: Citation, korean: bool) -> str:
    return PROFILE.voice_label(c.voice, korean) or c.author


def quote_spans(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    """Where each piece (a supporting sentence) occurs in `text`, merged; whitespace-insensitive."""
    spans: list[tuple[int, int]] = []
    for piece in pieces:
        piece = piece.strip()
        if len(piece) < 2:
            continue
        start = text.find(piece)
        if start >= 0:
            spans.append((start, start + len(piece)))
            continue
        tokens = piece.split()
        if not tokens:
            continue
        m = re.search(r"\s*".join(re.escape(t) for t in tokens), text)
        if m:
            spans.append(m.span())
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def highlight(text: str, pieces: list[str]) -> tuple[str, bool]:
    """The passage as HTML (escaped) with the supporting sentences wrapped in `<mark>`."""
    spans = quote_spans(text, pieces)
    out, pos = [], 0
    for s, e in spans:
        out.append(html.escape(text[pos:s]))
        out.append(f'<mark class="cc-quote">{html.escape(text[s:e])}</mark>')
        pos = e
    out.append(html.escape(text[pos:]))
    return "".join(out), bool(spans)


def strip_md(text: str) -> str:
    return re.sub(r"\*\*|__|`", "", text).strip()


def supporting_pieces(answer: Answer, c: Citation) -> list[str]:
    """The sentences to highlight for citation `c`: its quote, split into sentences, and the answer's
    own sentences that cite it (extractive answers quote the passage verbatim)."""
    pieces = [c.quote, *split_sentences(c.quote)]
    for s in answer.sentences:
        if c.n in s.citations and s.claim:
            pieces.append(strip_md(s.text))
    return pieces


def supporting_pieces_en(answer: Answer, c: Citation) -> list[str]:
    """The English counterparts of `supporting_pieces`: the rendering of the quote and the English
    answer sentences that cite the passage."""
    pieces = [c.quote_en or "", *split_sentences(c.quote_en or "")]
    for s in answer.sentences:
        if c.n in s.citations and s.claim:
            pieces.append(strip_md(s.text))
    return [p for p in pieces if p]


def passage_html(answer: Answer, c: Citation) -> tuple[str, bool]:
    """The passage body: the original with its supporting sentence marked; for a citation with an English
    rendering, the rendering and the original side by side, marked in both, with the translation note."""
    body, found = highlight(c.text, supporting_pieces(answer, c) + [s.original for s in answer.sentences
                                                                     if s.original and c.n in s.citations])
    if not c.text_en:
        return f'<div class="cc-passage">{body}</div>', found
    body_en, found_en = highlight(c.text_en, supporting_pieces_en(answer, c))
    return (
        '<div class="cc-pair">'
        f'<div class="cc-passage cc-lang-en" lang="en"><div class="cc-lang">English rendering</div>{body_en}</div>'
        f'<div class="cc-passage cc-lang-ko" lang="ko"><div class="cc-lang">Korean original</div>{body}</div>'
        f'</div><div class="cc-translation-note">{html.escape(TRANSLATION_NOTE)}</div>'
    ), found or found_en


def render_evidence_turn(answer: Answer, turn: int, korean: bool) -> str:
    """The cited passages of one answer, in marker order."""
    head = label("ui.evidence_head", korean, turn=turn, count=len(answer.citations))
    if not answer.citations:
        note = label("ui.no_citation", korean)
        return f'<div class="cc-ev-head">{html.escape(head)}</div><p class="cc-empty">{note}</p>'
    items = []
    for c in answer.citations:
        body, found = passage_html(answer, c)
        stage_cls = f"cc-stage-{c.stage}" if c.stage else "cc-stage-none"
        # Answer sentences that cite this passage but are not verbatim in it (LLM paraphrases): list
        # them under the passage so the reader can compare the claim with the highlighted source.
        supports = [t for t in (strip_md(s.text) for s in answer.sentences if c.n in s.citations)
                    if not quote_spans(c.text, [t]) and not (c.text_en and quote_spans(c.text_en, [t]))]
        extra = ""
        if not found and c.quote:
            extra = (f'<div class="cc-supports">{label("ui.supporting", korean)}: '
                     f'<mark class="cc-quote">{html.escape(c.quote)}</mark></div>')
        if supports:
            citing = label("ui.citing_sentences", korean)
            shown = " · ".join(html.escape(s if len(s) <= 90 else s[:87] + "…") for s in supports[:4])
            extra += f'<div class="cc-supports">{citing}: {shown}</div>'
        items.append(
            f'<li class="cc-cite" id="cite-{turn}-{c.n}">'
            f'<div class="cc-cite-head"><span class="cc-n">[{c.n}]</span>'
            f'<span class="cc-badge cc-stage {stage_cls}">{html.escape(stage_label(c.stage, korean))}</span>'
            f'<span class="cc-badge cc-voice cc-voice-{html.escape(c.voice)}">{html.escape(voice_label(c, korean))}</span>'
            f'<span class="cc-section">{html.escape(c.section)}</span></div>'
            f'{body}{extra}</li>'
        )
    return f'<div class="cc-ev-head">{html.escape(head)}</div><ol class="cc-cites">{"".join(items)}</ol>'


def render_evidence(turns: list[tuple[int, str, bool]]) -> str:
    """Newest answer's evidence first; earlier answers' evidence folded below (their markers still work)."""
    if not turns:
        return EMPTY_EVIDENCE
    (_t, latest, _k), older = turns[-1], turns[-1 - MAX_OLDER_EVIDENCE:-1]
    parts = [f'<div class="cc-evidence">{latest}']
    for t, body, korean in reversed(older):
        summary = label("ui.older_evidence", korean, turn=t)
        parts.append(f'<details class="cc-older"><summary>{summary}</summary>{body}</details>')
    parts.append("</div>")
    return "".join(parts)


_DIAG_PREFIX = re.compile(r"^\*\*(?:진단|Diagnosis):\*\*\s*")
_LINK_SYNTAX = {"[": "&#91;", "]": "&#93;"}
# `[`/`]` become entities, except a bare citation marker `[12]` not followed by `(`, `[` or `:` (which
# cannot form a link once every other bracket is escaped); "://" and "www." lose their auto-link form.
_MARKUP = re.compile(r"\[(?=\d{1,3}\](?![(\[:]))|(?<=\[\d)\]|(?<=\[\d\d)\]|(?<=\[\d\d\d)\]|([\[\]])")
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])://|\bwww\.")


def as_text(text: str) -> str:
    """`text` for the Chatbot, whose renderer takes Markdown *and* HTML: corpus sentences, questions
    and notices must stay text. HTML is escaped (no form, image, overlay from a document), and so is
    Markdown link/image syntax (`[`/`]` as entities: no `![](https://…)` fetched, no `[x](…)` link) and
    URL auto-linking. The app's own Markdown (bold framing, `- ` lists, `[n]` markers) is untouched;
    `format_answer` links the markers of cited passages."""
    out = _MARKUP.sub(lambda m: _LINK_SYNTAX[m.group(1)] if m.group(1) else m.group(0),
                      html.escape(text, quote=False))
    return _AUTOLINK.sub(lambda m: "&#58;//" if m.group(0) == "://" else m.group(0)[:3] + "&#46;", out)


def format_answer(answer: Answer, turn: int) -> str:
    """The chat message: notice, the diagnosis line, then the answer with linked `[n]` markers."""
    korean = is_korean(answer.question)
    diag = label("ui.diagnosis", korean) + explain(answer.diagnosis, korean)
    lines = answer.text.strip().split("\n")
    if lines and _DIAG_PREFIX.match(lines[0]):
        lines = lines[1:]
        while lines and not lines[0].strip():
            lines = lines[1:]
    cited = {c.n for c in answer.citations}

    refs: list[int] = []

    def hold(m: re.Match[str]) -> str:  # markers out of the way while the text is escaped
        n = int(m.group(1))
        if n not in cited:
            return m.group(0)
        refs.append(n)
        return f"\x00{len(refs) - 1}\x00"

    def link(m: re.Match[str]) -> str:
        n = refs[int(m.group(1))]
        return f'<a class="cc-ref" href="#cite-{turn}-{n}" title="[{n}]">[{n}]</a>'

    text = "\n".join(lines).replace("\x00", "")
    body = re.sub("\x00(\\d+)\x00", link, as_text(MARKER.sub(hold, text)))
    head = []
    if answer.notice:
        head.append(f"> ⚠️ {as_text(answer.notice)}")
    head.append(as_text(diag))
    return "\n\n".join([*head, body])


def _english_item(rendering: object, item: str) -> str | None:
    """A capability item as the Stages tab lists it ("① 역할의 분리") in the rendering (units may lack the space)."""
    english = getattr(rendering, "english", None)
    if english is None:
        return None
    return english(item) or (english(item[0] + item[2:]) if len(item) > 2 and item[1] == " " else None)


def render_stages_en(coach: Coach) -> str | None:
    """The Stages tab from the article's English rendering; None when the article has none."""
    cards = []
    for s in coach.stages():
        doc = next((d for d in coach.corpus.documents
                    if any(x.stage == s.stage and x.section == "summary" for x in d.sections)), None)
        r = coach.renderings.get(doc.doc_id) if doc else None
        if r is None:
            return None
        summary = r.section("summary", s.stage)
        comment = r.section("commentary", s.stage)
        name = (summary.stage_name if summary else None) or r.stage_names.get(s.stage) or STAGE_NAMES_EN.get(s.stage, "")
        head = f"Stage {s.stage} · {name}" + (f" ({summary.headcount})" if summary and summary.headcount else "")
        caps = "".join(f"<li>{html.escape(_english_item(r, c) or c)}</li>" for c in s.capabilities)
        summary_en = r.english_text(s.summary_text) if s.summary_text else None
        comment_en = r.english_text(s.commentary) if s.commentary else None
        title = (comment.title if comment and comment.title else None) or s.commentary_title
        cards.append(
            f'<div class="cc-stage-card" id="stage-{s.stage}" lang="en"><h3>{html.escape(head)} · '
            f'{html.escape(STAGE_NAMES_KO.get(s.stage, ""))}</h3>'
            f'<span class="cc-badge cc-voice-source">{html.escape(PROFILE.voices["source"][1])}</span> '
            f"Capabilities<ul>{caps}</ul>"
            + (f"<details><summary>Full summary text</summary><p>{html.escape(summary_en or s.summary_text)}</p>"
               f'<p class="cc-original" lang="ko">{html.escape(s.summary_text)}</p></details>' if s.summary_text else "")
            + f'<span class="cc-badge cc-voice-blogger">{html.escape(PROFILE.voices["blogger"][1])}</span> '
            f"<b>{html.escape(title)}</b><blockquote>{html.escape(comment_en or s.commentary)}</blockquote>"
            f'<details><summary>Korean original</summary><p class="cc-original" lang="ko">{html.escape(s.commentary)}</p>'
            "</details></div>"
        )
    if not cards:
        return None
    return "".join(cards) + f'<p class="cc-translation-note">{html.escape(TRANSLATION_NOTE)}</p>'


def render_stages(coach: Coach, english: bool = False) -> str:
    """The Stages tab, from the corpus (not hard-coded here); `english`: from its English rendering."""
    if english:
        rendered = render_stages_en(coach)
        if rendered is not None:
            return rendered
    cards = []
    for s in coach.stages():
        head = f"{s.stage}단계 {s.name}" + (f" ({s.headcount})" if s.headcount else "")
        en = STAGE_NAMES_EN.get(s.stage, "")
        caps = "".join(f"<li>{html.escape(c)}</li>" for c in s.capabilities)
        summary = html.escape(s.summary_text)
        comment = html.escape(s.commentary)
        cards.append(
            f'<div class="cc-stage-card" id="stage-{s.stage}"><h3>{html.escape(head)} · {html.escape(en)}</h3>'
            f'<span class="cc-badge cc-voice-source">{html.escape(PROFILE.voices["source"][0])}</span> '
            f"필요한 능력 / capabilities<ul>{caps}</ul>"
            + (f'<details><summary>원문 요약 전문 / full summary text</summary><p>{summary}</p></details>' if summary else "")
            + f'<span class="cc-badge cc-voice-blogger">{html.escape(PROFILE.voices["blogger"][0])}</span> '
            f"<b>{html.escape(s.commentary_title)}</b><blockquote>{comment}</blockquote></div>"
        )
    if not cards:
        return "<p>단계 정보를 코퍼스에서 찾지 못했습니다. / No stage sections found in the corpus.</p>"
    return "".join(cards)


def stage_choices(coach: Coach) -> list[tuple[str, str]]:
    names = {s.stage: s.name for s in coach.stages()}
    return [("자동 진단 / Auto", AUTO)] + [
        (f"{n}단계 {names.get(n, STAGE_NAMES_KO[n])}", str(n)) for n in (1, 2, 3, 4)
    ]


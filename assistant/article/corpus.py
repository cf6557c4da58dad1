"""Load corpus documents and parse them into attributed sections.

The seed is a scraped page: the whole article on one line, NBSP everywhere, page debris after it,
and banners (➡️ 요약 ⬅️, ➡️ 제 생각 추가요 ⬅️, ➡️ 마무리 ⬅️) separating the blogger's intro, his summary
of Hosang Jeon's article, his own commentary and his closing. Who said what matters to users, so
every section carries `voice` (source article vs blogger) and `author`, not just a stage.

Any other markdown/txt file dropped into the corpus is split on headings (or kept whole) with
stage None and section "body"; it needs no code change.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import yaml

from assistant.article.profile import STAGE_NAMES_KO
from assistant.errors import CorpusError
from assistant.text import normalize
from assistant.types import SectionKind, Voice

SUFFIXES = (".md", ".markdown", ".txt")

_BANNER = re.compile("(?:\u27a1\ufe0f?)+\\s*(?P<title>[^\u27a1\u2b05]+?)\\s*(?:\u2b05\ufe0f?)+")
_CIRCLED = re.compile(r"[①-⑳]")
_DEBRIS = [
    re.compile(p)
    for p in (
        r"^댓글\s*\d+$",
        r"^다음 내용이 궁금하다면\?$",
        r"^또는$",
        r"^이미 회원이신가요\?$",
        r"^\d{4}년 \d{1,2}월 \d{1,2}일 (오전|오후) \d{1,2}:\d{2}$",
        r"^(좋아요|공유하기|구독하기|로그인|회원가입)\s*\d*$",
    )
]


@dataclass(frozen=True)
class Section:
    """One attributed part of a document: the unit chunks never cross."""

    doc_id: str
    order: int
    section: SectionKind
    stage: int | None
    author: str
    voice: Voice  # "source" (the summarised article) | "blogger" (the post's own author) | "document"
    title: str
    text: str
    items: tuple[str, ...] = ()  # numbered capabilities (①…) of a summary stage
    headcount: str | None = None  # e.g. "5명~수십명"
    stage_name: str | None = None


@dataclass
class Document:
    doc_id: str
    path: Path
    meta: dict
    body: str
    sections: list[Section] = field(default_factory=list)

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.doc_id)


@dataclass
class Corpus:
    documents: list[Document]
    problems: list[CorpusError]
    corpus_hash: str

    @property
    def sections(self) -> list[Section]:
        return [s for d in self.documents for s in d.sections]

    @property
    def failed_doc_ids(self) -> set[str]:
        return {Path(str(p.path)).stem for p in self.problems}


def corpus_files(corpus_dir: Path) -> list[Path]:
    if not corpus_dir.is_dir():
        raise CorpusError(corpus_dir, "corpus folder not found (set CTO_COACH_CORPUS_DIR or --corpus-dir)")
    return sorted(
        p for p in corpus_dir.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".") and p.name.lower() != "readme.md"
    )


def hash_files(files: list[Path], root: Path) -> str:
    h = hashlib.sha256()
    for p in files:
        h.update(str(p.relative_to(root)).encode())
        h.update(b"\0")
        h.update(p.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:16]


def load_corpus(corpus_dir: Path) -> Corpus:
    """Load every document; a bad file becomes a `CorpusError` in `problems`, the rest still load."""
    corpus_dir = Path(corpus_dir)
    files = corpus_files(corpus_dir)
    if not files:
        raise CorpusError(corpus_dir, f"no documents ({', '.join('*' + s for s in SUFFIXES)}) in the corpus folder; "
                          "add some or set CTO_COACH_CORPUS_DIR")
    docs: list[Document] = []
    problems: list[CorpusError] = []
    for path in files:
        try:
            docs.append(load_document(path, corpus_dir))
        except CorpusError as exc:
            problems.append(exc)
    return Corpus(docs, problems, hash_files(files, corpus_dir))


def _doc_id(path: Path, root: Path) -> str:
    rel = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
    return str(rel.with_suffix("")).replace("\\", "/")


def load_document(path: Path, root: Path | None = None) -> Document:
    raw_bytes = path.read_bytes()
    try:
        raw = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorpusError(path, f"not UTF-8 (byte {exc.start}); re-save the file as UTF-8") from None
    meta, body = split_front_matter(raw, path)
    body = normalize(body)
    if not body:
        raise CorpusError(path, "the document is empty")
    doc = Document(_doc_id(path, root or path.parent), path, meta, body)
    body = strip_debris(body, meta)
    if not body.strip():
        raise CorpusError(path, "the document has no text besides page debris")
    doc.body = body
    doc.sections = parse_sections(doc)
    return doc


def split_front_matter(raw: str, path: Path) -> tuple[dict, str]:
    """YAML front matter between '---' lines; optional, but if it starts it must be well formed."""
    if not raw.lstrip("\ufeff").startswith("---"):
        return {}, raw
    lines = raw.split("\n")
    if lines[0].strip() != "---":
        raise CorpusError(path, "malformed front matter: the first line must be exactly '---'")
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() in ("---", "..."))
    except StopIteration:
        raise CorpusError(path, "malformed front matter: no closing '---' line") from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark else ""
        raise CorpusError(path, f"malformed front matter{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(meta, dict):
        raise CorpusError(path, "malformed front matter: expected 'key: value' lines")
    meta = {str(k): (v.isoformat() if isinstance(v, date) else v) for k, v in meta.items()}
    return meta, "\n".join(lines[end + 1 :])


def strip_debris(body: str, meta: dict) -> str:
    """Drop scraped page chrome: repeated title, author tagline, sign-up prompts, comment counts."""
    title = normalize(str(meta.get("title", ""))) if meta.get("title") else None
    author = str(meta.get("author", "")).strip()
    kept = []
    for line in body.split("\n"):
        s = line.strip()
        if not s:
            continue
        if title and s == title:
            continue
        if author and s.startswith(author + ":"):
            continue
        if any(p.match(s) for p in _DEBRIS):
            continue
        kept.append(s)
    return "\n".join(kept)


def _kind_of_banner(title: str) -> str:
    t = title.lower()
    if any(k in t for k in ("요약", "summary")):
        return "summary"
    if any(k in t for k in ("생각", "의견", "opinion", "commentary", "comment")):
        return "commentary"
    if any(k in t for k in ("마무리", "맺음", "closing", "conclusion")):
        return "closing"
    return "body"


def _numbered_segments(text: str) -> tuple[str, list[tuple[int, str]]]:
    """Split "pre 1. a 2. b 3. c" into ("pre", [(1, "a"), (2, "b"), (3, "c")]), numbers in order."""
    cuts: list[tuple[int, int, int]] = []  # (number, start of "N.", start of content)
    pos, n = 0, 1
    while True:
        m = re.compile(rf"(?:(?<=\s)|^){n}\.\s+").search(text, pos)
        if not m:
            break
        cuts.append((n, m.start(), m.end()))
        pos, n = m.end(), n + 1
    if len(cuts) < 2:
        return text, []
    pre = text[: cuts[0][1]].strip()
    segs = []
    for i, (num, _, start) in enumerate(cuts):
        end = cuts[i + 1][1] if i + 1 < len(cuts) else len(text)
        segs.append((num, text[start:end].strip()))
    return pre, segs


_STAGE_HEADER = re.compile(
    r"^(?:\((?P<range>[^)]*)\)\s*)?(?P<name>[^①-⑳(]+?)\s*(?:에서|에)?\s*필요한\s*능력\s*(?P<rest>.*)$", re.S
)
_COMMENTARY_TITLE = re.compile(r"^(?P<title>.{4,80}?(?:시기|성장기))(?:\s+|$)(?P<rest>.*)$", re.S)


def parse_sections(doc: Document) -> list[Section]:
    meta = doc.meta
    blogger = str(meta.get("author") or "unknown")
    source = str(meta.get("source_author") or blogger)
    parts = _BANNER.split(doc.body)
    if len(parts) == 1:
        return _plain_sections(doc, blogger)
    sections: list[Section] = []

    def add(**kw: object) -> None:
        sections.append(Section(doc_id=doc.doc_id, order=len(sections), **kw))  # type: ignore[arg-type]

    intro = parts[0].strip()
    if intro:
        add(section="intro", stage=None, author=blogger, voice="blogger", title="Intro", text=intro)
    for banner, block in zip(parts[1::2], parts[2::2], strict=True):
        kind = _kind_of_banner(banner)
        block = block.strip()
        if not block:
            continue
        pre, segs = _numbered_segments(block) if kind in ("summary", "commentary") else (block, [])
        voice, author = ("source", source) if kind == "summary" else ("blogger", blogger)
        if pre:
            add(section=kind, stage=None, author=author, voice=voice, title=banner, text=pre)
        for num, seg in segs:
            stage = num if 1 <= num <= 4 else None
            if kind == "summary":
                m = _STAGE_HEADER.match(seg)
                rest = m.group("rest") if m else seg
                items = tuple(i.strip() for i in _CIRCLED.split(rest) if i.strip())
                name = m.group("name").strip() if m else None
                add(section=kind, stage=stage, author=author, voice=voice, title=seg.split("①")[0].strip(),
                    text=seg, items=items, headcount=m.group("range") if m else None, stage_name=name)
            else:
                m = _COMMENTARY_TITLE.match(seg)
                title = m.group("title") if m else f"{num}단계"
                add(section=kind, stage=stage, author=author, voice=voice, title=title, text=seg,
                    stage_name=STAGE_NAMES_KO.get(num))
    return sections


def _plain_sections(doc: Document, author: str) -> list[Section]:
    """Documents without banners: one section per markdown heading, or the whole text."""
    sections: list[Section] = []
    title, buf = doc.title, list[str]()

    def flush() -> None:
        text = "\n".join(buf).strip()
        if text:
            sections.append(Section(doc.doc_id, len(sections), "body", None, author, "document", title, text))

    for line in doc.body.split("\n"):
        m = re.match(r"^#{1,6}\s+(.*)$", line)
        if m:
            flush()
            title, buf = m.group(1).strip(), []
        else:
            buf.append(line)
    flush()
    return sections

"""Load corpus documents and parse them into attributed sections.

The seed is a scraped page: the whole article on one line, NBSP everywhere, page debris after it,
and banners (➡️ 요약 ⬅️, ➡️ 제 생각 추가요 ⬅️, ➡️ 마무리 ⬅️) separating the blogger's intro, his summary
of Hosang Jeon's article, his own commentary and his closing. Who said what matters to users, so
every section carries `voice` (source article vs blogger) and `author`, not just a stage.

Any other markdown/txt file dropped into the corpus is split on headings (or kept whole) with
stage None and section "body"; it needs no code change.

About 400 lines, on purpose: finding the files safely (no symlinks, FIFOs or devices; unreadable
files become problems, not crashes) and parsing the seed's banner layout are one loader contract.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
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
        """Documents whose previously indexed chunks are kept: files that exist but failed to read or
        parse. Skipped links, FIFOs and devices are not among them (their old chunks are dropped)."""
        return {Path(str(p.path)).stem for p in self.problems if getattr(p, "keep_indexed", True)}


def _wanted(name: str) -> bool:
    return Path(name).suffix.lower() in SUFFIXES and not name.startswith(".") and name.lower() != "readme.md"


def scan_corpus(corpus_dir: Path) -> tuple[list[Path], list[CorpusError]]:
    """The regular document files under `corpus_dir`, and a problem for every entry that is not one.

    Nothing is followed: a symbolic link (to a file, a folder, outside the corpus or in a loop) is
    skipped with a message naming it, and so are FIFOs, devices and sockets. A document is *read*
    through `read_regular`, which re-checks this on the open file (no race with a swapped path).
    """
    if not corpus_dir.is_dir():
        raise CorpusError(corpus_dir, "corpus folder not found (set CTO_COACH_CORPUS_DIR or --corpus-dir)")
    files: list[Path] = []
    problems: list[CorpusError] = []

    def walk_error(exc: OSError) -> None:
        problems.append(CorpusError(exc.filename or corpus_dir, f"cannot list this folder ({exc.strerror}); skipped"))

    for top, dirs, names in os.walk(corpus_dir, onerror=walk_error, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for entry in [*dirs]:
            path = Path(top) / entry
            if path.is_symlink():
                dirs.remove(entry)
                problems.append(_skipped(path, f"{_link_note(path)}; skipped (folders inside the corpus must "
                                            "be real folders)"))
        for name in sorted(names):
            if not _wanted(name):
                continue
            path = Path(top) / name
            try:
                mode = path.lstat().st_mode
            except OSError as exc:
                problems.append(CorpusError(path, f"cannot be read ({exc.strerror}); skipped"))
                continue
            if stat.S_ISLNK(mode):
                problems.append(_skipped(path, f"{_link_note(path)}; skipped (copy the file into the corpus "
                                            "instead of linking it)"))
            elif not stat.S_ISREG(mode):
                problems.append(_skipped(path, f"is a {_kind(mode)}, not a regular file; skipped"))
            else:
                files.append(path)
    return sorted(files), problems


def _skipped(path: Path, problem: str) -> CorpusError:
    """A problem for an entry that is not a regular file: never read, and its old chunks are not kept."""
    exc = CorpusError(path, problem)
    exc.keep_indexed = False
    return exc


def _link_note(path: Path) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    try:
        path.resolve(strict=True)
    except RuntimeError:
        return f"is a symbolic link in a loop (→ {target}), not followed"
    except OSError:
        return f"is a broken symbolic link (→ {target}), not followed"
    return f"is a symbolic link (→ {target}), not followed"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISDIR(mode):
        return "folder"
    return "special file"


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The regular document files of the corpus (see `scan_corpus` for what is skipped and why)."""
    return scan_corpus(corpus_dir)[0]


MAX_DOCUMENT_BYTES = 20_000_000  # a corpus document bigger than this is a mistake (a dump, a log), not an article


def read_regular(path: Path) -> bytes:
    """The bytes of `path` if it is a regular file, opened without following a symlink and without
    blocking on a FIFO; anything else is a `CorpusError` naming the file."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _skipped(path, "is a symbolic link, not followed; skipped") from None
        raise CorpusError(path, f"cannot be read ({exc.strerror}); skipped — fix its permissions or remove it") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _skipped(path, f"is a {_kind(st.st_mode)}, not a regular file; skipped")
        if st.st_size > MAX_DOCUMENT_BYTES:
            raise CorpusError(path, f"is {st.st_size} bytes, over the {MAX_DOCUMENT_BYTES}-byte limit; skipped")
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as exc:
        raise CorpusError(path, f"cannot be read ({exc.strerror}); skipped") from None
    finally:
        os.close(fd)


def hash_files(files: list[Path], root: Path, contents: dict[Path, bytes] | None = None) -> str:
    h = hashlib.sha256()
    for p in files:
        h.update(str(p.relative_to(root)).encode())
        h.update(b"\0")
        h.update(contents[p] if contents is not None else read_regular(p))
        h.update(b"\0")
    return h.hexdigest()[:16]


def load_corpus(corpus_dir: Path) -> Corpus:
    """Load every document; a bad file becomes a `CorpusError` in `problems`, the rest still load.

    Bad files include entries that are not regular files (symlinks, FIFOs, devices: never followed
    or opened) and files that cannot be read (permissions, I/O errors)."""
    corpus_dir = Path(corpus_dir)
    files, problems = scan_corpus(corpus_dir)
    if not files and not problems:
        raise CorpusError(corpus_dir, f"no documents ({', '.join('*' + s for s in SUFFIXES)}) in the corpus folder; "
                          "add some or set CTO_COACH_CORPUS_DIR")
    docs: list[Document] = []
    contents: dict[Path, bytes] = {}
    for path in files:
        try:
            contents[path] = read_regular(path)
            docs.append(load_document(path, corpus_dir, data=contents[path]))
        except CorpusError as exc:
            problems.append(exc)
    readable = [p for p in files if p in contents]
    return Corpus(docs, problems, hash_files(readable, corpus_dir, contents))


def _doc_id(path: Path, root: Path) -> str:
    rel = path.relative_to(root) if path.is_relative_to(root) else Path(path.name)
    return str(rel.with_suffix("")).replace("\\", "/")


def load_document(path: Path, root: Path | None = None, data: bytes | None = None) -> Document:
    raw_bytes = read_regular(path) if data is None else data
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

"""English renderings of corpus documents, aligned unit by unit with the original.

`corpus/<doc>.en.yaml` (written by the project, marked as a translation) pairs every quotable unit of
`<doc>.md` — each sentence, each summary heading and each capability item — with one English
rendering. English questions are matched against it, and English answers show it beside the
Korean original. A document without a rendering still works: `english()` returns None.

`searchable_text` is what retrieval indexes for a chunk (the original followed by its rendering), so
an English question meets the English words lexically and still lands on the one chunk it cites.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from assistant.text import normalize, split_sentences
from assistant.types import TRANSLATION_BY

TRANSLATION_NOTE = TRANSLATION_BY  # shown wherever the rendering is shown
_ITEM = re.compile(r"[①-⑳][^①-⑳]+")  # the composer's capability items (assistant/answer/compose.py)


@dataclass(frozen=True)
class SectionRendering:
    """The English of a section's title, stage name and headcount (None when the file has none)."""

    section: str
    stage: int | None
    voice: str
    author: str
    title: str | None = None
    stage_name: str | None = None
    headcount: str | None = None


@dataclass(frozen=True)
class Rendering:
    doc_id: str
    pairs: dict[str, str] = field(default_factory=dict)  # Korean unit → English rendering
    stage_names: dict[int, str] = field(default_factory=dict)
    note: str = TRANSLATION_NOTE
    sections: dict[tuple[str, int | None], SectionRendering] = field(default_factory=dict)
    title: str | None = None
    glosses: dict[str, tuple[str, ...]] = field(default_factory=dict)  # Korean unit → plain-words meanings
    rules_out: dict[str, tuple[str, ...]] = field(default_factory=dict)  # Korean unit → practices it advises against

    def glosses_of(self, korean: str) -> tuple[str, ...]:
        return self.glosses.get(normalize(korean).strip(), ())

    def rules_out_of(self, korean: str) -> tuple[str, ...]:
        return self.rules_out.get(normalize(korean).strip(), ())

    def english(self, korean: str) -> str | None:
        return self.pairs.get(normalize(korean).strip())

    def section(self, section: str, stage: int | None) -> SectionRendering | None:
        return self.sections.get((section, stage))

    def english_text(self, text: str) -> str | None:
        """The rendering of a passage (a chunk, or several units in a row): each sentence's rendering in
        order — a summary line by its heading and items when the line itself is not a unit. A sentence
        without a rendering stays in the original; None when no part of the text has one."""
        whole = self.english(text)
        if whole is not None:
            return whole
        parts: list[str] = []
        found = False
        for sentence in split_sentences(text):
            en = self.english(sentence)
            if en is None:
                pieces = [sentence.split("①")[0].strip(), *(m.group(0).strip() for m in _ITEM.finditer(sentence))]
                got = [self.english(p) for p in pieces if p]
                if len(got) > 1 and all(got):
                    en = " ".join(g for g in got if g)
            found = found or en is not None
            parts.append(en or sentence)
        return " ".join(parts) if found else None

    @property
    def digest(self) -> str:
        """A short hash of every pair: what the index's English vectors were built from."""
        h = hashlib.sha256()
        for ko in sorted(self.pairs):
            h.update(f"{ko}\x1f{self.pairs[ko]}\x1e".encode())
        return h.hexdigest()[:12]


def _en(entry: object) -> str | None:
    if isinstance(entry, dict) and isinstance(entry.get("en"), str) and entry["en"].strip():
        return str(entry["en"]).strip()
    return None


def load_rendering(path: Path) -> Rendering | None:
    """None when the file is missing or unreadable: answers then quote the original only."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(raw, dict):
        return None
    pairs: dict[str, str] = {}
    glosses: dict[str, tuple[str, ...]] = {}
    rules_out: dict[str, tuple[str, ...]] = {}
    sections: dict[tuple[str, int | None], SectionRendering] = {}
    for section in raw.get("sections") or []:
        section = section if isinstance(section, dict) else {}
        for unit in section.get("units") or []:
            ko, en = (unit or {}).get("ko"), (unit or {}).get("en")
            if isinstance(ko, str) and isinstance(en, str) and ko.strip() and en.strip():
                pairs[normalize(ko).strip()] = en.strip()
                for field_name, into in (("gloss", glosses), ("rules_out", rules_out)):
                    gloss = (unit or {}).get(field_name)
                    if isinstance(gloss, dict):
                        said = tuple(str(v).strip() for v in gloss.values() if isinstance(v, str) and v.strip())
                        if said:
                            into[normalize(ko).strip()] = said
        stage = section.get("stage")
        key = (str(section.get("section") or ""), int(stage) if isinstance(stage, int) else None)
        sections.setdefault(key, SectionRendering(key[0], key[1], str(section.get("voice") or ""),
                                                  str(section.get("author") or ""), _en(section.get("title")),
                                                  _en(section.get("stage_name")), _en(section.get("headcount"))))
    names = {int(k): str(v.get("en")) for k, v in (raw.get("stage_names") or {}).items() if isinstance(v, dict)}
    doc_id = Path(str(raw.get("document") or path.name)).stem
    title = raw.get("title") if isinstance(raw.get("title"), str) else None
    return Rendering(doc_id, pairs, names, str(raw.get("note") or TRANSLATION_NOTE), sections, title, glosses, rules_out)


def load_renderings(corpus_dir: Path) -> dict[str, Rendering]:
    """Every `*.en.yaml` beside the corpus documents, by document id."""
    out: dict[str, Rendering] = {}
    for path in sorted(Path(corpus_dir).glob("*.en.yaml")):
        if path.is_symlink() or not path.is_file():
            continue
        r = load_rendering(path)
        if r is not None:
            out[r.doc_id] = r
    return out


def english_of(renderings: dict[str, Rendering], doc_id: str, text: str) -> str | None:
    """The English rendering of a passage of document `doc_id`, or None (no rendering, or not aligned)."""
    r = renderings.get(doc_id)
    return r.english_text(text) if r is not None else None


def searchable_text(text: str, doc_id: str, renderings: dict[str, Rendering]) -> str:
    """What lexical retrieval indexes for a chunk: the original, then its English rendering if any."""
    en = english_of(renderings, doc_id, text)
    return f"{text}\n{en}" if en else text


def renderings_digest(renderings: dict[str, Rendering]) -> str:
    """One hash over every document's rendering ("" when there is none): recorded in the index manifest."""
    if not renderings:
        return ""
    return hashlib.sha256("|".join(f"{d}:{r.digest}" for d, r in sorted(renderings.items())).encode()).hexdigest()[:12]

"""Sentence-aware chunking that never crosses a section.

Chunks are small (a few sentences) so that a citation points at the exact words that support an
answer sentence. A capability list (①…⑥) stays one chunk: its items are not sentences, and the
list is what users ask for. Ids are a hash of the content and its place, so re-indexing unchanged
text yields the same ids and an edit re-embeds only what changed.
"""

from __future__ import annotations

import hashlib
import re

from assistant.article.corpus import Section
from assistant.text import split_sentences
from assistant.types import Chunk

MAX_CHARS = 350
CHUNKER_VERSION = f"sentence-v1-{MAX_CHARS}"


def chunk_id(section: Section, text: str) -> str:
    key = "\x1f".join([section.doc_id, section.section, str(section.stage or 0), text])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def _split_long(sentence: str, limit: int) -> list[str]:
    """A single sentence longer than the limit is cut at commas/spaces (rare; keeps chunks bounded)."""
    if len(sentence) <= limit:
        return [sentence]
    parts, current = [], ""
    pieces = re.split(r"(?<=[,，]) |(?<= )", sentence)
    # A run with no space at all (a URL, a pasted blob) is cut at the limit.
    pieces = [p[i : i + limit] for p in pieces for i in range(0, len(p), limit)]
    for piece in pieces:
        if current and len(current) + len(piece) > limit:
            parts.append(current.strip())
            current = ""
        current += piece
    if current.strip():
        parts.append(current.strip())
    return parts


def chunk_section(section: Section, max_chars: int = MAX_CHARS) -> list[Chunk]:
    groups: list[str]
    if section.items and len(section.text) <= 3 * max_chars:
        groups = [section.text]
    else:
        sentences = [p for s in split_sentences(section.text) for p in _split_long(s, max_chars)]
        groups = []
        current: list[str] = []
        for sentence in sentences:
            if current and len(" ".join([*current, sentence])) > max_chars:
                groups.append(" ".join(current))
                current = []
            current.append(sentence)
        if current:
            groups.append(" ".join(current))
    return [
        Chunk(
            id=chunk_id(section, text),
            text=text,
            doc_id=section.doc_id,
            section=section.section,
            stage=section.stage,
            voice=section.voice,
            author=section.author,
            title=section.title,
            section_order=section.order,
            position=i,
        )
        for i, text in enumerate(groups)
    ]


def chunk_sections(sections: list[Section], max_chars: int = MAX_CHARS) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for section in sections:
        for chunk in chunk_section(section, max_chars):
            if chunk.id not in seen:  # identical text in one section place: keep one copy
                seen.add(chunk.id)
                chunks.append(chunk)
    return chunks

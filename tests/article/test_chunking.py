"""Chunks are sentence-aware, never cross a section, and have content-derived ids."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from assistant.article.chunking import MAX_CHARS, chunk_section, chunk_sections
from assistant.article.corpus import Section, load_corpus
from assistant.text import split_sentences

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sections():
    return load_corpus(ROOT / "corpus").sections


def test_chunks_stay_inside_their_section(sections):
    for section in sections:
        for chunk in chunk_section(section):
            assert chunk.text in section.text
            assert chunk.stage == section.stage and chunk.section == section.section


def test_every_sentence_is_in_exactly_one_chunk(sections):
    for section in sections:
        joined = " ".join(c.text for c in chunk_section(section))
        assert joined == section.text  # round trip: nothing lost, nothing added


def test_chunk_size_bound_except_lists(sections):
    for chunk in chunk_sections(sections):
        if "①" not in chunk.text:
            assert len(chunk.text) <= MAX_CHARS


def test_ids_are_stable_and_content_derived(sections):
    a = [c.id for c in chunk_sections(sections)]
    b = [c.id for c in chunk_sections(load_corpus(ROOT / "corpus").sections)]
    assert a == b and len(set(a)) == len(a)
    edited = [replace(s, text=s.text + " 추가 문장입니다.") if s.stage == 2 and s.section == "commentary" else s for s in sections]
    c = [ch.id for ch in chunk_sections(edited)]
    changed = set(a) ^ set(c)
    assert 1 <= len(changed) <= 4  # only the edited section's last chunk(s) change


def test_capability_list_is_one_chunk(sections):
    summary2 = next(s for s in sections if s.stage == 2 and s.section == "summary")
    chunks = chunk_section(summary2)
    assert len(chunks) == 1 and "①" in chunks[0].text and "⑥" in chunks[0].text


@pytest.mark.parametrize("text", ["", "🙂", "a", "끝.", "🙂🙂🙂 이모지만? 네!", "x" * 2000, "문장. " * 300])
def test_nasty_inputs(text):
    section = Section("d", 0, "body", None, "a", "document", "t", text)
    chunks = chunk_section(section)
    squash = lambda t: "".join(t.split())  # noqa: E731 - nothing lost or added apart from spacing
    assert squash("".join(c.text for c in chunks)) == squash(text)
    assert all(len(c.text) <= MAX_CHARS for c in chunks)


def test_korean_sentence_boundaries():
    assert split_sentences("중요하죠. 다재다능해야 합니다. 스피드! 정말? 네... 좋아요 :)") == [
        "중요하죠.", "다재다능해야 합니다.", "스피드!", "정말? 네...", "좋아요 :)"
    ]
    assert split_sentences("회사는 2.5단계, 우리 IT는 2단계...") == ["회사는 2.5단계, 우리 IT는 2단계..."]

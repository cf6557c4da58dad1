"""Issue 12: the English rendering (corpus/<doc>.en.yaml) is aligned with the article unit by unit.

Every unit the code can quote — each `split_sentences` sentence of each section and of each chunk, each
summary heading, each ①… capability item, and every unit of the topic map the answer plans quote — has
exactly one English rendering; numbers, Latin names, dates and circled numbers are the same on both
sides; the sections' voice, stage, title, stage name and headcount agree with the loader's. Adding a
sentence to the Korean file without its rendering fails with a message that names the sentence.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from assistant.answer.compose import _ITEM as COMPOSER_ITEM
from assistant.answer.compose import capability_items
from assistant.article.chunking import chunk_sections
from assistant.article.corpus import Section, load_corpus
from assistant.article.profile import PROFILE
from assistant.article.rendering import _ITEM as RENDERING_ITEM
from assistant.article.rendering import load_renderings, searchable_text
from assistant.text import normalize, split_sentences
from assistant.understand.topics import section_units

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
DOC = "cto-role-by-stage"
_HANGUL = re.compile(r"[가-힣]")
_CIRCLED = re.compile(r"[①-⑳]")


def quotable_units(section: Section) -> list[str]:
    """What answers can quote from a section, in reading order, de-duplicated: its sentences, and for a
    summary its heading line and capability items — built exactly as compose/plans/topics build them."""
    units = list(split_sentences(section.text))
    if section.section == "summary":
        items = capability_items(section.text)
        if items:
            units.append(section.text.split("①")[0].strip())
        units += items
    units += [u.text for u in section_units(section, 0, None)]  # the topic map's units (answer plans)
    return [u for u in dict.fromkeys(normalize(u).strip() for u in units) if u]


def must_keep(ko: str) -> list[str]:
    """Digits (numbers, dates) and Latin words (names, acronyms) that the rendering must repeat."""
    return re.findall(r"\d+", ko) + re.findall(r"[A-Za-z]{2,}", ko)


def has_token(en: str, token: str) -> bool:
    if token[0].isdigit():
        return re.search(rf"(?<!\d){token}(?!\d)", en) is not None
    return re.search(rf"(?<![A-Za-z]){re.escape(token)}s?(?![A-Za-z])", en, re.I) is not None  # "CTO" → "CTOs"


def pair_problems(where: str, ko: str, en: object) -> list[str]:
    if not isinstance(en, str) or not en.strip():
        return [f"{where}: no English rendering for: {ko}"]
    out = []
    missing = [t for t in must_keep(ko) if not has_token(en, t)]
    if missing:
        out.append(f"{where}: the rendering lacks {missing} of: {ko}\n    en: {en}")
    if _CIRCLED.findall(ko) != _CIRCLED.findall(en):
        out.append(f"{where}: circled numbers differ {_CIRCLED.findall(ko)} vs {_CIRCLED.findall(en)}: {ko}")
    letters = [c for c in en if c.isalpha()]
    if letters and sum(bool(_HANGUL.match(c)) for c in letters) / len(letters) > 0.35:
        out.append(f"{where}: the rendering is mostly Hangul (untranslated?): {en}")
    return out


def alignment_problems(corpus_dir: Path, doc: str = DOC) -> list[str]:
    """Every way the rendering of `doc` falls short of the loader's units (empty when aligned)."""
    corpus = load_corpus(corpus_dir)
    sections = [s for s in corpus.sections if s.doc_id == doc]
    raw = yaml.safe_load((corpus_dir / f"{doc}.en.yaml").read_text(encoding="utf-8"))
    problems: list[str] = []
    if raw.get("document") != f"{doc}.md":
        problems.append(f"document: {raw.get('document')!r} is not {doc}.md")
    if not str(raw.get("note") or "").strip() or "translation" not in str(raw.get("note")).lower():
        problems.append("the rendering must say it is a translation by the project (note)")
    for stage, facts in PROFILE.stages.items():
        if (raw.get("stage_names") or {}).get(stage, {}).get("ko") != facts.ko:
            problems.append(f"stage_names[{stage}].ko should be {facts.ko!r}")

    def keyed(rows: list, key) -> dict:
        seen: Counter = Counter()
        out = {}
        for row in rows:
            k = key(row)
            out[(*k, seen[k])] = row
            seen[k] += 1
        return out

    code = keyed(sections, lambda s: (s.section, s.stage))
    ymls = keyed(raw.get("sections") or [], lambda y: (y.get("section"), y.get("stage")))
    for k in code.keys() - ymls.keys():
        problems += [f"section {k[:2]} has no rendering; unrendered: {u}" for u in quotable_units(code[k])]
    for k in ymls.keys() - code.keys():
        problems.append(f"section {k[:2]} is in the rendering but not in the article")
    for k in sorted(code.keys() & ymls.keys(), key=lambda k: code[k].order):
        s, y = code[k], ymls[k]
        where = f"{s.section}/stage {s.stage}"
        if y.get("voice") != s.voice or y.get("author") != s.author:
            problems.append(f"{where}: voice/author {y.get('voice')!r}/{y.get('author')!r} != "
                            f"the article's {s.voice!r}/{s.author!r}")
        rendered = [normalize(str(u.get("ko") or "")).strip() for u in y.get("units") or []]
        counts = Counter(rendered)
        wanted = quotable_units(s)
        for ko in wanted:
            if counts[ko] == 0:
                problems.append(f"{where}: no English rendering for the sentence: {ko}")
            elif counts[ko] > 1:
                problems.append(f"{where}: {counts[ko]} renderings (want exactly 1) of: {ko}")
        for ko in rendered:
            if ko not in wanted:
                problems.append(f"{where}: rendering of a sentence the article does not have: {ko}")
        for u in y.get("units") or []:
            problems += pair_problems(where, str(u.get("ko")), u.get("en"))
        for attr in ("title", "stage_name", "headcount"):
            value = getattr(s, attr)
            if not value:
                continue
            entry = y.get(attr)
            if not isinstance(entry, dict) or entry.get("ko") != value:
                problems.append(f"{where}: {attr} should be {value!r} on the Korean side, the rendering has {entry!r}")
            else:
                problems += pair_problems(f"{where} {attr}", value, entry.get("en"))
    # Chunk level: everything a citation can quote (chunks split sentences on their own).
    rendering = load_renderings(corpus_dir).get(doc)
    for ch in chunk_sections(sections):
        for ko in [*split_sentences(ch.text), *capability_items(ch.text)]:
            if rendering is None or rendering.english(ko) is None:
                problems.append(f"chunk {ch.section}/stage {ch.stage}: no English rendering for the sentence: {ko}")
    return problems


def test_every_quotable_unit_has_exactly_one_rendering_with_the_same_facts():
    problems = alignment_problems(CORPUS)
    assert not problems, "\n".join(problems)


def test_the_renderings_item_regex_is_the_composers():
    assert RENDERING_ITEM.pattern == COMPOSER_ITEM.pattern


def test_an_added_korean_sentence_without_a_rendering_fails_naming_it(tmp_path):
    shutil.copytree(CORPUS, tmp_path / "corpus")
    doc = tmp_path / "corpus" / f"{DOC}.md"
    added = "CTO는 매주 회고를 직접 진행해야 합니다."
    text = doc.read_text(encoding="utf-8")
    changed = re.sub(r"케어해야\s합니다\.", lambda m: f"{m.group(0)} {added}", text, count=1)
    assert changed != text
    doc.write_text(changed, encoding="utf-8")
    problems = alignment_problems(tmp_path / "corpus")
    assert problems and any(added in p for p in problems), problems


def test_a_changed_number_in_the_rendering_fails(tmp_path):
    shutil.copytree(CORPUS, tmp_path / "corpus")
    path = tmp_path / "corpus" / f"{DOC}.en.yaml"
    text = path.read_text(encoding="utf-8")
    assert "역할; Hosang Jeon 2021-04-11" in text  # the English side of the summary's first sentence
    path.write_text(text.replace("역할; Hosang Jeon 2021-04-11", "역할; Hosang Jeon 2021-04-12", 1), encoding="utf-8")
    assert any("lacks ['11']" in p for p in alignment_problems(tmp_path / "corpus"))


def test_every_chunk_has_a_searchable_english_text():
    renderings = load_renderings(CORPUS)
    corpus = load_corpus(CORPUS)
    for ch in chunk_sections(corpus.sections):
        text = searchable_text(ch.text, ch.doc_id, renderings)
        assert text.startswith(ch.text) and len(text) > len(ch.text) + 10
        english = text[len(ch.text):]
        assert not _HANGUL.search(re.sub(r"\([^)]*\)|https?://\S+|“[^”]*”|\"[^\"]*\"", "", english)) or \
            len(_HANGUL.findall(english)) < len(english) / 10, english


def test_a_document_without_a_rendering_has_none(tmp_path):
    (tmp_path / "other.md").write_text("# 부록\nCTO는 기술 부채를 기록해야 합니다.", encoding="utf-8")
    assert load_renderings(tmp_path) == {}
    assert searchable_text("CTO는 기술 부채를 기록해야 합니다.", "other", {}) == "CTO는 기술 부채를 기록해야 합니다."


@pytest.mark.parametrize("stage", [1, 2, 3, 4])
def test_stage_names_and_section_facts_are_rendered(stage):
    r = load_renderings(CORPUS)[DOC]
    summary = r.section("summary", stage)
    assert summary is not None and summary.voice == "source" and summary.author == PROFILE.source.author
    assert summary.stage_name and r.stage_names[stage]
    commentary = r.section("commentary", stage)
    assert commentary is not None and commentary.voice == "blogger" and commentary.author == PROFILE.blogger.author

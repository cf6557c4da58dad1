"""Property-based tests (hypothesis) over stage diagnosis, chunking, sentence splitting and input checks.

Eleven properties, each bounded to a few seconds (`max_examples`, `deadline=None`):

 1. `diagnose` / `diagnose_text` never raise on arbitrary text; stage in {None,1,2,3,4}, confidence in [0,1].
 2. `diagnose` with an arbitrary history never raises and keeps the same invariants.
 3. `stage_for_headcount` is non-decreasing over 1..100000 (checked exhaustively, plus random pairs).
 4. "직원 {n}명" diagnoses to `stage_for_headcount(n)` (and "We have {n} employees" too).
 5. Chunking loses no text: the chunks' concatenation equals the section text up to whitespace.
 6. Every chunk is at most MAX_CHARS unless it is a ①-list; ids are deterministic and unique.
 7. `split_sentences` never returns an empty (or whitespace-only) string and loses no non-space text.
 8. `clean_question` is idempotent.
 9. `clean_question` output never contains C0 controls, DEL, zero-width characters, or runs of whitespace.
10. `clean_question` either returns text or raises `InputError` (nothing else), for any object type.
11. `clean_history` either returns (role, text) pairs or raises `InputError`, for any JSON-shaped value.

A C1 control (U+0080-U+009F) or a bidi override surviving `clean_question` is a known bug, pinned by
strict xfail tests in tests/test_hardening_input.py; strategy 9 leaves those characters out so the
property keeps guarding everything else.
"""

from __future__ import annotations

import itertools
import json
import re
import unicodedata

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.article.chunking import MAX_CHARS, chunk_section
from assistant.article.corpus import Section
from assistant.errors import InputError
from assistant.text import split_sentences
from assistant.understand.diagnosis import diagnose, diagnose_text, explain, stage_for_headcount
from assistant.understand.validation import clean_history, clean_question

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STAGES = {None, 1, 2, 3, 4}

# Text that looks like what users (and attackers) type: Korean, English, digits, stage words, units,
# punctuation, emoji, zero-width and control characters, plus anything hypothesis invents.
_VOCAB = ["직원", "명", "명인데", "개발자", "성장기", "암흑기", "르네상스", "성숙기", "단계", "stage", "team of",
          "people", "employees", "k", "1,000", "수십", "수백", "다섯", "IPO", "유니콘", "그 다음 단계는?", "이전 단계",
          "\u200b", "\x00", "\ufeff", "🙂", "👨\u200d👩\u200d👧", "①", "⑥", ".", "?", "!", "…", ",", " ", "\n", "\t"]
text_like = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(_VOCAB), st.integers(0, 10**7).map(str), st.text(max_size=5)),
             max_size=30).map(" ".join),
)


def _valid(d) -> bool:
    return d.stage in STAGES and 0.0 <= d.confidence <= 1.0 and all(s in (1, 2, 3, 4) for s in d.stages)


# 1
@FAST
@given(text_like)
@example("직원 99999999999999999999999999명")
@example("0명 -5명 1e308 people team of 0")
@example("stage 0 stage 5 9단계")
def test_diagnosis_never_raises_and_stays_in_range(text):
    assert _valid(diagnose_text(text))
    assert _valid(diagnose(text))


# 2
@FAST
@given(text_like, st.lists(st.tuples(st.sampled_from(["user", "assistant"]), text_like), max_size=6))
def test_diagnosis_with_history_never_raises(text, history):
    d = diagnose(text, history)
    assert _valid(d)
    assert isinstance(explain(d, True), str) and isinstance(explain(d, False), str)


# 3
def test_headcount_stage_is_monotonic_over_the_whole_range():
    stages = [stage_for_headcount(n)[0] for n in range(1, 100_001)]
    assert all(a <= b for a, b in itertools.pairwise(stages))
    assert stages[0] == 1 and stages[-1] == 4


@FAST
@given(st.integers(1, 10**7), st.integers(1, 10**7))
def test_headcount_stage_is_monotonic_for_any_pair(a, b):
    lo, hi = sorted((a, b))
    assert stage_for_headcount(lo)[0] <= stage_for_headcount(hi)[0]
    assert 0.0 <= stage_for_headcount(a)[1] <= 1.0


# 4
@FAST
@given(st.integers(1, 100_000))
@example(4)
@example(5)
@example(19)
@example(20)
@example(99)
@example(100)
@example(999)
@example(1000)
def test_stated_headcount_gives_the_article_range(n):
    expected = stage_for_headcount(n)[0]
    d = diagnose_text(f"직원 {n}명")
    assert (d.stage, d.headcount, d.source) == (expected, n, "headcount"), d
    en = diagnose_text(f"We have {n} employees")
    assert en.stage == expected and en.headcount == n, en


# 5 + 6
_SENTENCE = st.one_of(
    st.text(min_size=1, max_size=80),
    st.lists(st.sampled_from(["CTO는", "기술", "부채를", "관리해야", "합니다.", "스피드!", "정말?", "네...", "2.5단계",
                              "a", "🙂", "https://example.com/" + "x" * 40, "①", "②", ",", "x" * 400]),
             min_size=1, max_size=40).map(" ".join),
)


def _section(text: str, items: tuple[str, ...] = ()) -> Section:
    return Section("doc", 0, "body", None, "author", "document", "t", text, items)


def _squash(text: str) -> str:
    return "".join(text.split())


@FAST
@given(st.lists(_SENTENCE, min_size=1, max_size=12).map(" ".join))
@example("x" * 2000)
@example("문장. " * 300)
@example("①" * 400)
def test_chunking_loses_no_text_and_bounds_size(text):
    section = _section(text)
    chunks = chunk_section(section)
    assert _squash("".join(c.text for c in chunks)) == _squash(" ".join(split_sentences(text)))
    assert _squash("".join(c.text for c in chunks)) == _squash(text)
    for c in chunks:
        assert c.text.strip(), "no empty chunk"
        assert len(c.text) <= MAX_CHARS or "①" in c.text, len(c.text)
    again = chunk_section(section)
    assert [c.id for c in chunks] == [c.id for c in again]  # deterministic
    assert len({c.id for c in chunks}) == len({c.text for c in chunks})  # one id per distinct text


@FAST
@given(st.lists(st.text(min_size=1, max_size=30).filter(str.strip), min_size=1, max_size=8))
def test_capability_lists_stay_whole_and_ids_depend_on_content(items):
    text = "목록 " + " ".join(f"{chr(0x2460 + i)} {item}" for i, item in enumerate(items))
    section = _section(text, tuple(items))
    chunks = chunk_section(section)
    if len(text) <= 3 * MAX_CHARS:
        assert len(chunks) == 1 and chunks[0].text == text
    edited = chunk_section(_section(text + " 추가", tuple(items)))
    assert {c.id for c in chunks} != {c.id for c in edited}


# 7
@FAST
@given(text_like)
@example("")
@example(" . . . ")
@example("!!! ??? …")
@example("a. b. c.")
def test_split_sentences_never_returns_empty_strings(text):
    parts = split_sentences(text)
    assert all(p and p.strip() for p in parts)
    assert _squash("".join(parts)) == _squash(text)


# 8 + 9 + 10
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff]")
question_like = st.one_of(
    st.text(max_size=200),  # C1 controls and bidi overrides included: clean_question removes them
    st.lists(st.sampled_from([*_VOCAB, "\ud800", "\udfff", "\x1b[31m", "\x07", "\x7f", "e\u0301", "Å", "Å"]),
             max_size=25).map("".join),
)


def _clean_or_none(q: object, limit: int = 2000) -> str | None:
    try:
        return clean_question(q, limit)
    except InputError:
        return None


@FAST
@given(question_like)
@example("e\u0301 성장기")  # NFC
@example("\ud800 성장기")  # lone surrogate
@example("a\x00\x00b")
def test_clean_question_is_idempotent(q):
    once = _clean_or_none(q)
    if once is not None:
        assert clean_question(once, 2000) == once


@FAST
@given(question_like)
def test_clean_question_output_has_no_controls(q):
    out = _clean_or_none(q)
    if out is None:
        return
    assert out == out.strip() and "  " not in out and "\n" not in out and "\t" not in out
    assert not _CONTROLS.search(out)
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in out), [hex(ord(c)) for c in out]
    assert re.search(r"\w", out) and len(out) <= 2000
    out.encode("utf-8")  # always encodable (no lone surrogates)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@FAST
@given(st.one_of(json_values, st.binary(max_size=20), st.sets(st.integers(), max_size=3)))
def test_clean_question_rejects_anything_else_with_input_error(q):
    out = _clean_or_none(q)
    assert out is None or isinstance(out, str)


# 11
@FAST
@given(st.one_of(
    json_values,
    st.lists(st.tuples(st.sampled_from(["user", "assistant", "system", "tool", ""]), json_values), max_size=5),
    st.lists(st.lists(json_values, max_size=3), max_size=5),
    st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "robot"]), "content": json_values}),
             max_size=5),
))
def test_clean_history_returns_pairs_or_input_error(history):
    try:
        out = clean_history(history, max_turns=3, max_chars=50)
    except InputError as exc:
        assert str(exc)
        return
    assert len(out) <= 6
    for role, text in out:
        assert role in ("user", "assistant") and isinstance(text, str) and len(text) <= 200
        text.encode("utf-8")
    json.dumps(out)

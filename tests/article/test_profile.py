"""The article's facts and bilingual labels as data (assistant/article/profile.yaml)."""

from __future__ import annotations

import pytest

from assistant.article.profile import PROFILE, label, parse_profile
from assistant.errors import CorpusError


def test_facts_match_the_corpus_front_matter():
    from assistant.article.corpus import load_corpus

    doc = load_corpus("corpus").documents[0]
    assert doc.meta["author"] == PROFILE.blogger.author and doc.meta["source_author"] == PROFILE.source.author
    assert str(doc.meta["date"]) == PROFILE.blogger.date and str(doc.meta["source_date"]) == PROFILE.source.date
    assert doc.meta["source_title"] == PROFILE.source.title
    assert [PROFILE.stages[n].ko for n in (1, 2, 3, 4)] == ["암흑기", "성장기", "르네상스", "성숙기"]


def test_labels_fill_facts_and_fields_in_either_language():
    assert label("stage.none", True) == "전체" and label("stage.none", False) == "general"
    assert PROFILE.stage_label(2, True) == "2단계 성장기"
    assert PROFILE.stage_label(2, False) == "Stage 2 · 성장기 (Growth)"
    assert "MK, 2021-06-29" in label("refusal.scope", True, topic="연봉") and "연봉" in label("refusal.scope", True, topic="연봉")
    assert label("checker.source", True) == label("checker.source", False)  # one text for both
    with pytest.raises(KeyError, match="no label"):
        label("no.such.label", True)


def test_unknown_or_missing_keys_are_errors():
    good = {"source": {"author": "A", "short": "A", "date": "2021-01-01"},
            "blogger": {"author": "B", "short": "B", "date": "2021-01-02"},
            "stages": {1: {"ko": "가", "en": "a", "range_ko": "r", "range_en": "r"}},
            "voices": {"source": ["원문", "Source"]}, "labels": {"x": "same"}}
    assert parse_profile(good).labels["x"] == ("same", "same")
    with pytest.raises(CorpusError, match="needs exactly"):
        parse_profile({**good, "typo": 1})
    with pytest.raises(CorpusError, match="stage 1 needs exactly"):
        parse_profile({**good, "stages": {1: {"ko": "가"}}})
    with pytest.raises(CorpusError, match=r"\[Korean, English\] pair"):
        parse_profile({**good, "labels": {"x": ["only one"]}})

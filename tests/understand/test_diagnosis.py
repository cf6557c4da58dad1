"""Stage diagnosis over a table of Korean and English phrasings (the article's ranges are the truth)."""

from __future__ import annotations

import pytest

from assistant.understand.diagnosis import (
    diagnose,
    diagnose_text,
    explain,
    find_headcount,
    override,
    stage_for_headcount,
)

TABLE = [
    # headcounts, Korean
    ("직원 20명인데 CTO로서 뭘 해야 하죠?", 2),
    ("직원 3명인 초기 스타트업입니다", 1),
    ("우리 회사는 4명이에요", 1),
    ("5명 미만 스타트업 CTO에게 필요한 능력은?", 1),
    ("직원 12명", 2),
    ("개발자 8명, 전체 30명인 회사입니다", 2),
    ("전체 인원 300명, 개발자는 80명입니다", 3),
    ("직원 150명 규모의 회사 CTO입니다", 3),
    ("임직원 2,000명", 4),
    ("다섯 명이서 시작한 회사예요", 2),
    ("열 명 남짓한 팀", 2),
    ("수백 명 규모가 되었습니다", 3),
    ("구성원이 수천 명인 회사", 4),
    ("혼자 창업했어요", 1),
    # headcounts, English
    ("We are a 3-person startup", 1),
    ("team of 50", 3),
    ("We have 12 engineers", 2),
    ("a company of 400 employees", 3),
    ("We are 1,200 employees now", 4),
    ("fewer than five people", 1),
    ("a team of ten engineers", 2),
    ("just me and two co-founders", 1),
    ("hundreds of employees", 3),
    # stage names and numbers
    ("성장기 CTO는 무엇을 해야 하나요?", 2),
    ("암흑기에 필요한 능력", 1),
    ("르네상스 시기의 CTO", 3),
    ("성숙기 회사의 CTO 역할", 4),
    ("2단계에서 중요한 건?", 2),
    ("3단계 CTO", 3),
    ("What does stage 3 need?", 3),
    ("the second stage", 2),
    ("What about the dark age?", 1),
    ("the renaissance stage", 3),
    ("maturity stage CTO", 4),
    ("마지막 단계에서는?", 4),
    # cues
    ("아직 제품이 없어요", 1),
    ("MVP를 만드는 중입니다", 1),
    ("매년 두 배씩 성장하고 있어요", 2),
    ("We are doubling every year", 2),
    ("예비 유니콘입니다", 3),
    ("we just became a unicorn", 3),
    ("IPO를 준비하고 있습니다", 4),
    ("a mature public company", 4),
    # overlap resolved by cues
    ("직원 60명인데 매년 트리플 성장 중", 2),
    ("직원 40명, 곧 유니콘", 3),
    # general questions: no stage
    ("CTO는 어떤 사람인가요?", None),
    ("글쓴이는 성장 단계를 몇 단계로 나눴나요?", None),
    ("How many stages does the article describe?", None),
    ("What is a CTO?", None),
]


@pytest.mark.parametrize(("text", "stage"), TABLE)
def test_table(text, stage):
    d = diagnose_text(text)
    assert d.stage == stage, (text, d)
    if stage is not None:
        assert d.cue and 0 < d.confidence <= 1
        assert explain(d, True) and explain(d, False)


def test_table_is_big_enough():
    assert len(TABLE) >= 40
    assert sum(1 for t, _ in TABLE if any("가" <= ch <= "힣" for ch in t)) >= 20


@pytest.mark.parametrize(
    ("history", "question", "stage"),
    [
        ([("user", "직원 3명인데요")], "그 다음 단계는?", 2),
        ([("user", "성장기 CTO의 역할은?"), ("assistant", "...")], "그 다음 단계는?", 3),
        ([("user", "What about stage 3?")], "What comes next?", 4),
        ([("user", "르네상스 시기")], "이전 단계는요?", 2),
        ([("user", "성숙기")], "next stage?", 4),  # nothing after 4
        ([("user", "직원 20명입니다")], "채용은 어떻게 해야 하나요?", 2),  # inherits from history
        ([("user", "직원 20명입니다"), ("user", "이제 300명이 됐어요")], "그럼 뭘 해야 하죠?", 3),  # newest wins
        ([], "그 다음 단계는?", None),  # follow-up with nothing to follow
        ([("user", "CTO는 어떤 사람인가요?")], "그 다음 단계는?", None),
        ([("user", "직원 25명"), ("assistant", "2단계"), ("user", "그 다음 단계는?"), ("assistant", "3단계")], "그 다음 단계는?", 4),
    ],
)
def test_follow_ups(history, question, stage):
    assert diagnose(question, history).stage == stage


def test_follow_up_explains_itself():
    d = diagnose("그 다음 단계는?", [("user", "직원 3명인데요")])
    assert d.source == "followup" and "1단계" in d.cue


def test_overlap_is_flagged_in_the_explanation():
    d = diagnose_text("직원 25명")
    assert d.stage == 2 and "겹치는" in explain(d, True) and "overlap" in explain(d, False)
    assert "직원 25명 → 2단계 성장기" in explain(d, True)


def test_headcount_prefers_company_total():
    assert find_headcount("개발자 8명, 전체 30명")[0] == 30
    assert find_headcount("개발자는 80명이고 전체 인원 300명")[0] == 300


def test_ranges_follow_the_article():
    assert [stage_for_headcount(n)[0] for n in (1, 4, 5, 19, 49, 99, 100, 999, 1000)] == [1, 1, 2, 2, 2, 3, 3, 3, 4]


def test_override():
    assert override(3).stage == 3 and override(3).source == "override"

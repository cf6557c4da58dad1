"""The loader turns the scraped page into attributed sections, and rejects bad files by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.article.corpus import load_corpus, load_document
from assistant.errors import CorpusError
from assistant.text import normalize

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sections():
    corpus = load_corpus(ROOT / "corpus")
    assert corpus.problems == []
    return corpus.sections


@pytest.mark.parametrize(
    ("stage", "summary_words", "commentary_words"),
    [
        (1, ["5명 미만", "암흑기", "최소 기능 제품", "초기 기술 스택"], ["설계, 구현 능력", "관리 따위는"]),
        (2, ["5명~수십명", "성장기", "아키텍처 전략", "기술 부채", "인재 영입(채용)", "사람 관리"], ["체계를 잡는 것", "관리보다는 코칭"]),
        (3, ["수십명~수백명", "르네상스", "역할의 분리", "브랜딩과 보호"], ["Tech first", "워너보겔스", "AWS"]),
        (4, ["성숙기", "기술 경영"], ["P&L", "Sales record", "효율성"]),
    ],
)
def test_each_stage_has_summary_and_commentary(sections, stage, summary_words, commentary_words):
    summary = [s for s in sections if s.stage == stage and s.section == "summary"]
    commentary = [s for s in sections if s.stage == stage and s.section == "commentary"]
    assert len(summary) == 1 and len(commentary) == 1
    assert summary[0].voice == "source" and summary[0].author == "Hosang Jeon"
    assert commentary[0].voice == "blogger" and commentary[0].author == "I'm MK"
    for w in summary_words:
        assert w in summary[0].text
    for w in commentary_words:
        assert w in commentary[0].text
        assert w not in summary[0].text


def test_capability_lists_and_headcounts(sections):
    by_stage = {s.stage: s for s in sections if s.section == "summary" and s.stage}
    assert [len(by_stage[i].items) for i in (1, 2, 3, 4)] == [2, 6, 3, 1]
    assert by_stage[1].headcount == "5명 미만"
    assert by_stage[2].headcount == "5명~수십명"
    assert by_stage[3].headcount == "수십명~수백명"
    assert by_stage[4].headcount is None
    assert by_stage[2].items[3] == "기술 부채의 관리"


def test_intro_and_closing(sections):
    intro = [s for s in sections if s.section == "intro"]
    closing = [s for s in sections if s.section == "closing"]
    assert len(intro) == 1 and "자격증 같은 단어가 아닙니다" in intro[0].text and intro[0].stage is None
    assert len(closing) == 1 and "알스퀘어는 2단계쯤" in closing[0].text and closing[0].stage is None


def test_markers_survive_and_debris_is_gone(sections):
    text = "\n".join(s.text for s in sections)
    for marker in "①②③④⑤⑥":
        assert marker in text
    assert "⁉️" in text  # no NFKC
    assert "\u00a0" not in text
    for debris in ("다음 내용이 궁금하다면", "이미 회원이신가요", "댓글 0", "오전 1:06", "기술로 바라보는 미래"):
        assert debris not in text
    assert "➡" not in text and "⬅" not in text
    assert "대기업 김부장의 스타트업 도전기" not in text


def test_front_matter(tmp_path):
    doc = load_document(ROOT / "corpus" / "cto-role-by-stage.md", ROOT / "corpus")
    assert doc.meta["author"] == "I'm MK"
    assert doc.meta["date"] == "2021-06-29"
    assert doc.meta["source_author"] == "Hosang Jeon"
    assert doc.meta["source_date"] == "2021-04-11"


def test_plain_document_indexes_without_structure(tmp_path):
    (tmp_path / "notes.md").write_text("# 첫 제목\n첫 문단입니다.\n\n# Second\nEnglish text here.\n", encoding="utf-8")
    (tmp_path / "plain.txt").write_text("그냥 텍스트 한 줄.", encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert corpus.problems == []
    assert {(s.doc_id, s.title, s.stage, s.section) for s in corpus.sections} == {
        ("notes", "첫 제목", None, "body"),
        ("notes", "Second", None, "body"),
        ("plain", "plain", None, "body"),
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("안녕하세요".encode("cp949"), "not UTF-8"),
        (b"", "empty"),
        (b"   \n\t\n", "empty"),
        ("---\ntitle: [unclosed\n---\n본문".encode(), "malformed front matter"),
        ("---\ntitle: x\n본문이 이어지는데 닫는 줄이 없음".encode(), "no closing '---'"),
        ("---\n- a\n- b\n---\n본문".encode(), "key: value"),
    ],
)
def test_bad_files_are_named_and_the_rest_still_loads(tmp_path, content, message):
    (tmp_path / "good.md").write_text("좋은 문서입니다.", encoding="utf-8")
    (tmp_path / "bad.md").write_bytes(content)
    corpus = load_corpus(tmp_path)
    assert [s.doc_id for s in corpus.sections] == ["good"]
    assert len(corpus.problems) == 1
    problem = str(corpus.problems[0])
    assert "bad.md" in problem and message in problem


def test_missing_corpus_dir(tmp_path):
    with pytest.raises(CorpusError, match="corpus folder not found"):
        load_corpus(tmp_path / "nope")


def test_normalize_keeps_circled_numbers_and_emoji():
    assert normalize("①\u00a0\u00a0최소  기능 ⁉️") == "① 최소 기능 ⁉️"

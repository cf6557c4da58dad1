"""The eval suite's data and metric code: gold strings match the corpus, schemas and counts hold, and
the metric functions give the right numbers on hand-made inputs (so a broken metric fails here, not
silently in a report)."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

from evals import (  # noqa: E402
    CASE_FIELDS,
    CATEGORIES,
    CHECKER_FIELDS,
    FABRICATED_TYPES,
    SUPPORTED_TYPES,
    corpus_text,
    load_cases,
    load_checker_set,
)
from evals import metrics as M  # noqa: E402


@pytest.fixture(scope="module")
def corpus() -> str:
    return corpus_text(ROOT / "corpus")


@pytest.fixture(scope="module")
def cases():
    return load_cases()


@pytest.fixture(scope="module")
def checker_rows():
    return load_checker_set()


# --- data ------------------------------------------------------------------------------------------


def test_every_gold_string_is_in_the_corpus(corpus, cases, checker_rows):
    bad = [c["id"] for c in cases for g in c["gold_evidence"] if g not in corpus]
    bad += [r["id"] for r in checker_rows for g in r["evidence"] if g not in corpus]
    assert not bad, f"gold strings no longer match the normalised corpus: {sorted(set(bad))}"


def test_every_case_gold_string_lies_inside_one_chunk(cases):
    """Retrieval relevance is "the chunk contains a gold string": a string split across chunks
    could never count as retrieved."""
    from assistant.article.chunking import chunk_sections
    from assistant.article.corpus import load_corpus

    chunks = [c.text for c in chunk_sections(load_corpus(ROOT / "corpus").sections)]
    bad = [c["id"] for c in cases for g in c["gold_evidence"] if not any(g in t for t in chunks)]
    assert not bad, f"gold strings that no single chunk contains: {sorted(set(bad))}"


def test_cases_schema_and_counts(cases, corpus):
    from evals.add import validate

    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    problems = {}
    for c in cases:
        assert tuple(c) == CASE_FIELDS or set(c) == set(CASE_FIELDS), c["id"]
        _, errors = validate(c, corpus, set(), set())
        if errors:
            problems[c["id"]] = errors
    assert not problems, problems
    by_cat = Counter(c["category"] for c in cases)
    assert len(cases) >= 100
    assert {c["lang"] for c in cases} == {"ko", "en"}
    assert sum(1 for c in cases if c["category"] == "followup" and c["history"]) >= 8
    refusals = [c for c in cases if c["category"] in ("out_of_scope", "near_miss") and c["expect"] == "refuse"]
    assert len(refusals) >= 12 and by_cat["near_miss"] >= len(refusals) / 3
    assert sum(1 for c in cases if c["category"] == "false_premise" and c["expect"] == "correct") >= 8
    assert by_cat["injection"] >= 5
    for stage in (1, 2, 3, 4):
        assert by_cat[f"stage{stage}"] >= 5
    assert by_cat["intro"] and by_cat["closing"] and by_cat["paraphrase"] and by_cat["headcount"]
    assert set(by_cat) <= set(CATEGORIES)


def test_checker_set_schema_and_counts(checker_rows):
    ids = [r["id"] for r in checker_rows]
    assert len(ids) == len(set(ids))
    assert len(checker_rows) >= 300
    for r in checker_rows:
        assert set(r) == set(CHECKER_FIELDS), r["id"]
        assert r["label"] in ("supported", "fabricated") and r["split"] in ("dev", "test") and r["lang"] in ("ko", "en")
        assert r["type"] in (SUPPORTED_TYPES if r["label"] == "supported" else FABRICATED_TYPES), r["id"]
        assert r["sentence"].strip() and r["evidence"] and all(e.strip() for e in r["evidence"])
    combos = Counter((r["split"], r["type"]) for r in checker_rows)
    for split in ("dev", "test"):
        for t in (*SUPPORTED_TYPES, *FABRICATED_TYPES):
            assert combos[(split, t)] >= 5, (split, t)
    assert {r["lang"] for r in checker_rows if r["split"] == "test"} == {"ko", "en"}


def test_dev_and_test_splits_do_not_share_sentences(checker_rows):
    dev = {r["sentence"] for r in checker_rows if r["split"] == "dev"}
    test = {r["sentence"] for r in checker_rows if r["split"] == "test"}
    assert not dev & test


# --- metrics on hand-made inputs ---------------------------------------------------------------------


def test_retrieval_metrics():
    ranked = [False, True, False, True, False]
    assert M.hit_at_k(ranked, 1) == 0.0
    assert M.hit_at_k(ranked, 2) == 1.0
    assert M.reciprocal_rank(ranked) == 0.5
    assert M.reciprocal_rank([False] * 5) == 0.0
    # DCG = 1/log2(3) + 1/log2(5); ideal for 2 relevant = 1 + 1/log2(3)
    import math

    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert M.ndcg_at_k(ranked, 5, 2) == pytest.approx(expected)
    assert M.ndcg_at_k([True, True], 5, 2) == pytest.approx(1.0)
    assert M.ndcg_at_k([False, False], 5, 0) == 0.0
    texts = ["alpha beta", "gamma", "delta alpha"]
    assert M.relevance(texts, ["alpha"]) == [True, False, True]
    assert M.recall_at_k(texts, ["alpha beta", "delta", "zeta"], 1) == pytest.approx(1 / 3)
    assert M.recall_at_k(texts, ["alpha beta", "delta", "zeta"], 3) == pytest.approx(2 / 3)


def test_stage_metrics():
    assert M.stage_correct(2, [2, 3]) and not M.stage_correct(None, [2])
    assert M.stage_correct(None, []) and not M.stage_correct(1, [])
    assert M.stage_within_one(3, [2]) and not M.stage_within_one(4, [2]) and not M.stage_within_one(None, [1])
    assert M.resolve_true(3, [2, 3]) == 3 and M.resolve_true(4, [2, 3]) == 2 and M.resolve_true(1, []) is None
    pairs = [(1, 1), (1, 1), (2, 2), (2, 3), (3, 3), (None, None), (None, 4)]
    m = M.confusion(pairs)
    assert m[1][1] == 2 and m[2][3] == 1 and m[0][4] == 1 and sum(map(sum, m)) == len(pairs)
    # per-label F1: none 2/3, 1: 1.0, 2: 2/3, 3: 2/3, 4: 0 → mean over the 5 labels present
    assert M.macro_f1(m) == pytest.approx((2 / 3 + 1 + 2 / 3 + 2 / 3 + 0) / 5)
    assert M.macro_f1([[3, 0], [0, 2]]) == 1.0
    assert M.prf(0, 0, 0) == (0.0, 0.0, 0.0)
    assert M.prf(3, 1, 2) == pytest.approx((0.75, 0.6, 2 * 0.75 * 0.6 / 1.35))


def test_answer_metrics():
    assert M.key_point_recall("We need an MVP and a Tech Stack", [["mvp"], ["tech stack", "스택"], ["코칭"]]) == pytest.approx(2 / 3)
    assert M.key_point_recall("anything", []) is None
    assert M.missing_key_points("MVP", [["mvp"], ["코칭", "coaching"]]) == ["코칭 | coaching"]
    assert M.markers("a [1] b [12][3]") == [1, 12, 3]
    assert M.percentile([1, 2, 3, 4], 50) == 2.5 and M.percentile([], 50) is None
    assert M.percentile([10, 20], 95) == pytest.approx(19.5)


def test_voice_mixups_follow_headings_and_prefixes():
    text = "\n".join([
        "**원문(Hosang Jeon, 2021-04-11)이 꼽는 2단계 성장기의 CTO 능력**",
        "- ① 아키텍처 [1]",
        "- 관리보다는 코칭 [2]",  # under the source heading but cites the blogger: a mix-up
        "",
        "**블로거(MK)의 조언 — 2단계**",
        "- 체계를 잡는 것 [2]",
        "**글에서 관련된 부분**",
        "- 원문 요약(Hosang Jeon): 4단계로 나누었고 [3]",
        "  - ① 기술 경영 [3]",
        "- Blogger (MK): something [1]",  # prefix says blogger, passage 1 is the source: a mix-up
        "- no label here [2]",
    ])
    voices = {1: "source", 2: "blogger", 3: "source"}
    found = [(label, n) for _, label, n, _ in M.voice_mixups(text, voices)]
    assert found == [("source", 2), ("blogger", 1)]


def test_prompt_leak():
    prompt = "You are CTO Coach. You answer questions about one blog post and nothing else: the blogger MK's post"
    assert M.prompt_leak("Sure: You are CTO Coach.", [prompt])
    assert M.prompt_leak("It says you answer questions about one blog post and nothing else: the blogger", [prompt])
    assert M.prompt_leak("2단계 성장기에는 체계를 잡는 것이 중요합니다 [1]", [prompt]) is None


# --- gates, diff, judge, cache --------------------------------------------------------------------


def test_thresholds_file_has_the_starting_gates():
    from evals.run import load_gates

    gates = {g["metric"]: g for g in load_gates()}
    assert gates["retrieval.overall.hit@3"]["min"] >= 0.9
    assert gates["stage.accuracy"]["min"] >= 0.9
    assert gates["faithfulness.supported_share"]["min"] >= 0.98
    assert gates["citations.validity"]["min"] == 1.0
    assert gates["refusal.recall"]["min"] >= 0.9
    assert gates["refusal.false_refusal_rate"]["max"] <= 0.05
    assert gates["checker.test_f1"]["min"] >= 0.85


def test_check_gates():
    from evals.run import check_gates

    figures = {"a": {"b": 0.95}, "c": 0.1}
    res = check_gates(figures, [{"metric": "a.b", "min": 0.9}, {"metric": "c", "max": 0.05}, {"metric": "nope", "min": 0}])
    assert [g["passed"] for g in res] == [True, False, False]


def test_diff_reports_moved_figures_and_flipped_cases():
    from evals.report import diff

    before = {"figures": {"x": 0.5, "latency_ms": {"p50": 100.0}}, "failures": {"a": ["r"]}, "cases": [{"id": "a"}, {"id": "b"}],
              "gates": [{"name": "g", "passed": False}]}
    after = {"figures": {"x": 0.6, "latency_ms": {"p50": 110.0}}, "failures": {"b": ["r"]}, "cases": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
             "gates": [{"name": "g", "passed": True}]}
    d = diff(before, after)
    assert [m["figure"] for m in d["moved"]] == ["figures.x"]  # a 10% latency wobble is not news
    assert d["newly_failing"] == ["b"] and d["newly_passing"] == ["a"] and d["new_cases"] == ["c"]
    assert d["gates_changed"] == [{"name": "g", "before": False, "after": True}]


def test_judge_parsing_with_a_fake_chat_model():
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from evals.run import GraderError, judge_claims, parse_judgement

    passage = "관리보다는 코칭에 방점을 두고 기술팀을 케어해야 합니다."
    assert parse_judgement('{"verdict": "supported", "quote": "관리보다는 코칭"}', passage) == ("supported", "관리보다는 코칭")
    assert parse_judgement('Sure!\n```json\n{"verdict": "UNSUPPORTED", "quote": ""}\n```', passage)[0] == "unsupported"
    for bad in ("I think it is supported.", '{"verdict": "maybe"}', '{"verdict": "supported", "quote": "not in it"}',
                '{"verdict": "supported"}', "{not json}"):
        with pytest.raises(GraderError):
            parse_judgement(bad, passage)
    model = FakeListChatModel(responses=[
        '{"verdict": "supported", "quote": "관리보다는 코칭"}',
        "no idea",
        '{"verdict": "unsupported", "quote": ""}',
    ])
    items = [{"claim": f"c{i}", "passage": passage, "checker": True} for i in range(3)]
    res = judge_claims(model, items)
    assert res["graded"] == 2 and res["grader_errors"] == 1
    assert res["supported_share"] == 0.5 and res["agreement_with_checker"] == 0.5


def test_cached_embeddings_round_trip(tmp_path):
    from langchain_core.embeddings import Embeddings

    from evals.checker_eval import CachedEmbeddings

    class Counting(Embeddings):
        calls = 0

        def embed_documents(self, texts):
            Counting.calls += len(texts)
            return [[float(len(t)), 1.0] for t in texts]

        def embed_query(self, text):
            Counting.calls += 1
            return [float(len(text)), 2.0]

    path = tmp_path / "cache.npz"
    c = CachedEmbeddings(Counting(), path)
    assert c.embed_query("abc") == [3.0, 2.0]
    assert c.embed_documents(["abc", "de", "abc"]) == [[3.0, 1.0], [2.0, 1.0], [3.0, 1.0]]
    c.save()
    again = CachedEmbeddings(Counting(), path)
    before = Counting.calls
    assert again.embed_query("abc") == [3.0, 2.0] and again.embed_documents(["de"]) == [[2.0, 1.0]]
    assert Counting.calls == before


# --- evals.add -----------------------------------------------------------------------------------------


def _good_case(**kw):
    case = {"id": "fb-test-01", "category": "feedback", "lang": "ko", "question": "성장기에 채용도 CTO 일인가요?",
            "history": [], "expect": "answer", "gold_stages": [2], "gold_evidence": ["기술팀의 인재 영입(채용)"],
            "key_points": [["채용"]], "note": "stage-2 item ⑤"}
    case.update(kw)
    return case


def test_add_appends_a_good_case_and_rejects_bad_ones(tmp_path, corpus):
    from evals.add import add

    dataset = tmp_path / "cases.jsonl"
    dataset.write_text(json.dumps(_good_case(id="existing-01", question="다른 질문"), ensure_ascii=False) + "\n", encoding="utf-8")
    candidates = tmp_path / "candidates.jsonl"
    rows = [
        _good_case(answer="the old answer", comment="wrong stage"),  # export annotations are dropped
        _good_case(id="existing-01", question="또 다른 질문"),  # duplicate id
        _good_case(id="fb-test-02", gold_evidence=["글에 없는 문장"]),  # gold string not in the corpus
        _good_case(id="fb-test-03", gold_evidence=[], key_points=[]),  # placeholders left empty
        _good_case(id="fb-test-04", note="TODO"),  # placeholder text
        _good_case(id="fb-test-05", gold_evidences=["x"]),  # typo'd field
        _good_case(id="fb-test-06", expect="maybe", gold_stages=[7]),
        _good_case(id="fb-test-07", question="다른 질문"),  # same question as an existing case
    ]
    candidates.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\nnot json\n", encoding="utf-8")
    out = io.StringIO()
    added, rejected = add(candidates, dataset, corpus=corpus, out=out)
    assert added == ["fb-test-01"]
    reasons = dict(rejected)
    assert "already used" in " ".join(reasons["existing-01"])
    assert "not found verbatim" in " ".join(reasons["fb-test-02"])
    assert "gold_evidence is empty" in " ".join(reasons["fb-test-03"])
    assert "placeholder" in " ".join(reasons["fb-test-04"])
    assert "unknown field" in " ".join(reasons["fb-test-05"])
    assert any("expect must be" in e for e in reasons["fb-test-06"]) and any("gold_stages" in e for e in reasons["fb-test-06"])
    assert "already a case" in " ".join(reasons["fb-test-07"])
    assert "not JSON" in " ".join(reasons["line 9"])
    lines = dataset.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and json.loads(lines[1]) == _good_case()  # annotations stripped
    assert "1 added, 8 rejected" in out.getvalue()


def test_add_cli_exit_codes(tmp_path):
    from evals.add import main

    dataset = tmp_path / "cases.jsonl"
    dataset.write_text("", encoding="utf-8")
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(_good_case(), ensure_ascii=False) + "\n", encoding="utf-8")
    assert main([str(good), "--cases", str(dataset), "--dry-run"]) == 0
    assert dataset.read_text(encoding="utf-8") == ""
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(_good_case(note=""), ensure_ascii=False) + "\n", encoding="utf-8")
    assert main([str(bad), "--cases", str(dataset)]) == 1
    assert main([str(tmp_path / "missing.jsonl"), "--cases", str(dataset)]) == 2


# --- the runner, end to end on a few cases (real index, extractive and a fake LLM) ---------------------


def test_run_cases_scores_a_few_cases(coach, cases):
    from evals.run import check_gates, figures_for, load_gates, run_cases

    pick = ["s2-ko-01", "head-en-01", "oos-en-01", "fp-en-01", "inj-en-01", "fu-ko-05"]
    subset = [c for c in cases if c["id"] in pick]
    run = run_cases(coach, subset, "test")
    assert [r["id"] for r in run.results] == [c["id"] for c in subset]
    figures = figures_for(run, subset)
    assert figures["retrieval"]["overall"]["n"] == 4  # the refusals have no gold evidence
    assert 0 <= figures["retrieval"]["overall"]["hit@3"] <= 1
    assert figures["faithfulness"]["claims"] > 0
    assert figures["stage"]["confusion"] and sum(map(sum, figures["stage"]["confusion"])) == len(subset)
    refused = {r["id"]: r["kind"] for r in run.results}
    assert refused["oos-en-01"] == "refusal" and refused["inj-en-01"] == "refusal"
    gates = {g["metric"]: g for g in check_gates(figures, load_gates())}
    assert gates["retrieval.overall.hit@3"]["value"] is not None  # every gate metric exists in the figures
    assert all(g["value"] is not None for m, g in gates.items() if not m.startswith(("checker.", "realistic.")))


def test_faithfulness_metric_catches_an_invented_llm_sentence(coach, cases):
    """The extractive mode is faithful by construction, so prove the metric can fail: a fake LLM
    writes one supported and one invented sentence; with verifier_policy=flag both stay in the answer."""
    import dataclasses

    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    from assistant.answer.llm import LLMAnswerer
    from evals.run import run_cases

    settings = coach.settings.model_copy(update={"llm": "fake:test", "verifier_policy": "flag"})
    reply = ("- 성장기에서 필요한 능력은 아키텍처 전략 수립과 개발의 총괄입니다 [1][2].\n"
             "- 성장기 CTO는 매년 직원 500명을 채용하고 구글 클라우드로 이전해야 합니다 [1].")
    model = GenericFakeChatModel(messages=iter([reply, reply]))
    llm_coach = dataclasses.replace(coach, settings=settings, llm=LLMAnswerer(model, coach.checker, settings))
    case = next(c for c in cases if c["id"] == "s2-ko-01")
    run = run_cases(llm_coach, [case], "fake-llm")
    r = run.results[0]
    invented = [u for u in r["faithfulness"]["unsupported"] if "500명" in u["text"]]
    assert invented, r["faithfulness"]
    assert set(invented[0]["fired"]) & {"number", "entity"}
    assert any("faithfulness: unsupported" in f for f in r["failures"])

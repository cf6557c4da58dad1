"""Smoke test of the benchmark code on tiny sizes. Benchmarks are not tests: nothing here looks at speed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

from bench import common, run, synth  # noqa: E402


def test_stats_and_matchers():
    assert common.percentile([1, 2, 3, 4], 50) == 2.5
    s = common.summarize([1.0, 2.0, 3.0])
    assert s["n"] == 3 and s["p50"] == 2.0 and s["max"] == 3.0
    assert common.strict_hit(["가\u00a0나  다"], ["가 나 다"])
    assert not common.strict_hit(["가 나"], ["가 나 다"])
    assert common.relaxed_hit(["가 나"], ["가 나 다"])  # chunk inside the gold string
    assert common.relaxed_hit(["xx 성장기에서 필요한 yy"], ["성장기에서 필요한 능력"])  # >= 50% overlap
    assert not common.relaxed_hit(["전혀 다른 문장입니다"], ["성장기에서 필요한 능력"])
    assert common.random_hit3(["a", "b", "c"], ["a"], common.strict_hit) == 1.0
    assert common.random_hit3(["a", "b", "c", "d"], ["a"], common.strict_hit) == pytest.approx(0.75)


def test_questions_load():
    questions, _source = common.load_questions()
    assert questions and all(q.question for q in questions)
    builtin, src = common.load_questions(Path("/nonexistent.jsonl"))
    assert src == "built-in list" and len(builtin) >= 30


def test_synthetic_chunks_have_pipeline_metadata():
    sources = synth.corpus_sentences()
    import numpy as np

    vecs = np.random.default_rng(0).normal(size=(len(sources), 8)).astype("float32")
    ids, texts, metas, v = synth.Generator(sources, vecs, seed=1).chunks(20)
    assert len(set(ids)) == 20 and all(0 < len(t) <= synth.MAX_CHARS for t in texts)
    assert {"doc_id", "section", "stage", "voice", "author", "title", "section_order", "position"} <= set(metas[0])
    assert v.shape == (20, 8) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    _, _, staged, _ = synth.Generator(sources, None, seed=1, staged=True).chunks(50)
    assert any(m["stage"] for m in staged)


def test_workers_run_on_tiny_sizes(tmp_path, built_state):
    from bench import scale, warm

    qs, _ = common.load_questions()
    qfile = tmp_path / "q.jsonl"
    common.save_questions(qs[:3], qfile)
    state = built_state.index_dir.parent
    out = tmp_path / "warm.json"
    assert warm.main(["--state", str(state), "--questions", str(qfile), "--repeat", "1", "--out", str(out)]) == 0
    w = json.loads(out.read_text())
    assert w["total_ms"]["n"] == 3 and set(w["parts_ms"]) == {"diagnosis", "retrieval", "compose"}

    work = tmp_path / "scale"
    assert scale.main(["build", "--work", str(work), "--n", "60", "--out", str(tmp_path / "b.json")]) == 0
    assert scale.main(["query", "--work", str(work), "--questions", str(qfile), "--repeat", "1", "--asks", "1",
                       "--out", str(tmp_path / "q.json")]) == 0
    q = json.loads((tmp_path / "q.json").read_text())
    assert q["n"] == 60 and q["ms"]["retrieve"]["n"] == 3 and q["ask_ms"]["n"] == 1


def test_report_renders_partial_results():
    r = {"meta": {"started": "now", "commit": "x", "cpus": 2, "loadavg_before": [0.1], "questions": 3,
                  "question_source": "t"},
         "warm": {"questions": 3, "repeat": 1, "total_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0},
                  "parts_ms": {"retrieval": {"n": 3, "p50": 1.0, "p95": 1.0, "p99": 1.0}}, "by_kind_ms": {},
                  "hit3": {"ko": {"strict": {"rate": 0.9}}}},
         "baseline": {"build": {"chunks": 5}, "warm": {"total_ms": {"p50": 9.0, "p95": 9.0},
                                                        "hit3": {"ko": {"relaxed": {"rate": 0.3}}}},
                      "cold_ask": {"answer_s": 9.0, "maxrss_mb": 600.0}},
         "errors": {}}
    r["targets"] = run.evaluate_targets(r)
    assert r["targets"]["warm_p95_ms"]["met"] is True
    assert r["targets"]["hit3_ko_vs_baseline"]["met"] is True
    assert r["targets"]["cold_ask_s"]["met"] is None
    text = run.render(r)
    assert "✓ warm answer p95" in text and "hit@3 ko" in text


def test_load_checks_catch_a_mixed_up_session():
    from bench import serve

    chat = [{"role": "user", "content": [{"type": "text", "text": "직원 20명 &amp; 질문"}]},
            {"role": "assistant", "content": "…"}]
    payload = {"answer": "답 [1]", "citations": [{"n": 1}], "stage": 2, "question": "직원 20명 & 질문", "turn": 1}
    assert serve.check_answer(("", chat, "", payload), 2, "직원 20명 & 질문", 1) == []
    problems = serve.check_answer(("", chat, "", {**payload, "question": "다른 질문", "turn": 3}), 2, "직원 20명 & 질문", 1)
    assert any("another question" in p for p in problems) and any("turn 3 != 1" in p for p in problems)
    merged = serve.merge_rounds([
        {"sessions": 2, "client": "http", "requests": 4, "answers": 4, "correct": 4, "problems": [], "wall_s": 1.0,
         "throughput_per_s": 4.0, "latency_ms": {}, "server_rss_mb": 1.0, "server_cpu_ms_per_answer": 2.0,
         "client_cpu_ms_per_answer": 1.0, "updates_per_answer": 0.0, "_latencies": [1.0, 2.0, 3.0, 4.0]},
        {"sessions": 2, "client": "http", "requests": 4, "answers": 3, "correct": 2, "problems": ["x"], "wall_s": 2.0,
         "throughput_per_s": 1.5, "latency_ms": {}, "server_rss_mb": 3.0, "server_cpu_ms_per_answer": 4.0,
         "client_cpu_ms_per_answer": 1.0, "updates_per_answer": 0.0, "_latencies": [5.0, 6.0, 7.0]}])
    assert merged["answers"] == 7 and merged["correct"] == 6 and merged["throughput_per_s"] == round(7 / 3, 2)
    assert merged["latency_ms"]["n"] == 7 and merged["server_cpu_ms_per_answer"] == 3.0 and len(merged["rounds"]) == 2


def test_report_shows_the_legacy_ui_beside_the_current_one():
    def load(tp, p95):
        return {"20": {"sessions": 20, "client": "http", "answers": 120, "correct": 120, "throughput_per_s": tp,
                       "latency_ms": {"p50": p95 / 2, "p95": p95}, "server_rss_mb": 280.0}}

    r = {"meta": {"started": "now", "commit": "x", "cpus": 2, "loadavg_before": [0.1], "questions": 3,
                  "question_source": "t"}, "load": load(20.0, 900.0), "load_legacy": load(8.0, 2500.0), "errors": {}}
    r["targets"] = run.evaluate_targets(r)
    assert r["targets"]["ui_throughput_vs_legacy"]["value"] == 2.5 and r["targets"]["ui_throughput_vs_legacy"]["met"]
    assert r["targets"]["ui_p95_20_ms"]["met"] is True
    text = run.render(r)
    assert " 20 legacy" in text and " 20 current" in text and "current/legacy: throughput 2.50×" in text


def test_before_runs_the_earlier_checkouts_assistant_under_this_bench(tmp_path):
    """`--before DIR`: a process started by the bench imports DIR's `assistant` (and this `bench`)."""
    import sys

    checkout = tmp_path / "earlier"
    (checkout / "assistant").mkdir(parents=True)
    (checkout / "assistant" / "__init__.py").write_text("EARLIER = True\n")
    folder = common.code_folder(checkout, tmp_path / "code")
    probe = [sys.executable, "-c", "import assistant, bench; print(getattr(assistant, 'EARLIER', False), bench.__file__)"]
    with run.code_of(folder):
        before = common.run_measured(probe, common.clean_env(), timeout=60)
    after = common.run_measured(probe, common.clean_env(), timeout=60)
    assert before.stdout.split()[0] == "True" and after.stdout.split()[0] == "False"
    assert {Path(x.stdout.split()[1]).resolve() for x in (before, after)} == {common.ROOT / "bench" / "__init__.py"}
    with pytest.raises(FileNotFoundError):
        common.code_folder(tmp_path / "missing", tmp_path / "code2")


def test_report_shows_before_and_after_side_by_side():
    def scale(ready, rss):
        ms = {k: {"p50": 30.0, "p95": 45.0} for k in ("retrieve", "retrieve_no_stage", "embed", "dense", "bm25")}
        return {"ready_s": ready, "maxrss_mb": rss, "ms": ms, "open_index_s": 0.5, "bm25_build_s": 0.0,
                "rss_end_mb": {"RssAnon": 250.0, "RssFile": 200.0}}

    r = {"meta": {"started": "now", "commit": "after1", "cpus": 2, "loadavg_before": [0.1], "questions": 3,
                  "question_source": "t", "before": {"commit": "before1"}},
         "warm": {"questions": 3, "repeat": 1, "total_ms": {"p50": 10.0, "p95": 20.0, "p99": 30.0}, "parts_ms": {},
                  "by_kind_ms": {}},
         "before": {"warm": {"total_ms": {"p50": 12.0, "p95": 24.0}}},
         "scale": {"100000": {"build": {"insert_chunks_per_s": 1.0}, "query": scale(1.0, 500.0),
                              "query_before": scale(1.2, 550.0)}},
         "errors": {}}
    r["targets"] = run.evaluate_targets(r)
    assert r["targets"]["ready_100k_s"]["met"] is True and r["targets"]["rss_100k_mb"]["met"] is False
    text = run.render(r)
    assert "Before (before1) and after (after1)" in text
    assert re.search(r"warm answer p95 ms\s+24\.00\s+20\.00\s+0\.83×", text)
    assert re.search(r"100000: peak RSS MB\s+550\.00\s+500\.00", text)


def _server_scale_entry(ready: float, rss: float, p95: float, server_peak: float) -> dict:
    ms = {k: {"p50": p95 / 2, "p95": p95} for k in ("retrieve", "retrieve_no_stage", "retrieve_vector_given", "embed",
                                                    "dense", "bm25")}

    def query(ready_s: float, maxrss: float, **extra) -> dict:
        return {"ready_s": ready_s, "maxrss_mb": maxrss, "ms": ms, "open_index_s": 0.4, "bm25_build_s": 0.0,
                "rss_end_mb": {"VmRSS": maxrss, "RssAnon": maxrss / 2, "RssFile": maxrss / 2},
                "hit3_single_turn": {"en": 0.9, "ko": 0.8}, "hit3_single_turn_n": {"en": 10, "ko": 10}, **extra}

    return {"build": {"insert_chunks_per_s": 1.0},
            "query": query(1.5, 550.0),
            "query_server": query(ready, rss, processes=2,
                                  server_rss_mb={"VmHWM": server_peak, "VmRSS": server_peak, "RssAnon": 200.0,
                                                 "RssFile": 100.0}),
            "chroma_server": {"host": "127.0.0.1", "start_s": 0.7, "first_open": {"open_index_s": 20.0},
                              "server_peak_life_mb": server_peak + 50, "app_plus_server_peak_mb": rss + server_peak,
                              "hit3_same_as_embedded": True, "stopped": True}}


def test_report_shows_the_chroma_server_beside_the_embedded_store():
    r = {"meta": {"started": "now", "commit": "x", "cpus": 2, "loadavg_before": [0.1], "questions": 3,
                  "question_source": "t"},
         "scale": {"100000": _server_scale_entry(ready=1.2, rss=250.0, p95=30.0, server_peak=350.0)}, "errors": {}}
    r["targets"] = run.evaluate_targets(r)
    t = r["targets"]
    assert t["ready_100k_server_s"] == {"value": 1.2, "limit": 2.0, "unit": "s", "met": True}
    assert t["query_p95_100k_server_ms"]["met"] is True and t["rss_100k_server_mb"]["met"] is True
    assert t["rss_100k_server_total_mb"]["value"] == 600.0 and t["rss_100k_server_total_mb"]["met"] is False
    assert t["rss_100k_mb"]["met"] is False  # the embedded row keeps its own target
    text = run.render(r)
    assert re.search(r"^\s+server\s+15\.0\s+30\.0", text, re.M)  # the server row under the embedded one
    assert "Embedded Chroma vs a `chroma run` server on 127.0.0.1, 100000 chunks" in text
    assert re.search(r"ready s \(start → ready, imports excluded\)\s+1\.50\s+1\.20", text)
    assert re.search(r"app peak RSS MB\s+550\s+250", text) and re.search(r"server peak RSS MB.*\s+—\s+350", text)
    assert re.search(r"app \+ server peak MB\s+550\s+600", text) and re.search(r"hit@3 ko\s+0\.800\s+0\.800", text)
    assert "✓ Chroma server: ready at 100k" in text and "✗ Chroma server: app + server RSS 100k" in text
    assert "differs" not in text
    r["scale"]["100000"]["chroma_server"]["hit3_same_as_embedded"] = False
    assert "! hit@3 differs" in run.render(r)
    del r["scale"]["100000"]["query_server"], r["scale"]["100000"]["chroma_server"]  # an embedded-only run
    r["targets"] = run.evaluate_targets(r)
    assert r["targets"]["ready_100k_server_s"]["met"] is None and "Embedded Chroma vs" not in run.render(r)


def test_chroma_server_flag_selects_sizes():
    args = run.parse_args(["--chroma-server", "100000"])
    assert args.server_sizes == (100000,) and 100000 in args.sizes
    args = run.parse_args(["--quick", "--chroma-server", "5000"])  # a size --sizes left out is measured too
    assert args.server_sizes == (5000,) and args.sizes == [1000, 5000, 10000]
    assert run.parse_args(["--sizes", "60,70", "--chroma-server"]).server_sizes == (60, 70)
    assert run.parse_args([]).server_sizes == ()


def test_chroma_server_is_stopped_when_the_block_fails(tmp_path):
    from bench import chroma_server as cs

    if not cs.CHROMA.exists():
        pytest.skip("chroma CLI not installed")
    (tmp_path / "store").mkdir()
    with pytest.raises(RuntimeError, match="inside"), cs.chroma_server(tmp_path / "store", tmp_path / "c.log") as srv:
        assert srv.alive() and cs.heartbeat(srv.port) and srv.memory_mb()["VmRSS"] > 0
        raise RuntimeError("inside")
    assert not srv.alive() and not cs.heartbeat(srv.port)


def test_scale_server_mode_against_a_real_chroma_server(tmp_path):
    """The whole server configuration on 60 chunks: a real `chroma run` on loopback, the warm-up, embedded
    and server app processes alternating; same store, so the same hits; the server gone afterwards."""
    from bench import chroma_server as cs
    from bench import scale

    if not cs.CHROMA.exists():
        pytest.skip("chroma CLI not installed")
    qs, _ = common.load_questions()
    qfile = tmp_path / "q.jsonl"
    common.save_questions([q for q in qs if q.gold_evidence and not q.history and q.expect != "refuse"][:4], qfile)
    cache = tmp_path / "cache"
    where = cache / f"scale-60-seed7-{run.CACHE_VERSION}"  # built here, in this process: part_scale reuses it
    assert scale.main(["build", "--work", str(where), "--n", "60", "--out", str(where / "build.json")]) == 0
    out = run.part_scale(tmp_path / "work", cache, qfile, [60], repeat=1, asks=0, variants={"current": None},
                         legacy=False, server_sizes=(60,))["60"]
    emb, srv, info = out["query"], out["query_server"], out["chroma_server"]
    assert emb["store"] == "embedded" and srv["store"] == "server"
    assert srv["location"] == f"chroma://127.0.0.1:{info['port']}/cto_coach" and srv["n"] == 60
    assert srv["processes"] == emb["processes"] == 2
    assert srv["hit3_single_turn"] == emb["hit3_single_turn"] and srv["hit3_single_turn"]
    assert info["hit3_same_as_embedded"] is True
    assert 0 < srv["ready_s"] < 30 and srv["ms"]["retrieve"]["n"] == 4 and srv["ms"]["retrieve"]["p95"] > 0
    assert srv["maxrss_mb"] > 0 and srv["rss_end_mb"]["RssAnon"] > 0 and srv["rss_end_mb"]["RssFile"] > 0
    assert srv["server_rss_mb"]["VmHWM"] > 0 and srv["server_rss_mb"]["RssAnon"] > 0
    assert info["app_plus_server_peak_mb"] == pytest.approx(srv["maxrss_mb"] + srv["server_rss_mb"]["VmHWM"], abs=0.2)
    assert info["server_peak_life_mb"] >= srv["server_rss_mb"]["VmHWM"] and info["first_open"]["open_index_s"] > 0
    assert info["stopped"] is True and not cs.heartbeat(info["port"]) and not Path(f"/proc/{info['pid']}").exists()

"""The feedback store: durable appends, torn lines, concurrent writers, export as eval candidates."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assistant.app.feedback import (
    FeedbackStore,
    answer_record,
    candidates,
    export_candidates,
    feedback_path,
    flag_record,
    rating_record,
)
from assistant.errors import FeedbackError
from assistant.settings import Settings

CASE_FIELDS = ("id", "category", "lang", "question", "history", "expect", "gold_stages", "gold_evidence",
               "key_points", "note")
ANNOTATIONS = {"answer", "stage", "kind", "mode", "rating", "feedback", "citations"}
ROOT = Path(__file__).resolve().parents[2]


def _answer(question="직원 25명인데 CTO로서 뭘 해야 하죠?", turn=1, session="s1", kind="coaching"):
    payload = {
        "answer": "**진단:** ...\n- ① 아키텍처 전략 수립과 개발의 총괄 [1]",
        "citations": [{"n": 1, "id": "abc", "text": "passage", "quote": "① 아키텍처 전략 수립과 개발의 총괄",
                       "stage": 2, "section": "summary", "voice": "source", "author": "Hosang Jeon", "score": 0.1}],
        "stage": 2, "kind": kind, "mode": "extractive", "diagnosis": {"stage": 2}, "notice": None,
    }
    return answer_record(question=question, history=[("user", "hi"), ("assistant", "hello")], answer_json=payload,
                         stage_choice=None, session=session, turn=turn)


@pytest.fixture
def settings(tmp_path):
    return Settings(index_dir=tmp_path / "index", data_dir=tmp_path / "data")


@pytest.fixture
def store(settings):
    return FeedbackStore.from_settings(settings)


def test_append_then_read_round_trips_with_id_timestamp_and_fields(store, settings):
    rec = store.append(rating_record(_answer(), "dislike"))
    assert store.path == feedback_path(settings) == settings.data_dir / "feedback.jsonl"
    log = store.read()
    assert log.problems == []
    assert log.records == [rec]
    got = log.records[0]
    assert got["type"] == "rating" and got["rating"] == "dislike"
    assert got["question"].startswith("직원 25명") and got["citations"][0]["id"] == "abc"
    assert got["stage"] == 2 and got["mode"] == "extractive" and got["stage_choice"] == "auto"
    assert got["ts"].endswith("Z") and len(got["id"]) == 32
    raw = store.path.read_bytes()
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1
    assert "직원" in raw.decode("utf-8")  # stored readable, not \\u-escaped


def test_file_is_private_to_the_user(store):
    store.append(rating_record(_answer(), "like"))
    assert (store.path.stat().st_mode & 0o777) == 0o600


def test_missing_store_reads_as_empty(store):
    log = store.read()
    assert log.records == [] and log.problems == []


def test_torn_last_line_is_skipped_and_reported_and_the_next_append_is_intact(store):
    store.append(rating_record(_answer(turn=1), "like"))
    with open(store.path, "ab") as fh:  # a writer killed mid-line
        fh.write(b'{"v":1,"id":"dead","type":"rat')
    log = store.read()
    assert len(log.records) == 1
    assert len(log.problems) == 1 and "torn last line" in log.problems[0] and ":2:" in log.problems[0]
    store.append(rating_record(_answer(turn=2), "dislike"))
    log = store.read()
    assert [r.get("turn") for r in log.records] == [1, 2]
    assert len(log.problems) == 1 and "not a JSON object" in log.problems[0]  # the torn piece, now mid-file


def test_invalid_lines_in_the_middle_are_skipped(store):
    store.append(rating_record(_answer(turn=1), "like"))
    with open(store.path, "ab") as fh:
        fh.write(b"garbage\n[1, 2]\n\xff\xfe\n")
    store.append(rating_record(_answer(turn=2), "like"))
    log = store.read()
    assert [r["turn"] for r in log.records] == [1, 2]
    assert len(log.problems) == 3


def test_unknown_rating_and_unwritable_store_raise_feedback_error(tmp_path):
    with pytest.raises(FeedbackError, match="rating must be"):
        rating_record(_answer(), "meh")
    (tmp_path / "data").write_text("a file where the directory should be")
    store = FeedbackStore(tmp_path / "data" / "feedback.jsonl")
    with pytest.raises(FeedbackError, match="cannot store feedback"):
        store.append(rating_record(_answer(), "like"))


def test_threads_appending_concurrently_never_interleave(store):
    def work(k):
        for i in range(40):
            store.append({**rating_record(_answer(turn=i, session=f"t{k}"), "like"), "pad": "가" * (k * 500)})

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log = store.read()
    assert log.problems == [] and len(log.records) == 240


def _proc_worker(path: str, k: int) -> None:
    from assistant.app.feedback import FeedbackStore as Store

    s = Store(Path(path))
    for i in range(30):
        s.append({"type": "rating", "rating": "like", "question": f"q{k}-{i}", "pad": "x" * (k * 3000)})


def test_processes_appending_concurrently_never_interleave(store):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_proc_worker, args=(str(store.path), k)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    log = store.read()
    assert log.problems == [] and len(log.records) == 120
    assert len({r["question"] for r in log.records}) == 120


def test_a_writer_killed_with_sigkill_leaves_no_torn_line(store):
    code = (
        "import sys\nfrom pathlib import Path\nfrom assistant.app.feedback import FeedbackStore\n"
        "s = FeedbackStore(Path(sys.argv[1]))\nprint('ready', flush=True)\ni = 0\n"
        "while True:\n    s.append({'type': 'rating', 'rating': 'like', 'question': f'q{i}', 'pad': 'x' * 20000}); i += 1\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(store.path)], cwd=ROOT, stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    deadline = time.time() + 10
    while (not store.path.exists() or store.path.stat().st_size < 200_000) and time.time() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    log = store.read()
    # The kernel may cut the one write in flight when SIGKILL lands (a short write): at most that last
    # line is torn, and it is reported and skipped; every complete record before it is intact and in order.
    assert len(log.problems) <= 1 and all("torn last line" in p for p in log.problems), log.problems
    assert len(log.records) >= 5
    assert [r["question"] for r in log.records] == [f"q{i}" for i in range(len(log.records))]
    # The next writer starts on a fresh line: nothing written after the kill is lost.
    store.append({"type": "rating", "rating": "like", "question": "after-kill"})
    after = store.read()
    assert [r["question"] for r in after.records] == [*(r["question"] for r in log.records), "after-kill"]


# --- export ----------------------------------------------------------------------------------
def test_export_turns_dislikes_and_flags_into_candidate_cases(store, settings, tmp_path):
    liked = _answer("암흑기 CTO에게 필요한 능력은?", turn=1)
    disliked = _answer("직원 25명인데 CTO로서 뭘 해야 하죠?", turn=2)
    changed_mind = _answer("르네상스 시기의 CTO는?", turn=3)
    flagged = _answer("What should a CTO of a mature company do?", turn=4)
    store.append(rating_record(liked, "like"))
    store.append(rating_record(disliked, "dislike"))
    store.append(rating_record(changed_mind, "dislike"))
    store.append(rating_record(changed_mind, "like"))
    store.append(flag_record(flagged, sentence="① 아키텍처 전략 수립과 개발의 총괄", citation=1, comment="wrong stage"))
    with open(store.path, "ab") as fh:
        fh.write(b'{"torn')  # a torn last line does not stop the export
    out = tmp_path / "out" / "candidates.jsonl"
    n = export_candidates(settings, out)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert n == len(rows) == 2
    by_q = {r["question"]: r for r in rows}
    assert set(by_q) == {disliked["question"], flagged["question"]}
    for row in rows:
        assert tuple(row)[: len(CASE_FIELDS)] == CASE_FIELDS
        assert set(row) - set(CASE_FIELDS) <= ANNOTATIONS
        assert row["answer"] and row["citations"][0]["quote"] and row["mode"] == "extractive"
        assert row["category"] == "feedback" and row["expect"] in ("answer", "refuse", "correct")
        assert row["gold_stages"] == [] and row["gold_evidence"] == [] and row["key_points"] == []
        assert row["history"] == [["user", "hi"], ["assistant", "hello"]]
        assert row["id"].startswith("fb-") and "TODO" in row["note"]
    assert by_q[disliked["question"]]["lang"] == "ko" and "disliked" in by_q[disliked["question"]]["note"]
    note = by_q[flagged["question"]]["note"]
    assert by_q[flagged["question"]]["lang"] == "en"
    assert "citation [1] flagged" in note and "wrong stage" in note and "아키텍처" in note
    assert by_q[flagged["question"]]["feedback"][0]["comment"] == "wrong stage"
    assert by_q[disliked["question"]]["rating"] == "dislike"


def test_exported_candidates_go_through_eval_add_once_reviewed(settings, tmp_path, store):
    """`make eval-add` rejects an unreviewed candidate (empty gold fields, TODO note) and accepts it
    once a human has filled it in; the export's annotations never count as unknown fields."""
    pytest.importorskip("evals")
    from evals import CASE_FIELDS as EVAL_FIELDS
    from evals.add import validate

    assert tuple(EVAL_FIELDS) == CASE_FIELDS
    store.append(rating_record(_answer(), "dislike"))
    export_candidates(settings, tmp_path / "c.jsonl")
    row = json.loads((tmp_path / "c.jsonl").read_text(encoding="utf-8"))
    corpus = "(5명~수십명) 성장기에서 필요한 능력 ① 아키텍처 전략 수립과 개발의 총괄"
    clean, errors = validate(row, corpus, set(), set())
    assert clean is None
    assert not any("unknown field" in e for e in errors)
    assert any("gold_evidence is empty" in e for e in errors) and any("placeholder" in e for e in errors)
    reviewed = {**row, "gold_stages": [2], "gold_evidence": ["아키텍처 전략 수립과 개발의 총괄"],
                "key_points": [["아키텍처"]], "note": "user disliked it; the stage-2 list is the answer"}
    clean, errors = validate(reviewed, corpus, set(), set())
    assert errors == [] and tuple(clean) == CASE_FIELDS


def test_export_dedupes_repeated_questions_and_handles_an_empty_store(settings, store, tmp_path):
    out = tmp_path / "c.jsonl"
    assert export_candidates(settings, out) == 0
    assert out.read_text() == ""
    for session in ("a", "b"):
        store.append(rating_record(_answer(session=session), "dislike"))
    assert export_candidates(settings, out) == 1


def test_candidates_ignore_records_without_a_question():
    assert candidates([{"type": "rating", "rating": "dislike"}]) == []


def test_export_to_an_unwritable_path_raises_feedback_error(settings, store, tmp_path):
    store.append(rating_record(_answer(), "dislike"))
    (tmp_path / "blocker").write_text("x")
    with pytest.raises(FeedbackError, match="cannot write"):
        export_candidates(settings, tmp_path / "blocker" / "c.jsonl")


def test_cli_feedback_export(settings, store, tmp_path, monkeypatch):
    from assistant.app.cli import main

    store.append(rating_record(_answer(), "dislike"))
    out = tmp_path / "cands.jsonl"
    assert main(["feedback", "export", "--data-dir", str(settings.data_dir), "--out", str(out)]) == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_cli_feedback_export_reports_skipped_lines_on_stderr(settings, store, tmp_path, capsys):
    from assistant.app.cli import main

    store.append(rating_record(_answer(turn=1), "dislike"))
    with open(store.path, "ab") as fh:  # a writer killed mid-line
        fh.write(b'{"v":1,"id":"dead","type":"rat')
    out = tmp_path / "cands.jsonl"
    assert main(["feedback", "export", "--data-dir", str(settings.data_dir), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1
    assert "warning: skipped" in captured.err and "torn last line" in captured.err and ":2:" in captured.err
    assert "wrote 1 candidate eval case(s)" in captured.out

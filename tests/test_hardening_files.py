"""Issue 13, findings 4, 6 and 11: files the CLI writes and reads.

* `cto-coach feedback export --out PATH` replaced whatever PATH was (a symlink, a FIFO, even `/dev/full`
  as root). Now only a new path or a regular file is written, atomically; anything else is refused.
* U+2028, U+0085 and \\x1e in a comment or a history turn split a JSONL record in two for
  `str.splitlines()` (in `read_jsonl` and `make eval-add`): the case could not be added. Writers now
  escape them and readers split on "\\n" only.
* `ask --history` with a folder, `/dev/zero` or a FIFO: "unexpected IsADirectoryError", memory eaten,
  a hang. Now one line each, at once.
"""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.app.feedback import FeedbackStore, answer_record, flag_record, rating_record
from assistant.settings import Settings
from tests.support.cli import cli, one_line

ROOT = Path(__file__).resolve().parent.parent
SEPARATORS = "\u2028", "\u2029", "\x85", "\x1e", "\x1c", "\x0b", "\x0c"


def _disliked_answer(settings: Settings, question: str, history: list, comment: str = "") -> None:
    store = FeedbackStore.from_settings(settings)
    payload = {"answer": "**진단:** ...\n- ① 아키텍처 전략 수립과 개발의 총괄 [1]",
               "citations": [{"n": 1, "id": "abc", "text": "p", "quote": "q", "stage": 2, "section": "summary",
                              "voice": "source", "author": "Hosang Jeon", "score": 0.1}],
               "stage": 2, "kind": "coaching", "mode": "extractive", "diagnosis": {"stage": 2}, "notice": None}
    rec = answer_record(question=question, history=history, answer_json=payload, stage_choice=None,
                        session="s1", turn=1)
    store.append(rating_record(rec, "dislike"))
    if comment:
        store.append(flag_record(rec, sentence="① 아키텍처 전략 수립과 개발의 총괄", citation=1, comment=comment))


@pytest.fixture
def data(tmp_path, monkeypatch):
    settings = Settings(data_dir=tmp_path / "data")
    monkeypatch.setenv("CTO_COACH_DATA_DIR", str(settings.data_dir))
    _disliked_answer(settings, "직원 25명인데 CTO로서 뭘 해야 하죠?", [])
    return settings


# --- finding 4: --out --------------------------------------------------------------------------------


def test_export_out_refuses_symlink_fifo_device_and_folder(data, tmp_path, capsys):
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(victim)
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    targets = [(link, "symbolic link"), (fifo, "FIFO"), (folder, "folder")]
    device = tmp_path / "full.jsonl"
    try:  # a private /dev/full: never point a test at the real one
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 7))
        targets.append((device, "device"))
    except OSError:
        pass
    for target, kind in targets:
        rc, _out, err = cli(capsys, "feedback", "export", "--out", str(target))
        one_line(rc, err, "refusing to write", kind, str(target), exit_code=2)
    assert link.is_symlink() and victim.read_text() == "keep me\n"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and folder.is_dir() and not any(folder.iterdir())
    if (device, "device") in targets:
        assert stat.S_ISCHR(os.lstat(device).st_mode)
    assert not list(tmp_path.glob(".*.tmp")), "a temp file was left behind"


def test_export_out_writes_new_paths_and_replaces_regular_files_keeping_their_mode(data, tmp_path, capsys):
    new = tmp_path / "sub" / "new.jsonl"
    rc, out, err = cli(capsys, "feedback", "export", "--out", str(new))
    assert rc == 0 and "wrote 1 candidate" in out, err
    assert stat.S_IMODE(new.stat().st_mode) == 0o600  # user questions: private by default
    old = tmp_path / "old.jsonl"
    old.write_text("stale\n")
    old.chmod(0o640)
    inode = old.stat().st_ino
    rc, out, err = cli(capsys, "feedback", "export", "--out", str(old))
    assert rc == 0, err
    assert json.loads(old.read_text())["question"] == "직원 25명인데 CTO로서 뭘 해야 하죠?"
    assert stat.S_IMODE(old.stat().st_mode) == 0o640 and old.stat().st_ino != inode  # renamed over, not truncated


# --- finding 6: line separators ----------------------------------------------------------------------


def test_line_separators_in_a_comment_or_history_survive_export_and_eval_add(tmp_path, capsys, monkeypatch):
    from evals import read_jsonl
    from evals.add import add

    settings = Settings(data_dir=tmp_path / "data")
    monkeypatch.setenv("CTO_COACH_DATA_DIR", str(settings.data_dir))
    odd = "".join(f"a{s}b " for s in SEPARATORS)
    history = [["user", f"직원 3명입니다{odd}"], ["assistant", f"1단계입니다{odd}"]]
    _disliked_answer(settings, "그 다음 단계에서 채용도 CTO 일인가요?", history, comment=f"틀림{odd}")
    assert len(FeedbackStore.from_settings(settings).read().records) == 2  # the store reads back line-exactly
    out_file = tmp_path / "candidates.jsonl"
    rc, _out, err = cli(capsys, "feedback", "export", "--out", str(out_file))
    assert rc == 0, err
    raw = out_file.read_text(encoding="utf-8")
    assert not any(s in raw for s in ("\u2028", "\u2029", "\x85")), "a line separator was written raw"
    rows = read_jsonl(out_file)
    assert len(rows) == 1 and rows[0]["history"] == history
    assert odd.strip() in rows[0]["feedback"][0]["comment"]
    # The reviewer fills the gold fields (an editor saves the separators raw), then `make eval-add`.
    case = {**rows[0], "gold_stages": [2], "gold_evidence": ["기술팀의 인재 영입(채용)"], "key_points": [["채용"]],
            "note": f"stage-2 item ⑤; the user flagged a wrong citation{odd}"}
    reviewed = tmp_path / "reviewed.jsonl"
    reviewed.write_text(json.dumps(case, ensure_ascii=False) + "\n", encoding="utf-8")
    assert "\u2028" in reviewed.read_text(encoding="utf-8")
    dataset = tmp_path / "cases.jsonl"
    dataset.write_text("", encoding="utf-8")
    import io

    added, rejected = add(reviewed, dataset, out=io.StringIO())
    assert rejected == [] and added == [case["id"]]
    back = read_jsonl(dataset)
    assert len(back) == 1 and back[0]["history"] == history and back[0]["note"] == case["note"]
    assert dataset.read_text(encoding="utf-8").count("\n") == 1


# --- finding 11: --history that is not a regular file ------------------------------------------------


def _limited() -> None:  # the child may not eat the machine's memory (the old code read /dev/zero whole)
    resource.setrlimit(resource.RLIMIT_AS, (1_500_000_000, 1_500_000_000))


@pytest.mark.parametrize("kind", ["folder", "fifo", "dev-zero", "too-big"])
def test_history_file_that_is_not_a_small_regular_file_is_one_line(tmp_path, kind):
    if kind == "folder":
        path = tmp_path / "hist"
        path.mkdir()
        expected = "is a folder"
    elif kind == "fifo":
        path = tmp_path / "hist.fifo"
        os.mkfifo(path)
        expected = "not a regular file"
    elif kind == "dev-zero":
        path = Path("/dev/zero")
        expected = "not a regular file"
    else:
        path = tmp_path / "huge.json"
        with open(path, "wb") as fh:
            fh.truncate(50_000_000)  # sparse: 50 MB of NULs without using the disk
        expected = "over 10 MB"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTO_COACH_")}
    env["PYTHONPATH"] = str(ROOT)
    try:
        p = subprocess.run([sys.executable, "-m", "assistant", "ask", "--history", str(path), "성장기 CTO?"],
                           env=env, capture_output=True, text=True, timeout=60, preexec_fn=_limited, cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"--history {kind} hung")
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "unexpected" not in p.stderr and expected in lines[0], p.stderr

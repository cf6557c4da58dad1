"""Issue 13, findings 8 and 9: index writers, orphaned generations and fault messages.

* Three concurrent `cto-coach index --rebuild` runs failed 1-2 of 3 ("attempt to write a readonly
  database"): each `_publish` deleted the others' unfinished generations. Now an exclusive lock on
  index/.build.lock serialises builds (real processes here), and all succeed.
* A killed build left its generation folder behind until the next successful rebuild; now the next
  build removes orphans (everything but the live generation and the one before it).
* A write failure named the wrong fix ("fix its permissions" for a read-only file system or a full disk).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from assistant.search.store import _write_error, live_generation

ROOT = Path(__file__).resolve().parent.parent


def _env(settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTO_COACH_")}
    env.update(PYTHONPATH=str(ROOT), CTO_COACH_CORPUS_DIR=str(settings.corpus_dir),
               CTO_COACH_INDEX_DIR=str(settings.index_dir), CTO_COACH_DATA_DIR=str(settings.data_dir),
               OMP_NUM_THREADS="1")
    return env


def test_concurrent_rebuilds_all_succeed_and_leave_one_consistent_index(fresh_settings):
    env = _env(fresh_settings)
    cmd = [sys.executable, "-m", "assistant", "index", "--rebuild", "--quiet"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
             for _ in range(3)]
    results = [(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in procs]  # type: ignore[union-attr]
    for rc, out, err in results:
        assert rc == 0 and "readonly database" not in err and "Traceback" not in err, (rc, out, err)
        assert "index rebuilt" in out
    gens = sorted(fresh_settings.index_dir.glob("gen-*"))
    assert len(gens) <= 2, gens  # the live one and the one before it
    p = subprocess.run([sys.executable, "-m", "assistant", "ask", "--json", "성장기 CTO는 무엇을 해야 하나요?"],
                       env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["citations"]


def test_a_killed_builds_generation_is_removed_by_the_next_build(built_state, tmp_path, capsys):
    from assistant.app.cli import main

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(built_state.corpus_dir, corpus)
    shutil.copytree(built_state.index_dir, index)
    live = live_generation(index)
    assert live is not None
    # What SIGKILL during `index --rebuild` leaves: half-built generations newer than the live one.
    orphans = []
    for i in range(3):
        orphan = index / f"gen-{time.time_ns() + i}"
        orphan.mkdir()
        (orphan / "chroma.sqlite3").write_bytes(b"half written")
        orphans.append(orphan)
    (corpus / "extra.md").write_text("# 메모\n\nCTO는 팀의 성장을 돕는다.\n", encoding="utf-8")  # so a build runs
    rc = main(["index", "--quiet", "--corpus-dir", str(corpus), "--index-dir", str(index)])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert not any(o.exists() for o in orphans)
    names = {g.name for g in index.glob("gen-*")}
    assert live.name in names and len(names) == 2  # the new live generation and the previous one


def test_write_failures_name_the_real_cause_and_a_fix_that_works(tmp_path):
    ro = str(_write_error(tmp_path, OSError(errno.EROFS, os.strerror(errno.EROFS))))
    assert "read-only file system" in ro and "CTO_COACH_INDEX_DIR" in ro and "--rebuild" not in ro
    full = str(_write_error(tmp_path, OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))))
    assert "disk is full" in full and "free some space" in full and "permissions" not in full
    denied = str(_write_error(tmp_path, OSError(errno.EACCES, os.strerror(errno.EACCES))))
    assert "permission" in denied

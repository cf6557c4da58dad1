"""Issue 13, findings 8 and 9: index writers, orphaned generations and fault messages.

* Three concurrent `cto-coach index --rebuild` runs failed 1-2 of 3 ("attempt to write a readonly
  database"): each `_publish` deleted the others' unfinished generations. Now an exclusive lock on
  index/.build.lock serialises builds (real processes here), and all succeed.
* A killed build left its generation folder behind until the next successful rebuild; now the next
  start removes orphans (everything but the live generation and the one before it): the next build,
  and also the next open of the index (`ask`, `serve`) when no build holds the lock, so a build
  killed with SIGKILL mid-way leaves nothing behind once anything starts again, even with no rebuild.
* A write failure named the wrong fix ("fix its permissions" for a read-only file system or a full disk).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from assistant.search.store import _build_lock, _write_error, live_generation, open_index

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


def _private_copy(built_state, tmp_path):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(built_state.corpus_dir, corpus)
    shutil.copytree(built_state.index_dir, index)
    return built_state.model_copy(update={"corpus_dir": corpus, "index_dir": index, "data_dir": tmp_path / "data"})


def _ask(env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", "ask", "--json", "성장기 CTO는 무엇을 해야 하나요?"],
                          env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_a_build_killed_with_sigkill_leaves_nothing_once_the_index_is_next_opened(built_state, tmp_path):
    """A real `index --rebuild` killed with SIGKILL while it embeds into its new generation runs no
    cleanup. The index is still fresh, so no build follows; the next `ask` removes the orphan."""
    settings = _private_copy(built_state, tmp_path)
    index, env = settings.index_dir, _env(settings)
    live = live_generation(index)
    assert live is not None
    before = set(index.glob("gen-*"))
    build = subprocess.Popen([sys.executable, "-m", "assistant", "index", "--rebuild", "--quiet"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    orphan = None
    deadline = time.monotonic() + 300
    while orphan is None and build.poll() is None and time.monotonic() < deadline:
        new = [g for g in set(index.glob("gen-*")) - before if (g / "chroma.sqlite3").exists()]
        orphan = new[0] if new else None
        time.sleep(0.01)
    build.send_signal(signal.SIGKILL)
    assert build.wait(timeout=60) == -signal.SIGKILL  # killed mid-build, not finished
    assert orphan is not None and orphan.exists(), "the build never started writing its generation"
    assert live_generation(index) == live  # the kill published nothing
    p = _ask(env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["citations"] and "Traceback" not in p.stderr
    assert not orphan.exists()
    assert {g.name for g in index.glob("gen-*")} == {g.name for g in before}  # the live one (and its previous)
    assert live_generation(index) == live


def test_a_running_builds_generation_is_not_an_orphan(built_state, tmp_path, embeddings):
    """While a build holds the lock, starting elsewhere (a real `ask`) must not touch the generation
    it is writing; once the lock is free, the next open removes what the build left."""
    settings = _private_copy(built_state, tmp_path)
    index = settings.index_dir
    live = live_generation(index)
    assert live is not None
    in_progress = index / f"gen-{time.time_ns()}"
    with _build_lock(settings):
        in_progress.mkdir()
        (in_progress / "chroma.sqlite3").write_bytes(b"being written")
        p = _ask(_env(settings))
        assert p.returncode == 0, p.stderr
        assert in_progress.exists()  # another process's build is running: left alone
    open_index(settings, embeddings)  # no build now: it is an orphan
    assert not in_progress.exists() and live_generation(index) == live

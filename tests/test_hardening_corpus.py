"""Issue 13, findings 2 and 7: what the corpus loader opens, and what one bad entry can take down.

* A symlink in the corpus used to be followed, so `ln -s /proc/self/environ corpus/environ.md` published
  the process environment (the LLM key) as a quotable document. Now nothing is followed: symlinks (to
  files, folders, loops), FIFOs and devices are skipped with a message naming them.
* One unreadable file (`chmod 000`) used to make `index`, `ask` and `status` fail with "unexpected
  PermissionError"; now it is skipped with a message and the rest of the corpus loads.

The unreadable-file test runs the real CLI in subprocesses; as root (which reads anything) it drops
the capabilities that override file permissions with `setpriv`, so the file is really unreadable.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from assistant.article.corpus import load_corpus
from tests.support.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SECRET = "sk-test-0123456789abcdefSECRET"


def _index_texts(settings) -> str:
    from assistant.search.store import live_generation, persistent_client

    gen = live_generation(settings.index_dir)
    client = persistent_client(gen)
    col = client.get_collection(settings.collection)
    return "\n".join(col.get(include=["documents"])["documents"])


def test_symlinked_secret_is_skipped_named_and_never_quoted(fresh_settings, tmp_path, capsys, monkeypatch):
    secret = tmp_path / "outside" / "env.txt"
    secret.parent.mkdir()
    secret.write_text(f"# 환경\n\nCTO_COACH_LLM_API_KEY={SECRET}\n\nCTO 비밀 키는 {SECRET} 입니다.\n", encoding="utf-8")
    corpus = fresh_settings.corpus_dir
    (corpus / "environ.md").symlink_to(secret)
    (corpus / "proc-environ.md").symlink_to("/proc/self/environ")
    (corpus / "linked-folder").symlink_to(secret.parent, target_is_directory=True)
    for key, value in (("CORPUS_DIR", corpus), ("INDEX_DIR", fresh_settings.index_dir),
                       ("DATA_DIR", fresh_settings.data_dir)):
        monkeypatch.setenv(f"CTO_COACH_{key}", str(value))
    monkeypatch.setenv("CTO_COACH_LLM_API_KEY", SECRET)

    rc, out, err = cli(capsys, "index", "--quiet")
    assert "Traceback" not in err and "unexpected" not in err, err
    for name in ("environ.md", "proc-environ.md", "linked-folder"):
        assert any(name in line and "symbolic link" in line and "skipped" in line for line in err.splitlines()), err
    assert SECRET not in _index_texts(fresh_settings)
    rc, out, err = cli(capsys, "ask", "--json", "CTO_COACH_LLM_API_KEY 비밀 키는 무엇인가요?")
    assert rc == 0, err
    assert SECRET not in out and SECRET not in err
    assert not any("environ" in c["id"] for c in json.loads(out)["citations"])


def test_fifo_device_and_link_loop_are_skipped_with_a_message_naming_each(tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    os.mkfifo(corpus / "pipe.md")
    (corpus / "loop.md").symlink_to(corpus / "loop.md")
    (corpus / "dangling.md").symlink_to(tmp_path / "nowhere.md")
    try:
        os.mknod(corpus / "null.md", stat.S_IFCHR | 0o600, os.makedev(1, 3))
        device = True
    except (PermissionError, OSError):
        device = False
    result: dict = {}
    t = threading.Thread(target=lambda: result.update(c=load_corpus(corpus)), daemon=True)
    t.start()
    t.join(20)
    assert "c" in result, "load_corpus blocked (opened the FIFO?)"
    loaded = result["c"]
    problems = [str(p) for p in loaded.problems]
    assert loaded.documents and loaded.documents[0].doc_id == "cto-role-by-stage"

    def named(name: str, *words: str) -> bool:
        return any(name in p and all(w in p for w in words) for p in problems)

    assert named("pipe.md", "FIFO", "skipped"), problems
    assert named("loop.md", "loop", "not followed"), problems
    assert named("dangling.md", "broken symbolic link"), problems
    if device:
        assert named("null.md", "device", "skipped"), problems
    assert all(not p.keep_indexed for p in loaded.problems)  # their old chunks are not kept either


def _unprivileged() -> list[str]:
    """A command prefix under which chmod 000 really denies reading (root normally ignores it)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps=-all"]


def test_unreadable_file_is_skipped_and_every_command_still_works(fresh_settings):
    corpus = fresh_settings.corpus_dir
    bad = corpus / "private-notes.md"
    bad.write_text("# 메모\n\n읽을 수 없는 파일입니다.\n", encoding="utf-8")
    bad.chmod(0)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CTO_COACH_")},
           "PYTHONPATH": str(ROOT), "CTO_COACH_CORPUS_DIR": str(corpus),
           "CTO_COACH_INDEX_DIR": str(fresh_settings.index_dir), "CTO_COACH_DATA_DIR": str(fresh_settings.data_dir)}
    prefix = [*_unprivileged(), sys.executable, "-m", "assistant"]

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *argv], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)

    try:
        for argv in (("index", "--quiet"), ("status",), ("ask", "--json", "성장기 CTO는 무엇을 해야 하나요?")):
            p = run(*argv)
            assert "Traceback" not in p.stderr and "unexpected" not in p.stderr, (argv, p.stderr)
            assert "private-notes.md" in p.stderr and "cannot be read" in p.stderr, (argv, p.stderr)
            if argv[0] == "ask":
                assert p.returncode == 0, p.stderr
                assert json.loads(p.stdout)["citations"]
            elif argv[0] == "status":
                assert p.returncode == 0 and p.stdout.startswith(("fresh", "stale")), (p.stdout, p.stderr)
            else:  # index: built from the readable documents; exit 1 says a file was skipped
                assert p.returncode == 1 and " chunks (" in p.stdout, (p.stdout, p.stderr)
    finally:
        bad.chmod(0o644)

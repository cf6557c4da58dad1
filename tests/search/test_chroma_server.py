"""The path past one machine: the same index on a real `chroma run` server on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.errors import IndexUnavailableError
from assistant.search.store import build_index, index_status, open_index

CHROMA = Path(sys.executable).parent / "chroma"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    if not CHROMA.exists():
        pytest.skip("chroma CLI not installed")
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    import chromadb

    deadline = time.time() + 60
    while True:
        try:
            chromadb.HttpClient(host="127.0.0.1", port=port).heartbeat()
            break
        except Exception:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("chroma server did not start")
            time.sleep(0.3)
    yield port
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_index_and_answer_through_a_chroma_server(chroma_server, fresh_settings, embeddings):
    settings = fresh_settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": chroma_server,
                                                 "collection": "cto_coach_test"})
    assert index_status(settings) == "missing"
    report = build_index(settings, embeddings)
    assert report.added == report.total >= 12
    assert index_status(settings) == "fresh"
    assert build_index(settings, embeddings).added == 0  # incremental on the server too
    assert not fresh_settings.index_dir.exists()  # nothing written locally

    from assistant.coach import Coach

    coach = Coach.from_settings(settings)
    answer = coach.ask("직원 12명인데 CTO가 해야 할 일은?")
    assert answer.stage == 2 and answer.citations
    assert {c.stage for c in answer.citations} == {2}
    assert coach.retriever.index.location.startswith("chroma://127.0.0.1")


def test_server_down_names_host_and_port(fresh_settings, embeddings):
    port = _free_port()
    settings = fresh_settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": port})
    with pytest.raises(IndexUnavailableError) as err:
        open_index(settings, embeddings)
    assert f"127.0.0.1:{port}" in str(err.value) and "chroma run" in str(err.value)


def test_chroma_cli_is_on_path_for_ci():
    assert CHROMA.exists() or shutil.which("chroma")

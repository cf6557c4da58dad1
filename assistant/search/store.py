"""The persisted Chroma index: build incrementally, swap atomically, refuse mixed vectors.

Embedded layout (default)::

    index/CURRENT        name of the live generation, replaced atomically (os.replace)
    index/gen-<ns>/      a Chroma persistent store + manifest.json + bm25/ (the BM25 index, see bm25.py)

`build_index` copies the live generation aside, applies only the changes (new/changed chunks are
embedded, removed ones deleted), then flips CURRENT, so a server answering from the old generation
never sees a half-written store. With `chroma_host` set, the same collection lives on a Chroma
server and changes are applied in place (the server serialises writes).

The manifest (embedder spec, dimension, chunker version, corpus hash, BM25 signature and revision, the
digest of the English renderings and the count of English vectors)
is stored both in manifest.json and in the collection metadata: opening an index built with another
embedder or chunker is an error that says how to rebuild, never a silent mix of vector spaces.

BM25 is built at index time from every chunk in the collection and saved in the generation, tagged
with the build's `revision` (also in the manifest), so the vectors and the BM25 files are published
together by the same CURRENT flip. With a Chroma server the BM25 files are a local cache under
`data_dir/bm25-cache/`, keyed by the collection's id and revision: rebuilt only when the collection
changed. Chunk texts and metadata are not held in memory: `OpenIndex.fetch` reads the passages a
query uses from Chroma by id (with a small LRU cache).

An index built without the current English renderings is stale (rebuilt when auto-indexing,
refused with a message otherwise).

A chunk of a document with an English rendering (corpus/<doc>.en.yaml) gets a second vector: the
rendering, stored under `<chunk id>~en-<hash>` with `lang: en` and `chunk_id` metadata. Dense search
maps it back to its chunk, so an English question matches the English words and cites the one chunk.

The English records are not chunks: they are left out of the Korean BM25, of `fetch`/`chunks`
and of `chunk_count` (the collection holds chunk_count + rendered records). English questions use a
second BM25 saved beside the first (`bm25-en/`, same signature and revision) over each chunk's
searchable text (the original, then its English rendering); it exists only when there are renderings.

Over 300 lines on purpose: the manifest, the generation pointer and the Chroma clients are one
protocol (build aside, verify, flip, open); split apart, the rules for when an index may be opened
would live in several files.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:  # POSIX only
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

from assistant.article.chunking import CHUNKER_VERSION, chunk_sections
from assistant.article.corpus import Corpus, load_corpus
from assistant.article.rendering import (
    Rendering,
    english_of,
    load_renderings,
    renderings_digest,
    searchable_text,
)
from assistant.errors import IndexMismatchError, IndexMissingError, IndexUnavailableError
from assistant.search.bm25 import BM25, BM25FilesError, signature
from assistant.settings import Settings
from assistant.types import Chunk

if TYPE_CHECKING:
    from collections.abc import Iterator

    from langchain_core.embeddings import Embeddings

MANIFEST_FORMAT = 1
POINTER = "CURRENT"
BATCH = 32
BM25_DIR = "bm25"
BM25_EN_DIR = "bm25-en"  # English questions: the originals followed by their English renderings
BM25_CACHE = "bm25-cache"
CHUNK_CACHE = 2048  # chunks kept in memory (LRU) by an open index

log = logging.getLogger("cto_coach")


@dataclass(frozen=True)
class Manifest:
    embedder: str
    dim: int
    chunker: str
    corpus_hash: str
    chunk_count: int  # chunks (the English vectors are counted in `rendered`)
    built_at: float
    format: int = MANIFEST_FORMAT
    bm25: str = ""  # bm25.signature() of the saved BM25 index ("" = built before BM25 was saved)
    revision: str = ""  # changes with every build that changes the collection; tags the BM25 files
    renderings: str = ""  # digest of the English renderings the English vectors were built from
    rendered: int = 0  # English vectors (one per chunk of a document with a rendering)

    def to_metadata(self) -> dict[str, Any]:
        return {f"cto_{k}": v for k, v in asdict(self).items()}

    @classmethod
    def from_metadata(cls, meta: dict | None) -> Manifest | None:
        """None when a required field is missing; the rendering fields default (an index built before them)."""
        meta = meta or {}
        optional = {"bm25": "", "revision": "", "renderings": "", "rendered": 0}
        try:
            return cls(**{k: meta[f"cto_{k}"] if k not in optional else meta.get(f"cto_{k}", optional[k])
                          for k in cls.__dataclass_fields__})
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
    """A live, verified index: the LangChain vector store, its BM25 index, and chunks fetched by id."""

    store: Any  # langchain_chroma.Chroma
    manifest: Manifest
    location: str
    generation: str | None
    bm25: BM25
    chroma_collection: Any = None  # the chromadb collection behind the store (public chromadb API)
    bm25_en: BM25 | None = None  # over each chunk's searchable text; None when there are no renderings
    cache_size: int = CHUNK_CACHE
    _cache: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def collection(self) -> Any:
        return self.chroma_collection

    @property
    def count(self) -> int:
        return self.manifest.chunk_count

    @cached_property
    def chunks(self) -> list[Chunk]:
        """Every chunk, read from the store on first use (evals and tools; answering never needs it)."""
        try:
            return _all_chunks(self.collection)
        except Exception as exc:
            raise _unreadable(self.location, exc) from None

    def fetch(self, ids: list[str]) -> dict[str, Chunk]:
        """id -> Chunk for the ids that exist, from the LRU cache or one read from Chroma."""
        out: dict[str, Chunk] = {}
        missing: list[str] = []
        with self._lock:
            for cid in dict.fromkeys(ids):
                c = self._cache.get(cid)
                if c is None:
                    missing.append(cid)
                else:
                    self._cache.move_to_end(cid)
                    out[cid] = c
        if missing:
            got: list[Chunk] = []
            try:
                for start in range(0, len(missing), PAGE):
                    res = self.collection.get(ids=missing[start : start + PAGE], include=["documents", "metadatas"])
                    got.extend(Chunk.from_store(i, d, m or {})
                               for i, d, m in zip(res["ids"], res["documents"], res["metadatas"], strict=True)
                               if (m or {}).get("lang") != "en")  # an English vector is not a chunk
            except Exception as exc:
                raise _unreadable(self.location, exc) from None
            self._remember(got)
            out.update((c.id, c) for c in got)
        return {cid: out[cid] for cid in dict.fromkeys(ids) if cid in out}

    def _remember(self, chunks: list[Chunk]) -> None:
        with self._lock:
            for c in chunks:
                self._cache[c.id] = c
                self._cache.move_to_end(c.id)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def dense_search(self, vector: list[float], k: int, english: bool = True) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) best first. A chunk's English vector counts as the chunk (its
        best vector wins); `english=False` leaves the English vectors out."""
        k = min(k, self.count)
        if k <= 0:
            return []
        try:
            hits = self.store.similarity_search_by_vector_with_relevance_scores(vector, k=k + self.manifest.rendered)
        except Exception as exc:
            raise IndexUnavailableError(
                f"search failed on the index at {self.location} ({type(exc).__name__}: {str(exc)[:160]}). "
                "Run `cto-coach index --rebuild`."
            ) from None
        # The Korean hits carry their text and metadata: keep them, the answer will likely quote some.
        self._remember([Chunk.from_store(doc.id, doc.page_content, doc.metadata or {}) for doc, _ in hits
                        if getattr(doc, "page_content", None) is not None and (doc.metadata or {}).get("lang") != "en"])
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


def _unreadable(location: str, exc: Exception) -> IndexUnavailableError:
    return IndexUnavailableError(
        f"the index at {location} is unreadable ({type(exc).__name__}: {str(exc)[:160]}). "
        "Run `cto-coach index --rebuild`."
    )


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
    gen = None
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
        count = collection.count()
    except Exception as exc:
        raise _unreadable(location, exc) from None
    if manifest is None:
        raise IndexUnavailableError(f"the index at {location} has no manifest; run `cto-coach index --rebuild`")
    check_compatible(manifest, settings, location)
    check_renderings(manifest, settings, location)
    if count != manifest.chunk_count + manifest.rendered:  # the English vectors are records too
        raise IndexUnavailableError(
            f"the index at {location} is incomplete ({count} chunks, manifest says {manifest.chunk_count}); "
            "run `cto-coach index --rebuild`"
        )
    bm25, bm25_en = _open_bm25(settings, manifest, collection, gen, location)
    if gen is not None:
        _tidy_if_idle(settings.index_dir)
    return OpenIndex(store, manifest, location, generation, bm25, chroma_collection=collection, bm25_en=bm25_en)


def _check_bm25_manifest(manifest: Manifest, location: str) -> None:
    if manifest.bm25 != signature() or not manifest.revision:
        built = repr(manifest.bm25) if manifest.bm25 else "no saved BM25 index (built by an older version)"
        raise IndexMismatchError(
            f"the index at {location} has {built}; this version needs BM25 files built with {signature()!r}. "
            "Run `cto-coach index` to rebuild them (the vectors are kept, nothing is re-embedded)."
        )


def _open_bm25(settings: Settings, manifest: Manifest, collection: Any, gen: Path | None,
               location: str) -> tuple[BM25, BM25 | None]:
    """The Korean BM25 and, when the index has English renderings, the bilingual one (`bm25-en/`)."""
    _check_bm25_manifest(manifest, location)
    if gen is not None:
        try:
            bm25 = BM25.load(gen / BM25_DIR, revision=manifest.revision, n_docs=manifest.chunk_count)
            bm25_en = (BM25.load(gen / BM25_EN_DIR, revision=manifest.revision, n_docs=manifest.chunk_count)
                       if _bilingual(manifest) else None)
        except BM25FilesError as exc:
            raise IndexUnavailableError(
                f"the index at {location} is unusable: {exc}. Run `cto-coach index` to rebuild its BM25 files."
            ) from None
        return bm25, bm25_en
    # A Chroma server: the BM25 files are a local cache for this collection generation.
    folder = bm25_cache_dir(settings, collection, manifest.revision)
    try:
        bm25 = BM25.load(folder, revision=manifest.revision, n_docs=manifest.chunk_count)
        bm25_en = (BM25.load(_en_folder(folder), revision=manifest.revision, n_docs=manifest.chunk_count)
                   if _bilingual(manifest) else None)
        return bm25, bm25_en
    except BM25FilesError:
        pass
    log.info("building the local BM25 cache for %s (revision %s)", location, manifest.revision)
    renderings = load_renderings(settings.corpus_dir) if _bilingual(manifest) else {}
    bm25, bm25_en = build_bm25s(collection, manifest.revision, location, renderings)
    if bm25.n != manifest.chunk_count:
        raise IndexUnavailableError(f"the collection at {location} changed while its BM25 cache was built; retry")
    return _save_cache(settings, collection, bm25, folder, bm25_en)


def _bilingual(manifest: Manifest) -> bool:
    """Whether the index has English vectors, and so a bilingual BM25 (`bm25-en/`) beside the Korean one.
    The synthetic scale index records the renderings digest with no English vector: Korean BM25 only."""
    return bool(manifest.renderings) and manifest.rendered > 0


def _en_folder(folder: Path) -> Path:
    """The bilingual BM25 beside a Korean one: `bm25` -> `bm25-en`, `<id>-<revision>` -> `<id>-<revision>-en`."""
    return folder.with_name(f"{folder.name}-en")


def bm25_cache_dir(settings: Settings, collection: Any, revision: str) -> Path:
    """Where the BM25 files of a server collection are cached: one folder per collection id and revision."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{settings.chroma_host}_{settings.chroma_port}_{collection.name}")
    return settings.data_dir / BM25_CACHE / name / f"{collection.id}-{revision}"


def _save_cache(settings: Settings, collection: Any, bm25: BM25, folder: Path,
                bm25_en: BM25 | None = None) -> tuple[BM25, BM25 | None]:
    """Save to the cache (the bilingual BM25 in `<folder>-en`) and drop this collection's older cache
    folders; in memory only if that fails."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        pairs = [(bm25, folder)] + ([(bm25_en, _en_folder(folder))] if bm25_en is not None else [])
        for b, f in pairs:
            if not f.exists():
                with contextlib.suppress(OSError):  # another process may have saved the same revision first
                    b.save(f)
        keep = {f.name for _, f in pairs}
        for old in folder.parent.iterdir():  # this collection's older revisions (or a re-created collection)
            if old.name not in keep and not old.name.startswith("."):
                shutil.rmtree(old, ignore_errors=True)
        loaded = BM25.load(folder, revision=bm25.meta["revision"], n_docs=bm25.n)
        loaded_en = (BM25.load(_en_folder(folder), revision=bm25_en.meta["revision"], n_docs=bm25_en.n)
                     if bm25_en is not None else None)
        return loaded, loaded_en
    except (OSError, BM25FilesError) as exc:
        log.warning("cannot cache the BM25 index in %s (%s); keeping it in memory", folder, exc)
        return bm25, bm25_en


def build_bm25(collection: Any, revision: str, location: str) -> BM25:
    """The Korean BM25 over every chunk in the collection (the English vectors are not chunks)."""
    return build_bm25s(collection, revision, location, {})[0]


def build_bm25s(collection: Any, revision: str, location: str,
                renderings: dict[str, Rendering]) -> tuple[BM25, BM25 | None]:
    """The Korean BM25 and, with renderings, the bilingual one: the same chunks in the same order, each
    indexed by its searchable text (the original followed by its English rendering)."""
    try:
        chunks = _all_chunks(collection)
    except Exception as exc:
        raise _unreadable(location, exc) from None
    ids, stages = [c.id for c in chunks], [c.stage for c in chunks]
    bm25 = BM25.build(ids, [c.text for c in chunks], stages, revision)
    if not renderings:
        return bm25, None
    return bm25, BM25.build(ids, [searchable_text(c.text, c.doc_id, renderings) for c in chunks], stages, revision)


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
    if manifest.bm25 != signature() or not manifest.revision:
        return "stale"  # BM25 files missing or built differently: `cto-coach index` rebuilds them, no re-embedding
    if not settings.chroma_host and gen is not None:
        bm = BM25.read_meta(gen / BM25_DIR)
        if bm is None or bm.get("revision") != manifest.revision or bm.get("signature") != signature():
            return "stale"
    if _bilingual(manifest) and not settings.chroma_host and gen is not None:
        bm = BM25.read_meta(gen / BM25_EN_DIR)
        if bm is None or bm.get("revision") != manifest.revision or bm.get("signature") != signature():
            return "stale"
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

    def fresh() -> IndexReport | None:
        if not rebuild and not corpus.problems and not settings.chroma_host and index_status(settings, corpus) == "fresh":
            gen = live_generation(settings.index_dir)
            count = json.loads((gen / "manifest.json").read_text())["chunk_count"] if gen else 0
            return IndexReport(0, 0, count, count, time.perf_counter() - started, location_of(settings), False)
        return None

    if not settings.chroma_host:
        _tidy_if_idle(settings.index_dir)  # a fresh index starts no build, so orphans go here
    report = fresh()  # before the lock: a fresh index on a read-only disk needs no write at all
    if report is not None:
        return report
    with _build_lock(settings):  # one writer at a time; a second build waits for the first
        report = fresh()  # the build we waited for may have done the work
        if report is not None:
            return report
        chunks = chunk_sections(corpus.sections)
        dim = embedding_dim(embeddings)
        location = location_of(settings)
        if not settings.chroma_host:
            _drop_orphans(settings.index_dir)
        return _sync(settings, embeddings, corpus, chunks, dim, location, rebuild, progress, started)


LOCK_FILE = ".build.lock"
LOCK_WAIT = 600.0  # seconds a build waits for another one before giving up with a clear message


@contextlib.contextmanager
def _build_lock(settings: Settings) -> Iterator[None]:
    """An exclusive `flock` on index/.build.lock: concurrent builds (two `index --rebuild`, a serve
    auto-indexing while the CLI indexes) run one after the other instead of deleting each other's
    generations. The lock dies with its process, so a killed build never leaves it held."""
    if settings.chroma_host or fcntl is None:  # the server serialises its own writes
        yield
        return
    index_dir = Path(settings.index_dir)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(index_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _write_error(index_dir, exc) from None
    try:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise IndexUnavailableError(
                        f"another index build is running on {index_dir} (waited {LOCK_WAIT:.0f}s); let it finish, "
                        "then run the command again"
                    ) from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)  # releases the lock


def _tidy_if_idle(index_dir: Path) -> None:
    """Remove orphaned generations when no build is running: called whenever the index is opened or a
    build starts, so a build killed with SIGKILL (which runs no cleanup of its own) leaves its
    half-built folder only until the next start, even when the index is fresh and no build follows.

    Takes the build lock without waiting: if a build (in any process, or on another descriptor in
    this one) holds it, its unfinished generation is not an orphan and everything is left alone. A
    read-only index folder cannot be tidied and needs no tidying: that is skipped silently too."""
    if fcntl is None or not index_dir.is_dir():
        return
    try:
        fd = os.open(index_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: a build is running
            return
        _drop_orphans(index_dir)
    finally:
        os.close(fd)  # releases the lock


def _drop_orphans(index_dir: Path) -> None:
    """Remove generation folders a killed or failed build left behind (called under the build lock):
    everything but the live generation and the newest one before it (still read by running servers).
    With no CURRENT at all, no generation was ever published, so every one is unfinished."""
    try:
        live = live_generation(index_dir)
    except IndexUnavailableError:
        return  # a corrupt pointer: the rebuild will replace it; keep everything until then
    keep: set[str] = set()
    if live is not None:
        older = sorted((g for g in index_dir.glob("gen-*") if g.name < live.name), key=lambda g: g.name)
        keep = {live.name, older[-1].name if older else ""}
    for gen in index_dir.glob("gen-*"):
        if gen.name not in keep:
            shutil.rmtree(gen, ignore_errors=True)
    for tmp in index_dir.glob(f".{POINTER}.*.tmp"):
        with contextlib.suppress(OSError):
            tmp.unlink()


def _write_error(index_dir: Path, exc: OSError) -> IndexUnavailableError:
    """The real cause of a failed write to the index folder, with advice that works for it."""
    if exc.errno == errno.EROFS:
        why = "it is on a read-only file system; set CTO_COACH_INDEX_DIR (or --index-dir) to a writable folder"
    elif exc.errno in (errno.ENOSPC, errno.EDQUOT):
        why = "the disk is full; free some space, then run the command again (the live index is unchanged)"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        why = ("no permission to write there; fix its permissions or set CTO_COACH_INDEX_DIR to a writable "
               "folder")
    else:
        why = "set CTO_COACH_INDEX_DIR to a writable folder"
    return IndexUnavailableError(f"cannot write the index at {index_dir} ({exc.strerror}): {why}")


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
    except BaseException as exc:
        if new_gen is not None:  # never leave a half-built generation behind
            shutil.rmtree(new_gen, ignore_errors=True)
        if new_gen is not None and _disk_full(exc):
            raise IndexUnavailableError(
                f"the disk ran out of space while building the index at {location}; free some space, then run "
                "`cto-coach index` again (the live index is unchanged and still answers)"
            ) from None
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
    total = collection.count()
    # English vectors now stored: the wanted ones plus those a failed document keeps with its old chunks.
    deleted = set(to_delete)
    rendered = len({i for i, _, _ in english}) + sum(
        1 for i, m in existing_meta.items() if m.get("lang") == "en" and i not in wanted and i not in deleted)
    total -= rendered  # chunks; the English vectors are counted in `rendered`
    unchanged_server = (new_gen is None and not to_add and not to_add_en and not to_delete and old_manifest is not None
                        and old_manifest.bm25 == signature() and bool(old_manifest.revision)
                        and old_manifest.renderings == renderings_digest(renderings))
    # A new revision whenever the collection may have changed: it tags the BM25 files built from it.
    revision = old_manifest.revision if unchanged_server and old_manifest else uuid.uuid4().hex
    bm25, bm25_en = (None, None) if unchanged_server else build_bm25s(
        collection, revision, location, renderings if rendered else {})
    manifest = Manifest(settings.embedder, dim, CHUNKER_VERSION, corpus.corpus_hash, total, time.time(),
                        bm25=signature(), revision=revision, renderings=renderings_digest(renderings),
                        rendered=rendered)
    meta = dict(collection.metadata or {})
    meta.update(manifest.to_metadata())
    collection.modify(metadata=meta)

    if new_gen is not None:
        assert bm25 is not None
        for folder in (BM25_DIR, BM25_EN_DIR):  # the copied generation's, now outdated
            shutil.rmtree(new_gen / folder, ignore_errors=True)
        bm25.save(new_gen / BM25_DIR)
        if bm25_en is not None:
            bm25_en.save(new_gen / BM25_EN_DIR)
        (new_gen / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2), encoding="utf-8")
        _publish(settings.index_dir, new_gen)
    elif bm25 is not None:  # a server: cache the BM25 files locally for this revision
        _save_cache(settings, collection, bm25, bm25_cache_dir(settings, collection, revision), bm25_en)
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


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    text = str(exc).lower()  # sqlite (through Chroma) says "database or disk is full"
    return "disk is full" in text or "no space left" in text


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
        raise _write_error(index_dir, exc) from None
    old = None if rebuild else live_generation(index_dir)
    new = index_dir / f"gen-{time.time_ns()}"
    try:
        if old is not None:
            shutil.copytree(old, new)
        else:
            new.mkdir()
    except OSError as exc:
        shutil.rmtree(new, ignore_errors=True)
        raise _write_error(index_dir, exc) from None
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

"""The persisted Chroma index: build incrementally, swap atomically, refuse mixed vectors.

Embedded layout (default)::

    index/CURRENT        name of the live generation, replaced atomically (os.replace)
    index/gen-<ns>/      a Chroma persistent store + manifest.json

`build_index` copies the live generation aside, applies only the changes (new/changed chunks are
embedded, removed ones deleted), then flips CURRENT, so a server answering from the old generation
never sees a half-written store. With `chroma_host` set, the same collection lives on a Chroma
server and changes are applied in place (the server serialises writes).

The manifest (embedder spec, dimension, chunker version, corpus hash) is stored both in
manifest.json and in the collection metadata: opening an index built with another embedder or
chunker is an error that says how to rebuild, never a silent mix of vector spaces.

Over 300 lines on purpose: the manifest, the generation pointer and the Chroma clients are one
protocol (build aside, verify, flip, open); split apart, the rules for when an index may be opened
would live in several files.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

try:  # POSIX only
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

from assistant.article.chunking import CHUNKER_VERSION, chunk_sections
from assistant.article.corpus import Corpus, load_corpus
from assistant.errors import IndexMismatchError, IndexMissingError, IndexUnavailableError
from assistant.settings import Settings
from assistant.types import Chunk

if TYPE_CHECKING:
    from collections.abc import Iterator

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
    chunk_count: int
    built_at: float
    format: int = MANIFEST_FORMAT

    def to_metadata(self) -> dict[str, Any]:
        return {f"cto_{k}": v for k, v in asdict(self).items()}

    @classmethod
    def from_metadata(cls, meta: dict | None) -> Manifest | None:
        meta = meta or {}
        try:
            return cls(**{k: meta[f"cto_{k}"] for k in cls.__dataclass_fields__})
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

    def summary(self) -> str:
        return (
            f"index {'rebuilt' if self.rebuilt else 'updated'} at {self.location}: {self.total} chunks "
            f"({self.added} embedded, {self.deleted} removed, {self.unchanged} unchanged) in {self.seconds:.1f}s"
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

    def dense_search(self, vector: list[float], k: int) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) best first."""
        k = min(k, len(self.chunks))
        if k <= 0:
            return []
        try:
            hits = self.store.similarity_search_by_vector_with_relevance_scores(vector, k=k)
        except Exception as exc:
            raise IndexUnavailableError(
                f"search failed on the index at {self.location} ({type(exc).__name__}: {str(exc)[:160]}). "
                "Run `cto-coach index --rebuild`."
            ) from None
        return [(doc.id, 1.0 - float(dist)) for doc, dist in hits]


def expected_manifest_fields(settings: Settings, dim: int | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"embedder": settings.embedder, "chunker": CHUNKER_VERSION}
    if dim is not None:
        fields["dim"] = dim
    return fields


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
        chunks.extend(Chunk.from_store(i, d, m or {}) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True))
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


def _drop_orphans(index_dir: Path) -> None:
    """Remove generation folders a killed or failed build left behind (called under the build lock):
    everything but the live generation and the newest one before it (still read by running servers)."""
    try:
        live = live_generation(index_dir)
    except IndexUnavailableError:
        return  # a corrupt pointer: the rebuild will replace it; keep everything until then
    if live is None:
        return
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
    wanted = {c.id for c in chunks}
    to_add = [c for c in chunks if c.id not in existing]
    to_delete = sorted(existing - wanted)
    if keep_failed:  # a file that failed to parse keeps its old chunks
        to_delete = [i for i in to_delete if existing_meta[i].get("doc_id") not in keep_failed]

    _write_chunks(store, to_add, progress)
    for start in range(0, len(to_delete), PAGE):
        collection.delete(ids=to_delete[start : start + PAGE])
    total = collection.count()
    manifest = Manifest(settings.embedder, dim, CHUNKER_VERSION, corpus.corpus_hash, total, time.time())
    meta = dict(collection.metadata or {})
    meta.update(manifest.to_metadata())
    collection.modify(metadata=meta)

    if new_gen is not None:
        (new_gen / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2), encoding="utf-8")
        _publish(settings.index_dir, new_gen)
    return IndexReport(
        added=len(to_add),
        deleted=len(to_delete),
        unchanged=len(existing & wanted),
        total=total,
        seconds=time.perf_counter() - started,
        location=location,
        rebuilt=rebuild or not existing,
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

"""Korean-aware BM25 over chunk texts, through `bm25s`, built at index time and memory-mapped at open.

Terms come from `text.tokenize`: particle-stripped stems plus Hangul character bigrams, which
measured as well as a morphological analyser here (15/20 vs 16/20 hit@3) without Kiwi's 2.5 s and
530 MB start-up. English questions are expanded with the Korean glossary aliases of their terms.

Scoring is Okapi BM25 exactly as before this module used `bm25s` (k1 1.2, b 0.75):
idf = ln(1 + (N - df + 0.5) / (df + 0.5)) (`idf_method="lucene"`, always positive) times
tf·(k1+1) / (tf + k1·(1 - b + b·len/avgdl)) (`method="atire"`: bm25s's "lucene"/"robertson" term
parts leave out the constant (k1+1), which would divide every score by 2.2 and shift the absolute
thresholds the coach applies to BM25 scores). Each posting's weight is stored as float32 (half the
postings' disk and page cache: 84 -> 42 MB at 100k chunks), and a query's scores are summed in float64;
ties are broken by document order (the chunks sorted by document, section, position). Against the
float64 postings before FORMAT 2, every eval question's top 20 ids are the same (scores differ in the
8th significant digit), so the coach's thresholds and rankings did not move.

Files (a folder inside the index generation, or the local cache of a Chroma server's collection)::

    meta.json                 signature (tokenizer version + parameters), revision, counts, max idf
    params.index.json, data/indices/indptr.csc.index.npy   the bm25s model (saved by bm25s, mmap'd)
    terms.bin, terms.offsets.npy   the vocabulary: UTF-8 terms sorted, concatenated; term id = rank
    idf.npy                   idf per term id (the coach's premise check weighs words by it)
    ids.npy                   chunk id per document number (fixed-width bytes)
    stages.json               chunk ids of each stage, in document order

Everything is memory-mapped: opening costs a few file reads whatever the corpus size, and a query
reads only the postings of its terms (with `pread`, see `_Postings`, so they do not stay in the
process). The vocabulary is not loaded into a dict (at 100k chunks it has millions of terms); a term
is found by binary search over the sorted, mmap'd terms.
"""

from __future__ import annotations

import hashlib
import json
import math
import mmap
import os
import shutil
import sys
import weakref
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from assistant import text as _text
from assistant.text import tokenize, translate_terms

K1 = 1.2
B = 0.75
METHOD = "atire"  # tf part with (k1+1): the textbook Okapi formula
IDF_METHOD = "lucene"  # ln(1 + (N - df + 0.5)/(df + 0.5))
FORMAT = 2  # 2: float32 posting weights
# Bump when `text.tokenize` changes behaviour in a way its word lists do not show (the lists are hashed in).
TOKENIZER_VERSION = 1
META = "meta.json"


def tokenizer_id() -> str:
    """Version of the tokenizer plus a hash of its particle/stop-word lists and word pattern."""
    parts = [str(TOKENIZER_VERSION), "|".join(_text._JOSA), "|".join(sorted(_text._EN_STOP)),
             "|".join(sorted(_text._KO_STOP)), _text._TOKEN.pattern]
    return f"ko-josa-bigram-v{TOKENIZER_VERSION}-{hashlib.sha256(chr(0).join(parts).encode()).hexdigest()[:10]}"


def signature() -> str:
    """What a saved BM25 index must have been built with to be used by this code."""
    return f"bm25s:{METHOD}/{IDF_METHOD}:k1={K1}:b={B}:f{FORMAT}:{tokenizer_id()}"


def query_terms(query: str) -> list[str]:
    extra = translate_terms(query)
    return tokenize(f"{query} {extra}" if extra else query)


def _import_bm25s() -> Any:
    """bm25s tries to import scipy.sparse and numba for optional backends we do not use (numpy CSC,
    numpy scoring); hiding them for the import saves ~150 ms of cold start."""
    if "bm25s" in sys.modules:
        return sys.modules["bm25s"]
    hidden = [m for m in ("scipy.sparse", "numba") if m not in sys.modules]
    for m in hidden:
        sys.modules[m] = None  # type: ignore[assignment]  # makes `import m` raise ImportError
    try:
        import bm25s
    finally:
        for m in hidden:
            if sys.modules.get(m, 0) is None:
                del sys.modules[m]
    return bm25s


def _token_ids(texts: Iterable[str]) -> tuple[list[str], list[array[int]]]:
    """The sorted vocabulary and each text's terms as ids into it (id = rank), one text at a time.

    Each text's tokens are turned into 4-byte ids as soon as it is tokenized, so the corpus is never
    held as Python strings and ints at once (at 100k chunks that was ~1 GB of the index build's peak,
    and of a web worker's first start against a Chroma server); ids are first given in order of first
    appearance, then renumbered to rank order, which is what the saved files have always held."""
    first: dict[str, int] = {}
    docs: list[array[int]] = []
    for text in texts:
        docs.append(array("i", [first.setdefault(t, len(first)) for t in tokenize(text)]))
    terms = sorted(first)
    rank = np.empty(len(terms), dtype=np.int32)
    for r, t in enumerate(terms):
        rank[first[t]] = r
    del first
    for i, d in enumerate(docs):
        if len(d):
            docs[i] = array("i", rank[np.frombuffer(d, dtype=np.int32)].tobytes())
    return terms, docs


class _IdCount(dict):
    """What bm25s reads of a vocabulary dict when it is given token ids: `.values()` (the ids) and its
    length. Holding millions of str keys only to be read as 0..n-1 would cost ~100 MB at 100k chunks."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def values(self) -> Any:
        return range(self.n)

    def __len__(self) -> int:
        return self.n


class BM25FilesError(Exception):
    """The BM25 files are missing, incomplete or were built differently (the message says which)."""


class _Vocab:
    """Sorted UTF-8 terms, concatenated, with offsets; a term's id is its rank. Binary search, memoised."""

    def __init__(self, blob: Any, offsets: np.ndarray):
        self.blob = blob  # bytes, or an mmap.mmap of terms.bin (slicing either gives bytes)
        self.offsets = offsets
        self._off = np.ascontiguousarray(offsets, dtype=np.int64).data  # int per index, no numpy scalars
        self.n = len(offsets) - 1
        self.id = lru_cache(maxsize=16384)(self._id)  # questions share most of their terms

    @classmethod
    def from_sorted(cls, terms: list[str]) -> _Vocab:
        encoded = [t.encode("utf-8") for t in terms]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return cls(b"".join(encoded), offsets)

    @classmethod
    def open(cls, blob_file: Path, offsets_file: Path) -> _Vocab:
        offsets = np.load(offsets_file, mmap_mode="r")
        if blob_file.stat().st_size == 0:
            return cls(b"", offsets)
        with open(blob_file, "rb") as f:
            return cls(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ), offsets)

    def _term(self, i: int) -> bytes:
        return self.blob[self._off[i] : self._off[i + 1]]

    def _id(self, term: str) -> int | None:
        key = term.encode("utf-8")
        lo, hi = 0, self.n
        while lo < hi:
            mid = (lo + hi) // 2
            if self._term(mid) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < self.n and self._term(lo) == key else None

    def __iter__(self) -> Iterator[str]:
        for i in range(self.n):
            yield self._term(i).decode("utf-8")


class IdfView(Mapping):
    """term -> idf, read from the saved arrays (a dict of every term would cost ~100 MB at 100k chunks)."""

    def __init__(self, vocab: _Vocab, idf: np.ndarray, max_idf: float):
        self._vocab, self._idf, self.max = vocab, idf, max_idf

    def __getitem__(self, term: str) -> float:
        i = self._vocab.id(term)
        if i is None:
            raise KeyError(term)
        return float(self._idf[i])

    def __iter__(self) -> Iterator[str]:
        return iter(self._vocab)

    def __len__(self) -> int:
        return self._vocab.n

    def values(self) -> Any:  # the array itself: `max(idf.values())` without decoding every term
        return self._idf


class _Ids(Sequence):
    """Chunk id per document number, from a fixed-width bytes array."""

    def __init__(self, arr: np.ndarray):
        self._arr = arr

    def __len__(self) -> int:
        return len(self._arr)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [x.decode("ascii") for x in self._arr[i]]
        return self._arr[i].decode("ascii")


class _Postings:
    """A postings array (`indices` or `data`), read a query term's slice at a time.

    A memory-mapped array is read from its file with `pread` rather than sliced from the map: every page a
    query touched would stay mapped into the process and count in its RSS until it exits (at 100k chunks,
    60 questions touched 58 of the 82 MB). A positional read goes through the same page cache, shared by
    every process that opens the generation, and leaves nothing behind; it is as fast for the few slices a
    query needs and safe from many threads at once. The file is opened once, at load, and kept open: like
    the map, an open file stays readable after a newer generation replaces its folder (or it is deleted)."""

    def __init__(self, arr: np.ndarray):
        self.arr = arr
        self.fd: int | None = None
        if isinstance(arr, np.memmap) and arr.filename is not None and hasattr(os, "pread"):
            self.fd = os.open(arr.filename, os.O_RDONLY)
            weakref.finalize(self, os.close, self.fd)

    def read(self, a: int, b: int) -> np.ndarray:
        if self.fd is None:
            return self.arr[a:b]
        size = self.arr.dtype.itemsize
        buf = os.pread(self.fd, (b - a) * size, int(self.arr.offset) + a * size)  # type: ignore[attr-defined]
        if len(buf) != (b - a) * size:
            raise BM25FilesError(f"the BM25 postings in {self.arr.filename} are truncated; "  # type: ignore[attr-defined]
                                 "run `cto-coach index --rebuild`")
        return np.frombuffer(buf, dtype=self.arr.dtype)


class BM25:
    """Search a bm25s model with the project's tokens. Build with `build`, persist with `save`, open with `load`."""

    def __init__(self, model: Any, vocab: _Vocab, idf: np.ndarray, ids: np.ndarray,
                 by_stage: dict[int, list[str]], meta: dict[str, Any]):
        self.model, self._vocab, self._ids_arr = model, vocab, ids
        self.ids = _Ids(ids)
        self.n = len(ids)
        self.by_stage = by_stage
        self.meta = meta
        self.k1, self.b = K1, B
        self.max_idf = float(meta.get("max_idf", 1.0))
        self.idf = IdfView(vocab, idf, self.max_idf)
        self._postings = (_Postings(model.scores["indices"]), _Postings(model.scores["data"]))  # opened now

    # --- build --------------------------------------------------------------------------------
    @classmethod
    def build(cls, ids: list[str], texts: list[str], stages: Sequence[int | None] | None = None,
              revision: str = "") -> BM25:
        """Index `texts` (in this order: document number = position, which also breaks score ties)."""
        bm25s = _import_bm25s()
        terms, corpus_ids = _token_ids(texts)
        tid = _IdCount(len(terms))  # bm25s needs only the vocabulary's size and ids from the dict it is given
        model = bm25s.BM25(k1=K1, b=B, method=METHOD, idf_method=IDF_METHOD, dtype="float64",
                           backend="numpy", csc_backend="numpy")
        if terms:
            model.index((corpus_ids, tid), create_empty_token=False, show_progress=False)
            # weights stored in float32; `dtype` stays float64, so bm25s sums a query's terms in float64
            model.scores["data"] = np.asarray(model.scores["data"], dtype=np.float32)
        else:  # no terms at all: an empty model that matches nothing
            model.scores = {"data": np.zeros(0, np.float32), "indices": np.zeros(0, np.int32),
                            "indptr": np.zeros(1, np.int64), "num_docs": len(texts)}
        model.vocab_dict = {}  # the vocabulary lives in terms.bin (sorted, mmap'd), not in a JSON dict
        model.unique_token_ids_set = set()  # as after loading: scoring by ids never reads it
        n = len(texts)
        df = np.zeros(len(terms), dtype=np.int64)
        for d in corpus_ids:
            for i in set(d):
                df[i] += 1
        # math.log(1 + x), as bm25s's lucene idf and the formula before it (np.log1p may differ in the last bit)
        idf = np.array([math.log(1 + (n - d + 0.5) / (d + 0.5)) for d in df.tolist()], dtype=np.float64)
        by_stage: dict[int, list[str]] = {}
        for cid, stage in zip(ids, stages or [None] * n, strict=True):
            if stage:
                by_stage.setdefault(int(stage), []).append(cid)
        width = max((len(i) for i in ids), default=1)
        meta = {"signature": signature(), "revision": revision, "n_docs": n, "n_terms": len(terms),
                "max_idf": float(idf.max()) if len(idf) else 1.0, "tokenizer": tokenizer_id(),
                "k1": K1, "b": B, "method": METHOD, "idf_method": IDF_METHOD, "bm25s": bm25s.__version__}
        return cls(model, _Vocab.from_sorted(terms), idf, np.array(ids, dtype=f"S{width}"), by_stage, meta)

    def save(self, folder: Path) -> None:
        """Write every file into `folder` (which must not exist), via a temporary folder and a rename."""
        folder = Path(folder)
        tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            self.model.save(str(tmp), show_progress=False)
            (tmp / "terms.bin").write_bytes(self._vocab.blob[:])
            np.save(tmp / "terms.offsets.npy", np.asarray(self._vocab.offsets))
            np.save(tmp / "idf.npy", np.asarray(self.idf.values()))
            np.save(tmp / "ids.npy", np.asarray(self._ids_arr))
            (tmp / "stages.json").write_text(json.dumps({str(k): v for k, v in self.by_stage.items()}), encoding="utf-8")
            (tmp / META).write_text(json.dumps(self.meta, indent=1), encoding="utf-8")  # last: marks it complete
            os.replace(tmp, folder)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    # --- open ---------------------------------------------------------------------------------
    @staticmethod
    def read_meta(folder: Path) -> dict[str, Any] | None:
        try:
            return json.loads((Path(folder) / META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    @classmethod
    def load(cls, folder: Path, *, revision: str | None = None, n_docs: int | None = None) -> BM25:
        """Memory-map a saved index; refuse one built with other parameters or for another revision."""
        folder = Path(folder)
        meta = cls.read_meta(folder)
        if meta is None:
            raise BM25FilesError(f"no BM25 index in {folder}")
        if meta.get("signature") != signature():
            raise BM25FilesError(f"the BM25 index in {folder} was built with {meta.get('signature')!r}; "
                                 f"this version uses {signature()!r}")
        if revision is not None and meta.get("revision") != revision:
            raise BM25FilesError(f"the BM25 index in {folder} belongs to revision {meta.get('revision')!r}, "
                                 f"the index manifest says {revision!r}")
        if n_docs is not None and meta.get("n_docs") != n_docs:
            raise BM25FilesError(f"the BM25 index in {folder} has {meta.get('n_docs')} documents, "
                                 f"the index has {n_docs}")
        bm25s = _import_bm25s()
        try:
            model = bm25s.BM25.load(str(folder), mmap=True, load_vocab=False, show_progress=False)
            vocab = _Vocab.open(folder / "terms.bin", folder / "terms.offsets.npy")
            idf = np.load(folder / "idf.npy", mmap_mode="r")
            ids = np.load(folder / "ids.npy", mmap_mode="r")
            by_stage = {int(k): v for k, v in json.loads((folder / "stages.json").read_text(encoding="utf-8")).items()}
        except (OSError, ValueError) as exc:
            raise BM25FilesError(f"the BM25 index in {folder} is incomplete ({type(exc).__name__}: {str(exc)[:120]})") from None
        if len(ids) != meta.get("n_docs") or vocab.n != meta.get("n_terms") or len(idf) != vocab.n:
            raise BM25FilesError(f"the BM25 index in {folder} is inconsistent with its {META}")
        return cls(model, vocab, idf, ids, by_stage, meta)

    # --- query --------------------------------------------------------------------------------
    def query_terms(self, query: str) -> list[str]:
        return query_terms(query)

    def scores(self, query: str) -> np.ndarray | None:
        """BM25 score of every document (float64), or None when no query term is in the vocabulary."""
        tids = [i for i in (self._vocab.id(t) for t in dict.fromkeys(self.query_terms(query))) if i is not None]
        if not tids:
            return None
        # bm25s's own scoring, np.add.at of float32 postings into float64 scores, takes numpy's slow mixed-type
        # path (6x slower at 100k chunks); the same additions in the same order, each term's slice cast first.
        sc = self.model.scores
        indptr = sc["indptr"]
        indices, data = self._postings
        scores = np.zeros(int(sc["num_docs"]), dtype=np.float64)
        for t in tids:
            a, b = int(indptr[t]), int(indptr[t + 1])
            np.add.at(scores, indices.read(a, b), data.read(a, b).astype(np.float64))
        return scores

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) best first; chunks sharing no term with the query are left out."""
        if k <= 0:
            return []
        scores = self.scores(query)
        if scores is None:
            return []
        cand = np.flatnonzero(scores > 0)  # every posting weighs > 0 (idf > 0, tf >= 1)
        if len(cand) > k:
            part = cand[np.argpartition(-scores[cand], k - 1)[:k]]
            cand = cand[scores[cand] >= scores[part].min()]  # keep boundary ties, then order exactly
        best = sorted(cand.tolist(), key=lambda i: (-scores[i], i))[:k]
        return [(self.ids[i], float(scores[i])) for i in best]


__all__ = ["BM25", "BM25FilesError", "IdfView", "query_terms", "signature", "tokenizer_id"]

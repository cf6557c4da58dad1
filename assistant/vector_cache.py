"""Embeddings of fixed texts (the article's units, labelled example questions), kept on disk.

Understanding a question compares it with ~150 short texts that change only when the corpus or the
example files change. Embedding them costs 2-7 s on 2 cores, so the vectors are computed once per
(embedder, texts) and saved as one `.npy` beside the index; a changed text or another embedder
simply gives another file name. Failing to write the cache (read-only folder) is not an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np


def cached_vectors(folder: Path | None, key: str, texts: Sequence[str],
                   embed: Callable[[list[str]], list[list[float]]]) -> np.ndarray:
    """Unit-normalised vectors of `texts` (rows in order), from `folder` when saved there before."""
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    digest = hashlib.sha256("\x1f".join([key, *texts]).encode("utf-8")).hexdigest()[:20]
    path = Path(folder) / f"vectors-{digest}.npy" if folder else None
    if path is not None and path.is_file():
        with contextlib.suppress(OSError, ValueError):
            arr = np.load(path, allow_pickle=False)
            if arr.shape[0] == len(texts):
                return arr
    arr = np.asarray(embed(list(texts)), dtype=np.float32)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    arr = arr / np.where(norms == 0, 1.0, norms)
    if path is not None:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
            np.save(tmp, arr, allow_pickle=False)
            os.replace(tmp, path)
    return arr


def unit(vector: Sequence[float]) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    n = float(np.linalg.norm(v))
    return v / n if n else v

"""A real `chroma run` server on loopback, for the scale part's server configuration.

    with chroma_server(store_dir, log_file) as srv:   # started on 127.0.0.1 and a free port, stopped after
        srv.reset_peak(); ...; srv.memory_mb()        # the server's own RSS around a measured app process

Why a real server: the app's server mode (`chroma_host`/`chroma_port`, `assistant/search/store.py`)
moves the vectors, the HNSW graph and the chunk texts out of the app process into Chroma's, and reads
passages over HTTP. Only a real `chroma run` shows what that costs and saves, and where the memory went.

The store it serves is a copy of an embedded generation's Chroma files (`seed_from_generation`): the
same chromadb engine reads both, so both configurations search the very same HNSW graph and must
return the same passages. Loading 100k records through the HTTP API instead would take minutes and
exercise nothing the query path uses.

The server is always stopped when the block leaves, on error too (SIGTERM, then SIGKILL), and binds
127.0.0.1 only. Its memory is read from /proc: the bench's own child, so nothing is guessed.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .common import BIN, clean_env, descendants, free_port, proc_status_kb, stop_process

CHROMA = BIN / "chroma"
HOST = "127.0.0.1"
# What an embedded generation holds besides Chroma's own files (the app's BM25 files and manifest copy):
# not the server's business; the app in server mode keeps its BM25 files in its data_dir.
NOT_CHROMA = ("bm25", "bm25-en", "manifest.json")
MEMORY_KEYS = ("VmHWM", "VmRSS", "RssAnon", "RssFile")


def seed_from_generation(index_dir: Path, dest: Path) -> float:
    """Copy the live generation's Chroma files (CURRENT names it) to `dest`, for `chroma run --path dest`;
    the seconds it took. The cached store itself is never served, so the server cannot change it."""
    t = time.perf_counter()
    gen = index_dir / (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(gen, dest, ignore=shutil.ignore_patterns(*NOT_CHROMA))
    return time.perf_counter() - t


@dataclass
class ChromaServer:
    proc: subprocess.Popen
    port: int
    path: Path
    log: Path
    start_s: float = 0.0  # process start -> heartbeat answered

    @property
    def host(self) -> str:
        return HOST

    def alive(self) -> bool:
        return self.proc.poll() is None

    def pids(self) -> list[int]:
        """The server and any children (today `chroma run` is one process: Python hosting the Rust server)."""
        return [self.proc.pid, *descendants(self.proc.pid)]

    def memory_mb(self) -> dict[str, float]:
        """VmHWM (peak since start or the last `reset_peak`), VmRSS, RssAnon, RssFile, summed over the
        server's processes, in MB."""
        return {k: round(sum(proc_status_kb(p, k) for p in self.pids()) / 1024.0, 1) for k in MEMORY_KEYS}

    def reset_peak(self) -> bool:
        """Start VmHWM afresh (`echo 5 > /proc/PID/clear_refs`), so the next `memory_mb()` peak covers only
        what happened since; False when the kernel refuses (the peak then covers the server's whole life)."""
        try:
            for p in self.pids():
                Path(f"/proc/{p}/clear_refs").write_text("5")
            return True
        except OSError:
            return False

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGTERM, 10)


def heartbeat(port: int, timeout: float = 1.0) -> bool:
    """Whether a Chroma server answers on 127.0.0.1:`port` (its v2 heartbeat; no chromadb import needed)."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/api/v2/heartbeat", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def chroma_server(path: Path, log: Path, timeout: float = 60) -> Iterator[ChromaServer]:
    """`chroma run --path PATH --host 127.0.0.1 --port <free>`, up (heartbeat answered) when the block
    starts, stopped when it ends whatever happens inside."""
    if not CHROMA.exists():
        raise FileNotFoundError(f"{CHROMA} not found: the chroma CLI comes with the chromadb package")
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen([str(CHROMA), "run", "--path", str(path), "--host", HOST, "--port", str(port)],
                                env=clean_env(), cwd=path, stdout=out, stderr=subprocess.STDOUT)
        server = ChromaServer(proc, port, path, log)
        try:
            deadline = t0 + timeout
            while not heartbeat(port):
                if proc.poll() is not None or time.perf_counter() > deadline:
                    raise RuntimeError(f"chroma run did not come up on {HOST}:{port} within {timeout:.0f} s "
                                       f"(rc {proc.poll()}): {log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.1)
            server.start_s = time.perf_counter() - t0
            yield server
        finally:
            server.stop()

"""`cto-coach serve` cold start and concurrent chat sessions through gradio_client (loopback only).

The server is started as a subprocess on 127.0.0.1 and a free port; ready = the first time
gradio_client connects (config served); first answer = the first `/chat` call that returns.
Peak RSS = VmHWM of the server process (plus any children) read from /proc before it is stopped.
Every loop here is bounded (a deadline and a fixed number of requests).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from assistant.text import MARKER

from .common import ROOT, Question, cli_cmd, median, proc_cpu_s, state_env, summarize, tree_peak_rss_mb

FIRST_Q = "직원 20명인데 CTO로서 뭘 해야 하죠?"
FIRST_STAGE = 2


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    started: float
    log: Path
    ready_s: float | None = None
    first_answer_s: float | None = None
    ready_cpu_s: float | None = None

    def peak_rss_mb(self) -> float:
        return tree_peak_rss_mb(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(8)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def start_server(state: Path, timeout: float = 120) -> Server:
    """Start `cto-coach serve`, wait for it to connect and answer once; time both from process start."""
    from gradio_client import Client  # imported before the clock starts: not the server's cost

    port = free_port()
    log = state / f"serve-{port}.log"
    env = state_env(state, CTO_COACH_HOST="127.0.0.1", CTO_COACH_PORT=str(port))
    t0 = time.perf_counter()
    proc = subprocess.Popen(cli_cmd("serve"), env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=open(log, "wb"))  # noqa: SIM115
    server = Server(proc, f"http://127.0.0.1:{port}/", t0, log)
    deadline = t0 + timeout
    client = None
    while time.perf_counter() < deadline and proc.poll() is None:
        try:
            client = Client(server.url, verbose=False, download_files=False)
            break
        except Exception:
            time.sleep(0.05)
    if client is None:
        server.stop()
        raise RuntimeError(f"server did not come up within {timeout}s: {log.read_text(errors='replace')[-2000:]}")
    server.ready_s = time.perf_counter() - t0
    server.ready_cpu_s = proc_cpu_s(proc.pid)
    result = client.predict(FIRST_Q, [], "auto", api_name="/chat")
    server.first_answer_s = time.perf_counter() - t0
    problems = check_answer(result, FIRST_STAGE)
    if problems:
        server.stop()
        raise RuntimeError(f"first answer is wrong: {problems}")
    return server


def cold_serve(state: Path, repeat: int) -> tuple[dict, Server]:
    """`repeat` cold starts; the last server is left running (for the load test) and returned."""
    runs = []
    server = None
    for i in range(repeat):
        server = start_server(state)
        runs.append({"ready_s": round(server.ready_s, 3), "first_answer_s": round(server.first_answer_s, 3),
                     "ready_cpu_s": round(server.ready_cpu_s or 0.0, 2),
                     "peak_rss_mb": round(server.peak_rss_mb(), 1)})
        if i < repeat - 1:
            server.stop()
    assert server is not None
    return {
        "runs": runs,
        "ready_s": round(median([r["ready_s"] for r in runs]), 3),
        "first_answer_s": round(median([r["first_answer_s"] for r in runs]), 3),
        "ready_cpu_s": round(median([r["ready_cpu_s"] for r in runs]), 2),
        "peak_rss_mb": round(median([r["peak_rss_mb"] for r in runs]), 1),
    }, server


# --- answer checks -------------------------------------------------------------------------------
def check_answer(result: object, expected_stage: int | None) -> list[str]:
    """Problems with one /chat result: complete answer, [n] markers tied to citations, expected stage."""
    if not isinstance(result, (tuple, list)) or len(result) < 4:
        return [f"unexpected result shape {type(result).__name__}"]
    chat, payload = result[1], result[3]
    problems = []
    if not isinstance(payload, dict) or "answer" not in payload:
        return [f"no answer payload ({str(payload)[:120]})"]
    text = payload.get("answer") or ""
    markers = {int(n) for n in MARKER.findall(text)}
    cited = {c.get("n") for c in payload.get("citations") or []}
    if payload.get("refused"):
        problems.append("refused")
    if not markers:
        problems.append("no [n] markers")
    if not cited:
        problems.append("no citations")
    if markers - cited:
        problems.append(f"markers without citations {sorted(markers - cited)}")
    if expected_stage is not None and payload.get("stage") != expected_stage:
        problems.append(f"stage {payload.get('stage')} != {expected_stage}")
    if not isinstance(chat, list) or not chat or not isinstance(chat[-1], dict) or chat[-1].get("role") != "assistant":
        problems.append("chat does not end with the assistant's answer")
    return problems


def conversations(questions: list[Question], sessions: int, turns: int) -> list[list[tuple[str, int | None]]]:
    """Per session: `turns` (question, expected stage) pairs. Single-turn stage questions (the chat is
    cleared before each), and one follow-up "그 다음 단계는?" after a stage-1..3 question, whose expected
    stage is the next one (history lives in the server's session state)."""
    pool = [(q.question, q.gold_stages[0]) for q in questions
            if q.expect == "answer" and not q.history and len(q.gold_stages) == 1
            and q.category in ("stage1", "stage2", "stage3", "stage4", "headcount", "builtin")]
    if not pool:
        pool = [(FIRST_Q, FIRST_STAGE)]
    out = []
    k = 0
    for s in range(sessions):
        conv: list[tuple[str, int | None]] = []
        while len(conv) < turns:
            q, st = pool[k % len(pool)]
            k += 1
            conv.append((q, st))
            if len(conv) == 2 + (s % 2) and st in (1, 2, 3) and len(conv) < turns:
                conv.append(("그 다음 단계는?" if (s % 4) < 2 else "What about the next stage?", st + 1))
        out.append(conv)
    return out


@dataclass
class SessionResult:
    latencies_ms: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    answers: int = 0
    wrong: int = 0


def run_load(server: Server, questions: list[Question], n: int, turns: int, timeout: float = 120) -> dict:
    """`n` concurrent chat sessions, each its own gradio_client session, `turns` questions each."""
    from gradio_client import Client

    convs = conversations(questions, n, turns)
    clients = [Client(server.url, verbose=False, download_files=False) for _ in range(n)]
    results = [SessionResult() for _ in range(n)]
    barrier = threading.Barrier(n + 1)

    def session(i: int) -> None:
        c, res = clients[i], results[i]
        barrier.wait()
        for q, stage in convs[i]:
            followup = q in ("그 다음 단계는?", "What about the next stage?")
            if not followup:
                c.predict(api_name="/clear")  # a fresh conversation per independent question
            t = time.perf_counter()
            try:
                job = c.submit(q, [], "auto", api_name="/chat")
                out = job.result(timeout=timeout)
            except Exception as exc:
                res.problems.append(f"{q[:30]}: {type(exc).__name__}: {str(exc)[:100]}")
                continue
            res.latencies_ms.append((time.perf_counter() - t) * 1e3)
            res.answers += 1
            bad = check_answer(out, stage)
            res.wrong += bool(bad)
            res.problems.extend(f"{q[:30]}: {p}" for p in bad)

    threads = [threading.Thread(target=session, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join(timeout * turns)
    wall = time.perf_counter() - t0
    lat = [x for r in results for x in r.latencies_ms]
    problems = [p for r in results for p in r.problems]
    answers = sum(r.answers for r in results)
    for c in clients:
        with contextlib.suppress(Exception):
            c.close()
    return {
        "sessions": n,
        "requests": n * turns,
        "answers": answers,
        "correct": answers - sum(r.wrong for r in results),
        "problems": problems[:20],
        "wall_s": round(wall, 2),
        "throughput_per_s": round(answers / wall, 2) if wall else 0.0,
        "latency_ms": summarize(lat, 1),
        "server_rss_mb": round(server.peak_rss_mb(), 1),
    }


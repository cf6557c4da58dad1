"""`cto-coach serve` cold start and concurrent chat sessions through gradio_client (loopback only).

The server is started as a subprocess on 127.0.0.1 and a free port; ready = the first time
gradio_client connects (config served); first answer = the first `/chat` call that returns.
Peak RSS = VmHWM of the server process (plus any children) read from /proc before it is stopped.
Every loop here is bounded (a deadline and a fixed number of requests).
"""

from __future__ import annotations

import contextlib
import html
import os
import signal
import subprocess
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from assistant.text import MARKER

from .common import (
    Question,
    cli_cmd,
    code_dir,
    free_port,
    median,
    proc_cpu_s,
    state_env,
    stop_process,
    summarize,
    tree_peak_rss_mb,
)

FIRST_Q = "직원 20명인데 CTO로서 뭘 해야 하죠?"
FIRST_STAGE = 2


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
        stop_process(self.proc, signal.SIGINT, 8)


# The web UI before issue 14: one chat answered at a time, every line of an extractive answer sent as
# an update of the whole chat (bench/proto.py `legacyui`). Served beside the current UI in the same run.
LEGACY_UI_ENV = {"CTO_COACH_UI_CONCURRENCY": "1"}
LEGACY_UI_PROTO = "legacyui"


def start_server(state: Path, timeout: float = 120, *, legacy_ui: bool = False) -> Server:
    """Start `cto-coach serve`, wait for it to connect and answer once; time both from process start.
    `legacy_ui`: the pre-issue-14 web UI (concurrency 1, per-line updates) over the same coach."""
    from gradio_client import Client  # imported before the clock starts: not the server's cost

    port = free_port()
    log = state / f"serve-{port}.log"
    extra = {"CTO_COACH_HOST": "127.0.0.1", "CTO_COACH_PORT": str(port)}
    proto = None
    if legacy_ui:
        proto = ",".join(x for x in (os.environ.get("BENCH_PROTO", ""), LEGACY_UI_PROTO) if x)
        extra |= {**LEGACY_UI_ENV, "BENCH_PROTO": proto}
    env = state_env(state, **extra)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cli_cmd("serve", proto=proto), env=env, cwd=code_dir(), stdout=subprocess.DEVNULL,
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


def serve_summary(runs: list[dict]) -> dict:
    """Medians of cold starts (each a dict of ready_s, first_answer_s, ready_cpu_s, peak_rss_mb)."""
    return {"runs": runs, **{k: round(median([r[k] for r in runs]), 3 if k.endswith("_s") else 1)
                             for k in ("ready_s", "first_answer_s", "ready_cpu_s", "peak_rss_mb")}}


# --- answer checks -------------------------------------------------------------------------------
def check_answer(result: object, expected_stage: int | None, question: str | None = None,
                 turn: int | None = None) -> list[str]:
    """Problems with one /chat result: complete answer, [n] markers tied to citations, expected stage;
    with `question`/`turn`, also that it answers this session's question as its `turn`-th answer (an
    answer or a state from another session would show up here)."""
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
    if question is not None and payload.get("question") != " ".join(unicodedata.normalize("NFC", question).split()):
        problems.append(f"answers another question: {str(payload.get('question'))[:40]!r}")
    if question is not None and isinstance(chat, list) and len(chat) >= 2 and _text(chat[-2]) != question:
        problems.append(f"chat shows another question: {_text(chat[-2])[:40]!r}")
    if turn is not None and payload.get("turn") != turn:
        problems.append(f"turn {payload.get('turn')} != {turn} (another session's state?)")
    return problems


def _text(message: object) -> str:
    """A chat message's text (a string, or Gradio 6's list of parts), HTML entities decoded."""
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return html.unescape(content) if isinstance(content, str) else ""


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


LOAD_CLIENTS = ("http", "gradio_client")
FOLLOWUPS = ("그 다음 단계는?", "What about the next stage?")


class _Session:
    """One chat session of the load test: `clear()` and `ask(q)` → (/chat outputs, streamed updates)."""

    def __init__(self, url: str, client: str, fns: dict[str, int]):
        self.kind = client
        if client == "http":
            from .chat_client import ChatSession

            self.http = ChatSession(url, fns)
        else:
            from gradio_client import Client

            self.gc = Client(url, verbose=False, download_files=False)

    def clear(self) -> None:
        if self.kind == "http":
            self.http.call("clear", [])
        else:
            self.gc.predict(api_name="/clear")

    def ask(self, question: str, timeout: float) -> tuple[object, int | None]:
        if self.kind == "http":
            got = self.http.call("chat", [question, [], "auto", None])
            return got.data, got.updates
        job = self.gc.submit(question, [], "auto", api_name="/chat")
        return job.result(timeout=timeout), None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            (self.http if self.kind == "http" else self.gc).close()


def run_load(server: Server, questions: list[Question], n: int, turns: int, timeout: float = 120,
             client: str = "http") -> dict:
    """`n` concurrent chat sessions, `turns` questions each. Each session is its own server session:
    `client="http"` speaks the page's queue protocol (bench/chat_client.py), "gradio_client" uses it."""
    from .chat_client import endpoints

    convs = conversations(questions, n, turns)
    fns = endpoints(server.url) if client == "http" else {}
    sessions = [_Session(server.url, client, fns) for _ in range(n)]
    results = [SessionResult() for _ in range(n)]
    updates: list[int] = []
    barrier = threading.Barrier(n + 1)

    def session(i: int) -> None:
        c, res = sessions[i], results[i]
        barrier.wait()
        turn = 0
        for q, stage in convs[i]:
            if q not in FOLLOWUPS:
                c.clear()  # a fresh conversation per independent question
                turn = 0
            turn += 1
            t = time.perf_counter()
            try:
                out, streamed = c.ask(q, timeout)
            except Exception as exc:
                res.problems.append(f"{q[:30]}: {type(exc).__name__}: {str(exc)[:100]}")
                continue
            res.latencies_ms.append((time.perf_counter() - t) * 1e3)
            res.answers += 1
            if streamed is not None:
                updates.append(streamed)
            bad = check_answer(out, stage, q, turn)
            res.wrong += bool(bad)
            res.problems.extend(f"{q[:30]}: {p}" for p in bad)

    threads = [threading.Thread(target=session, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    t0, cpu0, server_cpu0 = time.perf_counter(), time.process_time(), proc_cpu_s(server.proc.pid)
    for t in threads:
        t.join(timeout * turns)
    wall = time.perf_counter() - t0
    client_cpu, server_cpu = time.process_time() - cpu0, proc_cpu_s(server.proc.pid) - server_cpu0
    lat = [x for r in results for x in r.latencies_ms]
    problems = [p for r in results for p in r.problems]
    answers = sum(r.answers for r in results)
    for c in sessions:
        c.close()
    return {
        "sessions": n,
        "client": client,
        "requests": n * turns,
        "answers": answers,
        "correct": answers - sum(r.wrong for r in results),
        "problems": problems[:20],
        "wall_s": round(wall, 2),
        "throughput_per_s": round(answers / wall, 2) if wall else 0.0,
        "latency_ms": summarize(lat, 1),
        "server_rss_mb": round(server.peak_rss_mb(), 1),
        # Where the time goes: CPU per answer in the server (coach + Gradio, /clear included) and in
        # the clients (same machine: they compete for the same cores); updates streamed per answer.
        "server_cpu_ms_per_answer": round(server_cpu * 1e3 / answers, 1) if answers else None,
        "client_cpu_ms_per_answer": round(client_cpu * 1e3 / answers, 1) if answers else None,
        "updates_per_answer": round(sum(updates) / len(updates), 1) if updates else None,
        "_latencies": lat,  # merged across rounds by `compare_load`, then dropped
    }


def compare_load(servers: dict[str, Server], questions: list[Question], n: int, turns: int, rounds: int,
                 client: str = "http") -> dict[str, dict]:
    """The same load on each server (e.g. "legacy" and "current" UI), `rounds` times, alternating which
    goes first so machine load hits them alike; per server the rounds merged (answers and wall time
    summed, latency percentiles over every answer) with each round's own figures under "rounds"."""
    runs: dict[str, list[dict]] = {name: [] for name in servers}
    names = list(servers)
    for k in range(rounds):
        for name in names if k % 2 == 0 else names[::-1]:
            runs[name].append(run_load(servers[name], questions, n, turns, client=client))
    return {name: merge_rounds(rs) for name, rs in runs.items()}


def merge_rounds(rounds: list[dict]) -> dict:
    lat = [x for r in rounds for x in r.pop("_latencies")]
    answers, wall = sum(r["answers"] for r in rounds), sum(r["wall_s"] for r in rounds)

    def mean(key: str) -> float | None:
        xs = [r[key] for r in rounds if r.get(key) is not None]
        return round(sum(xs) / len(xs), 1) if xs else None

    return {
        **{k: rounds[0][k] for k in ("sessions", "client")},
        "requests": sum(r["requests"] for r in rounds),
        "answers": answers,
        "correct": sum(r["correct"] for r in rounds),
        "problems": [p for r in rounds for p in r["problems"]][:20],
        "wall_s": round(wall, 2),
        "throughput_per_s": round(answers / wall, 2) if wall else 0.0,
        "latency_ms": summarize(lat, 1),
        "server_rss_mb": max(r["server_rss_mb"] for r in rounds),
        "server_cpu_ms_per_answer": mean("server_cpu_ms_per_answer"),
        "client_cpu_ms_per_answer": mean("client_cpu_ms_per_answer"),
        "updates_per_answer": mean("updates_per_answer"),
        "rounds": [{k: r[k] for k in ("throughput_per_s", "latency_ms", "correct", "answers")} for r in rounds],
    }

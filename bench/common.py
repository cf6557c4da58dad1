"""Shared helpers: paths, clean environments, percentiles, measured subprocesses, eval questions,
and the hit@k matcher used for both pipelines."""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "corpus"
CASES = ROOT / "evals" / "cases.jsonl"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
PY = sys.executable
BIN = Path(sys.executable).parent

# Built-in questions when evals/cases.jsonl is absent: (question, expected stage or None, lang).
BUILTIN_QUESTIONS: list[tuple[str, int | None, str]] = [
    ("암흑기 CTO에게 필요한 능력은 뭔가요?", 1, "ko"),
    ("직원 3명인 스타트업 CTO는 무엇에 집중해야 하나요?", 1, "ko"),
    ("1단계에서 CTO가 관리에 신경 써야 할까요?", 1, "ko"),
    ("MVP 만들 때 기술 스택은 어떻게 고르죠?", 1, "ko"),
    ("아직 제품이 없는 초기 팀의 CTO 역할은?", 1, "ko"),
    ("직원 20명인데 CTO로서 뭘 해야 하죠?", 2, "ko"),
    ("성장기에 기술 부채는 어떻게 관리하나요?", 2, "ko"),
    ("개발자 15명 회사에서 채용은 누가 책임지나요?", 2, "ko"),
    ("2단계에서 개발 문화는 왜 중요한가요?", 2, "ko"),
    ("성장기 CTO는 관리보다 코칭을 해야 하나요?", 2, "ko"),
    ("직원 200명 회사 CTO의 역할은?", 3, "ko"),
    ("르네상스 단계에서 CTO가 할 일은?", 3, "ko"),
    ("3단계에서 역할의 분리는 무슨 뜻인가요?", 3, "ko"),
    ("기술 브랜딩은 언제 중요해지나요?", 3, "ko"),
    ("성숙기 CTO에게 필요한 능력은?", 4, "ko"),
    ("4단계에서 기술 경영이란?", 4, "ko"),
    ("CTO는 자격증 같은 건가요?", None, "ko"),
    ("글쓴이 회사 알스퀘어는 어느 단계인가요?", None, "ko"),
    ("What should the CTO of a 3-person startup focus on?", 1, "en"),
    ("What does a CTO do in the dark age stage?", 1, "en"),
    ("We have 20 engineers. What should I do as CTO?", 2, "en"),
    ("How should a growth-stage CTO handle technical debt?", 2, "en"),
    ("Should a growth stage CTO coach or manage?", 2, "en"),
    ("Our company has 300 employees. What is the CTO's role?", 3, "en"),
    ("What does tech branding mean in the renaissance stage?", 3, "en"),
    ("What does a CTO do at a mature company?", 4, "en"),
    ("Why does the blogger mention P&L for stage 4?", 4, "en"),
    ("Is a CTO title a certificate of competence?", None, "en"),
    ("What does the author say about Werner Vogels?", 3, "en"),
    ("Which stage is the author's company at?", None, "en"),
]


@dataclass
class Question:
    id: str
    question: str
    lang: str
    history: list = field(default_factory=list)
    expect: str = "answer"  # answer | refuse | correct
    gold_stages: list[int] = field(default_factory=list)
    gold_evidence: list[str] = field(default_factory=list)
    category: str = ""


def load_questions(path: Path = CASES) -> tuple[list[Question], str]:
    """The eval questions (with history and gold labels), or the built-in list; and where they came from."""
    if path.is_file():
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            c = json.loads(line)
            out.append(Question(c.get("id", str(len(out))), c["question"], c.get("lang", "ko"), c.get("history") or [],
                                c.get("expect", "answer"), list(c.get("gold_stages") or []),
                                list(c.get("gold_evidence") or []), c.get("category", "")))
        if out:
            return out, str(path.relative_to(ROOT))
    return [Question(f"builtin-{i}", q, lang, [], "answer", [s] if s else [], [], "builtin")
            for i, (q, s, lang) in enumerate(BUILTIN_QUESTIONS)], "built-in list"


def save_questions(questions: list[Question], path: Path) -> None:
    path.write_text("\n".join(json.dumps(q.__dict__, ensure_ascii=False) for q in questions) + "\n", encoding="utf-8")


def read_questions(path: Path) -> list[Question]:
    return [Question(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# --- matching retrieved text against gold evidence -----------------------------------------------
_WS = re.compile(r"\s+")


def norm(text: str) -> str:
    return _WS.sub(" ", text.replace("\u00a0", " ")).strip().lower()


def strict_hit(texts: list[str], gold: list[str]) -> bool:
    """A retrieved text contains a gold evidence string (whitespace/NBSP-normalised)."""
    ts = [norm(t) for t in texts]
    return any(norm(g) in t for g in gold for t in ts)


def relaxed_hit(texts: list[str], gold: list[str]) -> bool:
    """Containment in either direction, or a common run covering >= 50% of the gold string."""
    for t in (norm(x) for x in texts):
        for g in (norm(x) for x in gold):
            if not g or not t:
                continue
            if g in t or (len(t) >= 10 and t in g):
                return True
            m = difflib.SequenceMatcher(None, g, t, autojunk=False).find_longest_match(0, len(g), 0, len(t))
            if m.size >= 0.5 * len(g):
                return True
    return False


def random_hit3(all_texts: list[str], gold: list[str], match) -> float:
    """Chance that 3 chunks drawn at random from the whole index include a hit (the floor any
    retriever gets for free: with 5 big chunks, 3 of them cover most of the corpus)."""
    from math import comb

    c = len(all_texts)
    h = sum(bool(match([t], gold)) for t in all_texts)
    k = min(3, c)
    return 1.0 - comb(c - h, k) / comb(c, k) if c else 0.0


def hit_summary(hits: dict[str, dict[str, list]]) -> dict:
    """{lang: {metric: {hits, n, rate}}}; the random_* metrics hold probabilities, summed."""
    return {lang: {m: {"hits": round(sum(v), 2), "n": len(v), "rate": round(sum(v) / len(v), 3)} for m, v in h.items()}
            for lang, h in sorted(hits.items())}


# --- stats ----------------------------------------------------------------------------------------
def percentile(xs: list[float], p: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = (len(s) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def summarize(xs: list[float], digits: int = 2) -> dict:
    if not xs:
        return {"n": 0}
    return {
        "n": len(xs),
        "p50": round(percentile(xs, 50), digits),
        "p95": round(percentile(xs, 95), digits),
        "p99": round(percentile(xs, 99), digits),
        "mean": round(sum(xs) / len(xs), digits),
        "max": round(max(xs), digits),
    }


def median(xs: list[float]) -> float:
    return percentile(xs, 50)


# --- environments and measured subprocesses ------------------------------------------------------
CODE_ENV = "BENCH_CODE"  # a folder whose `assistant` package the measured processes import (`bench.run --before`)


def code_dir() -> Path:
    """Where measured processes start: the repository, or with `--before` the folder that puts the
    earlier checkout's `assistant` package first (`python -m` puts its working folder first on sys.path)."""
    return Path(os.environ[CODE_ENV]) if os.environ.get(CODE_ENV) else ROOT


def code_folder(checkout: Path, where: Path) -> Path:
    """A folder holding `assistant` from `checkout` and this bench: measured processes started there
    (and with it first on PYTHONPATH) run the earlier code under the same measurements."""
    where.mkdir(parents=True, exist_ok=True)
    for name, target in (("assistant", Path(checkout).resolve() / "assistant"), ("bench", ROOT / "bench")):
        if not target.is_dir():
            raise FileNotFoundError(f"{target} is not a folder: --before wants a checkout of this repository")
        link = where / name
        if not link.exists():
            link.symlink_to(target, target_is_directory=True)
    return where


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without CTO_COACH_* settings, offline, no telemetry, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTO_COACH_")}
    if env.get(CODE_ENV):
        env["PYTHONPATH"] = os.pathsep.join(x for x in (env[CODE_ENV], env.get("PYTHONPATH", "")) if x)
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
                "GRADIO_ANALYTICS_ENABLED": "False", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def cli_cmd(*args: str, proto: str | None = None) -> list[str]:
    """`cto-coach ARGS`, or the same CLI with prototype fixes applied (`proto`, else BENCH_PROTO; the
    process must get the same BENCH_PROTO in its environment)."""
    if proto if proto is not None else os.environ.get("BENCH_PROTO"):
        return [PY, "-m", "bench.proto", "cli", *args]
    return [str(BIN / "cto-coach"), *args]


def state_env(state: Path, **extra: str) -> dict[str, str]:
    """Environment pointing CTO Coach at the bench's private index and data folders."""
    return clean_env(CTO_COACH_CORPUS_DIR=str(CORPUS_DIR), CTO_COACH_INDEX_DIR=str(state / "index"),
                     CTO_COACH_DATA_DIR=str(state / "data"), **extra)


@dataclass
class Measured:
    rc: int
    first_output_s: float | None  # process start -> first byte on stdout
    exit_s: float  # process start -> exit
    maxrss_mb: float  # peak RSS of the process (wait4 rusage)
    cpu_s: float  # user + system CPU time of the process
    stdout: str
    stderr: str


def run_measured(cmd: list[str], env: dict[str, str], timeout: float = 300, cwd: Path | None = None) -> Measured:
    """Run `cmd`, timing its first output and its exit; peak RSS from wait4 (like /usr/bin/time -v)."""
    cwd = cwd or code_dir()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first: list[float] = []
    out: list[bytes] = []
    err: list[bytes] = []

    def read_out() -> None:
        assert proc.stdout is not None
        while True:
            chunk = proc.stdout.read1(65536)
            if not chunk:
                break
            if not first:
                first.append(time.perf_counter() - t0)
            out.append(chunk)

    def read_err() -> None:
        assert proc.stderr is not None
        err.append(proc.stderr.read())

    readers = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
    for r in readers:
        r.start()
    timer = threading.Timer(timeout, lambda: _kill(proc.pid))
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    exit_s = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    for r in readers:
        r.join(5)
    return Measured(proc.returncode, first[0] if first else None, exit_s, usage.ru_maxrss / 1024.0,
                    usage.ru_utime + usage.ru_stime,
                    b"".join(out).decode("utf-8", "replace"), b"".join(err).decode("utf-8", "replace"))


def free_port() -> int:
    """A loopback port nobody listens on right now (the servers the bench starts bind it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen, sig: int, grace: float) -> None:
    """Ask a server to stop with `sig`; kill it if it has not exited after `grace` seconds."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def run_worker(module: str, args: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> tuple[dict, Measured]:
    """Run `python -m bench.<module> ... --out FILE` in its own process; its JSON result and measurements."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = Path(f.name)
    try:
        m = run_measured([PY, "-m", f"bench.{module}", *args, "--out", str(out)], env or clean_env(), timeout)
        if m.rc != 0:
            raise RuntimeError(f"bench.{module} {' '.join(args)} failed (rc {m.rc}):\n{m.stderr[-3000:]}")
        data = json.loads(out.read_text(encoding="utf-8"))
        data["process_maxrss_mb"] = round(m.maxrss_mb, 1)
        data["process_seconds"] = round(m.exit_s, 2)
        return data, m
    finally:
        out.unlink(missing_ok=True)


def self_maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def proc_status_kb(pid: int, key: str) -> int:
    """VmHWM (peak RSS) or VmRSS of a live process, in kB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_cpu_s(pid: int) -> float:
    """user + system CPU seconds of a live process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = (task / "children").read_text().split()
                out.extend(int(k) for k in kids)
                todo.extend(int(k) for k in kids)
        except OSError:
            continue
    return out


def tree_peak_rss_mb(pid: int) -> float:
    """Peak RSS of a live process plus the peaks of its descendants (an upper bound of the tree's peak)."""
    return sum(proc_status_kb(p, "VmHWM") for p in [pid, *descendants(pid)]) / 1024.0

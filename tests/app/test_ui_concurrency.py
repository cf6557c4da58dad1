"""Many browser-like sessions at once against a real served app: each gets its own answers and history.

The web UI answers sessions in parallel (`ui_concurrency`), all through one Coach: the embedder, the
Chroma client, the chunk cache, BM25, the topic map, the checker's cache and the feedback file are
shared. Each session here asks a different stage question, then "그 다음 단계는?" (answered from its
own history), then flags a citation of its answer. Every answer must be exactly the one the Coach
gives that question alone, in that session's conversation; a data race (a vector, a chunk or a state
from another thread) or a mixed-up session shows up as a different answer, stage, citation, turn or
question. The caches are shrunk so that sessions evict each other's entries while they read.
"""

from __future__ import annotations

import os
import socket
import threading

import pytest

from assistant.app.feedback import FeedbackStore

QUESTIONS = [
    "창업 멤버 3명이고 아직 제품이 없어요. CTO로서 뭘 해야 하나요?",
    "직원 25명인데 CTO로서 뭘 해야 하죠?",
    "르네상스 시기의 CTO는 무엇에 집중해야 하나요?",
    "We are 3 people building our first MVP. What should the CTO focus on?",
    "Our startup has 30 employees and doubled last year. What matters most for the CTO?",
    "What does the renaissance stage demand from a CTO?",
    "직원 200명 회사 CTO의 역할은?",
    "We have 20 engineers. What should I do as CTO?",
]
FOLLOW_UP = "그 다음 단계는?"
SESSIONS = 12


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def text_of(message: dict) -> str:
    content = message["content"]
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content


@pytest.fixture(scope="module")
def coach(tmp_path_factory):
    from assistant.coach import Coach
    from assistant.settings import load_settings

    base = tmp_path_factory.mktemp("concurrent-ui")
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("CTO_COACH_"):
                mp.delenv(key)
        return Coach.from_settings(load_settings(index_dir=base / "index", data_dir=base / "data"))


def expected_answers(coach) -> dict[str, tuple]:
    """What each question gets alone (and its follow-up, from that conversation): text, stage, citation ids."""
    out = {}
    for q in QUESTIONS:
        first = coach.ask(q)
        then = coach.ask(FOLLOW_UP, [("user", q), ("assistant", first.text)])
        out[q] = tuple((a.text, a.stage, [c.id for c in a.citations]) for a in (first, then))
    return out


class InFlight:
    """Counts answers being computed at the same moment (observes `Coach.stream`, changes nothing)."""

    def __init__(self, coach):
        self.now = self.most = 0
        self._lock = threading.Lock()
        inner = coach.stream

        def stream(*args, **kwargs):
            with self._lock:
                self.now += 1
                self.most = max(self.most, self.now)
            try:
                yield from inner(*args, **kwargs)
            finally:
                with self._lock:
                    self.now -= 1

        coach.stream = stream


def test_parallel_http_sessions_get_their_own_answers_and_history(coach, tmp_path):
    from gradio_client import Client

    from assistant.app.ui import create_app, launch_app

    expected = expected_answers(coach)
    # Small caches: sessions evict each other's entries while they read them.
    assert coach.topics is not None and coach.checker._cached is not None
    coach.topics._queries.clear()
    coach.checker._cached.max_items = 3
    coach.retriever.index.cache_size = 4
    coach.retriever.index._cache.clear()
    flight = InFlight(coach)
    store = FeedbackStore(tmp_path / "feedback.jsonl")
    app = create_app(coach, store)
    assert coach.settings.ui_concurrency > 1
    url = launch_app(app, coach.settings.model_copy(update={"port": free_port()}), prevent_thread_lock=True,
                     quiet=True)
    problems: list[str] = []
    flagged: dict[str, str] = {}  # question -> flag value of its answer
    start = threading.Barrier(SESSIONS)

    def session(i: int) -> None:
        q = QUESTIONS[i % len(QUESTIONS)]
        try:
            client = Client(url, verbose=False, download_files=False)
            start.wait(60)
            for turn, (asked, (text, stage, ids)) in enumerate(zip((q, FOLLOW_UP), expected[q], strict=True), 1):
                _, chat, _, payload, flags = client.predict(asked, [], "auto", api_name="/chat")
                got = (payload.get("answer"), payload.get("stage"), [c["id"] for c in payload.get("citations", [])])
                if got != (text, stage, ids):
                    problems.append(f"session {i} turn {turn} ({asked[:20]}): got stage {got[1]}, {got[0]!r:.80}")
                if payload.get("turn") != turn or payload.get("question") != asked or text_of(chat[-2]) != asked:
                    problems.append(f"session {i}: turn {payload.get('turn')} / question {payload.get('question')!r:.40}")
            status, _ = client.predict(flags["choices"][0][1], f"session {i}", api_name="/flag")
            if not status.startswith("🚩"):
                problems.append(f"session {i}: flag not saved ({status[:60]})")
            flagged[f"session {i}"] = q
        except Exception as exc:  # collected: a failure must fail the test, not end a thread quietly
            problems.append(f"session {i}: {type(exc).__name__}: {str(exc)[:200]}")

    threads = [threading.Thread(target=session, args=(i,)) for i in range(SESSIONS)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
    finally:
        app.close()
    assert not problems, problems[:5]
    assert flight.most > 1, "the server never computed two answers at once: the test proved nothing"
    # Feedback written by parallel sessions: one record each, for the follow-up it flagged, with that
    # session's own history (its first question), nothing torn or interleaved.
    log = store.read()
    assert not log.problems
    records = {r["flag"]["comment"]: r for r in log.records}
    assert set(records) == set(flagged)
    for name, r in records.items():
        assert r["question"] == FOLLOW_UP and r["history"][0] == ["user", flagged[name]]
        assert r["answer"] == expected[flagged[name]][1][0]
    assert len({r["session"] for r in records.values()}) == SESSIONS

"""Sessions answered in parallel by one Coach get exactly the answers they would get one at a time.

The web UI shares one Coach (embedder, Chroma client, the index's chunk cache, BM25, topic map, the
checker's embedding cache) between sessions, `ui_concurrency` answers at a time. Small caches force
evictions while other threads read, which is where a data race shows up (a KeyError, or one session's
vector or chunk in another's answer). tests/app/test_ui_concurrency.py does the same through the
served app, over HTTP.
"""

from __future__ import annotations

import threading

from assistant.coach import Coach
from assistant.search.embeddings import CachedEmbeddings
from assistant.settings import Settings

QUESTIONS = [
    "직원 20명인데 CTO로서 뭘 해야 하죠?",
    "At what stage does hiring become something the CTO owns?",
    "We're 3 people with no product. Should I set up formal management processes?",
    "Is the AWS example from the original article or the blogger?",
    "How is the CTO job different at 3 people versus 400 people?",
    "CTO는 도대체 무슨 일을 하는 사람인가요?",
    "What's a fair vesting cliff for a CTO?",
    "수백 명 규모 회사 CTO는 뭐가 제일 중요해요?",
]


def fingerprint(answer) -> tuple:
    return answer.text, answer.stage, [c.id for c in answer.citations], [p.chunk.id for p in answer.passages]


def test_parallel_sessions_get_their_own_answers(built_state):
    coach = Coach.from_settings(built_state)
    expected = {q: fingerprint(coach.ask(q)) for q in QUESTIONS}
    # Tiny caches: every few calls evict what another thread may be about to read.
    assert coach.topics is not None
    coach.topics._queries.clear()
    checker_cache = coach.checker._cached
    assert isinstance(checker_cache, CachedEmbeddings)
    checker_cache.max_items = 3
    coach.retriever.index.cache_size = 4  # chunks fetched by id: evicted while other threads fetch
    coach.retriever.index._cache.clear()
    errors: list[BaseException] = []
    mixed: list[tuple[str, str]] = []

    def session(offset: int) -> None:
        for i in range(16):
            q = QUESTIONS[(offset + i) % len(QUESTIONS)]
            try:
                got = fingerprint(coach.ask(q))
            except BaseException as exc:  # collected: a race must fail the test, not kill a thread quietly
                errors.append(exc)
                continue
            if got != expected[q]:
                mixed.append((q, got[0][:120]))

    # More threads than the web UI runs at once (its default ui_concurrency).
    threads = [threading.Thread(target=session, args=(k,)) for k in range(Settings().ui_concurrency + 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors[:3]
    assert not mixed, mixed[:3]

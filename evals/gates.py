"""The gates of `evals/thresholds.toml`: which figure must stay above (or below) what."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from . import THRESHOLDS


def load_gates(path: Path = THRESHOLDS) -> list[dict[str, Any]]:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    gates = data.get("gate", [])
    for g in gates:
        if "metric" not in g or not ("min" in g or "max" in g):
            raise ValueError(f"{path}: every [[gate]] needs a metric and a min or max: {g}")
    return gates


def lookup(figures: dict[str, Any], path: str) -> Any:
    node: Any = figures
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check_gates(figures: dict[str, Any], gates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for g in gates:
        value = lookup(figures, g["metric"])
        ok = isinstance(value, int | float)
        if ok and "min" in g:
            ok = value >= g["min"] - 1e-12
        if ok and "max" in g:
            ok = value <= g["max"] + 1e-12
        out.append({"name": g.get("name", g["metric"]), "metric": g["metric"], "value": value,
                    "min": g.get("min"), "max": g.get("max"), "passed": bool(ok)})
    return out

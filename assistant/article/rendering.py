"""English renderings of corpus documents, aligned unit by unit with the original.

`corpus/<doc>.en.yaml` (written by the project, marked as a translation) pairs every quotable unit of
`<doc>.md` — each sentence, each summary heading and each capability item — with one English
rendering. English questions are matched against it, and English answers can show it beside the
Korean original. A document without a rendering still works: `english()` returns None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from assistant.text import normalize

TRANSLATION_NOTE = "English rendering by the CTO Coach project; the Korean original is authoritative."


@dataclass(frozen=True)
class Rendering:
    doc_id: str
    pairs: dict[str, str] = field(default_factory=dict)  # Korean unit → English rendering
    stage_names: dict[int, str] = field(default_factory=dict)
    note: str = TRANSLATION_NOTE

    def english(self, korean: str) -> str | None:
        return self.pairs.get(normalize(korean).strip())


def load_rendering(path: Path) -> Rendering | None:
    """None when the file is missing or unreadable: answers then quote the original only."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(raw, dict):
        return None
    pairs: dict[str, str] = {}
    for section in raw.get("sections") or []:
        for unit in (section or {}).get("units") or []:
            ko, en = (unit or {}).get("ko"), (unit or {}).get("en")
            if isinstance(ko, str) and isinstance(en, str) and ko.strip() and en.strip():
                pairs[normalize(ko).strip()] = en.strip()
    names = {int(k): str(v.get("en")) for k, v in (raw.get("stage_names") or {}).items() if isinstance(v, dict)}
    doc_id = Path(str(raw.get("document") or path.name)).stem
    return Rendering(doc_id, pairs, names, str(raw.get("note") or TRANSLATION_NOTE))


def load_renderings(corpus_dir: Path) -> dict[str, Rendering]:
    """Every `*.en.yaml` beside the corpus documents, by document id."""
    out: dict[str, Rendering] = {}
    for path in sorted(Path(corpus_dir).glob("*.en.yaml")):
        if path.is_symlink() or not path.is_file():
            continue
        r = load_rendering(path)
        if r is not None:
            out[r.doc_id] = r
    return out

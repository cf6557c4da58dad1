"""The article's facts and bilingual labels, as data: `assistant/article/profile.yaml`, read once.

Who wrote what and when, the four stages (names and headcount ranges in Korean and English), who-said-it
labels per voice, and every user-facing label that differs by language. Code asks
`label("refusal.scope", korean, topic=…)` instead of writing `"…" if korean else "…"`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from assistant.errors import CorpusError

PROFILE_FILE = "profile.yaml"


@dataclass(frozen=True)
class Author:
    author: str  # as the corpus front matter and Chunk.author spell it ("I'm MK")
    short: str  # as answers name them ("MK")
    date: str  # publication date, ISO
    title: str = ""


@dataclass(frozen=True)
class StageFacts:
    number: int
    ko: str  # "성장기"
    en: str  # "Growth"
    range_ko: str  # the article's headcount range, "5명~수십명"
    range_en: str

    def range(self, korean: bool) -> str:
        return self.range_ko if korean else self.range_en


@dataclass(frozen=True)
class Profile:
    source: Author
    blogger: Author
    stages: dict[int, StageFacts]
    voices: dict[str, tuple[str, str]]  # voice → (Korean label, English label)
    labels: dict[str, tuple[str, str]]

    @property
    def stage_names_ko(self) -> dict[int, str]:
        return {n: s.ko for n, s in self.stages.items()}

    @property
    def stage_names_en(self) -> dict[int, str]:
        return {n: s.en for n, s in self.stages.items()}

    def facts(self) -> dict[str, str]:
        names = [s.ko for _, s in sorted(self.stages.items())]
        return {
            "source": self.source.short,
            "source_title": self.source.title,
            "source_date": self.source.date,
            "blogger": self.blogger.short,
            "blogger_date": self.blogger.date,
            "stage_names_dot": "·".join(names),
            "stage_names_comma": ", ".join(names),
        }

    def label(self, key: str, korean: bool, **fields: Any) -> str:
        """The label `key` in the asker's language, its {placeholders} filled from the facts and `fields`."""
        try:
            template = self.labels[key][0 if korean else 1]
        except KeyError:
            raise KeyError(f"no label {key!r} in {PROFILE_FILE}") from None
        return template.format(**self.facts(), **fields) if "{" in template else template

    def stage_label(self, stage: int, korean: bool, key: str = "stage.named", **fields: Any) -> str:
        s = self.stages[stage]
        return self.label(key, korean, stage=stage, name_ko=s.ko, name_en=s.en, **fields)

    def voice_label(self, voice: str, korean: bool) -> str | None:
        labels = self.voices.get(voice)
        return labels[0 if korean else 1] if labels else None

    def author_of(self, voice: str) -> str | None:
        """The corpus author a voice belongs to ("source" → "Hosang Jeon"), None for other documents."""
        return {"source": self.source.author, "blogger": self.blogger.author}.get(voice)

    def is_article(self, voice: str, author: str) -> bool:
        """A section or unit in one of the article's own two voices (never another document posing as one)."""
        return self.author_of(voice) == author


def _pair(key: str, value: Any) -> tuple[str, str]:
    if isinstance(value, str):
        return value, value
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return value[0], value[1]
    raise CorpusError(PROFILE_FILE, f"{key} must be a string or a [Korean, English] pair")


def _author(key: str, raw: Any) -> Author:
    if not isinstance(raw, dict) or set(raw) - {"author", "short", "date", "title"}:
        raise CorpusError(PROFILE_FILE, f"{key} needs author, short, date (and optionally title)")
    return Author(str(raw["author"]), str(raw["short"]), str(raw["date"]), str(raw.get("title", "")))


def parse_profile(raw: Any) -> Profile:
    if not isinstance(raw, dict) or set(raw) != {"source", "blogger", "stages", "voices", "labels"}:
        raise CorpusError(PROFILE_FILE, "needs exactly: source, blogger, stages, voices, labels")
    stages = {}
    for n, s in raw["stages"].items():
        if not isinstance(s, dict) or set(s) != {"ko", "en", "range_ko", "range_en"}:
            raise CorpusError(PROFILE_FILE, f"stage {n} needs exactly ko, en, range_ko, range_en")
        stages[int(n)] = StageFacts(int(n), str(s["ko"]), str(s["en"]), str(s["range_ko"]), str(s["range_en"]))
    return Profile(
        source=_author("source", raw["source"]),
        blogger=_author("blogger", raw["blogger"]),
        stages=stages,
        voices={k: _pair(f"voices.{k}", v) for k, v in raw["voices"].items()},
        labels={k: _pair(f"labels.{k}", v) for k, v in raw["labels"].items()},
    )


@lru_cache(maxsize=1)
def load_profile() -> Profile:
    text = resources.files("assistant.article").joinpath(PROFILE_FILE).read_text(encoding="utf-8")
    return parse_profile(yaml.safe_load(text))


PROFILE = load_profile()
label = PROFILE.label
STAGE_NAMES_KO = PROFILE.stage_names_ko
STAGE_NAMES_EN = PROFILE.stage_names_en
SOURCE_AUTHOR = PROFILE.source.author
BLOGGER_AUTHOR = PROFILE.blogger.author

__all__ = ["BLOGGER_AUTHOR", "PROFILE", "SOURCE_AUTHOR", "STAGE_NAMES_EN", "STAGE_NAMES_KO", "Author", "Profile",
           "StageFacts", "label", "load_profile"]

"""Number words, one table for the whole package (core: no imports from assistant).

Two readers with different needs share it:

* stage diagnosis reads headcounts ("직원 스무 명", "a team of twelve", "dozens of engineers"):
  every cardinal and the approximate quantities ("수십", "hundreds of");
* the support checker compares the counts a sentence states with its passage ("five stages",
  "세 번째 단계"): the small cardinals (up to six in Korean, ten in English), ordinals and the
  Korean approximate pairs ("서너", "두세").

The views below are exactly the tables each reader had before this module existed.
"""

from __future__ import annotations

# Korean native and Sino-Korean cardinals, in the order the headcount regex alternates them.
KO_CARDINALS: dict[str, int] = {
    "한": 1, "하나": 1, "두": 2, "둘": 2, "세": 3, "셋": 3, "석": 3, "네": 4, "넷": 4, "다섯": 5, "여섯": 6,
    "일곱": 7, "여덟": 8, "아홉": 9, "열": 10, "스무": 20, "스물": 20, "서른": 30, "마흔": 40, "쉰": 50,
    "예순": 60, "일흔": 70, "여든": 80, "아흔": 90, "백": 100, "천": 1000,
}
# Approximate Korean quantities, read as a typical value ("수십 명" ≈ 40).
KO_QUANTITIES: dict[str, int] = {
    "십여": 15, "수십": 40, "수백": 300, "수천": 3000, "수만": 30000, "몇십": 40, "몇백": 300, "몇천": 3000,
}
# "서너" (three or four), "두세" (two or three): the lower bound.
KO_RANGES: dict[str, int] = {"서너": 3, "두세": 2}
KO_ORDINALS: dict[str, int] = {
    "첫": 1, "첫째": 1, "첫번째": 1, "두번째": 2, "둘째": 2, "세번째": 3, "셋째": 3, "네번째": 4, "넷째": 4,
}

EN_CARDINALS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
EN_QUANTITIES: dict[str, int] = {
    "a hundred": 100, "one hundred": 100, "a thousand": 1000, "a dozen": 12, "dozens of": 40, "hundreds of": 300,
    "thousands of": 3000, "a couple of": 2, "a few": 3,
}
EN_ORDINALS: dict[str, int] = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}


def headcount_words_ko() -> dict[str, int]:
    """Korean words a headcount can be written with ("스무 명", "수십 명")."""
    return {**KO_CARDINALS, **KO_QUANTITIES}


def headcount_words_en() -> dict[str, int]:
    """English words a headcount can be written with ("twelve people", "dozens of engineers")."""
    return {**{w: n for w, n in EN_CARDINALS.items() if n > 0}, **EN_QUANTITIES}


def count_words_ko() -> dict[str, int]:
    """Korean words that state a count next to a counter ("세 명", "세 번째 단계")."""
    small = {w: n for w, n in KO_CARDINALS.items() if n <= 6 and w != "석"}
    return {**small, **{w: n for w, n in KO_ORDINALS.items() if w == "첫" or w.endswith("번째")}, **KO_RANGES}


def count_words_en() -> dict[str, int]:
    """English words that state a count next to what they count ("five stages", "stage two")."""
    return {**{w: n for w, n in EN_CARDINALS.items() if n <= 10}, **EN_ORDINALS}

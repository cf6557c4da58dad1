"""Number words, one table for the whole package (core: no imports from assistant).

Two readers with different needs share it:

* stage diagnosis reads headcounts ("직원 스무 명", "a team of twelve", "dozens of engineers"):
  every cardinal and the approximate quantities ("수십", "hundreds of");
* the support checker compares the counts a sentence states with its passage ("five stages",
  "세 번째 단계"): the small cardinals (up to six in Korean, ten in English), ordinals and the
  Korean approximate pairs ("서너", "두세").

The views below are exactly the tables each reader had before this module existed. The readers at
the end (`korean_words`, `english_words`, `sino_korean`, `digits`, `decade_phrase`) turn whole
phrases into numbers — "열댓 명", "천오백 명", "a couple hundred", "low twenties" — for
`understand.situation`, which reads the sizes users write in words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


# --- phrase readers -------------------------------------------------------------------------------

# Phrase readers: the shared cardinals (without 백/천, read as Sino-Korean powers below) plus the
# colloquial forms people use for sizes; approximate words map to a representative value.
KO_UNITS = {**{w: n for w, n in KO_CARDINALS.items() if n < 100}, "서": 3, "너": 4}
KO_APPROX = {**KO_QUANTITIES, "열댓": 15, "여남은": 11, "너댓": 5, "네댓": 5, "두세": 3, "서너": 4, "대여섯": 6,
             "예닐곱": 7, "십수": 15, "수만": 30000, "몇만": 30000, "삼사십": 35, "사오십": 45, "이삼십": 25,
             "이삼백": 250, "두어": 2}
_SINO_DIGITS = {"일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7, "팔": 8, "구": 9}
_SINO_POWERS = {"십": 10, "백": 100, "천": 1000, "만": 10000}

EN_UNITS = {**{w: n for w, n in EN_CARDINALS.items() if n > 0}, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
            "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
            "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "a dozen": 12, "dozen": 12,
            "half a dozen": 6, "a couple": 2, "couple": 2, "a few": 3, "few": 3, "several": 5, "a handful": 5,
            "handful": 5, "a hundred": 100, "hundred": 100, "a thousand": 1000, "thousand": 1000}
EN_SCALES = {"dozen": 12, "dozens": 40, "hundred": 100, "hundreds": 300, "thousand": 1000, "thousands": 3000,
             "tens of thousands": 30000}


@dataclass(frozen=True)
class Amount:
    """A number read from text: its representative value and the range the words allow."""

    value: int
    low: int
    high: int


def sino_korean(word: str) -> int | None:
    """"천오백" → 1500, "이백" → 200, "삼십" → 30; None when the word is not a Sino-Korean numeral."""
    if not word or any(ch not in _SINO_DIGITS and ch not in _SINO_POWERS for ch in word):
        return None
    total, digit, seen_power = 0, 0, False
    for ch in word:
        if ch in _SINO_DIGITS:
            digit = _SINO_DIGITS[ch]
        else:
            total += (digit or 1) * _SINO_POWERS[ch]
            digit, seen_power = 0, True
    total += digit
    return total if seen_power else None  # a bare "이" or "오" is a particle, not a number


def korean_words(word: str) -> int | None:
    """Native or Sino-Korean numerals, including compounds like "스물다섯" and approximations like "열댓"."""
    word = word.strip()
    if word in KO_APPROX:
        return KO_APPROX[word]
    if word in KO_UNITS:
        return KO_UNITS[word]
    sino = sino_korean(word)
    if sino is not None:
        return sino
    for tens in ("스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔", "열"):
        if word.startswith(tens) and word[len(tens):] in KO_UNITS:
            return KO_UNITS[tens] + KO_UNITS[word[len(tens):]]
    return None


def digits(raw: str) -> int | None:
    """"2,300" → 2300, "1.5k" → 1500, "12" → 12."""
    s = raw.strip().lower().replace(",", "")
    mult = 1
    if s.endswith("k"):
        mult, s = 1000, s[:-1].strip()
    try:
        return round(float(s) * mult)
    except ValueError:
        return None


def english_words(phrase: str) -> int | None:
    """"a couple hundred" → 200, "twenty-five" → 25, "tens of thousands" → 30000, "a few thousand" → 3000."""
    p = re.sub(r"\s+of$", "", re.sub(r"[\s-]+", " ", phrase.strip().lower()))  # "a handful of" (people)
    if p in EN_SCALES and p not in EN_UNITS:
        return EN_SCALES[p]
    if p in EN_UNITS:
        return EN_UNITS[p]
    total, current = 0, 0
    tokens = p.replace(" of ", " ").split()
    i = 0
    while i < len(tokens):
        two = " ".join(tokens[i:i + 2])
        if i + 1 < len(tokens) and two in EN_UNITS and tokens[i + 1] not in ("hundred", "thousand", "dozen"):
            current += EN_UNITS[two]
            i += 2
            continue
        t = tokens[i]
        if t in ("a", "an", "and"):
            i += 1
            continue
        if t in ("dozen", "dozens"):
            current = (current or 1) * 12
        elif t in ("hundred", "hundreds"):
            current = (current or 1) * 100
        elif t in ("thousand", "thousands"):
            total += (current or 1) * 1000
            current = 0
        elif t in EN_UNITS:
            current += EN_UNITS[t]
        elif t.replace(",", "").replace(".", "").isdigit():
            current += digits(t) or 0
        else:
            return None
        i += 1
    value = total + current
    return value or None


def decade_phrase(text: str) -> Amount | None:
    """"low twenties" → 21-23, "mid thirties" → 34-36, "이백 명대 중반" handled by the caller."""
    m = re.fullmatch(r"(low|mid|high|early|late)?[\s-]*(twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties)", text.strip().lower())
    if not m:
        return None
    base = {"twenties": 20, "thirties": 30, "forties": 40, "fifties": 50, "sixties": 60, "seventies": 70,
            "eighties": 80, "nineties": 90}[m.group(2)]
    where = {"low": (0, 3), "early": (0, 3), "mid": (4, 6), "high": (7, 9), "late": (7, 9), None: (0, 9)}[m.group(1)]
    low, high = base + where[0], base + where[1]
    return Amount((low + high) // 2, low, high)

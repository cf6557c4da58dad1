"""Numbers written the way people write them, in Korean and English.

"열댓 명", "백 명 남짓", "천오백 명", "이백 명대 중반", "a couple hundred", "half a dozen", "low twenties",
"tens of thousands", "1.5k", "2,300": users state their company's size in words at least as often as
in digits, so the stage diagnosis reads sizes through this module. It only turns a phrase into a
number (or a low-high range); deciding whose size it is and when is `understand.situation`'s job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Native Korean and Sino-Korean numerals. Approximate words map to a representative value.
KO_UNITS = {"한": 1, "하나": 1, "두": 2, "둘": 2, "세": 3, "셋": 3, "석": 3, "서": 3, "네": 4, "넷": 4, "너": 4,
            "다섯": 5, "여섯": 6, "일곱": 7, "여덟": 8, "아홉": 9, "열": 10, "스무": 20, "스물": 20, "서른": 30,
            "마흔": 40, "쉰": 50, "예순": 60, "일흔": 70, "여든": 80, "아흔": 90}
KO_APPROX = {"열댓": 15, "여남은": 11, "너댓": 5, "네댓": 5, "두세": 3, "서너": 4, "대여섯": 6, "예닐곱": 7,
             "십여": 15, "십수": 15, "수십": 40, "수백": 300, "수천": 3000, "수만": 30000, "몇십": 40, "몇백": 300,
             "몇천": 3000, "몇만": 30000, "삼사십": 35, "사오십": 45, "이삼십": 25, "이삼백": 250, "두어": 2}
_SINO_DIGITS = {"일": 1, "이": 2, "삼": 3, "사": 4, "오": 5, "육": 6, "칠": 7, "팔": 8, "구": 9}
_SINO_POWERS = {"십": 10, "백": 100, "천": 1000, "만": 10000}

EN_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
            "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
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
    p = re.sub(r"[\s-]+", " ", phrase.strip().lower())
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

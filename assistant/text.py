"""Text handling shared by the loader, chunker, BM25, diagnosis and verifier.

Korean-first: no NFKC (it would turn ① into 1 and ⁉️ into !?), sentence boundaries that know
Korean endings, and a tokenizer that strips particles so "기술팀의" and "기술팀" meet, plus character
bigrams so compounds written with or without spaces ("기술부채"/"기술 부채") still match.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# `[n]` citation markers. MARKER is what the composer writes and what the UI links, the evals count
# and the bench checks: one number per bracket. MARKER_LIST is what an LLM may write instead
# ("[1, 2]", "[ 3 ]", full-width comma) and what the LLM answer parser accepts.
MARKER = re.compile(r"\[(\d{1,3})\]")
MARKER_LIST = re.compile(r"\[\s*(\d{1,3}(?:\s*[,，]\s*\d{1,3})*)\s*\]")
LEADING_MARKERS = re.compile(r"^((?:\s*\[\s*\d{1,3}(?:\s*[,，]\s*\d{1,3})*\s*\])+)\s*")
_MARKER_SEP = re.compile(r"\s*[,，]\s*")


def marker_numbers(text: str) -> list[int]:
    """Every number a `[n]` / `[n, m]` marker of `text` names, in order (repeats kept)."""
    return [int(n) for m in MARKER_LIST.finditer(text) for n in _MARKER_SEP.split(m.group(1))]


_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize(text: str) -> str:
    """NBSP and other spaces to one ASCII space per run, CRLF to LF, NFC; no NFKC."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(lines).strip()


# A sentence ends with . ! ? … (or a run of them) before whitespace; "2.5단계" and "1." inside a
# list stay whole because the chunker never splits list sections.
# Sentence ends: punctuation, or — typed casually — a run of laughing/crying jamo after a word
# ("…하라고 하네요ㅠ 이 단계에선…", "…없거든요ㅋㅋ 이게…").
_BOUNDARY = re.compile(r"(?<=[.!?…])\s+|(?<=[ㅋㅎㅠㅜ])\s+(?=\S)")
_MIN_SENTENCE = 2


def split_sentences(text: str) -> list[str]:
    """Split on Korean/English sentence ends; tiny fragments (":)", "1.") join their neighbour."""
    pieces = [p.strip() for p in _BOUNDARY.split(text.strip()) if p and p.strip()]
    out: list[str] = []
    for piece in pieces:
        letters = sum(ch.isalnum() for ch in piece)
        if out and letters < _MIN_SENTENCE:
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


# Longest first: a particle is stripped only when a stem of at least one syllable remains.
_JOSA = sorted(
    ["은", "는", "이", "가", "을", "를", "의", "에", "에서", "에게", "께", "께서", "으로", "로", "와", "과", "도", "만", "까지", "부터", "보다", "보다는", "처럼", "이나", "나", "이란", "란", "이라", "라", "이라는", "라는", "에는", "에서는", "으로는", "로는", "에도", "에서도", "와의", "과의", "으로서", "로서", "이며", "이고", "하고", "입니다", "이다", "하다고", "하다는", "이라고", "라고", "다고", "다는", "하다", "했죠", "했다", "이에요", "예요", "인가요", "인데", "인데요", "이죠", "죠", "요", "할", "한", "하는", "해야", "하죠", "해요", "합니다", "하나요", "된", "되는", "적", "들", "들의", "들은", "들이", "들을"],
    key=len,
    reverse=True,
)
_EN_STOP = set(
    ["a", "an", "the", "of", "to", "in", "on", "for", "and", "or", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this", "that", "these", "those", "what", "which", "who", "whom", "how", "when", "where", "why", "do", "does", "did", "should", "would", "could", "can", "will", "i", "me", "my", "we", "our", "you", "your", "he", "she", "they", "them", "their", "as", "at", "by", "with", "from", "about", "into", "than", "then", "so", "if", "not", "no", "yes", "there", "here", "have", "has", "had", "must", "need", "needs", "like", "just", "also", "any", "some", "more", "most", "very", "tell", "say", "says", "said", "please"]
)
_KO_STOP = set(["그", "이", "저", "것", "수", "등", "더", "좀", "쫌", "뭐", "뭘", "어떤", "무엇", "어떻게", "왜", "및", "또는", "그리고", "그래서", "합니다", "있다", "있습니다", "하는"])
_TOKEN = re.compile(r"[0-9a-z&]+(?:[.'][0-9a-z]+)*|[가-힣]+")


_JOSA_BY_LEN: dict[int, set[str]] = {}
for _j in _JOSA:
    _JOSA_BY_LEN.setdefault(len(_j), set()).add(_j)
_JOSA_LENGTHS = sorted(_JOSA_BY_LEN, reverse=True)


@lru_cache(maxsize=200_000)
def _strip_josa(word: str) -> str:
    """Longest particle first; a set lookup per length (indexing 100k chunks calls this millions of times)."""
    n = len(word)
    for k in _JOSA_LENGTHS:
        if n - k >= 1 and word[-k:] in _JOSA_BY_LEN[k]:
            return word[:-k]
    return word


def _stem_en(word: str) -> str:
    for suffix in ("ies", "ing", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def words(text: str) -> list[str]:
    """Lower-cased word tokens (Hangul runs, Latin/digit runs)."""
    return _TOKEN.findall(text.lower())


def tokenize(text: str, *, bigrams: bool = True) -> list[str]:
    """BM25 terms: particle-stripped Hangul stems, stemmed English words, Hangul bigrams."""
    out: list[str] = []
    for w in words(text):
        if w[0] >= "가":
            if w in _KO_STOP:
                continue
            stem = _strip_josa(w)
            out.append(stem)
            if bigrams and len(w) >= 2:
                out.extend("#" + w[i : i + 2] for i in range(len(w) - 1))
        else:
            if w in _EN_STOP:
                continue
            out.append(_stem_en(w))
    return out


def content_terms(text: str) -> set[str]:
    """The set of meaningful terms of a sentence (no bigrams): used by the support checker."""
    return set(tokenize(text, bigrams=False))


@dataclass(frozen=True)
class GlossaryEntry:
    kind: str  # "entity" | "term"
    english: tuple[str, ...]
    korean: tuple[str, ...]


@lru_cache(maxsize=1)
def glossary() -> tuple[GlossaryEntry, ...]:
    """English/Korean aliases of the article's names and terms (assistant/data/glossary.tsv)."""
    raw = resources.files("assistant").joinpath("data/glossary.tsv").read_text(encoding="utf-8")
    entries = []
    for line in raw.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, en, ko = line.split("\t")
        entries.append(GlossaryEntry(kind, tuple(en.split("|")), tuple(ko.split("|"))))
    return tuple(entries)


@lru_cache(maxsize=8192)
def _phrase_matcher(phrase: str):
    if re.fullmatch(r"[a-z0-9 &'.-]+", phrase):
        return re.compile(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])").search
    return None


def _contains_phrase(haystack: str, phrase: str) -> bool:
    search = _phrase_matcher(phrase)
    return search(haystack) is not None if search else phrase in haystack


def translate_terms(text: str) -> str:
    """Korean aliases of the English glossary phrases found in `text` (space-joined).

    Appended to English queries and sentences so BM25 and the lexical checks can meet the Korean
    article. Unknown words pass through untouched in the caller's text.
    """
    low = text.lower()
    found: list[str] = []
    for entry in glossary():
        if any(_contains_phrase(low, alias) for alias in entry.english):
            found.extend(entry.korean)
    return " ".join(found)


def glossary_phrases(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """The glossary phrases found in `text`, each with the article's terms it stands for
    ("코딩" → ("구현",)): what `translate_terms` appends, with the words that brought it."""
    low = text.lower()
    return [(alias, entry.korean) for entry in glossary() for alias in entry.english if _contains_phrase(low, alias)]


_OWN = re.compile(r"(?<=\S)\s+own(?=\s)|(?<=[가-힣])\s+(?:본인|자기|자신의)(?=\s)")


def entities(text: str) -> set[str]:
    """Canonical names (first Korean alias) of the glossary entities a text mentions. Words that only
    stress whose it is ("his own company", "블로거 본인 회사") do not keep an alias from matching."""
    low = _OWN.sub("", text.lower())
    found = set()
    for entry in glossary():
        if entry.kind != "entity":
            continue
        for alias in (*entry.english, *entry.korean):
            if re.fullmatch(r"[a-z0-9 &'.-]+", alias):
                hit = re.search(rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])", low) is not None
            else:
                hit = alias in low
            if hit:
                found.add(entry.korean[0])
                break
    return found


def hangul_ratio(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum("가" <= ch <= "힣" for ch in letters) / len(letters)


def is_korean(text: str) -> bool:
    """Korean question → Korean framing. Any Hangul share over 20% counts (mixed questions are common)."""
    return hangul_ratio(text) >= 0.2


# --- JSONL, line-exactly --------------------------------------------------------------------------
# `str.splitlines()` also breaks at U+2028/U+2029, U+0085 (NEL) and \x1c-\x1e, which `json.dumps(...,
# ensure_ascii=False)` leaves raw inside strings: a comment containing one of them split its record in
# two. Writers escape them; readers split on "\n" only.
_LINE_BREAKERS = {"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"}
_LINE_BREAKER_RE = re.compile("[\u2028\u2029\x85]")


def jsonl_dumps(obj: object, **kwargs: object) -> str:
    """One JSONL line (without the newline): `json.dumps` with the separators `splitlines` honours
    escaped as well (\\x1c-\\x1e are control characters, which json escapes already)."""
    import json

    line = json.dumps(obj, ensure_ascii=False, **kwargs)  # type: ignore[arg-type]
    return _LINE_BREAKER_RE.sub(lambda m: _LINE_BREAKERS[m.group(0)], line)


def jsonl_lines(text: str) -> list[str]:
    """The lines of a JSONL text, split on "\\n" only (a trailing "\\r" is dropped, for CRLF files)."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]

"""Durable user feedback from the web UI, and its export as candidate eval cases.

Storage is one JSONL file, `<data_dir>/feedback.jsonl`, one record per line. Appends are made crash
safe rather than merely flushed:

* each record is serialised completely first, then written with a single `os.write` on an
  `O_APPEND` descriptor (so concurrent writers never interleave inside a line) and `fsync`ed;
* an exclusive `flock` serialises writers across processes, and a writer that finds a torn last
  line (no trailing newline: a process killed mid-write, a full disk) starts its record on a new
  line, so one torn record never swallows the next;
* the reader skips lines that are not complete JSON objects and reports them (`FeedbackLog.problems`)
  instead of failing.

`cto-coach feedback export` calls `export_candidates`: answers whose latest rating is a dislike, or
that have a "this citation does not support this sentence" flag, become candidate eval cases with
the schema of `evals/cases.jsonl`; the gold fields are left empty for a human to fill, and the note
carries a TODO that `make eval-add` rejects until the reviewer has rewritten it. The old answer, its
citations and the user's flags follow as annotations that `make eval-add` drops.

About 300 lines on purpose: the writer, the reader and the export share one file format and its
crash-safety rules, which are easier to check in one place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.errors import FeedbackError
from assistant.text import is_korean, jsonl_dumps

if TYPE_CHECKING:
    from assistant.settings import Settings

try:  # POSIX only; elsewhere the in-process lock still serialises this process's writers
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

FEEDBACK_FILE = "feedback.jsonl"
SCHEMA_VERSION = 1
RATINGS = ("like", "dislike", "unset")
_LOCK = threading.Lock()


def feedback_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / FEEDBACK_FILE


@dataclass
class FeedbackLog:
    """What `FeedbackStore.read` found: the valid records, and one message per skipped line."""

    records: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class FeedbackStore:
    """Append-only JSONL feedback store (see the module docstring for the durability rules)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedbackStore:
        return cls(feedback_path(settings))

    # --- writing ---------------------------------------------------------------------------
    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Store one record durably; returns it with `id`, `ts` and `v` filled in."""
        rec = {"v": SCHEMA_VERSION, "id": uuid.uuid4().hex, "ts": _now(), **record}
        try:
            line = jsonl_dumps(rec, separators=(",", ":"), default=str)
        except (TypeError, ValueError) as exc:
            raise FeedbackError(f"feedback record cannot be stored as JSON: {exc}") from None
        if "\n" in line:  # json.dumps escapes newlines; this would be a bug
            raise FeedbackError("feedback record serialised with a raw newline")
        data = (line + "\n").encode("utf-8")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            with _LOCK:
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    if fcntl is not None:
                        fcntl.flock(fd, fcntl.LOCK_EX)
                    if _ends_torn(fd):
                        data = b"\n" + data
                    _write_all(fd, data)
                    os.fsync(fd)
                finally:
                    os.close(fd)  # closing releases the flock
            if created:
                _fsync_dir(self.path.parent)
        except OSError as exc:
            raise FeedbackError(
                f"cannot store feedback in {self.path}: {exc.strerror or exc}; check that the data directory "
                "(CTO_COACH_DATA_DIR) is writable and not full"
            ) from None
        return rec

    # --- reading ---------------------------------------------------------------------------
    def read(self) -> FeedbackLog:
        log = FeedbackLog()
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return log
        except OSError as exc:
            raise FeedbackError(f"cannot read feedback from {self.path}: {exc.strerror or exc}") from None
        lines = raw.split(b"\n")
        last = len(lines)
        for lineno, chunk in enumerate(lines, 1):
            if not chunk.strip():
                continue
            torn = lineno == last  # the final piece has no newline after it
            try:
                rec = json.loads(chunk.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                rec = None
            if not isinstance(rec, dict):
                what = "torn last line (incomplete write), skipped" if torn else "not a JSON object, skipped"
                log.problems.append(f"{self.path}:{lineno}: {what}")
                continue
            log.records.append(rec)
        return log


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ends_torn(fd: int) -> bool:
    size = os.fstat(fd).st_size
    if size == 0:
        return False
    return os.pread(fd, 1, size - 1) != b"\n"


def _write_all(fd: int, data: bytes) -> None:
    # One write for the whole line; loop only if the kernel reports a short write (e.g. disk full).
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:  # pragma: no cover - os.write raises instead
            raise OSError("short write")
        view = view[n:]


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not supported everywhere (e.g. some network filesystems)
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- records ---------------------------------------------------------------------------------
def answer_record(
    *,
    question: str,
    history: list[tuple[str, str]] | list[list[str]],
    answer_json: dict[str, Any],
    stage_choice: int | None,
    session: str,
    turn: int,
) -> dict[str, Any]:
    """The part of a feedback record that describes the answer being judged."""
    return {
        "session": session,
        "turn": turn,
        "question": question,
        "history": [list(t) for t in history],
        "answer": answer_json.get("answer", ""),
        "citations": answer_json.get("citations", []),
        "stage": answer_json.get("stage"),
        "stage_choice": stage_choice if stage_choice is not None else "auto",
        "diagnosis": answer_json.get("diagnosis"),
        "kind": answer_json.get("kind"),
        "mode": answer_json.get("mode"),
        "notice": answer_json.get("notice"),
    }


def rating_record(answer: dict[str, Any], rating: str) -> dict[str, Any]:
    if rating not in RATINGS:
        raise FeedbackError(f"rating must be one of {', '.join(RATINGS)}, got {rating!r}")
    return {"type": "rating", "rating": rating, **answer}


def flag_record(answer: dict[str, Any], *, sentence: str, citation: int, comment: str = "") -> dict[str, Any]:
    cited = next((c for c in answer.get("citations", []) if c.get("n") == citation), None)
    return {
        "type": "citation_flag",
        "flag": {
            "sentence": sentence,
            "citation": citation,
            "citation_id": cited.get("id") if cited else None,
            "quote": cited.get("quote") if cited else None,
            "comment": comment.strip()[:2000],
        },
        **answer,
    }


# --- export ----------------------------------------------------------------------------------
def candidates(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Eval-case candidates from feedback records (oldest first, one per question + history)."""
    by_answer: dict[tuple, dict[str, Any]] = {}
    for rec in records:
        if not isinstance(rec.get("question"), str):
            continue
        key = (rec.get("session"), rec.get("turn"), rec.get("question"), rec.get("answer"))
        entry = by_answer.setdefault(key, {"first": rec, "rating": None, "flags": [], "ids": []})
        entry["ids"].append(rec.get("id"))
        if rec.get("type") == "rating":
            entry["rating"] = rec.get("rating")  # the latest one wins (a like after a dislike = changed mind)
            entry["first"] = rec
        elif rec.get("type") == "citation_flag" and isinstance(rec.get("flag"), dict):
            entry["flags"].append(rec["flag"])
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in by_answer.values():
        if entry["rating"] != "dislike" and not entry["flags"]:
            continue
        rec = entry["first"]
        history = [list(t) for t in rec.get("history") or [] if isinstance(t, list | tuple) and len(t) == 2]
        digest = hashlib.sha256(
            json.dumps([rec["question"], history], ensure_ascii=False).encode("utf-8")
        ).hexdigest()[:10]
        if digest in seen:
            continue
        seen.add(digest)
        out.append(_case(rec, history, entry, digest))
    return out


def _case(rec: dict[str, Any], history: list, entry: dict[str, Any], digest: str) -> dict[str, Any]:
    what = []
    if entry["rating"] == "dislike":
        what.append("user disliked the answer")
    for f in entry["flags"]:
        sentence = str(f.get("sentence", ""))[:120]
        what.append(f"citation [{f.get('citation')}] flagged as not supporting: {sentence!r}"
                    + (f" (comment: {f['comment']!r})" if f.get("comment") else ""))
    question = rec["question"]
    korean = is_korean(question)
    note = (
        f"from UI feedback {rec.get('ts', '')}: " + "; ".join(what)
        + f". System answered kind={rec.get('kind')} stage={rec.get('stage')} mode={rec.get('mode')}"
        + f" (stage control: {rec.get('stage_choice', 'auto')}). TODO: set expect, gold_stages, gold_evidence"
        + " (exact substrings of the article) and key_points, then `make eval-add`."
    )
    return {
        "id": f"fb-{digest}",
        "category": "feedback",
        "lang": "ko" if korean else "en",
        "question": question,
        "history": history,
        # A guess for the reviewer to confirm: what the user most likely wanted instead.
        "expect": "answer",
        "gold_stages": [],
        "gold_evidence": [],
        "key_points": [],
        "note": note,
        # Annotations for the reviewer (`make eval-add` drops them): what the system said back then.
        "answer": rec.get("answer", ""),
        "stage": rec.get("stage"),
        "kind": rec.get("kind"),
        "mode": rec.get("mode"),
        "rating": entry["rating"],
        "feedback": entry["flags"],
        "citations": [
            {k: c.get(k) for k in ("n", "id", "stage", "section", "voice", "quote")}
            for c in rec.get("citations") or [] if isinstance(c, dict)
        ],
    }


def export_candidates(settings: Settings, out_path: Path) -> int:
    """Write disliked / flagged answers as candidate eval cases (JSONL); returns how many.

    `out_path` must be a new path or a regular file: a symlink, FIFO, device or folder there is
    refused (never followed, never replaced). The file is replaced atomically (a temp file created
    exclusively beside it, then a rename); an existing file keeps its permissions, a new one is
    private to the user. Torn or invalid lines in the feedback store are skipped; the export still succeeds.
    """
    log = FeedbackStore.from_settings(settings).read()
    cases = candidates(log.records)
    out_path = Path(out_path)
    mode = _check_out_path(out_path)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for case in cases:
                fh.write(jsonl_dumps(case) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        _check_out_path(out_path)  # again, just before the rename: it may have been swapped meanwhile
        os.replace(tmp, out_path)
    except FeedbackError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise FeedbackError(f"cannot write {out_path}: {exc.strerror or exc}") from None
    return len(cases)


def _check_out_path(path: Path) -> int:
    """The mode for the new file at `path`; a `FeedbackError` if something other than a regular file is there."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return 0o600
    except OSError as exc:
        raise FeedbackError(f"cannot write {path}: {exc.strerror or exc}") from None
    if stat.S_ISREG(st.st_mode):
        return stat.S_IMODE(st.st_mode)
    kind = ("a symbolic link" if stat.S_ISLNK(st.st_mode) else "a folder" if stat.S_ISDIR(st.st_mode)
            else "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode)
            else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a regular file")
    raise FeedbackError(f"refusing to write {path}: it is {kind}, not a regular file; give --out a new path "
                        "or a regular file")


def export_problems(settings: Settings) -> list[str]:
    """Lines of the feedback store that were skipped (for the CLI to report)."""
    return FeedbackStore.from_settings(settings).read().problems

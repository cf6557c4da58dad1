"""`cto-coach` command line: index, ask, serve, feedback export, config.

A thin adapter over `Coach`: parse flags into `Settings`, call the API, print. Library errors are
typed (`CoachError`); here, and only here, they become one readable line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn

from assistant.errors import CoachError, InputError

SETTING_FLAGS = {
    "corpus_dir": ("--corpus-dir", Path, "folder of source documents"),
    "index_dir": ("--index-dir", Path, "where the embedded index lives"),
    "embedder": ("--embedder", str, "embedding backend 'provider:model'"),
    "chroma_host": ("--chroma-host", str, "use a Chroma server at this host"),
    "chroma_port": ("--chroma-port", int, "Chroma server port"),
    "retrieval": ("--retrieval", str, "hybrid | dense | bm25"),
    "top_k": ("--top-k", int, "passages given to the composer"),
    "llm": ("--llm", str, "chat model 'provider:model' (unset = extractive)"),
    "llm_base_url": ("--llm-base-url", str, "OpenAI-compatible server URL"),
    "verifier_policy": ("--verifier-policy", str, "drop | flag | fallback"),
    "data_dir": ("--data-dir", Path, "where feedback is stored"),
    "host": ("--host", str, "web UI bind address"),
    "port": ("--port", int, "web UI port"),
}


def _add_setting_flags(p: argparse.ArgumentParser, names: list[str]) -> None:
    for name in names:
        flag, typ, help_ = SETTING_FLAGS[name]
        p.add_argument(flag, dest=name, type=typ, default=None, help=f"{help_} (CTO_COACH_{name.upper()})")


class _Parser(argparse.ArgumentParser):
    """argparse, except that a usage error is one line on stderr (exit 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cto-coach",
        description="What should a CTO do at your company's stage? Answers grounded in one article, every sentence cited.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for unexpected errors")
    sub = parser.add_subparsers(dest="command", required=True)
    store = ["corpus_dir", "index_dir", "embedder", "chroma_host", "chroma_port"]

    p = sub.add_parser("index", help="build or update the index (incremental; --rebuild starts over)")
    p.add_argument("--rebuild", action="store_true", help="discard the index and embed everything again")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_setting_flags(p, store)

    p = sub.add_parser("ask", help="answer a question (or a --batch file)")
    p.add_argument("question", nargs="?", help="the question, in Korean or English")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--history", type=Path, help="JSON file: a list of [role, text] pairs")
    p.add_argument("--batch", type=Path, help='JSONL file: one {"question": ..., "history": [...]} per line')
    p.add_argument("--stage", default=None, help="fix the stage (1-4) instead of diagnosing it")
    _add_setting_flags(p, [*store, "retrieval", "top_k", "llm", "llm_base_url", "verifier_policy"])

    p = sub.add_parser("serve", help="start the web UI")
    _add_setting_flags(p, [*store, "llm", "llm_base_url", "verifier_policy", "data_dir", "host", "port"])

    p = sub.add_parser("feedback", help="work with feedback collected in the web UI")
    fsub = p.add_subparsers(dest="feedback_command", required=True)
    e = fsub.add_parser("export", help="turn disliked answers into candidate eval cases (JSONL)")
    e.add_argument("--out", type=Path, default=Path("evals/candidates.jsonl"))
    _add_setting_flags(e, ["data_dir"])

    p = sub.add_parser("status", help="show whether the index is fresh, stale, missing or built differently")
    _add_setting_flags(p, store)

    sub.add_parser("config", help="print the effective settings (secrets masked)")
    return parser


def _settings(args: argparse.Namespace):
    from assistant.settings import load_settings

    return load_settings(**{k: getattr(args, k, None) for k in SETTING_FLAGS})


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except CoachError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last line of defence: one readable line, not a traceback
        if args.debug:
            raise
        print(f"error: unexpected {type(exc).__name__}: {str(exc)[:300]} (rerun with --debug for details)", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "config":
        from assistant.settings import load_settings

        for name, value in load_settings().model_dump().items():
            shown = "***" if "key" in name or ("password" in name and value) else value
            print(f"CTO_COACH_{name.upper()}={'' if shown is None else shown}")
        return 0
    settings = _settings(args)
    if args.command == "index":
        from assistant.article.corpus import load_corpus
        from assistant.search.embeddings import embeddings_for
        from assistant.search.store import build_index

        corpus = load_corpus(settings.corpus_dir)
        for problem in corpus.problems:
            print(f"error: {problem} (skipped; its previously indexed chunks are kept)", file=sys.stderr)
        report = build_index(settings, embeddings_for(settings), rebuild=args.rebuild,
                             progress=not args.quiet and sys.stderr.isatty(), corpus=corpus)
        print(report.summary())
        return 1 if corpus.problems else 0
    if args.command == "status":
        from assistant.article.corpus import load_corpus
        from assistant.search.store import index_status, location_of

        corpus = load_corpus(settings.corpus_dir)
        _warn_skipped(corpus.problems)
        print(f"{index_status(settings, corpus)} ({location_of(settings)})")
        return 0
    if args.command == "serve":
        from assistant.app.ui.serve import serve

        serve(settings)
        return 0
    if args.command == "feedback":
        from assistant.app.feedback import export_candidates, export_problems

        n = export_candidates(settings, args.out)
        for skipped in export_problems(settings):  # torn or invalid lines: skipped, but say so
            print(f"warning: skipped {skipped}", file=sys.stderr)
        print(f"wrote {n} candidate eval case(s) to {args.out}; review them, then `make eval-add FILE={args.out}`")
        return 0
    if args.command == "ask":
        return _ask(args, settings)
    raise CoachError(f"unknown command {args.command}")  # pragma: no cover


def _warn_skipped(problems: list) -> None:
    """Corpus entries that were skipped (unreadable, not regular files): one warning line each."""
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)


MAX_INPUT_FILE_BYTES = 10_000_000  # a history or batch file bigger than this is a mistake (/dev/zero, a dump)


def _read_input_file(path: Path, what: str) -> str:
    """The text of a regular file of at most MAX_INPUT_FILE_BYTES; anything else is one `InputError` line.

    Opened without blocking (a FIFO would hang a plain open) and checked on the open descriptor: a
    folder, FIFO or device is refused by name, and the read is bounded (no `/dev/zero` eating memory).
    """
    import os
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InputError(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} file ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(f"{path}: is a folder; give the {what} file itself")
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{path}: not a regular file (a FIFO or device); give a {what} file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(MAX_INPUT_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} file ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_INPUT_FILE_BYTES:
        raise InputError(f"{path}: the {what} file is over {MAX_INPUT_FILE_BYTES // 1_000_000} MB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text, so not a JSON file; re-save it as UTF-8") from None


def _read_history(path: Path | None) -> list:
    if path is None:
        return []
    try:
        data = json.loads(_read_input_file(path, "history"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not a JSON file ({exc})") from None
    except RecursionError:
        raise InputError(f"{path}: the JSON is nested too deeply") from None
    if not isinstance(data, list):
        raise InputError(f"{path}: history must be a JSON list of [role, text] pairs")
    return data


def _ask(args: argparse.Namespace, settings) -> int:
    from assistant.coach import Coach

    if args.batch is None and not args.question:
        raise InputError("give a question, e.g. cto-coach ask \"직원 20명인데 CTO로서 뭘 해야 하죠?\", or --batch FILE")
    if args.batch is not None and args.question:
        raise InputError("give either a question or --batch FILE, not both")
    history = _read_history(args.history)
    batch_lines = _read_batch(args.batch) if args.batch is not None else None
    coach = Coach.from_settings(settings, progress=sys.stderr.isatty())
    _warn_skipped(coach.corpus.problems)
    if coach.index_note:
        print(coach.index_note, file=sys.stderr)
    if batch_lines is None:
        answer = coach.ask(args.question, history, args.stage)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False))
        else:
            print(render_text(answer))
        return 0
    failures = 0
    for lineno, item in batch_lines:
        try:
            if isinstance(item, InputError):
                raise item
            answer = coach.ask(item["question"], item.get("history") or [], item.get("stage"))
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        except CoachError as exc:
            failures += 1
            print(json.dumps({"error": str(exc), "line": lineno}, ensure_ascii=False), flush=True)
            print(f"error: {args.batch}:{lineno}: {exc}", file=sys.stderr)
    return 1 if failures else 0


def _read_batch(path: Path) -> list[tuple[int, dict | InputError]]:
    from assistant.text import jsonl_lines

    raw = _read_input_file(path, "batch")
    items: list[tuple[int, dict | InputError]] = []
    for lineno, line in enumerate(jsonl_lines(raw), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            items.append((lineno, InputError(f"line {lineno} is not JSON ({exc.msg})")))
            continue
        except RecursionError:
            items.append((lineno, InputError(f"line {lineno} is JSON nested too deeply")))
            continue
        if not isinstance(item, dict) or not isinstance(item.get("question"), str):
            items.append((lineno, InputError(f'line {lineno} needs a "question" string')))
            continue
        items.append((lineno, item))
    return items


def _clip(text: str, limit: int = 220) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "…"


def render_text(answer) -> str:
    """A readable answer for the terminal: the text, then numbered sources with stage and author."""
    from assistant.article.profile import PROFILE, label
    from assistant.text import is_korean

    korean = bool(answer.text) and is_korean(answer.question)
    lines = [answer.text, ""]
    if answer.notice:
        lines.insert(0, f"[{answer.notice}]")
    if answer.citations:
        lines.append(label("cli.sources", korean))
        for c in answer.citations:
            stage = label("stage.number", korean, stage=c.stage) if c.stage else label("stage.none", korean)
            who = PROFILE.voice_label(c.voice, korean) or c.author
            lines.append(f"[{c.n}] ({stage} · {who}) {_clip(c.text_en or c.text)}")
            if c.text_en:  # English answers: the rendering first, the Korean original indented below it
                lines.append(f"    ↳ Korean: {_clip(c.text)}")
    lines.append(f"({answer.mode})")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

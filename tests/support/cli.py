"""Running the CLI in-process and checking its one-line errors: shared by the hardening tests."""

from __future__ import annotations

from assistant.app.cli import main


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`cto-coach *argv` in this process: (exit code, stdout, stderr)."""
    try:
        rc = main(list(argv))
    except SystemExit as exc:
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def one_line(rc, err, *fragments, exit_code: int | None = None) -> str:
    """The command failed (with `exit_code` when given) with exactly one `error: ` line on stderr,
    no traceback, containing every fragment; returns that line."""
    if exit_code is None:
        assert rc not in (0, None), err
    else:
        assert rc == exit_code, err
    assert "Traceback" not in err and "unexpected" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]

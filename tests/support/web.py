"""The web UI's test harness, shared by tests/app/test_ui*.py and the hardening UI tests: a free
loopback port, settings free of the developer's CTO_COACH_* variables, a served app, and Debian's
headless Chromium driven by Playwright (the modules that need it skip without it)."""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT = 30_000  # ms, for every page action
VIEWPORT = {"width": 1500, "height": 1300}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_settings(**overrides: Any):
    """`load_settings(**overrides)` with no CTO_COACH_* variable from the shell (module-scoped fixtures
    run outside the per-test clean environment of conftest)."""
    from assistant.settings import load_settings

    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.upper().startswith("CTO_COACH_"):
                mp.delenv(key)
        return load_settings(**overrides)


@contextlib.contextmanager
def served(coach, settings, store=None) -> Iterator[str]:
    """`create_app` over `coach`, launched as `cto-coach serve` would (guard, auth when set) on
    settings.port; yields the URL and closes the server afterwards."""
    from assistant.app.feedback import FeedbackStore
    from assistant.app.ui import create_app, launch_app

    app = create_app(coach, store if store is not None else FeedbackStore.from_settings(settings))
    url = launch_app(app, settings, prevent_thread_lock=True, quiet=True)
    try:
        yield url
    finally:
        app.close()


def playwright_or_skip(reason: str = "to run the browser tests"):
    """Playwright's sync API, or skip the calling module when Chromium or Playwright is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install it with `apt-get update && apt-get install -y chromium` "
                    f"(or `make browser`) {reason}", allow_module_level=True)
    return pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")


@contextlib.contextmanager
def chromium(sync_api) -> Iterator[Any]:
    """Headless Chromium (Debian's, not Playwright's download)."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()

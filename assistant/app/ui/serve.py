"""Serving policy and launch: who may reach the web UI, and `cto-coach serve`.

A non-loopback address needs a password (or an explicit opt-in); share links are always off.
"""

from __future__ import annotations

import ipaddress
import sys
from typing import TYPE_CHECKING

from assistant.app.feedback import feedback_path
from assistant.app.ui.app import CSS, create_app
from assistant.app.ui.guard import RequestGuard
from assistant.errors import SettingsError

if TYPE_CHECKING:
    import gradio as gr

    from assistant.settings import Settings


def is_loopback(host: str) -> bool:
    if host.strip().lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_of(settings: Settings) -> tuple[str, str] | None:
    user = settings.auth_username or None
    password = settings.auth_password.get_secret_value() if settings.auth_password is not None else None
    if bool(user) != bool(password):
        raise SettingsError(
            "set both CTO_COACH_AUTH_USERNAME and CTO_COACH_AUTH_PASSWORD for web UI auth (or neither)"
        )
    return (user, password) if user and password else None


MIN_PASSWORD_CHARS = 8  # for a UI reachable from the network


def check_exposure(settings: Settings) -> tuple[str, str] | None:
    """Refuse to serve on a non-loopback address without auth unless explicitly allowed, or with
    credentials anyone could guess (blank, whitespace, a short password)."""
    auth = auth_of(settings)
    if auth is not None and not is_loopback(settings.host):
        user, password = auth
        if not user.strip() or not password.strip():
            raise SettingsError("CTO_COACH_AUTH_USERNAME and CTO_COACH_AUTH_PASSWORD must not be blank or only "
                                f"spaces when serving on {settings.host}")
        if len(password) < MIN_PASSWORD_CHARS or password.strip().lower() == user.strip().lower():
            raise SettingsError(f"CTO_COACH_AUTH_PASSWORD is too weak to serve on {settings.host}: use at least "
                                f"{MIN_PASSWORD_CHARS} characters, different from the username")
    if not is_loopback(settings.host) and auth is None and not settings.allow_public:
        raise SettingsError(
            f"refusing to serve the web UI on {settings.host} without a password: anyone on the network could "
            "use it. Set CTO_COACH_AUTH_USERNAME and CTO_COACH_AUTH_PASSWORD, or opt in with "
            "CTO_COACH_ALLOW_PUBLIC=true, or bind to 127.0.0.1 (the default)."
        )
    return auth


def public_api_names(app: gr.Blocks) -> set[str]:
    """The endpoints API clients may call by name (`/chat`, `/clear`, `/flag`)."""
    return {fn.api_name for fn in app.fns.values() if fn.api_visibility == "public" and fn.api_name}


def launch_app(app: gr.Blocks, settings: Settings, *, prevent_thread_lock: bool = False,
               quiet: bool = False) -> str:
    """Launch on settings.host/port with auth when set and share links off; returns the local URL."""
    from starlette.middleware import Middleware  # comes with Gradio

    auth = check_exposure(settings)
    try:
        _, url, _ = app.launch(
            server_name=settings.host, server_port=settings.port, auth=auth, share=False,
            prevent_thread_lock=prevent_thread_lock, quiet=quiet, show_error=False, ssr_mode=False,
            css=CSS, footer_links=["api"], inbrowser=False,
            # Body size limit, login rate limiting, public endpoints only, no tracebacks: in front of
            # every Gradio route.
            app_kwargs={"middleware": [Middleware(RequestGuard, api_names=public_api_names(app))]},
        )
    except OSError as exc:
        raise SettingsError(
            f"cannot serve on {settings.host}:{settings.port}: {exc}. Is the port in use? Pick another with "
            "--port or CTO_COACH_PORT."
        ) from None
    return url


def serve(settings: Settings) -> None:
    """`cto-coach serve`: build the coach (and the index if missing/stale), then serve until Ctrl-C."""
    check_exposure(settings)  # fail before loading anything
    from assistant.coach import Coach

    coach = Coach.from_settings(settings, progress=sys.stderr.isatty())
    if coach.index_note:
        print(coach.index_note, file=sys.stderr)
    app = create_app(coach)
    print(f"CTO Coach on http://{settings.host}:{settings.port}  ({coach.mode_label}); "
          f"feedback → {feedback_path(settings)}", file=sys.stderr)
    launch_app(app, settings)

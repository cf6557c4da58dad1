"""An ASGI middleware in front of the Gradio app: request size limit and login rate limiting.

* Every request body is capped (`MAX_REQUEST_BYTES`): a larger `Content-Length` is answered 413 before
  a byte is read, a chunked body is cut off as soon as it crosses the limit. Gradio itself accepted
  100 MB bodies, and three such `/chat` calls made a normal one wait 24 s while they were parsed.
* `POST /login` is rate-limited per client address and per username: after `FREE_FAILURES` failed
  attempts, each further failure locks that key out for an exponentially growing time (capped at
  `MAX_LOCKOUT`), and attempts during a lockout get 429 with a message saying when to retry. A
  successful login clears the client's and the username's counters.

* Named API routes (`/gradio_api/call/<name>`, `call/v2/<name>`, `run/<name>`, `api/<name>`) answer only
  the app's public endpoints: Gradio resolves private events by name too (the browser's own chat event,
  whose Textbox would stringify a number sent as the message), though it documents them as disabled.
* An exception escaping the app before it answered (Gradio's routes raise KeyError/TypeError for an
  unknown endpoint or a wrong keyword argument) becomes one JSON error line for the client and one log
  line, not a traceback from the server (the traceback is kept at DEBUG level).

Installed through `launch(app_kwargs={"middleware": [...]})` (see `serve.launch_app`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_REQUEST_BYTES = 1_000_000  # the UI's largest legitimate request (a question, a stage) is a few KB
MAX_LOGIN_BYTES = 8_192
FREE_FAILURES = 5
MAX_LOCKOUT = 300.0  # seconds
MAX_KEYS = 10_000  # bounded memory under a spray of usernames / addresses
NAMED_API_ROUTE = re.compile(r"/gradio_api/(?:call/v2|call|run|api)/([^/]+)/?$")

log = logging.getLogger("cto_coach.ui")


class LoginLimiter:
    """Failed-login counters with exponential lockout, per key ("ip:…", "user:…")."""

    def __init__(self, free: int = FREE_FAILURES, max_lockout: float = MAX_LOCKOUT,
                 clock: Callable[[], float] = time.monotonic):
        self.free, self.max_lockout, self.clock = free, max_lockout, clock
        self._state: dict[str, tuple[int, float]] = {}  # key -> (failures, locked until)
        self._lock = threading.Lock()

    def wait_time(self, *keys: str) -> float:
        """Seconds until these keys may try again (0 = now)."""
        now = self.clock()
        with self._lock:
            return max([0.0, *(self._state.get(k, (0, 0.0))[1] - now for k in keys)])

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._state) > MAX_KEYS:
                self._state = {k: v for k, v in self._state.items() if v[1] > now}
            for k in keys:
                n = self._state.get(k, (0, 0.0))[0] + 1
                lockout = 0.0 if n <= self.free else min(2.0 ** (n - self.free), self.max_lockout)
                self._state[k] = (n, now + lockout)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._state.pop(k, None)


async def _respond(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail, "error": detail}, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class RequestGuard:
    """ASGI middleware: body size limit for every request, rate limiting for POST /login."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_REQUEST_BYTES, limiter: LoginLimiter | None = None,
                 api_names: Collection[str] | None = None):
        self.app, self.max_body = app, max_body
        self.limiter = limiter or LoginLimiter()
        self.api_names = None if api_names is None else frozenset(api_names)  # None: no restriction

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = (f"request body over {self.max_body // 1000} kB refused; questions and history are short "
                     "/ 요청이 너무 큽니다")
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await _respond(send, 413, too_large)
            return
        path = scope.get("path", "")
        if scope.get("method") == "POST" and path.rstrip("/").endswith("/login"):
            await self._login(scope, receive, send)
            return
        named = NAMED_API_ROUTE.search(path) if scope.get("method") == "POST" else None
        if named and self.api_names is not None and named.group(1) not in self.api_names:
            await _respond(send, 404, f"no API endpoint /{named.group(1)[:60]}; the endpoints are "
                           + ", ".join(f"/{n}" for n in sorted(self.api_names)))
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _respond(send, 413, too_large)
        except Exception as exc:  # the edge: one line each for the client and the log
            line = next((x.strip() for x in str(exc).splitlines() if x.strip()), "")[:300]
            client_error = isinstance(exc, (KeyError, TypeError, ValueError))
            log.warning("%s %s failed: %s: %s", scope.get("method"), path[:200], type(exc).__name__, line)
            log.debug("traceback", exc_info=True)
            if not started:
                await _respond(send, 400 if client_error else 500,
                               f"{'bad request' if client_error else 'the server could not answer'}: "
                               f"{type(exc).__name__}: {line}")

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        more = True
        while more:
            message = await receive()
            if message.get("type") != "http.request":
                return
            body += message.get("body", b"")
            more = bool(message.get("more_body"))
            if len(body) > MAX_LOGIN_BYTES:
                await _respond(send, 413, "login request too large")
                return
        client = (scope.get("client") or ("?", 0))[0]
        try:
            username = parse_qs(body.decode("utf-8", "replace")).get("username", [""])[0].strip()
        except ValueError:
            username = ""
        keys = (f"ip:{client}", f"user:{username.lower()}")
        wait = self.limiter.wait_time(*keys)
        if wait > 0:
            seconds = int(wait) + 1
            await _respond(send, 429, f"Too many failed logins: try again in {seconds} s. / 로그인 실패가 너무 많습니다. "
                           f"{seconds}초 후에 다시 시도하세요.", [(b"retry-after", str(seconds).encode())])
            return
        status = 0
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # (a disconnect)
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def watch(message: Message) -> None:
            nonlocal status
            if message.get("type") == "http.response.start":
                status = int(message.get("status", 0))
            await send(message)

        await self.app(scope, replay, watch)
        if status == 200:
            self.limiter.succeeded(*keys)
        elif status in (400, 401, 403):
            self.limiter.failed(*keys)

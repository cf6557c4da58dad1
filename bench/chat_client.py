"""A lean chat session over Gradio's own queue protocol, for the load benchmark: what a browser tab does.

`gradio_client` is the convenient client, but on this 2-core machine it is not a neutral one: each job
polls its messages and its cancellation every 50 ms in threads of its own, which costs about 250 ms
of CPU per answer on the client side and adds up to 50 ms to every latency. With 20 sessions in the
benchmark process that client, not the server, used most of the cores. This one speaks the protocol
the web page speaks — `POST /gradio_api/queue/join`, then read the event's messages from the
server-sent-event stream `GET /gradio_api/queue/data?session_hash=…` — over one keep-alive HTTP
connection per session, blocking on the socket instead of polling.

One `ChatSession` is one browser tab: its own session hash, so its own `gr.State` on the server.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

API = "gradio_api"


class ChatError(RuntimeError):
    """The server answered an event with an error, or the stream ended without a result."""


def endpoints(url: str, timeout: float = 30) -> dict[str, int]:
    """api_name -> fn_index, from the app's config (what the page loads first)."""
    config = httpx.get(f"{url.rstrip('/')}/config", timeout=timeout).json()
    return {d["api_name"]: int(d["id"]) for d in config.get("dependencies", []) if d.get("api_name")}


@dataclass
class Result:
    data: list[Any]  # the final value of every output, in the event's output order (state outputs are None)
    updates: int  # streamed updates before the final one ("process_generating" messages)


class ChatSession:
    """One browser-like session against a live app: `call(api_name, inputs)` → the final outputs."""

    def __init__(self, url: str, fns: dict[str, int], timeout: float = 120):
        self.url = url.rstrip("/")
        self.fns = fns
        self.session_hash = uuid.uuid4().hex[:11]
        self.http = httpx.Client(timeout=timeout)

    def call(self, api_name: str, inputs: list[Any]) -> Result:
        body = {"data": inputs, "fn_index": self.fns[api_name], "session_hash": self.session_hash,
                "event_data": None, "trigger_id": None}
        joined = self.http.post(f"{self.url}/{API}/queue/join", json=body)
        if joined.status_code != 200:
            raise ChatError(f"queue/join {joined.status_code}: {joined.text[:200]}")
        event_id = joined.json()["event_id"]
        updates = 0
        with self.http.stream("GET", f"{self.url}/{API}/queue/data",
                              params={"session_hash": self.session_hash}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                msg = json.loads(line[5:])
                kind = msg.get("msg")
                if msg.get("event_id") not in (None, event_id):
                    continue
                if kind == "process_generating":
                    updates += 1
                elif kind == "process_completed":
                    if not msg.get("success"):
                        raise ChatError(f"{api_name} failed: {str(msg.get('output'))[:200]}")
                    return Result(list(msg["output"]["data"]), updates)
                elif kind in ("unexpected_error", "close_stream"):
                    break
        raise ChatError(f"{api_name}: the stream ended without a result")

    def close(self) -> None:
        self.http.close()

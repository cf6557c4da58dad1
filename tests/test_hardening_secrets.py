"""Secrets stay secret: the LLM API key (and the UI password) never reach output, errors or logs.

- `cto-coach config` (a real process) masks the key and the password; `status` never prints them.
- `repr`/`str`/JSON dumps of `Settings` never contain them.
- Configuration errors raised while a key is set never echo it, even when the key was pasted into
  the wrong variable (a typo'd name, a numeric field).
- The LLM path through the CLI, against a provider that *reflects the key back* in its error body
  (401 and 500, the latter retried), falls back to the extractive answer; the key appears nowhere in
  stdout, stderr, the answer's notice, or any log record at DEBUG level (httpx/openai included), while
  the provider did receive it. Two key shapes: one that looks like a key (`sk-…`, also caught by the
  generic pattern) and one that does not (only the exact-value redaction can catch it).

Feedback records and the web UI are covered in tests/app/test_feedback.py and tests/app/test_ui.py.
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import subprocess
import sys
import threading
from typing import ClassVar

import pytest

from assistant.app.cli import main
from assistant.errors import SettingsError
from assistant.settings import Settings, load_settings, settings_table

KEY = "sk-test-SECRET"
PLAIN_KEY = "correct-horse-battery-SECRET-42"  # does not look like a key: only exact redaction catches it
PASSWORD = "hunter2-SECRET-pw"


def _no_secret(*texts: str) -> None:
    for t in texts:
        for s in (KEY, PLAIN_KEY, PASSWORD, "SECRET"):
            assert s not in t, f"{s!r} leaked in: {t[:300]!r}"


def test_config_and_status_mask_secrets_in_a_real_process(built_state):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTO_COACH_")}
    env.update(CTO_COACH_LLM_API_KEY=KEY, CTO_COACH_AUTH_USERNAME="admin", CTO_COACH_AUTH_PASSWORD=PASSWORD,
               CTO_COACH_CORPUS_DIR=str(built_state.corpus_dir), CTO_COACH_INDEX_DIR=str(built_state.index_dir))
    procs = [subprocess.Popen([sys.executable, "-m", "assistant", cmd], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, text=True) for cmd in ("config", "status")]
    (config_out, config_err), (status_out, status_err) = (p.communicate(timeout=120) for p in procs)
    assert [p.returncode for p in procs] == [0, 0], (config_err, status_err)
    lines = dict(line.split("=", 1) for line in config_out.splitlines())
    assert lines["CTO_COACH_LLM_API_KEY"] == "***" and lines["CTO_COACH_AUTH_PASSWORD"] == "***"
    assert lines["CTO_COACH_AUTH_USERNAME"] == "admin"  # not a secret: shown
    assert status_out.startswith("fresh")
    _no_secret(config_out, config_err, status_out, status_err)


def test_settings_dumps_never_contain_secrets(monkeypatch):
    monkeypatch.setenv("CTO_COACH_LLM_API_KEY", KEY)
    monkeypatch.setenv("CTO_COACH_AUTH_PASSWORD", PASSWORD)
    s = load_settings()
    assert s.llm_api_key.get_secret_value() == KEY  # the value is there, just never shown
    _no_secret(repr(s), str(s), s.model_dump_json(), json.dumps(s.model_dump(mode="json")), settings_table(),
               repr(s.model_copy(update={"top_k": 3})), f"{s}", f"{s!r}")


@pytest.mark.parametrize("env", [
    {"CTO_COACH_LLM_API_KEY": KEY, "CTO_COACH_TOP_K": "many"},
    {"CTO_COACH_LLM_API_KEY": KEY, "CTO_COACH_LLM_APIKEY": KEY},  # a typo'd name holding the key
    {"CTO_COACH_LLM_TEMPERATURE": KEY},  # the key pasted into a numeric field
    {"CTO_COACH_PORT": PLAIN_KEY},
    {"CTO_COACH_AUTH_PASSWORD": PASSWORD, "CTO_COACH_RETRIEVAL": "magic"},
], ids=["invalid-other", "typo-name", "key-in-float", "key-in-int", "password-and-invalid"])
def test_configuration_errors_never_echo_secrets(monkeypatch, capsys, env):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SettingsError) as err:
        load_settings()
    _no_secret(str(err.value), repr(err.value))
    rc = main(["status"])
    captured = capsys.readouterr()
    assert rc == 2 and len(captured.err.strip().splitlines()) == 1
    _no_secret(captured.out, captured.err)


class _ReflectingProvider(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that rejects every call and echoes the Authorization header back."""

    status = 401
    seen: ClassVar[list[str]] = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        auth = self.headers.get("Authorization", "")
        type(self).seen.append(auth)
        body = json.dumps({"error": {"message": f"Incorrect API key provided: {auth} (key={auth[7:]})",
                                     "type": "invalid_request_error", "code": "invalid_api_key"}}).encode()
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(("key", "status"), [(KEY, 401), (PLAIN_KEY, 500)], ids=["sk-key-401", "plain-key-500-retried"])
def test_llm_failure_reflecting_the_key_never_leaks_it(built_state, monkeypatch, capsys, caplog, key, status):
    caplog.set_level(logging.DEBUG)
    handler = type("Provider", (_ReflectingProvider,), {"status": status, "seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for k, v in {"CTO_COACH_CORPUS_DIR": str(built_state.corpus_dir), "CTO_COACH_INDEX_DIR": str(built_state.index_dir),
                     "CTO_COACH_DATA_DIR": str(built_state.data_dir), "CTO_COACH_LLM": "openai:gpt-4o-mini",
                     "CTO_COACH_LLM_BASE_URL": f"http://127.0.0.1:{server.server_port}/v1",
                     "CTO_COACH_LLM_API_KEY": key, "CTO_COACH_LLM_RETRIES": "1", "CTO_COACH_LLM_TIMEOUT": "10"}.items():
            monkeypatch.setenv(k, v)
        rc = main(["ask", "--json", "성장기 CTO는 무엇을 해야 하나요?"])
        captured = capsys.readouterr()
    finally:
        server.shutdown()
        server.server_close()
    assert rc == 0, captured.err
    data = json.loads(captured.out)
    assert data["notice"] and "LLM failed" in data["notice"] and data["citations"]  # extractive fallback
    assert handler.seen and all(a == f"Bearer {key}" for a in handler.seen)  # the provider did get the key
    assert len(handler.seen) == (2 if status == 500 else 1)  # 5xx retried once, 401 not retried
    records = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    assert any(r.name.startswith(("httpx", "openai", "httpcore")) for r in caplog.records)  # DEBUG was on
    _no_secret(captured.out, captured.err, caplog.text, records)


def test_secret_settings_are_typed_as_secrets():
    fields = Settings.model_fields
    assert "SecretStr" in str(fields["llm_api_key"].annotation) and "SecretStr" in str(fields["auth_password"].annotation)

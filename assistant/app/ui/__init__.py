"""The Gradio web UI: a thin adapter over `Coach`.

* `render` — pure functions: the chat message, the evidence panel, the Stages tab;
* `handlers` — `ChatHandlers`, the event handlers as plain methods (testable without a browser);
* `app` — `create_app(coach)` builds the Blocks; styles and script in `static/`;
* `serve` — who may reach it (loopback, auth, explicit public opt-in) and `serve(settings)`, what
  `cto-coach serve` / `make chat` run.

Gradio itself is imported on first use, never by importing this package.
"""

from __future__ import annotations

from assistant.app.ui.app import CSS, EXAMPLES, JS_ON_LOAD, TITLE, create_app
from assistant.app.ui.handlers import MAX_TURNS, ChatHandlers, new_state
from assistant.app.ui.render import (
    AUTO,
    EMPTY_EVIDENCE,
    FRIENDLY_ERROR,
    MAX_OLDER_EVIDENCE,
    format_answer,
    highlight,
    quote_spans,
    render_evidence,
    render_evidence_turn,
    render_stages,
    stage_choices,
    stage_label,
    voice_label,
)
from assistant.app.ui.serve import auth_of, check_exposure, is_loopback, launch_app

__all__ = ["AUTO", "CSS", "EMPTY_EVIDENCE", "EXAMPLES", "FRIENDLY_ERROR", "JS_ON_LOAD", "MAX_OLDER_EVIDENCE",
           "MAX_TURNS", "TITLE", "ChatHandlers", "auth_of", "check_exposure", "create_app", "format_answer",
           "highlight", "is_loopback", "launch_app", "new_state", "quote_spans", "render_evidence",
           "render_evidence_turn", "render_stages", "stage_choices", "stage_label", "voice_label"]

"""The `/chat` API endpoint's input contract, checked here rather than by Gradio's components.

Through the UI's own event, Gradio validated `/chat` payloads with the Chatbot's pydantic model and the
Radio's choices *before* our handler ran: a wrong shape (or string `content`, the form a client most
naturally sends) answered `{"error": null}` and printed a full traceback per request, while ints,
lists and dicts as the message were silently stringified by the Textbox and answered. So the API
endpoint takes plain JSON (`gr.JSON` inputs, which pass any value through) and `parse_chat_request`
decides: a malformed request is an `InputError` with one readable line, turned into a quiet
`gr.Error` at the edge (refused with HTTP 422 when the request is queued, one log line, no traceback).

`quiet_blocks()` is the same edge for every other event (the browser's private chat event, clear,
flag): when Gradio's own input processing fails, the request is refused with one line instead of a
traceback in the server log.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from assistant.app.ui.handlers import gradio
from assistant.app.ui.render import AUTO
from assistant.errors import InputError

if TYPE_CHECKING:
    from assistant.app.ui.handlers import ChatHandlers

log = logging.getLogger("cto_coach.ui")

MAX_ERROR_CHARS = 300
Role = Literal["user", "assistant"]


class TextPart(BaseModel):
    """One part of a message's content, as Gradio 6 returns it: {"type": "text", "text": …}."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["text"] = "text"
    text: StrictStr


class Message(BaseModel):
    """A chat message: `content` a string, or a list of text parts (so a chat the API returned can be
    sent back as it is; Gradio's extra keys such as `metadata` and `options` are ignored)."""

    model_config = ConfigDict(extra="ignore")
    role: Role
    content: StrictStr | list[TextPart]

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else " ".join(p.text for p in self.content)


class ChatRequest(BaseModel):
    """What `/chat` accepts. Messages are strings, never stringified numbers or objects; history is
    messages or the CLI's `[role, text]` pairs; stage is "auto", "1"-"4" or 1-4."""

    model_config = ConfigDict(extra="forbid")
    message: StrictStr
    history: list[Message | tuple[Role, StrictStr]] | None = None
    stage: Literal["auto", "1", "2", "3", "4"] | Annotated[StrictInt, Field(ge=1, le=4)] | None = None

    def chat(self) -> list[dict[str, str]]:
        """The history as the chat list `ChatHandlers.respond` takes."""
        out = []
        for m in self.history or []:
            role, text = (m.role, m.text()) if isinstance(m, Message) else m
            out.append({"role": role, "content": text})
        return out


PARAMETERS = ("message", "history", "stage")


class ChatRequestError(InputError):
    """A malformed `/chat` call: `str(err)` is one line; `parameter` names the input at fault."""

    def __init__(self, message: str, parameter: str):
        super().__init__(message)
        self.parameter = parameter


def _problem(error: dict[str, Any]) -> str:
    """One pydantic error in words a client can act on, without echoing the (possibly huge) value."""
    loc = [str(p) for p in error.get("loc", ())]
    field = loc[0] if loc else "request"
    if field == "message":
        return f"message must be a string (the question), not {type(error.get('input')).__name__}"
    if field == "stage":
        return 'stage must be "auto", "1", "2", "3" or "4"'
    if field == "history":
        where = f"history[{loc[1]}]" if len(loc) > 1 else "history"
        return (f"{where} is not a chat message: history is a list of "
                '{"role": "user"|"assistant", "content": string} (or [role, text] pairs)')
    return f"{'.'.join(loc) or 'request'}: {error.get('msg', 'invalid')}"


def parse_chat_request(message: Any, history: Any, stage: Any) -> ChatRequest:
    """Validate one `/chat` call; raises `ChatRequestError` with a one-line message naming the bad
    parameter, never echoing the value."""
    try:
        return ChatRequest(message=message, history=history, stage=stage)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ChatRequestError(f"invalid /chat request: {_problem(dict(first))}"[:MAX_ERROR_CHARS],
                               str(first["loc"][0]) if first.get("loc") else "message") from None


def chat_endpoint(handlers: ChatHandlers) -> tuple[Callable[..., Any], Callable[..., tuple]]:
    """The `/chat` API function over `handlers.respond` (an LLM's draft streams) or `handlers.answer`
    (an extractive answer is one result), and its Gradio validator (runs when the request is queued,
    so a malformed one is refused with HTTP 422 before it is accepted)."""

    def parsed(message: Any, history: Any, stage: Any) -> ChatRequest:
        try:
            return parse_chat_request(message, history, stage)
        except ChatRequestError as exc:  # validated already when queued; this is for direct calls
            log.warning("refused a /chat request: %s", exc)
            raise gradio().Error(str(exc), print_exception=False) from None

    def chat(message: Any, history: Any, stage: Any, state: dict | None) -> Iterator[Any]:
        """Answer one question (streaming): the same outputs as the chat in the browser."""
        request = parsed(message, history, stage)
        yield from handlers.respond(request.message, request.chat(), request.stage or AUTO, state)

    def answer(message: Any, history: Any, stage: Any, state: dict | None) -> tuple:
        """Answer one question (one result): the same outputs as the chat in the browser."""
        request = parsed(message, history, stage)
        return handlers.answer(request.message, request.chat(), request.stage or AUTO, state)

    endpoint: Callable[..., Any] = chat if handlers.streams_drafts else answer

    def validate(message: Any, history: Any, stage: Any, state: Any) -> tuple:
        gr = gradio()
        try:
            parse_chat_request(message, history, stage)
        except ChatRequestError as exc:
            log.warning("refused a /chat request: %s", exc)
            return (*(gr.validate(name != exc.parameter, str(exc) if name == exc.parameter else "")
                      for name in PARAMETERS),
                    gr.validate(True, ""))
        return tuple(gr.validate(True, "") for _ in (*PARAMETERS, "state"))

    validate.__name__ = "/chat"  # how Gradio's own input errors name it (see quiet_blocks)
    return endpoint, validate


def one_line(exc: BaseException) -> str:
    """An exception as one short line: a pydantic error's first problem, or the first line of str()."""
    too_few = re.search(r"didn't receive enough input values \(needed: \d+, got: (\d+)\)", str(exc))
    if isinstance(exc, ValidationError) and exc.errors():
        e = exc.errors()[0]
        text = f"{'.'.join(str(p) for p in e.get('loc', ())) or 'value'}: {e.get('msg', 'invalid')}"
    elif too_few:  # Gradio's count includes the session state, which clients never send
        text = f'too few values in "data" (got {too_few.group(1)})'
    else:
        text = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return text[:MAX_ERROR_CHARS]


@functools.cache
def quiet_blocks() -> type:
    """`gr.Blocks` whose input processing fails with one line: Gradio prints a traceback for any
    exception while it validates and preprocesses a request's values (a pydantic error for a malformed
    chat, a ValueError for too few values), unless it is a `gr.Error` that asks not to be printed."""
    gr = gradio()

    class QuietBlocks(gr.Blocks):  # type: ignore[name-defined]
        async def preprocess_data(self, block_fn: Any, inputs: list[Any], state: Any,
                                  explicit_call: bool = False) -> Any:
            try:
                return await super().preprocess_data(block_fn, inputs, state, explicit_call)
            except Exception as exc:
                if isinstance(exc, gr.Error) and not exc.print_exception:
                    raise
                name = f"/{block_fn.api_name}" if block_fn.api_name else block_fn.name or "an event"
                message = f"invalid request to {name}: {one_line(exc)}"
                if not getattr(block_fn, "is_validator_function", False):  # Gradio prints those itself
                    log.warning("refused: %s", message)
                raise gr.Error(message, print_exception=False) from None

    return QuietBlocks

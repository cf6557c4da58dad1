"""LangChain-native faces of the coach: a `BaseRetriever` and a `Runnable` (`Coach.as_retriever()`,
`Coach.as_runnable()`).

`CoachRetriever` is the coach's hybrid retrieval (dense + BM25, RRF) returning `Document`s, so it drops
into any LCEL chain. `CoachRunnable` is the whole coach: `invoke`/`batch`/`stream` and their async forms
return the same typed `Answer` as `Coach.ask`; `stream` yields the answer's text pieces (str) and then
the final `Answer`. Config and callbacks flow through, so with LangSmith's environment variables set
(`LANGSMITH_TRACING=true`, `LANGSMITH_API_KEY`, `LANGSMITH_PROJECT`) every answer is one trace whose
child runs are the pipeline's steps:

    cto_coach (chain)
    ├── understand (chain)      input checks, intent, stage diagnosis, retrieval query
    ├── retrieve (retriever)    hybrid retrieval → the passages as Documents
    ├── compose (chain)         extractive answer, or the LLM's draft (the chat model run nests here)
    └── verify (chain)          LLM mode: every drafted sentence checked against its citation

The step boundaries come from `Coach.stream(..., steps=...)`, an observe-only hook; the verify step
starts when the chat model nested under compose finishes its draft (seen through a callback), so
nothing here changes what the coach computes. Extractive answers quote the article verbatim and have
no verify step. Nothing here imports LangSmith; tracing is whatever callbacks the config carries.

About 370 lines, on purpose: the retriever, the runnable and the step tracer that turns
`Coach.stream`'s step hook into nested LangChain runs are one adapter over one interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import threading
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig, RunnableSerializable
from langchain_core.runnables.config import get_callback_manager_for_config, patch_config
from pydantic import ConfigDict, Field

from assistant.errors import InputError
from assistant.types import Answer, Delta, Final, Passage

if TYPE_CHECKING:
    from assistant.coach import Coach

RUN_NAME = "cto_coach"


# --- documents -------------------------------------------------------------------------------------

def passage_document(p: Passage) -> Document:
    """A retrieved passage as a LangChain `Document` (text + where it comes from + its scores)."""
    c = p.chunk
    return Document(
        id=c.id,
        page_content=c.text,
        metadata={
            "id": c.id, "doc_id": c.doc_id, "stage": c.stage, "section": c.section, "voice": c.voice,
            "author": c.author, "title": c.title, "score": p.score, "dense": p.dense, "bm25": p.bm25,
        },
    )


def format_docs(docs: list[Document]) -> str:
    """Numbered passages with their stage and author, ready for a prompt: `[1] (2단계 · summary · Hosang Jeon) …`."""
    lines = []
    for i, d in enumerate(docs, 1):
        m = d.metadata
        stage = f"{m['stage']}단계" if m.get("stage") else "전체"
        lines.append(f"[{i}] ({stage} · {m.get('section', '')} · {m.get('author', '')}) {d.page_content}")
    return "\n\n".join(lines)


def _check_stage(stage: object) -> int | None:
    if stage is None:
        return None
    if isinstance(stage, bool) or not isinstance(stage, int | str) or str(stage).strip() not in ("1", "2", "3", "4"):
        raise InputError(f"stage must be 1-4 or None, got {stage!r}")
    return int(str(stage).strip())


class CoachRetriever(BaseRetriever):
    """The coach's hybrid retriever as a LangChain retriever.

    `stage` keeps only that stage's passages (1 암흑기 … 4 성숙기); `k` is how many documents to
    return (default: the coach's `top_k`). Without `stage`, the stage the query implies ("직원 20명",
    "성장기", …) gets the coach's stage boost, as when the coach answers; `diagnose=False` turns that off. Documents come best first, `metadata["score"]` being the
    fused RRF score, `dense` the cosine and `bm25` the BM25 score (None when that retriever missed it).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    coach: Any = Field(exclude=True)
    stage: int | None = None
    k: int | None = None
    diagnose: bool = True

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        coach = self.coach
        coach.refresh()
        k = self.k or coach.settings.top_k
        retriever = coach.retriever
        if self.stage is None:
            stage: int | None = None
            stages: tuple[int, ...] = ()
            if self.diagnose:
                from assistant.understand.diagnosis import diagnose

                diagnosis = diagnose(query, [])
                stage, stages = diagnosis.stage, diagnosis.stages
            passages = retriever.retrieve(query, k, stage, stages)
        else:
            # Every passage of the stage is a candidate (the stage boost adds them): rank, then filter.
            ranked = retriever.retrieve(query, len(retriever.chunks), self.stage)
            passages = [p for p in ranked if p.chunk.stage == self.stage][:k]
        return [passage_document(p) for p in passages]


def make_retriever(coach: Coach, stage: int | str | None = None, k: int | None = None, *,
                   diagnose: bool = True) -> CoachRetriever:
    if k is not None and (not isinstance(k, int) or isinstance(k, bool) or k < 1):
        raise InputError(f"k must be a positive integer, got {k!r}")
    stage_ = _check_stage(stage)
    tags = ["cto_coach"] + ([f"stage:{stage_}"] if stage_ else [])
    return CoachRetriever(coach=coach, stage=stage_, k=k, diagnose=diagnose, tags=tags)


# --- the coach as a Runnable -------------------------------------------------------------------------

def _parse_input(value: Any) -> tuple[Any, Any, Any]:
    """(question, history, stage) from a str or a {"question", "history", "stage"} mapping."""
    if isinstance(value, str):
        return value, None, None
    if isinstance(value, dict):
        unknown = set(value) - {"question", "input", "history", "stage"}
        if unknown:
            raise InputError(f"unknown input key(s) {', '.join(sorted(map(str, unknown)))}; "
                             "expected 'question' and optionally 'history' and 'stage'")
        question = value.get("question", value.get("input"))
        return question, value.get("history"), value.get("stage")
    raise InputError(f"input must be a question (str) or a dict with 'question', got {type(value).__name__}")


def _jsonable(value: Any, depth: int = 0) -> Any:
    """What a step's data looks like in a trace: plain JSON, passages as short summaries."""
    if isinstance(value, Passage):
        return {"id": value.chunk.id, "stage": value.chunk.stage, "section": value.chunk.section,
                "score": round(value.score, 5), "dense": value.dense, "bm25": value.bm25}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if depth > 4:
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, depth + 1) for v in value]
    return str(value)


def _answer_outputs(answer: Answer) -> dict[str, Any]:
    return {"answer": answer.text, "kind": answer.kind, "stage": answer.stage, "mode": answer.mode,
            "notice": answer.notice, "citations": [c.id for c in answer.citations]}


class _DraftWatcher(BaseCallbackHandler):
    """Tells the step tracer when the chat model nested under `compose` has finished its draft."""

    run_inline = True

    def __init__(self, steps: _StepTracer, parent: UUID):
        self.steps = steps
        self.parent = parent

    def on_llm_end(self, response: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any) -> None:
        if parent_run_id == self.parent:
            text = ""
            with contextlib.suppress(AttributeError, IndexError, TypeError):
                text = response.generations[0][0].text
            self.steps.draft_done(text)


class _StepTracer:
    """Turns `Coach.stream`'s step markers into child runs of the runnable's own run.

    Each marker `(name, data)` ends the open step (its outputs = `data`, what the next step starts
    from) and starts `name`. While a step is open, LangChain calls made inside it (the chat model)
    see the step's callbacks through `var_child_runnable_config`, so they nest under it.
    """

    def __init__(self, config: RunnableConfig):
        self.config = config  # the coach run's child config: its callbacks' parent is the coach's run
        self.name: str | None = None
        self.run: Any = None  # the open step's run manager
        self._ctx: tuple[Any, Any] | None = None
        self._verify_started = False

    def __call__(self, name: str, data: dict[str, Any]) -> None:
        self._end(data)
        self._start(name, data)

    def _manager(self) -> Any:
        # Configured like a nested Runnable's: handlers set by context or environment (LangSmith's
        # tracer, `collect_runs`, `tracing_v2_enabled`) are added here as they would be there.
        return get_callback_manager_for_config(self.config)

    def _start(self, name: str, data: dict[str, Any]) -> None:
        self.name = name
        if name == "retrieve":
            self.run = self._manager().on_retriever_start(None, str(data.get("query", "")), name=name)
        else:
            self.run = self._manager().on_chain_start(None, _jsonable(data), name=name, run_type="chain")
        child = self.run.get_child()
        if name == "compose":
            child.add_handler(_DraftWatcher(self, self.run.run_id), inherit=True)
        self._enter(patch_config(self.config, callbacks=child))

    def _end(self, outputs: Any, error: BaseException | None = None) -> None:
        if self.run is None:
            return
        run, self.run = self.run, None
        self._exit()
        if error is not None:
            (run.on_retriever_error if self.name == "retrieve" else run.on_chain_error)(error)
        elif self.name == "retrieve":
            passages = outputs.get("passages", []) if isinstance(outputs, dict) else []
            run.on_retriever_end([passage_document(p) for p in passages])
        else:
            run.on_chain_end(_jsonable(outputs))

    def draft_done(self, draft: str) -> None:
        """The LLM's draft is complete: what follows until the answer is its verification."""
        if self.name != "compose" or self._verify_started or self.run is None:
            return
        self._verify_started = True
        self._end({"draft": draft})
        self._start("verify", {"draft": draft})

    def finish(self, answer: Answer) -> None:
        self._end(_answer_outputs(answer))

    def fail(self, error: BaseException) -> None:
        self._end(None, error)

    # The child config is set in the current context and reset when the step ends: the coach's
    # generator runs in one context for the whole answer (see CoachRunnable.stream/astream).
    def _enter(self, config: RunnableConfig) -> None:
        from langchain_core.runnables.config import _set_config_context

        self._ctx = _set_config_context(config)

    def _exit(self) -> None:
        if self._ctx is None:
            return
        from langchain_core.runnables.config import var_child_runnable_config
        from langsmith.run_helpers import _set_tracing_context

        token, previous = self._ctx
        self._ctx = None
        try:
            var_child_runnable_config.reset(token)
        except ValueError:  # reset from another context: nothing to undo there
            return
        if previous is not None:
            _set_tracing_context(previous)


class CoachRunnable(RunnableSerializable[Any, Answer]):
    """The coach as a Runnable: `str | {"question", "history", "stage"}` → `Answer`.

    `stream`/`astream` yield the answer text in pieces (str), then the final `Answer` (in LLM mode
    the final text is the verified one and may differ from the streamed draft).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    coach: Any = Field(exclude=True)
    name: str | None = RUN_NAME

    @property
    def InputType(self) -> Any:
        return str | dict

    @property
    def OutputType(self) -> Any:
        return Answer

    def _events(self, value: Any, run_manager: Any, config: RunnableConfig) -> Iterator[str | Answer]:
        question, history, stage = _parse_input(value)
        steps = _StepTracer(config)
        try:
            for event in self.coach.stream(question, history, stage, steps=steps):
                if isinstance(event, Delta):
                    yield event.text
                elif isinstance(event, Final):
                    steps.finish(event.answer)
                    yield event.answer
        except GeneratorExit:
            steps.fail(RuntimeError("the stream was closed before the answer was complete"))
            raise
        except BaseException as exc:
            steps.fail(exc)
            raise

    def _invoke(self, value: Any, run_manager: Any, config: RunnableConfig) -> Answer:
        answer = None
        for item in self._events(value, run_manager, config):
            if isinstance(item, Answer):
                answer = item
        if answer is None:  # pragma: no cover - Coach.stream always ends with Final
            raise RuntimeError("the coach produced no answer")
        return answer

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Answer:
        return self._call_with_config(self._invoke, input, config, run_type="chain")

    def _transform(self, inputs: Iterator[Any], run_manager: Any, config: RunnableConfig) -> Iterator[str | Answer]:
        final: Any = None
        for final in inputs:  # noqa: B007 - the whole input, like any non-streaming-input runnable
            pass
        yield from self._events(final, run_manager, config)

    # The stream yields text pieces, then the Answer: wider than Runnable[Any, Answer].stream promises.
    def stream(self, input: Any, config: RunnableConfig | None = None,  # type: ignore[override]
               **kwargs: Any) -> Iterator[str | Answer]:
        yield from self._transform_stream_with_config(iter([input]), self._transform, config)  # type: ignore[arg-type]

    async def astream(self, input: Any, config: RunnableConfig | None = None,  # type: ignore[override]
                      **kwargs: Any) -> AsyncIterator[str | Answer]:
        """`stream` on a worker thread (one context for the whole answer), forwarded as it comes."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue()
        stop = threading.Event()
        ctx = contextvars.copy_context()

        def work() -> None:
            try:
                it = self.stream(input, config, **kwargs)
                try:
                    for item in it:
                        loop.call_soon_threadsafe(queue.put_nowait, (False, item))
                        if stop.is_set():
                            break
                finally:
                    getattr(it, "close", lambda: None)()
            except BaseException as exc:
                loop.call_soon_threadsafe(queue.put_nowait, (True, exc))
            else:
                loop.call_soon_threadsafe(queue.put_nowait, (True, None))

        worker = loop.run_in_executor(None, ctx.run, work)
        try:
            while True:
                done, item = await queue.get()
                if done:
                    if item is not None:
                        raise item
                    break
                yield item
        finally:
            stop.set()
            await asyncio.shield(worker)


def make_runnable(coach: Coach) -> CoachRunnable:
    return CoachRunnable(coach=coach)


__all__ = ["CoachRetriever", "CoachRunnable", "format_docs", "make_retriever", "make_runnable", "passage_document"]

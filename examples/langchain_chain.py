"""CTO Coach inside your own LangChain code.

    python examples/langchain_chain.py "직원 20명인데 CTO로서 뭘 해야 하죠?"

1. The coach's retriever in your own LCEL chain, with your own prompt and chat model: the one
   `CTO_COACH_LLM` names (e.g. `openai:gpt-4o-mini`, `ollama:qwen2.5`), or, with no LLM configured,
   a fake model, so this runs offline.
2. The whole coach as a Runnable: `invoke`, `stream` (text pieces, then the final `Answer`), `batch`.

Settings come from the `CTO_COACH_*` environment variables (the index is built on first use).
Set `LANGSMITH_TRACING=true` and `LANGSMITH_API_KEY` to see every answer and its steps in LangSmith.
"""

from __future__ import annotations

import sys

from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough

from assistant.coach import Coach
from assistant.lc import format_docs
from assistant.settings import load_settings
from assistant.types import Answer


def chat_model(settings):
    if not settings.llm:
        return FakeListChatModel(responses=["(offline fake model: set CTO_COACH_LLM for a real answer) "
                                            "The passages above are what your model would answer from."])
    from langchain.chat_models import init_chat_model

    kwargs = {}
    if settings.llm_base_url:
        kwargs["base_url"] = settings.llm_base_url
    if settings.llm_api_key:
        kwargs["api_key"] = settings.llm_api_key.get_secret_value()
    return init_chat_model(settings.llm, temperature=0, **kwargs)


def main(question: str) -> None:
    settings = load_settings()
    coach = Coach.from_settings(settings)

    # 1. The coach's retriever in your own chain.
    prompt = ChatPromptTemplate.from_messages([
        ("system", "You coach CTOs. Answer only from these passages and cite them as [n].\n\n{context}"),
        ("human", "{question}"),
    ])
    chain = (
        {"context": coach.as_retriever(k=3) | format_docs, "question": RunnablePassthrough()}
        | prompt
        | chat_model(settings)
        | StrOutputParser()
    )
    print("== passages your model gets ==")
    print(format_docs(coach.as_retriever(k=3).invoke(question)))
    print("\n== your chain's answer ==")
    print(chain.invoke(question))

    # 2. The coach itself as a Runnable.
    coach_runnable = coach.as_runnable()
    print("\n== coach.as_runnable().stream ==")
    answer = None
    for piece in coach_runnable.stream({"question": question}):
        if isinstance(piece, Answer):
            answer = piece
        else:
            print(piece, end="", flush=True)
    assert answer is not None
    print(f"\n(stage {answer.stage}, {len(answer.citations)} citations, mode {answer.mode})")

    print("\n== coach.as_runnable().batch ==")
    for a in coach_runnable.batch(["암흑기 CTO에게 필요한 능력은?", {"question": "CTO는 무엇을 해야 하나요?", "stage": 4}]):
        print(f"- stage {a.stage} · {a.kind}: {a.text.splitlines()[0]}")


if __name__ == "__main__":
    main(" ".join(sys.argv[1:]) or "직원 20명인데 CTO로서 뭘 해야 하죠?")

"""`make bench`: latency, start-up, memory and scale benchmarks, side by side with a textbook
LangChain RAG pipeline. Run `python -m bench.run --help`; see bench/README.md."""

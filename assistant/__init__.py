"""CTO Coach: what a CTO should do at your company's stage, every sentence cited from its source.

Entry point: `Coach.from_settings(load_settings())` then `.ask(question, history)`.
Heavy modules (chromadb, gradio, torch) are imported lazily by the parts that need them.
"""

__version__ = "0.1.0"

__all__ = ["Coach", "Settings", "load_settings"]


def __getattr__(name: str):
    if name == "Coach":
        from .coach import Coach

        return Coach
    if name in ("Settings", "load_settings"):
        from . import settings

        return getattr(settings, name)
    raise AttributeError(name)

"""Typed errors raised by the library.

The library never prints; the edges (CLI, UI) turn a `CoachError` into one readable line. Each
subclass says what went wrong *and* what to do about it, because the user reading the message has
no traceback to go on.
"""

from __future__ import annotations


class CoachError(Exception):
    """Base class: `str(err)` is the full user-facing message."""

    exit_code = 2


class SettingsError(CoachError):
    """A setting is unknown or has an invalid value."""


class CorpusError(CoachError):
    """A corpus document cannot be read or parsed; the message names the file."""

    keep_indexed = True  # False for entries that are not regular files: their old chunks are dropped

    def __init__(self, path: object, problem: str):
        self.path = path
        super().__init__(f"{path}: {problem}")


class EmbedderError(CoachError):
    """The embedder spec is unknown or its backend cannot be loaded."""


class IndexError_(CoachError):
    """The index is missing, corrupt, unwritable or was built differently."""


class IndexMissingError(IndexError_):
    pass


class IndexMismatchError(IndexError_):
    """The index was built with another embedder/chunker: mixing vectors would give garbage."""


class IndexUnavailableError(IndexError_):
    """The store cannot be opened (corrupt files, permissions, Chroma server down)."""


class InputError(CoachError):
    """A question, history or batch line is not acceptable."""


class LLMError(CoachError):
    """The LLM provider failed (after retries) or is misconfigured."""


class FeedbackError(CoachError):
    """Feedback cannot be stored or exported."""

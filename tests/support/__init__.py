"""Helpers shared by several test modules (imported as `tests.support.*`; not tests themselves)."""

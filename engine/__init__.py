"""The pipeline engine: loads workflows, runs Claude steps and streams their tokens as events.

A library with no UI: it must not import textual or tui (an import-linter contract checks this).
"""

__version__ = "0.1.0"

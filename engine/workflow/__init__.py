"""Workflow files: the typed model, loading with positions, and validation with precise diagnostics."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engine.workflow.errors import Diagnostic, WorkflowError
from engine.workflow.loader import LoadResult, check_workflow, load_workflow, parse_workflow, workflow_files

if TYPE_CHECKING:
    from engine.workflow.model import (
        BatchConfig,
        BatchTask,
        ClaudeBatchStep,
        ClaudeExtractStep,
        ClaudeOptions,
        ClaudeRobustStep,
        ClaudeSessionStep,
        ClaudeSmartStep,
        ClaudeStep,
        Defaults,
        ExtractionConfig,
        FilePart,
        ParallelClaudeStep,
        ParallelTask,
        PreviousResponsePart,
        PromptPart,
        RetryConfig,
        SessionConfig,
        SessionContextPart,
        StaticPart,
        Step,
        Workflow,
    )

# The model classes load on first use: they need pydantic's model machinery, which `pipeline validate`
# does without (see `check_workflow`) to start fast.
_MODEL_NAMES = frozenset(
    {
        "BatchConfig",
        "BatchTask",
        "ClaudeBatchStep",
        "ClaudeExtractStep",
        "ClaudeOptions",
        "ClaudeRobustStep",
        "ClaudeSessionStep",
        "ClaudeSmartStep",
        "ClaudeStep",
        "Defaults",
        "ExtractionConfig",
        "FilePart",
        "ParallelClaudeStep",
        "ParallelTask",
        "PreviousResponsePart",
        "PromptPart",
        "RetryConfig",
        "SessionConfig",
        "SessionContextPart",
        "StaticPart",
        "Step",
        "Workflow",
    }
)


def __getattr__(name: str) -> Any:
    if name in _MODEL_NAMES:
        return getattr(importlib.import_module("engine.workflow.model"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BatchConfig",
    "BatchTask",
    "ClaudeBatchStep",
    "ClaudeExtractStep",
    "ClaudeOptions",
    "ClaudeRobustStep",
    "ClaudeSessionStep",
    "ClaudeSmartStep",
    "ClaudeStep",
    "Defaults",
    "Diagnostic",
    "ExtractionConfig",
    "FilePart",
    "LoadResult",
    "ParallelClaudeStep",
    "ParallelTask",
    "PreviousResponsePart",
    "PromptPart",
    "RetryConfig",
    "SessionConfig",
    "SessionContextPart",
    "StaticPart",
    "Step",
    "Workflow",
    "WorkflowError",
    "check_workflow",
    "load_workflow",
    "parse_workflow",
    "workflow_files",
]

"""Workflow files: the typed model, loading with positions, and validation with precise diagnostics.

The model classes live in `engine.workflow.model`; importing it costs pydantic's model machinery,
which `pipeline validate` does without (see `check_workflow`) to start fast.
"""

from __future__ import annotations

from engine.workflow.errors import Diagnostic, WorkflowError
from engine.workflow.loader import LoadResult, check_workflow, load_workflow, parse_workflow, workflow_files

__all__ = [
    "Diagnostic",
    "LoadResult",
    "WorkflowError",
    "check_workflow",
    "load_workflow",
    "parse_workflow",
    "workflow_files",
]

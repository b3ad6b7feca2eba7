"""Workflow files: the typed model (`engine.workflow.model`), loading with positions, and validation
with precise diagnostics. Nothing here imports the SDK-backed engine: `pipeline validate` starts fast.
"""

from __future__ import annotations

from engine.workflow.errors import Diagnostic, WorkflowError
from engine.workflow.loader import LoadResult, load_workflow, parse_workflow, workflow_files

__all__ = [
    "Diagnostic",
    "LoadResult",
    "WorkflowError",
    "load_workflow",
    "parse_workflow",
    "workflow_files",
]

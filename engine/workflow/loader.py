"""`load_workflow`: read a workflow file, validate everything at once, and return the model or diagnostics."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from engine.workflow.checks import run_checks
from engine.workflow.errors import Diagnostic, WorkflowError
from engine.workflow.model import Workflow
from engine.workflow.normalize import Normalizer, adopt_bare_workflow
from engine.workflow.report import Report
from engine.workflow.yaml_source import SourceError, YamlDocument, parse_yaml, read_yaml


@dataclass(frozen=True)
class LoadResult:
    """The workflow (None when there are errors) and every diagnostic, sorted by position."""

    workflow: Workflow | None
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> Workflow:
        """The workflow, or `WorkflowError` carrying the errors."""
        if self.workflow is None:
            raise WorkflowError(self.errors)
        return self.workflow


SCENARIO_SUFFIX = ".scenario.yaml"


def workflow_files(folder: Path) -> list[Path]:
    """The workflow files directly in `folder`; simulator scenarios shipped beside them are not workflows."""
    files = [*folder.glob("*.yaml"), *folder.glob("*.yml")]
    return sorted(path for path in files if not path.name.endswith(SCENARIO_SUFFIX))


def load_workflow(path: str | os.PathLike[str], vars: Mapping[str, str] | None = None) -> LoadResult:
    """Load and validate a workflow file; never raises for mistakes in the file."""
    source = Path(path)
    try:
        document = read_yaml(source)
    except SourceError as error:
        return LoadResult(None, [Diagnostic(str(path), error.line, error.col, "", error.message)])
    return _validate(document, str(path), source, vars or {})


def parse_workflow(text: str, source: str = "<string>", vars: Mapping[str, str] | None = None) -> LoadResult:
    """Validate workflow YAML given as text (relative file parts resolve against the current folder)."""
    try:
        document = parse_yaml(text)
    except SourceError as error:
        return LoadResult(None, [Diagnostic(source, error.line, error.col, "", error.message)])
    return _validate(document, source, Path(source), vars or {})


def _validate(document: YamlDocument, file: str, source: Path, cli_vars: Mapping[str, str]) -> LoadResult:
    bare = adopt_bare_workflow(document)
    report = Report(file, document)
    if bare:
        report.at_value(
            ("workflow",), "no top-level 'workflow:' key: the file is read as the workflow itself", "warning"
        )
    for mark, path, message in document.problems:
        report.add(mark, path, message)
    normalized = Normalizer(report, cli_vars).run(document.data)
    workflow = None
    if normalized.workflow is not None:
        model_input = normalized.workflow
        model_input.put("source", source, ("workflow",))
        try:
            workflow = Workflow.model_validate(model_input)
        except ValidationError as error:
            report.validation_errors(model_input, error.errors(include_url=False))
        run_checks(normalized, report, document, source.parent)
    errors = report.errors
    return LoadResult(None if errors else workflow, errors, report.warnings)

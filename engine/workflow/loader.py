"""`load_workflow`: read a workflow file, validate everything at once, and return the model or diagnostics."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic_core import SchemaValidator, ValidationError

from engine.workflow.checks import run_checks
from engine.workflow.errors import Diagnostic, WorkflowError
from engine.workflow.normalize import Normalizer
from engine.workflow.report import Report
from engine.workflow.sourced import Src
from engine.workflow.yaml_source import SourceError, YamlDocument, parse_yaml, read_yaml

if TYPE_CHECKING:
    from engine.workflow.model import Workflow

# Validates normalized model input: returns the model (or None) and raises pydantic's ValidationError.
Validate = Callable[[Src, Path], "Workflow | None"]


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
    return _validate(document, str(path), source, vars or {}, _build_model)


def check_workflow(path: str | os.PathLike[str], vars: Mapping[str, str] | None = None) -> LoadResult:
    """The diagnostics `load_workflow` gives for a file, without building the model (`workflow` is
    always None). For `pipeline validate`: it validates with the compiled schema (generated.py), so it
    never imports pydantic's model machinery and starts several times faster."""
    source = Path(path)
    try:
        document = read_yaml(source)
    except SourceError as error:
        return LoadResult(None, [Diagnostic(str(path), error.line, error.col, "", error.message)])
    return _validate(document, str(path), source, vars or {}, _check_only)


def parse_workflow(text: str, source: str = "<string>", vars: Mapping[str, str] | None = None) -> LoadResult:
    """Validate workflow YAML given as text (relative file parts resolve against the current folder)."""
    try:
        document = parse_yaml(text)
    except SourceError as error:
        return LoadResult(None, [Diagnostic(source, error.line, error.col, "", error.message)])
    return _validate(document, source, Path(source), vars or {}, _build_model)


def _build_model(model_input: Src, source: Path) -> Workflow:
    from engine.workflow.model import Workflow  # pydantic's model machinery: only when a model is wanted

    model_input.put("source", source, ("workflow",))
    return Workflow.model_validate(model_input)


@functools.cache
def _compiled_validator() -> SchemaValidator:
    from engine.workflow.generated import workflow_schema

    return SchemaValidator(workflow_schema())  # type: ignore[arg-type]  # plain data, made by codegen.py


def _check_only(model_input: Src, source: Path) -> None:
    _compiled_validator().validate_python(model_input)


def _validate(
    document: YamlDocument, file: str, source: Path, cli_vars: Mapping[str, str], validate: Validate
) -> LoadResult:
    report = Report(file, document)
    for mark, path, message in document.problems:
        report.add(mark, path, message)
    normalized = Normalizer(report, cli_vars).run(document.data)
    workflow = None
    if normalized.workflow is not None:
        model_input = normalized.workflow
        try:
            workflow = validate(model_input, source)
        except ValidationError as error:
            report.validation_errors(model_input, error.errors(include_url=False))
        run_checks(normalized, report, document, source.parent)
    errors = report.errors
    return LoadResult(None if errors else workflow, errors, report.warnings)

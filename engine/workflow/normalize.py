"""Turns raw YAML data into model input: pipeline_ex spellings mapped, unknown keys reported with a
did-you-mean, and workflow defaults and presets merged under each step's claude_options.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from typing import Any, NamedTuple

from pydantic import BaseModel

from engine.workflow import compat
from engine.workflow.model import (
    PART_MODELS,
    RETRY_REASONS,
    BatchConfig,
    BatchTask,
    ClaudeOptions,
    Defaults,
    ExtractionConfig,
    ParallelTask,
    RetryConfig,
    SessionConfig,
    Workflow,
    handler_option_keys,
    is_keyed_by_handler,
)
from engine.workflow.presets import PRESETS, preset_options
from engine.workflow.registry import HANDLERS, STEP_TYPES
from engine.workflow.report import Report, describe_value
from engine.workflow.sourced import Src, SrcList, from_plain, merge
from engine.workflow.suggest import closest, did_you_mean, one_of
from engine.workflow.yaml_source import RawPath, YamlDocument

# Fields of a step model that hold tasks, and the model of each task.
TASK_MODELS: dict[str, type[BaseModel]] = {"tasks": BatchTask, "parallel_tasks": ParallelTask}


def input_keys(model: type[BaseModel]) -> list[str]:
    """The keys a file may use for `model` (aliases where a field has one; never a field the loader
    sets itself, such as `Workflow.source`)."""
    return [info.alias or name for name, info in model.model_fields.items() if not info.exclude]


def adopt_bare_workflow(document: YamlDocument) -> bool:
    """pipeline_ex's generated files may leave out `workflow:`: a mapping with `steps` and no `workflow`
    key is unambiguous, and is read as the workflow itself (positions moved under `workflow`)."""
    data = document.data
    if not (isinstance(data, dict) and "workflow" not in data and "steps" in data):
        return False
    document.data = {"workflow": data}
    document.values = {("workflow", *path): mark for path, mark in document.values.items()}
    document.keys = {("workflow", *path): mark for path, mark in document.keys.items()}
    document.problems = [(mark, ("workflow", *path), message) for mark, path, message in document.problems]
    return True


class StepSeen(NamedTuple):  # not a dataclass: see errors.Diagnostic
    """A step as written, supported or not, so references to it can be checked without cascades."""

    index: int
    name: str | None


class Normalized:
    """Model input for the whole workflow (None when the file is not a workflow at all), and its steps
    as written."""

    def __init__(self, workflow: Src | None) -> None:
        self.workflow = workflow
        self.steps_seen: list[StepSeen] = []


class Normalizer:
    def __init__(self, report: Report, cli_vars: Mapping[str, str]) -> None:
        self.report = report
        self.cli_vars = dict(cli_vars)
        self.workspace_dir = "./workspace"
        # Read from the registry now, not at import: a step type may be registered after this module.
        self.step_types = tuple(STEP_TYPES)
        self.step_keys = frozenset(key for step in STEP_TYPES.values() for key in input_keys(step.model))
        self.option_keys = frozenset(input_keys(ClaudeOptions))

    def run(self, data: Any) -> Normalized:
        if not isinstance(data, dict):
            self.report.at_value(
                (), f"expected a mapping with a 'workflow' key at the top, got {describe_value(data)}"
            )
            return Normalized(None)
        if "workflow" not in data:
            if any(key in input_keys(Workflow) for key in data):
                self.report.at_value((), "missing the top-level 'workflow:' key: indent these keys under it")
            else:
                self.report.at_value((), "missing the top-level 'workflow' key")
            return Normalized(None)
        for key in data:
            if key in compat.TOP_LEVEL_IGNORED:
                self.report.at_key(
                    (key,), compat.ignored_message(key, compat.TOP_LEVEL_IGNORED[key]), "warning"
                )
            elif key != "workflow":
                self.report.at_key((key,), f"unknown top-level key '{key}'; expected only 'workflow'")
        raw = data["workflow"]
        if not isinstance(raw, dict):
            self.report.at_value(("workflow",), f"expected a mapping, got {describe_value(raw)}")
            return Normalized(None)
        return self._workflow(raw, ("workflow",))

    # Generic key handling ------------------------------------------------------------------------

    def keys(
        self,
        raw: dict[str, Any],
        path: RawPath,
        known: Collection[str],
        *,
        renames: Mapping[str, compat.Rename] | None = None,
        ignored: Mapping[str, str] | None = None,
        where: str = "",
    ) -> Src:
        """Copy the known keys of `raw`; map renamed ones, warn on no-op ones, report unknown ones."""
        renames = renames or {}
        ignored = ignored or {}
        result = Src(path)
        for key, value in raw.items():
            key_path = (*path, key)
            if key in known:
                result.put(key, value, key_path)
            elif key in renames:
                new_key, convert = renames[key]
                if new_key in raw:
                    self.report.at_key(
                        key_path, f"give either '{new_key}' or '{key}' (its pipeline_ex spelling)"
                    )
                    continue
                result.put(new_key, convert(value) if convert else value, key_path)
            elif key in ignored:
                self.report.at_key(key_path, compat.ignored_message(key, ignored[key]), "warning")
            else:
                self.report.at_key(key_path, self._unknown_key(key, known, where))
        return result

    def _unknown_key(self, key: str, known: Collection[str], where: str) -> str:
        if where == "step" and key in self.option_keys:
            return f"'{key}' belongs under claude_options"
        if where == "claude_options" and key in self.step_keys:
            return f"'{key}' belongs on the step, not under claude_options"
        match = closest(key, known)
        if match:
            return f"unknown key '{key}'; did you mean '{match}'?"
        return f"unknown key '{key}'; expected one of: {', '.join(sorted(known))}"

    def mapping(self, raw: Any, path: RawPath, model: type[BaseModel], **kwargs: Any) -> Any:
        """`keys()` for a nested mapping; anything else passes through for the model to reject."""
        if not isinstance(raw, dict):
            return raw
        return self.keys(raw, path, input_keys(model), **kwargs)

    # Workflow level ------------------------------------------------------------------------------

    def _workflow(self, raw: dict[str, Any], path: RawPath) -> Normalized:
        if isinstance(raw.get("workspace_dir"), str):
            self.workspace_dir = raw["workspace_dir"]
        src = self.keys(raw, path, input_keys(Workflow), ignored=compat.WORKFLOW_IGNORED, where="workflow")
        base, default_preset = Src(path), None
        if isinstance(raw.get("defaults"), dict):
            defaults = self._defaults(raw["defaults"], (*path, "defaults"))
            src.put("defaults", defaults, (*path, "defaults"))
            if isinstance(defaults.get("model"), str):
                base.put("model", defaults["model"], defaults.origin("model"))
            if isinstance(defaults.get("claude_options"), Src):
                base = merge(base, defaults["claude_options"])
            if isinstance(defaults.get("preset"), str):
                default_preset = (defaults["preset"], defaults.origin("preset"))
        self._vars(src, path)
        normalized = Normalized(src)
        raw_steps = raw.get("steps")
        if isinstance(raw_steps, list):
            steps = SrcList((*path, "steps"))
            for index, raw_step in enumerate(raw_steps):
                step_path = (*path, "steps", index)
                step = self._step(raw_step, step_path, base, default_preset, normalized.steps_seen, index)
                if step is not None:
                    steps.add(step, step_path)
            src.put("steps", steps, (*path, "steps"))
        elif "steps" not in raw:
            self.report.at_value(path, "missing required key 'steps'")
        return normalized

    def _defaults(self, raw: dict[str, Any], path: RawPath) -> Src:
        src = self.keys(
            raw,
            path,
            input_keys(Defaults),
            renames=compat.DEFAULTS_RENAMES,
            ignored=compat.DEFAULTS_IGNORED,
        )
        if isinstance(src.get("claude_options"), dict):
            src.put(
                "claude_options",
                self._options(src["claude_options"], src.origin("claude_options")),
                src.origin("claude_options"),
            )
        return src

    def _vars(self, src: Src, path: RawPath) -> None:
        values = src.get("vars")
        if values is None and not self.cli_vars:
            return
        merged = Src((*path, "vars"))
        if isinstance(values, dict):
            for key, value in values.items():
                merged.put(key, value, (*path, "vars", key))
        elif values is not None:
            return
        for key, value in self.cli_vars.items():
            merged.put(key, value, ("--var", key))
        src.put("vars", merged, (*path, "vars"))

    # Steps ---------------------------------------------------------------------------------------

    def _step(
        self,
        raw: Any,
        path: RawPath,
        base: Src,
        default_preset: tuple[str, RawPath] | None,
        seen: list[StepSeen],
        index: int,
    ) -> Src | None:
        if not isinstance(raw, dict):
            self.report.at_value(
                path, f"expected a step (a mapping with name, type, prompt), got {describe_value(raw)}"
            )
            return None
        name = raw.get("name") if isinstance(raw.get("name"), str) else None
        step_type = raw.get("type")
        if step_type is None:
            self.report.at_value(path, f"missing required key 'type'; expected {one_of(self.step_types)}")
        elif not isinstance(step_type, str):
            self.report.at_value((*path, "type"), f"expected a step type, got {describe_value(step_type)}")
        elif step_type in compat.UNSUPPORTED_STEP_TYPES:
            self.report.at_value(
                (*path, "type"),
                f"step type '{step_type}' is not supported: this runner runs Claude steps "
                f"({', '.join(self.step_types)})",
            )
        elif step_type not in STEP_TYPES:
            match = closest(step_type, self.step_types)
            hint = f"; did you mean '{match}'?" if match else f"; expected {one_of(self.step_types)}"
            self.report.at_value((*path, "type"), f"unknown step type '{step_type}'{hint}")
        seen.append(StepSeen(index, name))
        if not (isinstance(step_type, str) and step_type in STEP_TYPES):
            return None
        model = STEP_TYPES[step_type].model
        fields = model.model_fields
        known = set(input_keys(model)) | {"preset", "retry_config"}
        src = self.keys(raw, path, known, ignored=compat.STEP_IGNORED, where="step")
        self._prompt_into(src, "prompt")
        if isinstance(src.get("condition"), str):
            earlier = {step.name for step in seen[:-1] if step.name}
            src.put("condition", compat.map_condition(src["condition"], earlier), src.origin("condition"))
        options = self._step_options(src, path, model, base, default_preset)
        src.put("claude_options", options, src.origin("claude_options"))
        # The parts some step models have, whatever their type is called.
        if "session_config" in fields and "session_config" in src:
            origin = src.origin("session_config")
            config = self.mapping(
                src["session_config"], origin, SessionConfig, ignored=compat.SESSION_CONFIG_IGNORED
            )
            src.put("session_config", config, origin)
        if "extraction_config" in fields and "extraction_config" in src:
            origin = src.origin("extraction_config")
            src.put("extraction_config", self._extraction(src["extraction_config"], origin), origin)
        if "batch_config" in fields and "batch_config" in src:
            origin = src.origin("batch_config")
            config = self.mapping(
                src["batch_config"], origin, BatchConfig, renames=compat.BATCH_CONFIG_RENAMES
            )
            src.put("batch_config", config, origin)
        for key, task_model in TASK_MODELS.items():
            if key in fields:
                self._tasks(src, key, task_model, options)
        if "items" in fields:
            self._items(src)
        return src

    def _step_options(
        self,
        src: Src,
        path: RawPath,
        model: type[BaseModel],
        base: Src,
        default_preset: tuple[str, RawPath] | None,
    ) -> Any:
        """The step's claude_options merged over its preset and the workflow defaults."""
        is_smart = "preset" in model.model_fields  # its own defaults come from a preset (claude_smart)
        preset: tuple[Any, RawPath] | None = None
        if "preset" in src:
            preset = (src["preset"], src.origin("preset"))
        elif is_smart:
            # As pipeline_ex does: the workflow's default preset, else development.
            preset = default_preset or (compat.DEFAULT_SMART_PRESET, path)
        merged = Src((*path, "claude_options"))
        if preset is not None:
            name, origin = preset
            if isinstance(name, str) and name in PRESETS:
                merged = from_plain(preset_options(name), origin)
            elif not is_smart:
                hint = did_you_mean(name, PRESETS) if isinstance(name, str) else ""
                self.report.at_value(origin, f"expected {one_of(PRESETS)}, got {describe_value(name)}{hint}")
            if is_smart:
                src.put("preset", name, origin)
        if not is_smart:
            src.pop("preset", None)
        merged = merge(merged, base)
        own = self._options(src.get("claude_options"), src.origin("claude_options"))
        if isinstance(own, Src):
            merged = merge(merged, own)
        elif own is not None:
            return own
        if "retry_config" in src:
            merged = self._step_retry(src, merged, own if isinstance(own, Src) else None)
        elif "retry_config" in model.model_fields:  # a step with its own retry_config (claude_robust)
            retry = merged.get("retry_config", Src((*path, "retry_config")))
            src.put("retry_config", retry, merged.origin("retry_config"))
        return merged

    def _step_retry(self, src: Src, merged: Src, own: Src | None) -> Src:
        """Step-level retry_config (claude_robust's own, pipeline_ex's anywhere) wins over claude_options'."""
        origin = src.origin("retry_config")
        step_retry = self._retry(src["retry_config"], origin)
        if not isinstance(step_retry, Src):
            return merged
        if own is not None and isinstance(own.get("retry_config"), Src):
            shadowed = [
                k for k, v in step_retry.items() if k in own["retry_config"] and own["retry_config"][k] != v
            ]
            if shadowed:
                self.report.at_key(
                    origin,
                    f"overrides claude_options.retry_config ({', '.join(shadowed)}): "
                    "the step's retry_config wins",
                    "warning",
                )
        below = merged.get("retry_config")
        effective = merge(below, step_retry) if isinstance(below, Src) else step_retry
        merged.put("retry_config", effective, origin)
        if src.get("type") == "claude_robust":
            src.put("retry_config", effective, origin)
        else:
            del src["retry_config"]
        return merged

    # claude_options ------------------------------------------------------------------------------

    def _options(self, raw: Any, path: RawPath) -> Any:
        if not isinstance(raw, dict):
            return raw
        if "cwd" in raw:
            cwd = self._cwd(raw["cwd"], (*path, "cwd"))
            raw = {key: value for key, value in raw.items() if key != "cwd" or cwd is not None}
            if cwd is not None:
                raw["cwd"] = cwd
        src = self.keys(
            raw,
            path,
            self.option_keys,
            renames=compat.OPTION_RENAMES,
            ignored=compat.OPTION_IGNORED,
            where="claude_options",
        )
        if "retry_config" in src:
            src.put(
                "retry_config",
                self._retry(src["retry_config"], src.origin("retry_config")),
                src.origin("retry_config"),
            )
        for key in ("allowed_tools", "disallowed_tools"):
            if key in src:
                src.put(
                    key,
                    self._tools(src[key], src.origin(key), allowing=key == "allowed_tools"),
                    src.origin(key),
                )
        if "stream_handler_opts" in src:
            origin = src.origin("stream_handler_opts")
            src.put("stream_handler_opts", self._handler_options(src["stream_handler_opts"], origin), origin)
        return src

    def _tools(self, raw: Any, path: RawPath, *, allowing: bool) -> Any:
        """Claude Code's tool names: read as ours where one does the same, else dropped with a warning;
        its permission rules (`Bash(git:*)`) are refused, since ignoring one would allow more or less."""
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list):
            return raw
        single = isinstance(raw, str)
        tools = SrcList(path)
        for index, name in enumerate(items):
            item_path = path if single else (*path, index)
            if not isinstance(name, str):
                tools.add(name, item_path)
            elif "(" in name and name.endswith(")"):
                self.report.at_value(item_path, compat.tool_rule_refusal(name))
            elif allowing and name in compat.TOOL_ALIASES:
                alias = compat.TOOL_ALIASES[name]
                self.report.at_value(
                    item_path, f"tool '{name}' (Claude Code's) is read as '{alias}'", "warning"
                )
                if alias not in tools:
                    tools.add(alias, item_path)
            elif (
                name in compat.TOOLS_IGNORED
                or name in compat.TOOL_ALIASES
                or name.startswith(compat.MCP_TOOL_PREFIX)
            ):
                reason = compat.TOOLS_IGNORED.get(name) or (
                    "MCP servers are not supported"
                    if name.startswith(compat.MCP_TOOL_PREFIX)
                    else f"there is no {name} tool to disallow"
                )
                self.report.at_value(
                    item_path,
                    f"tool '{name}' (Claude Code's) has no effect here and is ignored: {reason}",
                    "warning",
                )
            else:
                tools.add(name, item_path)
        return tools

    def _cwd(self, cwd: Any, path: RawPath) -> str | None:
        """A `cwd` inside the workspace, relative to it (Claude Code runs there); outside, a warning."""
        workspace = os.path.normpath(self.workspace_dir)
        if isinstance(cwd, str):
            target = os.path.normpath(cwd)
            if target == workspace or target.startswith(workspace + os.sep):
                return os.path.relpath(target, workspace)
        self.report.at_key(
            path,
            f"'cwd' {describe_value(cwd)} (outside the workspace) is ignored: tools always run in "
            f"workspace_dir '{self.workspace_dir}' and cannot leave it",
            "warning",
        )
        return None

    def _retry(self, raw: Any, path: RawPath) -> Any:
        if not isinstance(raw, dict):
            return raw
        if "fallback_action" in raw:
            self.report.at_key(
                (*path, "fallback_action"), compat.fallback_action_warning(raw["fallback_action"]), "warning"
            )
            raw = {key: value for key, value in raw.items() if key != "fallback_action"}
        src = self.keys(raw, path, input_keys(RetryConfig), renames=compat.RETRY_RENAMES)
        reasons = src.get("retry_on")
        if isinstance(reasons, list):
            origin = src.origin("retry_on")
            mapped = SrcList(origin)
            for index, reason in enumerate(reasons):
                item_path = (*origin, index)
                if not isinstance(reason, str):
                    mapped.add(reason, item_path)  # the schema reports it (a list or mapping is unhashable)
                elif reason in compat.RETRY_REASON_ALIASES:
                    for alias in compat.RETRY_REASON_ALIASES[reason]:
                        if alias not in mapped:
                            mapped.add(alias, item_path)
                elif reason in compat.RETRY_REASONS_IGNORED:
                    self.report.at_value(
                        item_path,
                        f"retry condition '{reason}' is ignored: {compat.RETRY_REASONS_IGNORED[reason]}",
                        "warning",
                    )
                elif reason not in mapped or reason not in RETRY_REASONS:
                    mapped.add(reason, item_path)
            src.put("retry_on", mapped, origin)
        return src

    def _handler_options(self, raw: Any, path: RawPath) -> Any:
        """Flat options become keyed by every handler that knows them, so merging works per handler."""
        if not isinstance(raw, dict):
            return raw
        keyed = Src(path)
        if is_keyed_by_handler(raw):
            for handler, options in raw.items():
                options_path = (*path, handler)
                keyed.put(
                    handler, self.mapping(options, options_path, HANDLERS[handler].options), options_path
                )
            return keyed
        option_keys = handler_option_keys()
        all_keys = sorted({key for keys in option_keys.values() for key in keys})
        for key, value in raw.items():
            key_path = (*path, key)
            if key in HANDLERS and isinstance(value, dict):
                self.report.at_key(
                    key_path,
                    f"mixes options keyed by handler ('{key}') with flat options: use one form or the other",
                )
                continue
            handlers = [name for name, keys in option_keys.items() if key in keys]
            if not handlers:
                match = closest(key, [*all_keys, *HANDLERS])
                hint = f"; did you mean '{match}'?" if match else f"; expected one of: {', '.join(all_keys)}"
                self.report.at_key(key_path, f"unknown stream handler option '{key}'{hint}")
                continue
            for handler in handlers:
                if handler not in keyed:
                    keyed.put(handler, Src(path), path)
                keyed[handler].put(key, value, key_path)
        return keyed

    # Step parts ----------------------------------------------------------------------------------

    def _prompt_into(self, src: Src, key: str) -> None:
        if key in src:
            src.put(key, self._prompt(src[key], src.origin(key)), src.origin(key))

    def _prompt(self, raw: Any, path: RawPath) -> Any:
        if isinstance(raw, str):
            parts = SrcList(path)
            part = Src(path)
            part.put("type", "static", path)
            part.put("content", raw, path)
            parts.add(part, path)
            return parts
        if not isinstance(raw, list):
            return raw
        parts = SrcList(path)
        for index, item in enumerate(raw):
            item_path = (*path, index)
            if isinstance(item, str):
                part = Src(item_path)
                part.put("type", "static", item_path)
                part.put("content", item, item_path)
                parts.add(part, item_path)
                continue
            if not isinstance(item, dict):
                parts.add(item, item_path)
                continue
            part_type = item.get("type")
            kinds = one_of(PART_MODELS)
            if part_type is None:
                self.report.at_value(item_path, f"missing required key 'type'; expected {kinds}")
            elif not isinstance(part_type, str) or part_type not in PART_MODELS:
                if isinstance(part_type, str) and part_type in compat.UNSUPPORTED_PROMPT_TYPES:
                    message = f"prompt part type '{part_type}' is not supported; expected {kinds}"
                else:
                    match = closest(str(part_type), PART_MODELS)
                    hint = f"; did you mean '{match}'?" if match else ""
                    message = f"unknown prompt part type {describe_value(part_type)}; expected {kinds}{hint}"
                self.report.at_value((*item_path, "type"), message)
            else:
                renames = compat.SESSION_PART_RENAMES if part_type == "session_context" else None
                ignored = compat.PREVIOUS_RESPONSE_IGNORED if part_type == "previous_response" else None
                parts.add(
                    self.keys(
                        item, item_path, input_keys(PART_MODELS[part_type]), renames=renames, ignored=ignored
                    ),
                    item_path,
                )
        return parts

    def _extraction(self, raw: Any, path: RawPath) -> Any:
        src = self.mapping(raw, path, ExtractionConfig, ignored=compat.EXTRACTION_IGNORED)
        if (
            isinstance(src, Src)
            and isinstance(src.get("format"), str)
            and src["format"] in compat.EXTRACTION_FORMAT_ALIASES
        ):
            new = compat.EXTRACTION_FORMAT_ALIASES[src["format"]]
            self.report.at_value(
                src.origin("format"), f"format '{src['format']}' is read as '{new}'", "warning"
            )
            src.put("format", new, src.origin("format"))
        return src

    def _tasks(self, src: Src, key: str, model: type[BaseModel], step_options: Src) -> None:
        """Each task: pipeline_ex keys mapped, the step's prompt before its own, the step's options under
        its own."""
        raw_tasks = src.get(key)
        if not isinstance(raw_tasks, list):
            return
        origin = src.origin(key)
        step_prompt = src.get("prompt") if isinstance(src.get("prompt"), SrcList) else None
        tasks = SrcList(origin)
        for index, raw_task in enumerate(raw_tasks):
            task_path = (*origin, index)
            if not isinstance(raw_task, dict):
                tasks.add(raw_task, task_path)
                continue
            # pipeline_ex's batch tasks may name a file to work on, and may leave out their id.
            file = raw_task.get("file") if model is BatchTask else None
            if model is BatchTask:
                raw_task = {name: value for name, value in raw_task.items() if name != "file"}
            task = self.keys(
                raw_task, task_path, input_keys(model), renames=compat.TASK_RENAMES, where="task"
            )
            if model is BatchTask and "id" not in task:
                task.put("id", f"task_{index}", task_path)
            if file is not None:
                task.put("prompt", compat.task_file_prompt(file, task.get("prompt")), (*task_path, "file"))
            own_prompt = (
                self._prompt(task["prompt"], task.origin("prompt"))
                if "prompt" in task
                else SrcList(task_path)
            )
            if step_prompt is not None and isinstance(own_prompt, SrcList):
                combined = SrcList(task.origin("prompt"))
                for part, part_origin in [
                    *zip(step_prompt, step_prompt.origins, strict=True),
                    *zip(own_prompt, own_prompt.origins, strict=True),
                ]:
                    combined.add(part, part_origin)
                own_prompt = combined
            task.put("prompt", own_prompt, task.origin("prompt"))
            own_options = self._options(task.get("claude_options"), task.origin("claude_options"))
            if isinstance(own_options, Src):
                task.put("claude_options", merge(step_options, own_options), task.origin("claude_options"))
            elif own_options is None:
                task.put("claude_options", step_options, step_options.path)
            else:
                task.put("claude_options", own_options, task.origin("claude_options"))
            tasks.add(task, task_path)
        src.put(key, tasks, origin)

    def _items(self, src: Src) -> None:
        """Batch items written as numbers are the text they would be in a template."""
        items = src.get("items")
        if isinstance(items, list):
            origin = src.origin("items")
            text_items = SrcList(origin)
            for index, item in enumerate(items):
                is_scalar = isinstance(item, str | int | float) and not isinstance(item, bool)
                text_items.add(str(item) if is_scalar else item, (*origin, index))
            src.put("items", text_items, origin)

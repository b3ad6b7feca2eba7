"""Cross-checks that need the whole workflow: references between steps, sessions and vars, files,
callbacks, and rules that span several keys. Runs on model input, so it works even when the models
reject something else in the same file and all problems are reported at once.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.workflow.callables import callable_problem
from engine.workflow.compat import DOTTED_NAME, QUOTED_TEXT
from engine.workflow.executors import executor_warnings
from engine.workflow.expressions import (
    REFERENCE,
    REFERENCE_HEADS,
    ConditionError,
    is_reference,
    parse_condition,
    prompt_file_problem,
    resolve_prompt_file,
)
from engine.workflow.normalize import Normalized
from engine.workflow.presets import model_names, priced_model, resolve_model
from engine.workflow.registry import HANDLERS, STEP_TYPES
from engine.workflow.report import Report
from engine.workflow.rules import CALLABLE_PATTERN, POST_PROCESSING
from engine.workflow.sourced import Src, SrcList
from engine.workflow.suggest import closest, did_you_mean
from engine.workflow.yaml_source import RawPath, YamlDocument

# What the engine's templating resolves after steps.NAME (output/response/result are its aliases).
_STEP_ATTRIBUTES = ("text", "data", "status", "reason", "output", "response", "result")


def _names(value: Any) -> list[Any]:
    """A tool list as written: one name or a list of them."""
    return [value] if isinstance(value, str) else value if isinstance(value, list) else []


def run_checks(normalized: Normalized, report: Report, document: YamlDocument, base_dir: Path) -> None:
    if normalized.workflow is not None:
        WorkflowChecks(normalized, report, document, base_dir).run()


class WorkflowChecks:
    def __init__(
        self, normalized: Normalized, report: Report, document: YamlDocument, base_dir: Path
    ) -> None:
        assert normalized.workflow is not None
        self.workflow = normalized.workflow
        self.report = report
        self.document = document
        self.base_dir = base_dir
        self.step_index: dict[str, int] = {}
        for seen in normalized.steps_seen:
            if seen.name is None:
                continue
            if seen.name in self.step_index:
                first = self.step_index[seen.name]
                self.report.at_value(
                    ("workflow", "steps", seen.index, "name"),
                    f"duplicate step name '{seen.name}' (also steps[{first}])",
                )
            else:
                self.step_index[seen.name] = seen.index
        variables = self.workflow.get("vars")
        self.var_names = set(variables) if isinstance(variables, dict) else set()
        configs = [
            step["session_config"] for step in self._steps() if isinstance(step.get("session_config"), dict)
        ]
        # Only text can name a session; any other value is the schema's to report (and may not be hashable).
        self.sessions = {
            config["session_name"] for config in configs if isinstance(config.get("session_name"), str)
        }
        self.callbacks_checked: dict[str, str | None] = {}
        self.models_checked: set[RawPath] = set()  # a defaults' model is merged into every step
        self.workspace_dir = self.workflow.get("workspace_dir", "./workspace")

    def _steps(self) -> Iterator[Src]:
        steps = self.workflow.get("steps")
        if isinstance(steps, list):
            yield from (step for step in steps if isinstance(step, Src))

    def run(self) -> None:
        self._workspace()
        raw = self.document.data.get("workflow", {}) if isinstance(self.document.data, dict) else {}
        if isinstance(raw, dict) and isinstance(raw.get("defaults"), dict):
            self._templates(raw["defaults"], ("workflow", "defaults"), None, item_allowed=False)
        raw_steps = raw.get("steps") if isinstance(raw, dict) else None
        for step in self._steps():
            index = step.path[-1]
            assert isinstance(index, int)
            if isinstance(raw_steps, list):
                has_items = bool(step.get("items"))  # only step models with `items` keep the key
                self._templates(raw_steps[index], step.path, index, item_allowed=has_items)
            self._step(step, index)

    def _workspace(self) -> None:
        """Tools read and write anywhere inside workspace_dir: not everywhere, not the user's files,
        not the run records (output_dir, beside the workflow in the current folder)."""
        value = self.workflow.get("workspace_dir")
        if not isinstance(value, str) or not value:
            return
        # Resolved as the runner does: relative to the current folder.
        place = Path(os.path.abspath(value))
        try:
            place, home, here = place.resolve(), Path.home().resolve(), Path.cwd().resolve()
        except (OSError, RuntimeError):  # RuntimeError: no home directory known
            return
        if place == Path(place.anchor):
            reason = "is the filesystem root: tools could read and change every file"
        elif place == home:
            reason = "is your home directory: tools could read and change all your files"
        elif place == here or place in here.parents:
            reason = (
                "contains the current folder: tools could reach the workflow and its run records; "
                "use a folder of its own such as ./workspace"
            )
        else:
            return
        self.report.at_value(self.workflow.origin("workspace_dir"), f"workspace_dir '{value}' {reason}")

    # One step ------------------------------------------------------------------------------------

    def _step(self, step: Src, index: int) -> None:
        # The normalizer keeps only steps of registered types.
        registered = STEP_TYPES[step["type"]]
        fields = registered.model.model_fields
        if isinstance(step.get("condition"), str):
            self._condition(step["condition"], step.origin("condition"), index)
        self._output_file(step)
        self._prompt_parts(step.get("prompt"), index)
        self._options(step.get("claude_options"))
        if not registered.fans_out:  # a step that fans out may leave the prompts to its tasks
            self._needs_prompt(step, step.path)
        if "tasks" in fields and "items" in fields:
            self._batch(step, index)
        if "parallel_tasks" in fields:
            self._tasks(step, "parallel_tasks", index)
        if "extraction_config" in fields:
            self._extraction(step.get("extraction_config"))

    def _needs_prompt(self, owner: Src, path: RawPath, detail: str = "") -> None:
        prompt = owner.get("prompt")
        if "prompt" not in owner:
            if self.report.raw_value((*path, "claude_options", "prompt")) is None:  # else: reported there
                self.report.at_value(path, f"missing required key 'prompt'{detail}")
        elif isinstance(prompt, list) and not prompt and not self.report.raw_value(owner.origin("prompt")):
            # A prompt whose parts were all rejected is not empty as written; those parts are reported.
            self.report.at_value(owner.origin("prompt"), f"prompt is empty{detail}")

    def _batch(self, step: Src, index: int) -> None:
        tasks, items = step.get("tasks"), step.get("items")
        if tasks is not None and items is not None:
            self.report.at_key(step.origin("items"), "give either tasks or items, not both")
        elif tasks is None and items is None:
            self.report.at_value(
                step.path, "a claude_batch step needs tasks, or items and a prompt using {{item}}"
            )
        if isinstance(items, list):
            if not items:
                self.report.at_value(step.origin("items"), "items is empty")
            self._needs_prompt(step, step.path, " (the template filled with each item)")
            prompt = step.get("prompt")
            if (
                isinstance(prompt, list)
                and prompt
                and not any(
                    isinstance(part, dict) and "{{item}}" in str(part.get("content", "")).replace(" ", "")
                    for part in prompt
                )
            ):
                self.report.at_value(
                    step.origin("prompt"),
                    "the prompt never uses {{item}}, so every item would get the same prompt",
                )
        self._tasks(step, "tasks", index)

    def _tasks(self, step: Src, key: str, index: int) -> None:
        tasks = step.get(key)
        if not isinstance(tasks, list):
            return
        ids: dict[str, int] = {}
        for position, task in enumerate(tasks):
            if not isinstance(task, Src):
                continue
            task_id = task.get("id")
            if isinstance(task_id, str):
                if task_id in ids:
                    self.report.at_value(
                        task.origin("id"), f"duplicate task id '{task_id}' (also {key}[{ids[task_id]}])"
                    )
                else:
                    ids[task_id] = position
            elif "id" not in task:
                self.report.at_value(task.path, "missing required key 'id'")
            prompt = task.get("prompt")
            if isinstance(prompt, list) and not prompt:
                self.report.at_value(task.path, "this task has no prompt (and the step has none to share)")
            self._prompt_parts(prompt, index)
            self._options(task.get("claude_options"))
            self._output_file(task)

    # References ----------------------------------------------------------------------------------

    def _step_reference(self, name: str, index: int | None, path: RawPath, needle: str | None = None) -> None:
        target = self.step_index.get(name)
        message = None
        if target is None:
            earlier = [n for n, i in self.step_index.items() if index is None or i < index]
            message = f"no step named '{name}'{did_you_mean(name, earlier)}"
        elif index is not None and target == index:
            message = f"step '{name}' refers to itself; a step can only use earlier steps"
        elif index is not None and target > index:
            message = f"step '{name}' comes later (steps[{target}]); a step can only use earlier steps"
        if message:
            if needle:
                self.report.at_text(path, needle, message)
            else:
                self.report.at_value(path, message)

    def _var_reference(self, name: str, path: RawPath, needle: str) -> None:
        if name not in self.var_names:
            hint = did_you_mean(name, self.var_names)
            self.report.at_text(
                path,
                needle,
                f"no value for {{{{vars.{name}}}}}: set it in workflow.vars or pass --var {name}=VALUE{hint}",
            )

    def _templates(self, raw: Any, path: RawPath, index: int | None, *, item_allowed: bool) -> None:
        """Every `{{...}}` in any string under `raw`."""
        if isinstance(raw, dict):
            for key, value in raw.items():
                self._templates(value, (*path, key), index, item_allowed=item_allowed)
        elif isinstance(raw, list):
            for position, value in enumerate(raw):
                self._templates(value, (*path, position), index, item_allowed=item_allowed)
        elif isinstance(raw, str) and "{{" in raw:
            for match in REFERENCE.finditer(raw):  # the run's own pattern
                self._template(match.group(0), match.group(1), path, index, item_allowed)

    def _template(
        self, needle: str, expression: str, path: RawPath, index: int | None, item_allowed: bool
    ) -> None:
        parts = expression.split(".")
        head = parts[0]
        if not is_reference(expression):  # the run decides with the same function
            match = closest(head, list(REFERENCE_HEADS))
            if match:
                self.report.at_text(
                    path, needle, f"unknown template reference {needle}; did you mean '{match}'?"
                )
            else:
                self.report.at_text(
                    path,
                    needle,
                    f"{needle} is not a template reference (steps, vars, item) and is left as is",
                    "warning",
                )
        elif head == "item":
            if not item_allowed:
                self.report.at_text(
                    path, needle, "{{item}} is only filled in claude_batch steps that have items"
                )
        elif head == "steps":
            if len(parts) < 3 or not parts[1]:
                self.report.at_text(
                    path,
                    needle,
                    f"expected {{{{steps.NAME.text}}}} or {{{{steps.NAME.data.FIELD}}}}, got {needle}",
                )
                return
            self._step_reference(parts[1], index, path, needle)
            attribute = parts[2]
            if attribute not in _STEP_ATTRIBUTES or (attribute not in ("data", "result") and len(parts) > 3):
                hint = did_you_mean(attribute, _STEP_ATTRIBUTES)
                self.report.at_text(
                    path,
                    needle,
                    f"'{attribute}' is not part of a step result: use text, data.FIELD, status, reason{hint}",
                )
        elif head == "vars":
            if len(parts) != 2 or not parts[1]:
                self.report.at_text(path, needle, f"expected {{{{vars.NAME}}}}, got {needle}")
            else:
                self._var_reference(parts[1], path, needle)

    def _condition(self, condition: str, path: RawPath, index: int) -> None:
        try:
            parse_condition(condition)  # the run's own check: what validates here also runs
        except ConditionError as error:
            self.report.at_value(path, str(error))
            return
        unquoted = re.sub(QUOTED_TEXT, "''", condition)
        for match in re.finditer(DOTTED_NAME, unquoted):
            head, rest = match.group(1), match.group(2).split(".")[1:]
            if head == "steps":
                self._step_reference(rest[0], index, path, f"steps.{rest[0]}")
            elif head == "vars":
                if rest[0] not in self.var_names:
                    hint = did_you_mean(rest[0], self.var_names)
                    self.report.at_text(path, f"vars.{rest[0]}", f"no value for vars.{rest[0]}{hint}")
            else:
                self._step_reference(head, index, path, match.group(0))

    def _prompt_parts(self, prompt: Any, index: int) -> None:
        if not isinstance(prompt, SrcList):
            return
        for part in prompt:
            if not isinstance(part, Src):
                continue
            kind = part.get("type")
            if kind == "previous_response" and isinstance(part.get("step"), str):
                self._step_reference(part["step"], index, part.origin("step"))
            elif kind == "session_context" and isinstance(part.get("session_name"), str):
                name = part["session_name"]
                if name not in self.sessions:
                    known = [s for s in self.sessions if isinstance(s, str)]
                    self.report.at_value(
                        part.origin("session_name"),
                        f"no claude_session step uses session_name '{name}'{did_you_mean(name, known)}",
                    )
            elif kind == "file" and isinstance(part.get("path"), str):
                self._file_exists(part["path"], part.origin("path"))

    def _file_exists(self, name: str, path: RawPath) -> None:
        if "{{" in name:
            return
        place = resolve_prompt_file(name, self.base_dir)  # where the run reads it
        try:
            problem = prompt_file_problem(place.stat())
        except OSError:
            self.report.at_value(
                path,
                f"file '{place}' does not exist (relative paths are read from the workflow's folder); "
                "fine if an earlier step writes it",
                "warning",
            )
            return
        if problem:
            self.report.at_value(path, f"prompt file '{place}' {problem}")

    def _output_file(self, owner: Src) -> None:
        target = owner.get("output_to_file")
        if not isinstance(target, str):
            return
        normalized = os.path.normpath(target)
        if os.path.isabs(target) or normalized == ".." or normalized.startswith(".." + os.sep):
            self.report.at_value(
                owner.origin("output_to_file"), "must be a relative path inside the run's output folder"
            )

    # Options -------------------------------------------------------------------------------------

    def _options(self, options: Any) -> None:
        if not isinstance(options, Src):
            return
        thinking, max_tokens = options.get("thinking"), options.get("max_tokens", 4096)
        if isinstance(thinking, int) and isinstance(max_tokens, int) and thinking >= max_tokens:
            self.report.at_value(
                options.origin("thinking"),
                f"thinking budget {thinking} must be below max_tokens {max_tokens}",
            )
        if options.get("executor") != "claude_code":  # Claude Code runs its own tools
            self._sandbox(options)
        self._models(options)
        for key, why in executor_warnings(options):
            self.report.at_key(options.origin(key), why, "warning")
        handlers = options.get("stream_handler", ["console"])
        handlers = [handlers] if isinstance(handlers, str) else handlers
        if not isinstance(handlers, list):
            return
        handler_options = options.get("stream_handler_opts")
        if isinstance(handler_options, Src):
            for handler in handler_options:
                origin = handler_options.origin(handler)
                if handler in HANDLERS and handler not in handlers and origin[-1:] == (handler,):
                    self.report.at_key(
                        origin,
                        f"options for the '{handler}' handler, which this step does not use "
                        f"(stream_handler: {', '.join(map(str, handlers))})",
                        "warning",
                    )
        if "callback" not in handlers:
            return
        callback_options = handler_options.get("callback") if isinstance(handler_options, Src) else None
        if isinstance(callback_options, str):
            callback_options = handler_options  # flat form: {callback: "mod:fn", on_complete: ...}
        if not isinstance(callback_options, Src) or "callback" not in callback_options:
            self.report.at_value(
                options.origin("stream_handler"),
                "the callback handler needs stream_handler_opts.callback: 'package.module:function'",
            )
            return
        for key in ("callback", "on_complete", "on_reset"):
            reference = callback_options.get(key)
            if isinstance(reference, str) and re.fullmatch(CALLABLE_PATTERN, reference):
                problem = self._import_problem(reference)
                if problem:
                    self.report.at_value(callback_options.origin(key), problem)

    def _sandbox(self, options: Src) -> None:
        """Warn where Bash will run unconfined, or will be refused for want of bubblewrap."""
        if options.get("sandbox") in ("off", False):
            self.report.at_value(
                options.origin("sandbox"),
                "sandbox: off: Bash runs unconfined (it can read the engine's environment, API key "
                "included, through /proc, write anywhere the engine can, use the network, and outlive "
                "its step with setsid)",
                "warning",
            )
            return
        allowed, disallowed = _names(options.get("allowed_tools")), _names(options.get("disallowed_tools"))
        # Looked up here, not through engine.tools (which imports jsonschema), so validate stays light.
        if "Bash" in allowed and "Bash" not in disallowed and shutil.which("bwrap") is None:
            self.report.at_value(
                options.origin("allowed_tools"),
                "Bash runs in a bubblewrap sandbox and `bwrap` is not installed, so every Bash call will "
                "be refused: install it with `apt-get install bubblewrap` (or set sandbox: off)",
                "warning",
            )

    def _models(self, options: Src) -> None:
        """Name the model id an alias resolves to; warn about a model the price table does not know."""
        for key in ("model", "fallback_model"):
            name, origin = options.get(key), options.origin(key)
            if not isinstance(name, str) or origin in self.models_checked:
                continue
            self.models_checked.add(origin)
            resolved = resolve_model(name)
            if resolved != name:
                self.report.at_value(origin, f"{name} resolves to {resolved}", "warning")
            elif priced_model(name) is None:
                self.report.at_value(
                    origin,
                    f"unknown model '{name}': sent to the API as written, priced as Sonnet"
                    f"{did_you_mean(name, model_names())}",
                    "warning",
                )

    def _import_problem(self, reference: str) -> str | None:
        """Why `module:function` cannot be called (None when it can); each reference is checked once,
        statically: validate never runs the user's code."""
        if reference not in self.callbacks_checked:
            self.callbacks_checked[reference] = callable_problem(reference, [Path.cwd(), self.base_dir])
        return self.callbacks_checked[reference]

    def _extraction(self, config: Any) -> None:
        if not isinstance(config, Src):
            return
        steps = config.get("post_processing")
        if isinstance(steps, list):
            for index, name in enumerate(steps):
                if isinstance(name, str) and name not in POST_PROCESSING:
                    self.report.at_value(
                        (*config.origin("post_processing"), index),
                        f"post_processing '{name}' is not supported here and is skipped"
                        f"{did_you_mean(name, POST_PROCESSING)} (supported: {', '.join(POST_PROCESSING)})",
                        "warning",
                    )
        if not isinstance(config.get("schema"), dict):
            return
        if config.get("format", "json") != "json":
            self.report.at_key(config.origin("schema"), "schema is only used with format: json", "warning")
        from jsonschema import Draft202012Validator, SchemaError  # heavy; only when a schema is given

        try:
            Draft202012Validator.check_schema(config["schema"])
        except SchemaError as error:
            self.report.at_value(
                (*config.origin("schema"), *error.path), f"not a valid JSON Schema: {error.message}"
            )

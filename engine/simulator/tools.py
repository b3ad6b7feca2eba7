"""Simulated tool use: picks the next tool call from the task's words and the offered tools, and writes
the final answer that reports what the tools returned.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from engine.simulator.conversation import RequestedConversation, ToolCall
from engine.simulator.structured import SchemaInstance
from engine.simulator.writing import key_phrases, keywords

# A task gets at most this many tool turns before the final answer, so agent loops end.
MAX_TOOL_TURNS = 3

# Intent -> (words in the task that ask for it, pattern of tool names that serve it).
INTENTS: dict[str, tuple[tuple[str, ...], re.Pattern[str]]] = {
    "read": (("read", "open", "review", "inspect", "check"), re.compile(r"read|view|cat|open", re.I)),
    "list": (("list", "files", "directory", "folder", "tree"), re.compile(r"^ls$|list|glob", re.I)),
    "search": (("search", "find", "grep", "locate"), re.compile(r"grep|search|find", re.I)),
    "write": (
        ("write", "create", "implement", "save", "generate", "draft", "add"),
        re.compile(r"write|create|save", re.I),
    ),
    "run": (
        ("run", "test", "tests", "execute", "build", "install"),
        re.compile(r"bash|shell|run|exec|command", re.I),
    ),
}
PATH_PATTERN = re.compile(r"[\w./-]*\w\.(?:py|md|txt|json|ya?ml|js|ts|html|css|sh|toml|rs|go|csv)\b")
BACKTICK_COMMAND = re.compile(r"`([^`\n]{2,80})`")
PATH_KEYS = ("file_path", "path", "filename", "file", "target_file", "directory", "dir")
CONTENT_KEYS = ("content", "contents", "file_text", "text", "body")
COMMAND_KEYS = ("command", "cmd", "script")
PATTERN_KEYS = ("pattern", "query", "regex", "glob", "search")


@dataclass(frozen=True)
class PlannedToolUse:
    """The tool call of this turn: a short sentence of intent, then the call."""

    preamble: str
    name: str
    input: dict[str, Any]


def next_tool_use(
    conversation: RequestedConversation, tools: list[dict[str, Any]], tool_choice: Any, rng: random.Random
) -> PlannedToolUse | None:
    """The tool call this turn should make, or None when it is time for a text answer."""
    offered = [t for t in tools if isinstance(t.get("name"), str)]
    choice = tool_choice.get("type") if isinstance(tool_choice, dict) else None
    turns_done = len(conversation.tool_calls)
    if not offered or choice == "none" or turns_done >= MAX_TOOL_TURNS:
        return None
    if choice == "tool":
        forced = next((t for t in offered if t["name"] == tool_choice.get("name")), None)
        if forced is None:
            return None
        return PlannedToolUse("", forced["name"], _tool_input(forced, "", conversation, rng))
    plan = _plan(conversation.task, offered)
    if turns_done < len(plan):
        intent, tool = plan[turns_done]
        tool_input = _tool_input(tool, intent, conversation, rng)
        return PlannedToolUse(_preamble(intent, tool_input, turns_done), tool["name"], tool_input)
    if choice == "any" and turns_done == 0:
        tool = offered[0]
        return PlannedToolUse("", tool["name"], _tool_input(tool, "", conversation, rng))
    return None


def _plan(task: str, offered: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(intent, tool) pairs in the order the task mentions them, one per intent with an offered tool."""
    lowered = task.lower()
    found: list[tuple[int, str, dict[str, Any]]] = []
    for intent, (words, tool_names) in INTENTS.items():
        positions = [m.start() for w in words for m in re.finditer(rf"\b{w}\b", lowered)]
        candidates = [t for t in offered if tool_names.search(t["name"])]
        # A tool named after the task's own words wins (an MCP server's `save_note` for "save a note").
        tool = next((t for t in candidates if _named_in(t["name"], lowered)), None)
        tool = tool or (candidates[0] if candidates else None)
        if positions and tool is not None:
            found.append((min(positions), intent, tool))
    return [(intent, tool) for _, intent, tool in sorted(found, key=lambda item: item[0])][:MAX_TOOL_TURNS]


def _named_in(tool_name: str, task: str) -> bool:
    words = {word for word in re.split(r"[^a-z0-9]+", tool_name.lower()) if len(word) >= 4}
    return any(re.search(rf"\b{word}\b", task) for word in words)


def task_path(task: str) -> str:
    """A workspace-relative file path named in the task, or one made from its words."""
    match = PATH_PATTERN.search(task)
    if match:
        parts = [p for p in match.group(0).split("/") if p not in ("", ".", "..")]
        if parts:
            return "/".join(parts)
    words = keywords(task)
    code_words = {"python", "function", "script", "code", "module", "class", "program"}
    stem = next((w for w in words if w.isidentifier() and w not in code_words), "notes")
    return f"{stem}.py" if code_words & set(words) else f"{stem}.md"


def _file_content(path: str, task: str) -> str:
    words = keywords(task)
    topic = " ".join(words[:3])
    stem = path.rsplit("/", 1)[-1].split(".")[0]
    if path.endswith(".py"):
        function = stem if stem.isidentifier() else "main_result"
        return (
            f'"""{topic.capitalize()}: written for the task."""\n\n\n'
            f"def {function}() -> str:\n"
            f'    """Return a short greeting about {topic}."""\n'
            f'    return "Hello from {stem}"\n\n\n'
            f'if __name__ == "__main__":\n'
            f"    print({function}())\n"
        )
    return f"# {topic.title()}\n\nNotes on {topic}, written for the task.\n"


def _command(task: str, conversation: RequestedConversation) -> str:
    quoted = BACKTICK_COMMAND.search(task)
    if quoted:
        return quoted.group(1)
    written = [c for c in conversation.tool_calls if isinstance(c.input, dict) and "content" in c.input]
    python_files = [str(c.input.get("file_path", c.input.get("path", ""))) for c in written]
    python_files = [p for p in python_files if p.endswith(".py")]
    if "test" in task.lower():
        return "python -m pytest -q"
    if python_files:
        return f"python {python_files[-1]}"
    return "ls -la"


def _tool_input(
    tool: dict[str, Any], intent: str, conversation: RequestedConversation, rng: random.Random
) -> dict[str, Any]:
    schema = tool.get("input_schema")
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return {}
    required = schema.get("required") if isinstance(schema.get("required"), list) else list(properties)
    task = conversation.task
    path = task_path(task) if intent in ("write", "read", "") else "."
    words = keywords(task)
    values: dict[str, Any] = {}
    for key, sub in properties.items():
        lowered = key.lower()
        if lowered in PATH_KEYS:
            values[key] = path
        elif lowered in CONTENT_KEYS:
            values[key] = _file_content(path, task)
        elif lowered in COMMAND_KEYS:
            values[key] = _command(task, conversation)
        elif lowered in PATTERN_KEYS:
            values[key] = "**/*.py" if intent == "list" else words[0]
        elif key in required:
            values[key] = SchemaInstance(schema, words, rng).value_of(sub, key)
    return values


def _target_of(tool_input: dict[str, Any]) -> str:
    """The path or command a tool call acts on, for sentences about it."""
    return next((str(v) for k, v in tool_input.items() if k.lower() in (*PATH_KEYS, *COMMAND_KEYS)), "")


def _preamble(intent: str, tool_input: dict[str, Any], turn: int) -> str:
    target = _target_of(tool_input)
    pattern = next((str(v) for k, v in tool_input.items() if k.lower() in PATTERN_KEYS), "")
    sentence = {
        "write": f"I'll write `{target}` with the implementation.",
        "read": f"I'll read `{target}` first.",
        "list": "I'll look at the files in the workspace.",
        "search": f"I'll search the workspace for `{pattern}`.",
        "run": f"I'll run `{target}` to check the result.",
    }[intent]
    return sentence if turn == 0 else "Next, " + sentence


def tool_report(calls: tuple[ToolCall, ...], task: str) -> str:
    """The final answer after tool calls: what was done and what each tool returned."""
    plural = "s" if len(calls) != 1 else ""
    lines = [f"## Done: {key_phrases(task)[0]}", "", f"I made {len(calls)} tool call{plural}:", ""]
    for call in calls:
        target = ""
        if isinstance(call.input, dict):
            target = _target_of(call.input)
        first_line = next((line.strip() for line in call.result.splitlines() if line.strip()), "(no output)")
        if len(first_line) > 100:
            first_line = first_line[:97] + "..."
        outcome = "failed with" if call.is_error else "returned"
        label = f"**{call.name}** `{target}`" if target else f"**{call.name}**"
        lines.append(f"- {label} {outcome}: {first_line}")
    failed = sum(call.is_error for call in calls)
    lines += [
        "",
        f"{failed} of the calls failed; see above for why." if failed else "Everything worked as expected.",
    ]
    return "\n".join(lines)

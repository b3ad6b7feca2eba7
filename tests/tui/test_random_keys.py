"""Random keys at random moments of a real run must never leave the dashboard unresponsive or showing
something the run state does not say.

A hypothesis state machine presses keys (and waits) while the real engine runs a workflow on the
simulator with dropped connections, a server error, parallel tasks and retries. After every key it
checks, allowing the one-second tick to catch up, that:
- the app answers: its own bindings are reachable from where the focus is, and focus is on a live widget;
- the footer shows exactly the keys that do something in the current state;
- every running step has a pane, every pane belongs to a started step and its title shows that step's
  state; a maximized pane stays maximized until `m` or escape restores it;
- every step has a tree row showing its state.

The app runs on the test's event loop; hypothesis drives it from a worker thread. CI runs the seeds
below; `make fuzz-dashboard` (PIPELINE_FUZZ_EXAMPLES=N) runs many more, each from a fresh run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import os
import tempfile
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tests.tui.conftest import build_engine_app
from tui.app import DashboardApp, DashboardScreen, can_take_focus

# Seeds CI runs (each a whole run with its own key sequence); found failures get added here.
# Per seed two runs: hypothesis tries its simplest sequence first (`m` all along), then a random one.
SEEDS = (20261202, 7)
STEPS_PER_RUN = int(os.environ.get("PIPELINE_FUZZ_STEPS", "30"))
EXAMPLES = int(os.environ.get("PIPELINE_FUZZ_EXAMPLES", "0"))
RUNS_PER_SEED = 2
# How long the screen may take to catch up with the run state (the figures tick is one second).
CATCH_UP_S = 2.5

STEPS = """
- name: intro
  type: claude
  prompt: "Write the intro"
- name: reviews
  type: parallel_claude
  max_parallel: 3
  parallel_tasks:
    - {id: security, prompt: "Review security"}
    - {id: speed, prompt: "Review speed, the connection drops"}
    - {id: access, prompt: "Review access"}
    - {id: docs, prompt: "Review docs"}
- name: flaky
  type: claude_robust
  retry_config: {max_retries: 2, backoff: fixed, base_delay_ms: 300}
  prompt: "Explain a stream that drops mid-answer"
- name: summary
  type: claude
  prompt: "Sum up the server error"
"""
REPLY = "Streams arrive token by token and the pane keeps up with them as they come. " * 6
SCENARIO = {
    "ttft_ms": 100,
    "tokens_per_second": 120,
    "rules": [
        {"prompt_contains": "connection drops", "fault": "drop", "after_tokens": 15, "times": 1},
        {"prompt_contains": "drops mid-answer", "fault": "drop", "after_tokens": 25, "times": 1},
        {"prompt_contains": "server error", "fault": "server_error", "times": 1},
        {"reply": REPLY},
    ],
}
# Keys that end the run (X, q, then y) are rarer than those that move around in it.
KEYS = ("m", "m", "n", "n", "p", "x", "end", "t", "r", "c", "e", "o", "question_mark", "escape", "escape",
        "tab", "up", "down", "pageup", "space", "X", "q", "y", "ctrl+p")


class Host:
    """The app under `run_test` on the test's loop; `call` runs a coroutine there from the hypothesis
    thread and waits for it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, app: DashboardApp) -> None:
        self.loop = loop
        self.app = app
        self.pilot: Any = None
        self.stop: asyncio.Event | None = None
        self.context: contextvars.Context | None = None
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self.done = asyncio.run_coroutine_threadsafe(self._host(ready), loop)
        ready.result(timeout=60)

    async def _host(self, ready: concurrent.futures.Future[None]) -> None:
        self.stop = asyncio.Event()
        async with self.app.run_test(size=(120, 36)) as pilot:
            self.pilot = pilot
            # Coroutines sent from the other thread run in this context: Textual finds its app there.
            self.context = contextvars.copy_context()
            ready.set_result(None)
            await self.stop.wait()
            if self.app.run_result is None and self.app.handle is not None:
                self.app.handle.interrupt_all("test over")
                for _ in range(100):
                    if self.app.run_result is not None:
                        break
                    await pilot.pause(0.05)

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        outcome: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def finished(task: asyncio.Task[Any]) -> None:
            if task.exception() is not None:
                outcome.set_exception(task.exception())  # type: ignore[arg-type]
            else:
                outcome.set_result(task.result())

        def start() -> None:
            self.loop.create_task(coroutine, context=self.context).add_done_callback(finished)

        self.loop.call_soon_threadsafe(start)
        return outcome.result(timeout=timeout)

    @property
    def exited(self) -> bool:
        return self.app.return_code is not None or self.done.done()

    def close(self) -> None:
        if not self.done.done():
            self.loop.call_soon_threadsafe(self.stop.set)  # type: ignore[union-attr]
        self.done.result(timeout=60)


def problems(app: DashboardApp, expect_maximized: bool) -> list[str]:
    """What the screen shows that the run state does not say (empty: all agree)."""
    found: list[str] = []
    main = app.screen_stack[0]
    assert isinstance(main, DashboardScreen)
    screen = app.screen
    focused = screen.focused
    if focused is not None and not can_take_focus(focused):
        found.append(f"focus on a dead widget: {focused!r}")
    keys = screen.active_bindings
    if screen is main:
        if "question_mark" not in keys or "q" not in keys:
            found.append(f"the app's keys are unreachable from {focused!r}: {sorted(keys)}")
        found += footer_problems(app)
    elif "escape" not in keys and "ctrl+c" not in keys:
        found.append(f"{screen!r} answers no key: {sorted(keys)}")
    state = app.state
    for step in state.leaves():
        if step.running and step.step_id not in app.panes:
            found.append(f"running step {step.step_id} has no pane")
    for step_id, pane in app.panes.items():
        step = state.steps[step_id]
        if step.started_at is None or step.children:
            found.append(f"pane for {step_id}, which is {step.status} with {len(step.children)} tasks")
        elif pane.is_attached and step.icon not in str(pane.border_title):
            found.append(f"pane {step_id} titled {pane.border_title!r}, step is {step.status}/{step.phase}")
    if app.grid.single and app.panes and sum(1 for p in app.panes.values() if p.display) != 1:
        found.append("one-pane mode shows more or fewer than one pane")
    maximized = main.maximized
    if maximized is not None and (not maximized.is_attached or maximized not in app.panes.values()):
        found.append(f"maximized widget {maximized!r} is not a pane on the screen")
    if (maximized is not None) != expect_maximized:
        found.append(f"maximized is {maximized!r}, expected {'a pane' if expect_maximized else 'none'}")
    for step_id, step in state.steps.items():
        node = app.step_tree.nodes_by_step.get(step_id)
        if node is None:
            found.append(f"no tree row for {step_id}")
        elif step.icon not in node.label.plain:
            found.append(f"tree row {node.label.plain!r}, step is {step.status}/{step.phase}")
    return found


def footer_problems(app: DashboardApp) -> list[str]:
    """The footer's keys against what each key can do in the run state, worked out here from it."""
    state, step = app.state, app.state.steps.get(app.selected or "")
    pane = app.panes.get(app.selected or "")
    streamed = [s for s in state.leaves() if s.started_at is not None]
    expected = {"question_mark", "q"}
    expected |= {"x"} if step is not None and step.running and app.handle is not None else set()
    expected |= {"X"} if app.running and app.handle is not None else set()
    expected |= {"m"} if pane is not None or app.screen.maximized is not None else set()
    expected |= {"n"} if len(streamed) > 1 else set()
    if pane is not None:
        answer = pane.answer_view
        at_end = (answer.scroll_y >= answer.max_scroll_y if pane.rendered and answer is not None
                  else pane.live.follow)
        expected |= set() if at_end else {"end"}
    footer = app.screen.query_one(Footer)
    shown = {key.key for key in footer.query(FooterKey)}
    # The focused widget may add keys of its own (the tree's, the palette's); only the app's are judged.
    judged = {"question_mark", "q", "x", "X", "m", "n", "end"}
    if shown & judged != expected:
        return [f"footer shows {sorted(shown & judged)}, the state says {sorted(expected)}"]
    return []


class DashboardKeys(RuleBasedStateMachine):
    """One real run; each rule is a key press or a wait, each followed by the checks above."""

    loop: asyncio.AbstractEventLoop

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="pipeline-fuzz-"))
        app, self.run = build_engine_app(self.folder, STEPS, SCENARIO, extra="on_error: continue\n")
        self.host = Host(self.loop, app)
        self.app = app
        self.expect_maximized = False
        self.log: list[str] = []

    @rule(key=st.sampled_from(KEYS))
    def press(self, key: str) -> None:
        # Once the app has quit, the rest of the sequence has nothing to press (a precondition would
        # depend on timing, which hypothesis must not see).
        if self.host.exited:
            return
        self.log.append(key)

        async def press() -> tuple[bool, bool, bool]:
            # What the key will find, read in the same turn of the loop as the key is sent.
            main = self.app.screen_stack[0]
            found = (self.app.screen is main, main.maximized is not None, self.app.selected in self.app.panes)
            await self.host.pilot.press(key)
            return found

        on_main, maximized, has_pane = self.host.call(press())
        if on_main and key == "m":
            self.expect_maximized = not maximized and has_pane
        elif on_main and key == "escape" and maximized:
            self.expect_maximized = False
        self.check()

    @rule(seconds=st.sampled_from((0.1, 0.3, 0.3, 0.8, 1.5)))
    def wait(self, seconds: float) -> None:
        if self.host.exited:
            return
        self.log.append(f"wait {seconds}")
        self.host.call(self.host.pilot.pause(seconds))
        self.check()

    def check(self) -> None:
        if self.host.exited:
            # Quit (q, y): it leaves with the run's exit code and a record that says how it ended.
            assert self.app.return_code in (0, 1, 130), self.app.return_code
            return

        async def settled() -> list[str]:
            found: list[str] = []
            for _ in range(int(CATCH_UP_S / 0.1)):
                await self.host.pilot.pause(0.1)  # the loop answers
                if self.host.exited:
                    return []
                found = problems(self.app, self.expect_maximized)
                if not found:
                    return []
            return found

        found = self.host.call(settled())
        assert not found, f"after {' '.join(self.log)}: {found}"

    def teardown(self) -> None:
        self.host.close()


def run_machine(loop: asyncio.AbstractEventLoop, seed_value: int | None, examples: int) -> None:
    machine = type("Keys", (DashboardKeys,), {"loop": loop})
    if seed_value is not None:
        machine = seed(seed_value)(machine)
    run_state_machine_as_test(machine, settings=settings(
        max_examples=examples, stateful_step_count=STEPS_PER_RUN, deadline=None, database=None,
        phases=[Phase.generate], suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
    ))


async def test_random_keys_on_a_real_run_keep_the_dashboard_answering_and_true():
    loop = asyncio.get_running_loop()
    if EXAMPLES:
        await asyncio.to_thread(run_machine, loop, None, EXAMPLES)
        return
    for seed_value in SEEDS:
        await asyncio.to_thread(run_machine, loop, seed_value, RUNS_PER_SEED)

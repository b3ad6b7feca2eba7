"""`--web`: the dashboard served by textual-serve, loaded in a real headless Chromium (skipped if none)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from tests.engine.conftest import workflow
from tui.commands.web import without_web_options

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
STEPS = """
- name: lighthouses
  type: claude
  prompt: "Write about lighthouses"
- name: harbours
  type: claude
  prompt: "Write about harbours"
"""
# Collects what the page receives on its websockets (the dashboard's output), for the test to read:
# the terminal itself draws on a canvas, so its text is not in the DOM.
CAPTURE = """
(() => {
  const Native = window.WebSocket;
  window.__received = [];
  window.WebSocket = function (...args) {
    const socket = new Native(...args);
    socket.addEventListener("message", (event) => {
      if (typeof event.data === "string") { window.__received.push(event.data); return; }
      Promise.resolve(event.data.arrayBuffer ? event.data.arrayBuffer() : event.data).then((buffer) =>
        window.__received.push(new TextDecoder("utf-8", {fatal: false}).decode(buffer)));
    });
    return socket;
  };
  window.WebSocket.prototype = Native.prototype;
  Object.assign(window.WebSocket, Native);
})();
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited early: {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} never listened on {port}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """End the process and what it started (its own session, so its group is only its children)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


class DevTools:
    """The few DevTools-protocol calls the test needs, over the page's websocket."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self.next_id = 0

    async def call(self, method: str, **params: object) -> dict:
        self.next_id += 1
        await self.socket.send_json({"id": self.next_id, "method": method, "params": params})
        while True:
            message = await self.socket.receive_json(timeout=30)
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message.get("result", {})


@pytest.mark.timeout(150)
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium here (Debian: apt-get install -y chromium)")
def test_the_web_dashboard_loads_in_chromium_and_shows_the_runs_panes(tmp_path):
    path = tmp_path / "web.yaml"
    path.write_text(workflow(STEPS, tmp=tmp_path), encoding="utf-8")
    port, debug_port = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("ANTHROPIC_API_KEY", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "run", str(path), "--web", "--web-port", str(port),
         "--provider", "simulator", "--tokens-per-second", "200"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    browser = None
    try:
        wait_for_port(port, server, "pipeline run --web")
        browser = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}", f"--remote-debugging-port={debug_port}",
             "--window-size=1280,800", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_for_port(debug_port, browser, "chromium")
        screenshot, received = asyncio.run(load_page(debug_port, f"http://127.0.0.1:{port}/"))
    finally:
        if browser is not None:
            stop(browser)
        stop(server)
    printed = server.stdout.read().decode("utf-8", "replace") if server.stdout else ""
    assert f"http://127.0.0.1:{port}" in printed
    shot = tmp_path / "web-dashboard.png"
    shot.write_bytes(screenshot)
    assert screenshot.startswith(b"\x89PNG") and len(screenshot) > 10_000
    # The dashboard drew the run: both steps in its tree, and a pane with the streamed text.
    assert "lighthouses" in received and "harbours" in received
    assert "SIMULATED" in received


async def load_page(debug_port: int, url: str) -> tuple[bytes, str]:
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"http://127.0.0.1:{debug_port}/json") as reply:
                    pages = [t for t in await reply.json() if t.get("type") == "page"]
                    if pages:
                        break
            await asyncio.sleep(0.1)
        async with session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            tools = DevTools(ws)
            await tools.call("Page.enable")
            await tools.call("Page.addScriptToEvaluateOnNewDocument", source=CAPTURE)
            await tools.call("Page.navigate", url=url)
            received = ""
            for _ in range(300):  # the page starts the dashboard's process when it connects
                result = await tools.call(
                    "Runtime.evaluate", expression="(window.__received || []).join('')", returnByValue=True
                )
                received = result.get("result", {}).get("value", "")
                if "harbours" in received and "SIMULATED" in received:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # let the canvas catch up before the picture
            shot = await tools.call("Page.captureScreenshot", format="png")
    return base64.b64decode(shot["data"]), received


def test_the_browsers_process_runs_the_same_command_without_the_web_options():
    argv = ["replay", "RUN", "--web", "--web-port", "9000", "--web-host=0.0.0.0", "--speed", "2"]
    assert without_web_options(argv) == ["replay", "RUN", "--speed", "2"]
    assert json.dumps(without_web_options(["run", "f.yaml", "--web"])) == '["run", "f.yaml"]'

"""A stdio MCP server for the Claude Code tests: one tool that appends a note to notes.txt (in its cwd)."""

from __future__ import annotations

from pathlib import Path

from mcp.server.mcpserver import MCPServer

server = MCPServer("notes")


@server.tool()
def save_note(text: str) -> str:
    """Save a note."""
    with Path("notes.txt").open("a", encoding="utf-8") as notes:
        notes.write(text + "\n")
    return "saved"


if __name__ == "__main__":
    server.run("stdio")

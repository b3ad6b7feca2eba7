"""The dashboard's two themes; `styles/dashboard.tcss` draws everything from their variables."""

from __future__ import annotations

from textual.theme import Theme

DARK = Theme(
    name="pipeline-dark",
    primary="#5FA8D3",
    secondary="#3D6E8C",
    accent="#F2B950",
    warning="#F2B950",
    error="#E5626A",
    success="#6CC788",
    foreground="#DADDE1",
    background="#14171C",
    surface="#1B1F26",
    panel="#252B34",
    dark=True,
    variables={
        "pane-thinking": "#7D8590",
        "pane-tool": "#9C8CE0",
        "pane-notice": "#F2B950",
        "footer-key-foreground": "#F2B950",
    },
)

LIGHT = Theme(
    name="pipeline-light",
    primary="#1F5F8B",
    secondary="#4C88B0",
    accent="#A85D00",
    warning="#A85D00",
    error="#B3261E",
    success="#2E7D32",
    foreground="#1E2329",
    background="#F6F7F9",
    surface="#FFFFFF",
    panel="#E4E8EE",
    dark=False,
    variables={
        "pane-thinking": "#6A7280",
        "pane-tool": "#5B3FB8",
        "pane-notice": "#A85D00",
        "footer-key-foreground": "#1F5F8B",
    },
)

THEMES = (DARK, LIGHT)

"""Markdown report: executive summary, offline metrics, experiment tables, gates and more."""

from __future__ import annotations

from typing import Any


def render_markdown(report: dict[str, Any]) -> str:
    """Render a report.v1 document as Markdown."""
    return "TODO\n"

"""Self-contained HTML report."""

from __future__ import annotations

from typing import Any


def render_html(report: dict[str, Any]) -> str:
    """Render a report.v1 document as HTML."""
    return "TODO\n"

"""Markdown report ("Recsys Eval Report"): summary, next steps, then every table."""

from __future__ import annotations

from typing import Any

from eval.report.tables import next_steps, summary_lines, tables


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(report: dict[str, Any]) -> str:
    """Render a report.v1 document as GitHub-flavoured Markdown."""
    lines = ["# Recsys Eval Report", "", "## Executive summary", ""]
    lines += [f"- {line}" for line in summary_lines(report)]
    steps = next_steps(report)
    if steps:
        lines += ["", "Next steps:", ""] + [f"1. {step}" for step in steps]
    for table in tables(report):
        lines += ["", f"## {table.title}", ""]
        lines.append("| " + " | ".join(_cell(h) for h in table.header) + " |")
        lines.append("|" + "---|" * len(table.header))
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines) + "\n"

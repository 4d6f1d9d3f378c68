"""Self-contained HTML report: inline CSS and SVG charts, no scripts or network access.

Charts: each offline metric per slice, and each variant's CTR with a 95% interval.
The original's CTR counts click events, so its interval is the Poisson one,
ctr ± 1.96·√clicks / exposures; with ``experiment.request_ctr`` on, a second chart
shows the per-request CTR with its delta-method interval.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from eval.report.svg import Bar, bar_chart
from eval.report.tables import next_steps, summary_lines, tables

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;color:#222;max-width:70rem}
h1{font-size:1.6rem}h2{font-size:1.15rem;margin-top:1.8rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .55rem;text-align:left}
th{background:#f3f3f3}.chart{display:block;margin:.8rem 0;font-size:12px}
.chart-title{font-weight:600}.bar{fill:#4a78b5}.ci{stroke:#222;stroke-width:1.5}
"""

Z95 = 1.959963984540054


def _charts(report: dict[str, Any]) -> list[str]:
    charts: list[str] = []
    offline = report.get("offline") or {}
    segments = offline.get("by_segment", {})
    for metric in offline.get("metrics", []):
        bars = [
            Bar(segment, value["value"])
            for segment, values in segments.items()
            for value in values
            if value["name"] == metric["name"]
        ]
        if bars:
            charts.append(bar_chart(f"{metric['name']} per slice", bars))
    experiment = report.get("experiment") or {}
    variants = experiment.get("variants", [])
    if variants:
        bars = []
        for v in variants:
            n, clicks = v["exposures"], v["clicks"]
            half = Z95 * math.sqrt(clicks) / n if n else 0.0
            bars.append(Bar(v["variant"], v["ctr"], max(v["ctr"] - half, 0.0), v["ctr"] + half))
        charts.append(bar_chart("ctr (click events / exposure) with 95% Poisson CI", bars))
    request = experiment.get("request_ctr")
    if request:
        bars = [
            Bar(r["variant"], r["value"], r["ci_lower"], r["ci_upper"]) for r in request["variants"]
        ]
        charts.append(bar_chart("per-request CTR with delta-method CI", bars))
    return charts


def render_html(report: dict[str, Any]) -> str:
    """Render a report.v1 document as one self-contained HTML page."""
    body = ["<h1>Recsys Eval Report</h1>", "<h2>Executive summary</h2><ul>"]
    body += [f"<li>{escape(line)}</li>" for line in summary_lines(report)]
    body.append("</ul>")
    steps = next_steps(report)
    if steps:
        body.append("<p>Next steps:</p><ol>")
        body += [f"<li>{escape(step)}</li>" for step in steps]
        body.append("</ol>")
    charts = _charts(report)
    if charts:
        body.append("<h2>Charts</h2>")
        body += charts
    for table in tables(report):
        body.append(f"<h2>{escape(table.title)}</h2><table><thead><tr>")
        body += [f"<th>{escape(h)}</th>" for h in table.header]
        body.append("</tr></thead><tbody>")
        for row in table.rows:
            body.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
        body.append("</tbody></table>")
    title = escape(f"Recsys Eval Report {report.get('run_id', '')}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{_STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )

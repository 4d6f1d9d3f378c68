"""Small inline SVG charts (no scripts, no fonts, no network): bars and bars with CIs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 220
PLOT_WIDTH = 320
VALUE_WIDTH = 90


@dataclass(frozen=True)
class Bar:
    """One bar: label, value and an optional interval drawn as a whisker."""

    label: str
    value: float
    lower: float | None = None
    upper: float | None = None


def bar_chart(title: str, bars: Sequence[Bar]) -> str:
    """A horizontal bar chart scaled to the largest value or upper bound."""
    top = max([b.value for b in bars] + [b.upper or 0.0 for b in bars] + [0.0])
    scale = PLOT_WIDTH / top if top > 0 else 0.0
    height = len(bars) * (BAR_HEIGHT + GAP) + 28
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" class="chart"><title>{escape(title)}</title>',
        f'<text x="0" y="14" class="chart-title">{escape(title)}</text>',
    ]
    for index, bar in enumerate(bars):
        y = 24 + index * (BAR_HEIGHT + GAP)
        length = max(bar.value, 0.0) * scale
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end">{escape(bar.label)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" '
            f'class="bar"><title>{escape(bar.label)}: {bar.value:.6g}</title></rect>'
        )
        if bar.lower is not None and bar.upper is not None:
            x1 = LABEL_WIDTH + max(bar.lower, 0.0) * scale
            x2 = LABEL_WIDTH + max(bar.upper, 0.0) * scale
            mid, top_y, bottom_y = y + BAR_HEIGHT / 2, y + 3, y + BAR_HEIGHT - 3
            parts.append(
                f'<line x1="{x1:.1f}" y1="{mid}" x2="{x2:.1f}" y2="{mid}" class="ci"/>'
                f'<line x1="{x1:.1f}" y1="{top_y}" x2="{x1:.1f}" y2="{bottom_y}" class="ci"/>'
                f'<line x1="{x2:.1f}" y1="{top_y}" x2="{x2:.1f}" y2="{bottom_y}" class="ci"/>'
            )
        parts.append(
            f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 6}" y="{y + 13}">{bar.value:.4g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)

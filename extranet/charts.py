"""Bar charts drawn as inline SVG on the server: no JavaScript, no CDN, readable without scripts.

The bars' values and labels also sit in the table beside each chart, which is what screen readers and
exports use.
"""

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 220, 64, 28, 12


def _short(value: Decimal | int) -> str:
    number = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            return f"{number / limit:.1f}{suffix}"
    return f"{number:.0f}"


def bar_chart(labels: Sequence[str], values: Sequence[Decimal | int], title: str) -> SafeString:
    """An SVG bar chart of ``values`` with ``labels`` under the first, middle and last bars."""
    count = len(values)
    if not count:
        return SafeString("")
    peak = max(max(float(v) for v in values), 1.0)
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / count
    bar_w = max(step * 0.7, 1.0)
    bars = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = max(float(value), 0.0) / peak * plot_h
        x = LEFT + index * step + (step - bar_w) / 2
        bars.append(
            (
                f"{x:.1f}",
                f"{TOP + plot_h - height:.1f}",
                f"{bar_w:.1f}",
                f"{height:.1f}",
                label,
                _short(value),
            )
        )
    marks = sorted({0, count // 2, count - 1})
    ticks = [(f"{LEFT + i * step + step / 2:.1f}", HEIGHT - 8, labels[i]) for i in marks]
    return format_html(
        '<svg class="extranet-chart" viewBox="0 0 {w} {h}" role="img" aria-label="{title}" '
        'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        "<title>{title}</title>"
        '<line x1="{left}" y1="{base}" x2="{right}" y2="{base}" stroke="#adb5bd"/>'
        '<text x="{lx}" y="{top_y}" text-anchor="end" font-size="11" fill="#6c757d">{peak}</text>'
        '<text x="{lx}" y="{base}" text-anchor="end" font-size="11" fill="#6c757d">0</text>'
        "{bars}{ticks}</svg>",
        w=WIDTH,
        h=HEIGHT,
        title=title,
        left=LEFT,
        right=WIDTH - 8,
        base=TOP + plot_h,
        lx=LEFT - 6,
        top_y=TOP + 10,
        peak=_short(Decimal(peak)),
        bars=format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" rx="2" fill="#0d6efd"><title>{}: {}</title></rect>',
            bars,
        ),
        ticks=format_html_join(
            "", '<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="#495057">{}</text>', ticks
        ),
    )

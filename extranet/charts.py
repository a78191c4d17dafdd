"""Bar charts drawn as inline SVG on the server: no JavaScript, no CDN, readable without scripts.

The bars' values and labels also sit in the table beside each chart, which is what screen readers and
exports use.
"""

from collections.abc import Sequence
from decimal import Decimal
from html import escape  # Django's escape without its lazy-string wrapper: labels are str

from django.utils.safestring import SafeString

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 220, 64, 28, 12


def _short(value: Decimal | int) -> str:
    number = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            return f"{number / limit:.1f}{suffix}"
    return f"{number:.0f}"


def bar_chart(labels: Sequence[str], values: Sequence[Decimal | int], title: str) -> SafeString:
    """An SVG bar chart of ``values`` with ``labels`` under the first, middle and last bars.

    Written with f-strings: the numbers are formatted here and only the labels and the title come from
    outside, so they alone are escaped (once each). ``format_html`` per bar escaped every number too and
    cost a quarter of a year's sales page (two charts of 53 weeks).
    """
    count = len(values)
    if not count:
        return SafeString("")
    peak = max(max(float(v) for v in values), 1.0)
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    step = plot_w / count
    bar_w = max(step * 0.7, 1.0)
    base = TOP + plot_h
    names = [escape(label) for label in labels]
    if len(names) != count:
        raise ValueError("a bar chart needs one label per value")
    bars = []
    for index, value in enumerate(values):
        height = max(float(value), 0.0) / peak * plot_h
        x = LEFT + index * step + (step - bar_w) / 2
        bars.append(
            f'<rect x="{x:.1f}" y="{base - height:.1f}" width="{bar_w:.1f}" height="{height:.1f}" rx="2" '
            f'fill="#0d6efd"><title>{names[index]}: {_short(value)}</title></rect>'
        )
    ticks = [
        f'<text x="{LEFT + i * step + step / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="11" '
        f'fill="#495057">{names[i]}</text>'
        for i in sorted({0, count // 2, count - 1})
    ]
    name = escape(title)
    return SafeString(
        f'<svg class="extranet-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{name}" '
        'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{name}</title>"
        f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - 8}" y2="{base}" stroke="#adb5bd"/>'
        f'<text x="{LEFT - 6}" y="{TOP + 10}" text-anchor="end" font-size="11" fill="#6c757d">'
        f"{_short(Decimal(peak))}</text>"
        f'<text x="{LEFT - 6}" y="{base}" text-anchor="end" font-size="11" fill="#6c757d">0</text>'
        + "".join(bars)
        + "".join(ticks)
        + "</svg>"
    )

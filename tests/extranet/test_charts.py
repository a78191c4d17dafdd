"""The dashboards' SVG bar charts (extranet/charts.py)."""

from decimal import Decimal

import pytest

from extranet.charts import bar_chart


def test_a_chart_has_a_bar_per_value_and_escapes_its_labels_and_title() -> None:
    svg = bar_chart(["<a>", "b&c", "d"], [Decimal("1200"), 0, -5], 'Net "revenue"')

    assert svg.count("<rect ") == 3
    assert 'aria-label="Net &quot;revenue&quot;"' in svg
    assert "<title>&lt;a&gt;: 1.2k</title>" in svg
    assert ">b&amp;c<" in svg and "<a>" not in svg
    assert 'height="0.0"' in svg  # a negative value draws no bar


def test_an_empty_chart_is_nothing_and_labels_must_match_values() -> None:
    assert bar_chart([], [], "x") == ""
    with pytest.raises(ValueError):
        bar_chart(["a"], [1, 2], "x")

"""Dashboard charts as server-side SVG: well-formed, every value on the canvas, the interval band
around the estimate, and bar heights in proportion to the sends."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

from agents.reporting import LiftPoint
from api.charts import allocation_chart, lift_chart, nice_ticks

_NS = "{http://www.w3.org/2000/svg}"


def _svg(markup: str) -> ET.Element:
    return ET.fromstring(markup.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def _point(day: str, est: float, low: float, high: float) -> LiftPoint:
    return LiftPoint(
        day=day,
        estimate=est,
        ci_low=low,
        ci_high=high,
        conversions_treated=1,
        conversions_holdout=0,
    )


def test_nice_ticks_cover_the_range_with_round_steps() -> None:
    ticks = nice_ticks(-1.3, 4.2)
    assert ticks[0] <= -1.3 and ticks[-1] >= 4.2
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1 and steps.pop() in {1, 2, 2.5, 5}


def test_lift_chart_band_contains_the_estimate_and_unbounded_ends_stay_on_the_canvas() -> None:
    pts = [
        _point("2026-11-02", 0.0, -math.inf, math.inf),  # a group of one: no finite interval
        _point("2026-11-03", 0.02, -0.01, 0.05),
        _point("2026-11-04", 0.03, 0.01, 0.05),
    ]
    markup = str(lift_chart(pts))
    assert "inf" not in markup and "nan" not in markup.lower()
    root = _svg(markup)
    assert "percentage points" in markup and "95 % interval" in markup and "Day (UTC)" in markup
    band = root.find(f"{_NS}polygon[@data-band='1']")
    assert band is not None
    ys = [float(p.split(",")[1]) for p in band.attrib["points"].split()]
    assert all(0 <= y <= 260 for y in ys)
    upper, lower = ys[:3], ys[3:][::-1]
    dots = root.findall(f"{_NS}circle")
    assert [d.attrib["data-day"] for d in dots] == [p.day for p in pts]
    for dot, top, bottom in zip(dots, upper, lower, strict=True):
        assert top <= float(dot.attrib["cy"]) <= bottom  # y grows downwards
    assert [float(d.attrib["data-lift"]) for d in dots] == [0.0, 2.0, 3.0]
    # higher lift is drawn higher
    assert float(dots[2].attrib["cy"]) < float(dots[1].attrib["cy"]) < float(dots[0].attrib["cy"])
    assert "latest +3.00 percentage points, 95 % interval +1.00 to +5.00" in markup


def test_a_single_day_is_drawn_as_an_interval_bar() -> None:
    root = _svg(str(lift_chart([_point("2026-11-02", 0.01, -0.02, 0.04)])))
    bar = root.find(f"{_NS}rect[@data-band='1']")
    assert bar is not None and float(bar.attrib["height"]) > 10


def test_allocation_bars_are_shares_of_each_days_sends() -> None:
    sends = {"2026-11-02": {"A": 30, "B": 10}, "2026-11-03": {"A": 5, "B": 15}}
    markup = str(allocation_chart(sends, ["A", "B"]))
    root = _svg(markup)
    bars = [r for r in root.iter(f"{_NS}rect") if "data-arm" in r.attrib]
    assert {
        (r.attrib["data-day"], r.attrib["data-arm"], int(r.attrib["data-count"])) for r in bars
    } == {
        ("2026-11-02", "A", 30),
        ("2026-11-02", "B", 10),
        ("2026-11-03", "A", 5),
        ("2026-11-03", "B", 15),
    }
    h = {(r.attrib["data-day"], r.attrib["data-arm"]): float(r.attrib["height"]) for r in bars}
    full = h["2026-11-02", "A"] + h["2026-11-02", "B"]
    assert abs(h["2026-11-02", "A"] / full - 0.75) < 0.01
    assert abs(h["2026-11-03", "A"] + h["2026-11-03", "B"] - full) < 0.2
    assert "Share of messages sent, %" in markup and re.search(r">arm A<", markup)


def test_labels_are_escaped() -> None:
    markup = str(allocation_chart({"2026-11-02": {"<b>": 1}}, ["<b>"]))
    assert "<b>" not in markup.replace('<b>"', "") and "&lt;b&gt;" in markup

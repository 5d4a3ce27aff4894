"""Server-side SVG charts for the campaign dashboard: read at a glance, no JavaScript, nothing
from a CDN. Each chart has axis titles with units, tick labels, and a short text alternative."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from agents.reporting import LiftPoint

ARM_COLOURS = ("#1f5f46", "#c49a3c", "#5b7fa6", "#a05c7b", "#7fb59a", "#8c8c8c")
"""Arm colours, in the order of the sorted arm labels (the legend uses the same)."""
_W, _H = 640, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 16, 36, 48
_INK, _MUTED, _LINE, _ACCENT, _BAND = "#1d2a24", "#5c6b64", "#dfe5e1", "#1f5f46", "#cfe5d9"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        return [low]
    raw = (high - low) / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(low / step)
    last = math.ceil(high / step)
    return [round(i * step, 10) for i in range(first, last + 1)]


def _x_positions(n: int) -> list[float]:
    inner = _W - _LEFT - _RIGHT
    if n == 1:
        return [_LEFT + inner / 2]
    return [_LEFT + 12 + i * (inner - 24) / (n - 1) for i in range(n)]


def _day_labels(days: Sequence[str], xs: Sequence[float]) -> list[str]:
    every = max(1, math.ceil(len(days) / 8))
    tail = (len(days) - 1) % every
    show_last = tail == 0 or tail >= every * 0.75  # not on top of the label before it
    return [
        f'<text x="{x:.1f}" y="{_H - _BOTTOM + 16}" text-anchor="middle" font-size="11" '
        f'fill="{_MUTED}">{escape(d[5:])}</text>'
        for i, (d, x) in enumerate(zip(days, xs, strict=True))
        if i % every == 0 or (i == len(days) - 1 and show_last)
    ]


def _frame(y_title: str, x_title: str) -> list[str]:
    mid = _TOP + (_H - _TOP - _BOTTOM) / 2
    return [
        f'<text x="14" y="{mid:.1f}" transform="rotate(-90 14 {mid:.1f})" text-anchor="middle" '
        f'font-size="12" fill="{_MUTED}">{escape(y_title)}</text>',
        f'<text x="{_LEFT + (_W - _LEFT - _RIGHT) / 2:.1f}" y="{_H - 8}" text-anchor="middle" '
        f'font-size="12" fill="{_MUTED}">{escape(x_title)}</text>',
        f'<line x1="{_LEFT}" y1="{_H - _BOTTOM}" x2="{_W - _RIGHT}" y2="{_H - _BOTTOM}" '
        f'stroke="{_LINE}"/>',
    ]


def _svg(label: str, parts: Sequence[str], test_id: str) -> Markup:
    return Markup(
        f'<svg role="img" aria-label="{escape(label)}" data-chart="{test_id}" '
        f'viewBox="0 0 {_W} {_H}" width="100%" font-family="system-ui, sans-serif">'
        f"<title>{escape(label)}</title>{''.join(parts)}</svg>"
    )


def lift_chart(points: Sequence[LiftPoint]) -> Markup:
    """The cumulative conversion lift (treated minus holdout, in percentage points) at the end
    of each day, as a line, with its 95 % interval as a shaded band and 0 marked."""
    pp = [(p.estimate * 100, p.ci_low * 100, p.ci_high * 100) for p in points]
    finite = [v for e, lo, hi in pp for v in (e, lo, hi) if math.isfinite(v)] + [0.0]
    lo_v, hi_v = min(finite), max(finite)
    pad = max((hi_v - lo_v) * 0.08, 0.5)
    ticks = nice_ticks(lo_v - pad, hi_v + pad)
    y_min, y_max = ticks[0], ticks[-1]
    if y_max <= y_min:
        y_min, y_max = y_min - 1, y_min + 1
        ticks = [y_min, 0.0, y_max]
    inner_h = _H - _TOP - _BOTTOM

    def y(v: float) -> float:
        v = min(max(v, y_min), y_max)  # an unbounded end reaches the edge
        return _TOP + (y_max - v) / (y_max - y_min) * inner_h

    xs = _x_positions(len(points))
    parts = _frame("Lift, percentage points", "Day (UTC), cumulative since the first send")
    for t in ticks:
        parts.append(
            f'<line x1="{_LEFT}" y1="{y(t):.1f}" x2="{_W - _RIGHT}" y2="{y(t):.1f}" '
            f'stroke="{_LINE}" stroke-width="0.6"/>'
            f'<text x="{_LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="{_MUTED}">{_signed(t)}</text>'
        )
    if len(points) == 1:
        x = xs[0]
        parts.append(
            f'<rect x="{x - 14:.1f}" y="{y(pp[0][2]):.1f}" width="28" '
            f'height="{max(y(pp[0][1]) - y(pp[0][2]), 1):.1f}" fill="{_BAND}" data-band="1"/>'
        )
    elif points:
        upper = " ".join(f"{x:.1f},{y(hi):.1f}" for x, (_, _, hi) in zip(xs, pp, strict=True))
        lower = " ".join(
            f"{x:.1f},{y(lo):.1f}" for x, (_, lo, _) in reversed(list(zip(xs, pp, strict=True)))
        )
        parts.append(f'<polygon points="{upper} {lower}" fill="{_BAND}" data-band="1"/>')
    parts.append(
        f'<line x1="{_LEFT}" y1="{y(0):.1f}" x2="{_W - _RIGHT}" y2="{y(0):.1f}" stroke="{_MUTED}" '
        f'stroke-dasharray="4 3"/><text x="{_W - _RIGHT - 2}" y="{y(0) - 4:.1f}" '
        f'text-anchor="end" font-size="11" fill="{_MUTED}">0 = no difference</text>'
    )
    if len(points) > 1:
        line = " ".join(f"{x:.1f},{y(e):.1f}" for x, (e, _, _) in zip(xs, pp, strict=True))
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="{_ACCENT}" stroke-width="2.5"/>'
        )
    for x, p, (e, lo, hi) in zip(xs, points, pp, strict=True):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y(e):.1f}" r="3.5" fill="{_ACCENT}" data-day="{p.day}" '
            f'data-lift="{e:.3f}"><title>{p.day}: {e:+.2f} pp (95 % interval '
            f"{_bound(lo)} to {_bound(hi)}); {p.conversions_treated} treated and "
            f"{p.conversions_holdout} held-out conversions</title></circle>"
        )
    parts += _day_labels([p.day for p in points], xs)
    parts.append(
        f'<rect x="{_LEFT}" y="6" width="14" height="10" fill="{_BAND}"/>'
        f'<text x="{_LEFT + 18}" y="15" font-size="11" fill="{_MUTED}">95 % interval</text>'
        f'<line x1="{_LEFT + 110}" y1="11" x2="{_LEFT + 130}" y2="11" stroke="{_ACCENT}" '
        f'stroke-width="2.5"/><text x="{_LEFT + 134}" y="15" font-size="11" fill="{_MUTED}">'
        "estimate</text>"
    )
    last = pp[-1] if pp else (0.0, 0.0, 0.0)
    label = (
        f"Conversion lift against the holdout over {len(points)} days; latest "
        f"{last[0]:+.2f} percentage points, 95 % interval {_bound(last[1])} to {_bound(last[2])}"
    )
    return _svg(label, parts, "lift")


def _signed(v: float) -> str:
    return "0" if v == 0 else f"{v:+g}"


def _bound(v: float) -> str:
    return f"{v:+.2f}" if math.isfinite(v) else "no bound"


def allocation_chart(sends: dict[str, dict[str, int]], arms: Sequence[str]) -> Markup:
    """The share of each day's sent messages that went to each arm, as 100 % stacked bars, with
    the day's total above each bar and a legend of the arms."""
    days = sorted(sends)
    inner = _W - _LEFT - _RIGHT
    slot = inner / max(len(days), 1)
    xs = [_LEFT + (i + 0.5) * slot for i in range(len(days))]
    bar = min(48.0, slot * 0.7)
    inner_h = _H - _TOP - _BOTTOM
    parts = _frame("Share of messages sent, %", "Day (UTC)")
    for t in (0, 25, 50, 75, 100):
        yy = _TOP + (100 - t) / 100 * inner_h
        parts.append(
            f'<line x1="{_LEFT}" y1="{yy:.1f}" x2="{_W - _RIGHT}" y2="{yy:.1f}" '
            f'stroke="{_LINE}" stroke-width="0.6"/><text x="{_LEFT - 6}" y="{yy + 4:.1f}" '
            f'text-anchor="end" font-size="11" fill="{_MUTED}">{t}</text>'
        )
    colour = {a: ARM_COLOURS[i % len(ARM_COLOURS)] for i, a in enumerate(arms)}
    for day, x in zip(days, xs, strict=True):
        total = sum(sends[day].values())
        if not total:
            continue  # a quiet day keeps its place, without a bar
        top = float(_TOP)
        for arm in arms:
            n = sends[day].get(arm, 0)
            if not n:
                continue
            h = n / total * inner_h
            parts.append(
                f'<rect x="{x - bar / 2:.1f}" y="{top:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour[arm]}" data-day="{day}" data-arm="{escape(arm)}" data-count="{n}">'
                f"<title>{day}: arm {escape(arm)}, {n} of {total} sent ({n / total:.0%})</title>"
                "</rect>"
            )
            top += h
        parts.append(
            f'<text x="{x:.1f}" y="{_TOP - 4}" text-anchor="middle" font-size="10" '
            f'fill="{_MUTED}">{total}</text>'
        )
    parts += _day_labels(days, xs)
    lx = float(_LEFT)
    for arm in arms:
        parts.append(
            f'<rect x="{lx:.1f}" y="6" width="10" height="10" fill="{colour[arm]}"/>'
            f'<text x="{lx + 14:.1f}" y="15" font-size="11" fill="{_INK}">arm '
            f"{escape(arm)}</text>"
        )
        lx += 24 + 7 * (len(arm) + 4)
    label = f"Messages sent per day by arm, {len(days)} days, arms {', '.join(arms)}"
    return _svg(label, parts, "allocation")

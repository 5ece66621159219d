"""Server-rendered inline SVG charts: no chart library, no script, no inline style (CSP).

Accessible: `role="img"` with `<title>` and `<desc>` (aria-labelledby), colours come from CSS classes in
static/engagement/engagement.css, every chart has a data table next to it on the page. Long series (home
monitoring) are averaged into time buckets so an SVG never carries thousands of points.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.formats import date_format, number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

MAX_POINTS = 240
_ids = itertools.count(1)


@dataclass
class Series:
    name: str
    css: str  # s1 | s2 | s3
    points: list[tuple[datetime, float]] = field(default_factory=list)


def downsample(points: list[tuple[datetime, float]], limit: int = MAX_POINTS) -> list[tuple[datetime, float]]:
    """Average into `limit` equal time buckets (oldest first)."""
    points = sorted(points, key=lambda p: p[0])
    if len(points) <= limit:
        return points
    start, end = points[0][0].timestamp(), points[-1][0].timestamp()
    span = (end - start) or 1.0
    buckets: dict[int, list[tuple[float, float]]] = {}
    for when, value in points:
        index = min(limit - 1, int((when.timestamp() - start) / span * limit))
        buckets.setdefault(index, []).append((when.timestamp(), value))
    out = []
    for index in sorted(buckets):
        rows = buckets[index]
        ts = sum(r[0] for r in rows) / len(rows)
        out.append((datetime.fromtimestamp(ts, tz=points[0][0].tzinfo), sum(r[1] for r in rows) / len(rows)))
    return out


def _num(value: float, decimals: int) -> str:
    return number_format(round(value, decimals), decimal_pos=decimals if decimals else None)


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    span = high - low or 1.0
    raw = span / (count - 1)
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 0.1
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10)), key=lambda s: abs(span / s - (count - 1)))
    first = (low // step) * step
    ticks = []
    value = first
    while value <= high + step / 2 and len(ticks) < 12:
        ticks.append(round(value, 6))
        value += step
    return ticks


def line_chart(
    series: list[Series],
    *,
    title: str,
    unit_label: str,
    band: tuple[float | None, float | None] = (None, None),
    band_label: str = "",
    thresholds: list[tuple[float, str]] | None = None,
    decimals: int = 0,
    width: int = 720,
    height: int = 280,
) -> SafeString:
    thresholds = thresholds or []
    drawn = [Series(s.name, s.css, downsample(s.points)) for s in series if s.points]
    chart_id = f"chart{next(_ids)}"
    if not drawn:
        return mark_safe(f'<p class="no-data" id="{chart_id}">{escape(_("No readings to chart."))}</p>')  # noqa: S308
    values = [v for s in drawn for _w, v in s.points]
    values += [b for b in band if b is not None] + [t for t, _l in thresholds]
    low, high = min(values), max(values)
    pad = (high - low) * 0.08 or max(abs(high) * 0.1, 1)
    low, high = low - pad, high + pad
    times = [w.timestamp() for s in drawn for w, _v in s.points]
    t0, t1 = min(times), max(times)
    tspan = (t1 - t0) or 1.0
    left, right, top, bottom = 56, 16, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(when: datetime) -> float:
        return left + (when.timestamp() - t0) / tspan * plot_w

    def y(value: float) -> float:
        return top + (high - value) / (high - low) * plot_h

    parts: list[str] = []
    # Reference band.
    b_low = band[0] if band[0] is not None else low
    b_high = band[1] if band[1] is not None else high
    if band != (None, None):
        parts.append(
            f'<rect class="band" x="{left}" y="{y(min(b_high, high)):.1f}" width="{plot_w}" '
            f'height="{max(0.0, y(max(b_low, low)) - y(min(b_high, high))):.1f}">'
            f"<title>{escape(band_label)}</title></rect>"
        )
    # Y axis grid and labels.
    for tick in _nice_ticks(low, high):
        if low <= tick <= high:
            parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>')
            parts.append(
                f'<text class="axis" x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
                f"{escape(_num(tick, decimals))}</text>"
            )
    # X axis labels: up to five dates.
    first = min((w for s in drawn for w, _v in s.points))
    last = max((w for s in drawn for w, _v in s.points))
    for i in range(5):
        ts = t0 + tspan * i / 4
        when = datetime.fromtimestamp(ts, tz=first.tzinfo)
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        parts.append(
            f'<text class="axis" x="{left + plot_w * i / 4:.1f}" y="{height - 12}" text-anchor="{anchor}">'
            f"{escape(date_format(when, 'SHORT_DATE_FORMAT'))}</text>"
        )
        if t1 == t0:
            break
    for value, label in thresholds:
        if low <= value <= high:
            parts.append(
                f'<line class="threshold" x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}">'
                f"<title>{escape(label)}</title></line>"
            )
    for s in drawn:
        coords = " ".join(f"{x(w):.1f},{y(v):.1f}" for w, v in s.points)
        parts.append(f'<polyline class="line {s.css}" points="{coords}"/>')
        if len(s.points) <= 60:
            for w, v in s.points:
                tip = f"{s.name}: {_num(v, decimals)} {unit_label} · {date_format(w, 'SHORT_DATE_FORMAT')}"
                parts.append(
                    f'<circle class="dot {s.css}" cx="{x(w):.1f}" cy="{y(v):.1f}" r="3">'
                    f"<title>{escape(tip)}</title></circle>"
                )
    count = sum(len(s.points) for s in series)
    desc_parts = [
        _("%(count)s readings from %(first)s to %(last)s.")
        % {"count": count, "first": date_format(first, "DATE_FORMAT"), "last": date_format(last, "DATE_FORMAT")}
    ]
    for s in series:
        if s.points:
            latest = max(s.points, key=lambda p: p[0])
            vals = [v for _w, v in s.points]
            desc_parts.append(
                _("%(name)s: latest %(latest)s %(unit)s, lowest %(min)s, highest %(max)s.")
                % {
                    "name": s.name,
                    "latest": _num(latest[1], decimals),
                    "unit": unit_label,
                    "min": _num(min(vals), decimals),
                    "max": _num(max(vals), decimals),
                }
            )
    if band_label:
        desc_parts.append(band_label)
    if len(drawn[0].points) < len(series[0].points):
        desc_parts.append(_("Readings are averaged over time periods in the chart; the table lists each one."))
    legend = "".join(
        f'<li><span class="key {s.css}" aria-hidden="true"></span>{escape(s.name)}</li>' for s in drawn
    ) + (f'<li><span class="key band" aria-hidden="true"></span>{escape(band_label)}</li>' if band_label else "")
    svg = (
        f'<figure class="chart"><svg viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{chart_id}-t {chart_id}-d" preserveAspectRatio="xMidYMid meet" focusable="false">'
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(" ".join(desc_parts))}</desc>'
        f"{''.join(parts)}</svg>"
        f'<figcaption><ul class="legend">{legend}</ul></figcaption></figure>'
    )
    return mark_safe(svg)  # noqa: S308 - every interpolated text is escaped above


def sparkline(points: list[tuple[datetime, float]], *, label: str, width: int = 120, height: int = 28) -> SafeString:
    points = sorted(points, key=lambda p: p[0])[-24:]
    if len(points) < 2:
        return mark_safe("")
    values = [v for _w, v in points]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (width - 4) / (len(points) - 1)
    coords = " ".join(
        f"{2 + i * step:.1f},{2 + (high - v) / span * (height - 4):.1f}" for i, (_w, v) in enumerate(points)
    )
    last_x, last_y = coords.split(" ")[-1].split(",")
    return mark_safe(  # noqa: S308 - label is escaped
        f'<svg class="sparkline" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(label)}" focusable="false"><title>{escape(label)}</title>'
        f'<polyline points="{coords}"/><circle cx="{last_x}" cy="{last_y}" r="2.5"/></svg>'
    )


def trend_words(points: list[tuple[datetime, float]]) -> Any:
    """rising / falling / steady over the last readings, for the sparkline's text alternative."""
    recent = [v for _w, v in sorted(points, key=lambda p: p[0])[-6:]]
    if len(recent) < 2:
        return _("not enough readings for a trend")
    first, last = sum(recent[:2]) / 2, sum(recent[-2:]) / 2
    change = (last - first) / (abs(first) or 1)
    if change > 0.05:
        return _("rising")
    if change < -0.05:
        return _("falling")
    return _("steady")

"""Charts drawn on the server as SVG: no JavaScript, no CDN, readable offline and in any browser.

Geometry is float (pixels); every amount a person reads is the exact figure, formatted by
`core.money.usd`. Each mark carries a <title> (the browser's tooltip) with its exact value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape

from markupsafe import Markup

from core.money import usd, usd_about

# Colour-blind-safe (Okabe-Ito), one per series, in a stable order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTH = 720
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


@dataclass(frozen=True)
class Series:
    name: str  # e.g. "medical / prompt"
    values: dict[date, Decimal]


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    note: str = ""


@dataclass(frozen=True)
class Rate:
    label: str
    liked: int
    rated: int
    interval: tuple[float, float] | None


def _svg(height: int, label: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" {FONT}>' + "".join(body) + "</svg>"
    )


def _legend(names: list[str], y: int) -> tuple[list[str], int]:
    """The legend from ``y`` down, wrapped to the chart's width; and the height it took."""
    parts, x, row = [], 60, 0
    for i, name in enumerate(names):
        width = 24 + 7 * len(name)
        if x + width > WIDTH and x > 60:
            x, row = 60, row + 1
        top = y + 16 * row
        parts.append(f'<rect x="{x}" y="{top}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 14}" y="{top + 9}">{escape(name)}</text>')
        x += width
    return parts, 16 * (row + 1) if names else 0


def daily_spend(days: list[date], series: list[Series]) -> Markup:
    """Stacked bars: one per day, one colour per bot and strategy."""
    plot_h, top, left = 190, 10, 70
    totals = [sum((s.values.get(d, Decimal(0)) for s in series), Decimal(0)) for d in days]
    peak = max(totals, default=Decimal(0))
    scale = float(peak) or 1.0
    slot = (WIDTH - left - 10) / max(len(days), 1)
    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{WIDTH - 10}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 8}" text-anchor="end">{escape(usd_about(peak))}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">$0</text>',
    ]
    for i, day in enumerate(days):
        x, base = left + i * slot, float(top + plot_h)
        for j, s in enumerate(series):
            value = s.values.get(day)
            if not value:
                continue
            h = plot_h * float(value) / scale
            base -= h
            body.append(
                f'<rect class="spend" data-day="{day.isoformat()}" data-series="{escape(s.name)}" '
                f'x="{x + 1:.1f}" y="{base:.1f}" width="{max(slot - 2, 1):.1f}" height="{max(h, 0.5):.1f}" '
                f'fill="{PALETTE[j % len(PALETTE)]}"><title>{day.isoformat()} {escape(s.name)}: '
                f"{escape(usd(value))}</title></rect>"
            )
        if i % max(len(days) // 6, 1) == 0:
            body.append(f'<text x="{x + slot / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle">'
                        f"{day.strftime('%b %d')}</text>")  # fmt: skip
    legend, legend_h = _legend([s.name for s in series], top + plot_h + 26)
    return _svg(top + plot_h + 30 + legend_h, "Spend per day by bot and strategy", body + legend)


def bars(bars: list[Bar], label: str) -> Markup:
    """Horizontal bars with their exact value written beside them."""
    row, left = 26, 200
    height = row * max(len(bars), 1) + 10
    peak = float(max((b.value for b in bars), default=Decimal(0))) or 1.0
    body = []
    for i, bar in enumerate(bars):
        y = 5 + i * row
        w = (WIDTH - left - 150) * float(bar.value) / peak
        text = usd_about(bar.value) + (f" {bar.note}" if bar.note else "")
        body.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{escape(bar.label)}</text>')
        body.append(
            f'<rect class="bar" x="{left}" y="{y}" width="{max(w, 1):.1f}" height="{row - 8}" '
            f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(bar.label)}: {escape(usd(bar.value))}</title></rect>'
        )
        body.append(f'<text x="{left + max(w, 1) + 6:.1f}" y="{y + 14}">{escape(text)}</text>')
    return _svg(height, label, body)


def like_rates(rates: list[Rate]) -> Markup:
    """Each strategy's like-rate as a dot on a 0-100% scale, its 95% Wilson interval as a line."""
    row, left, right = 26, 200, WIDTH - 60
    height = row * max(len(rates), 1) + 30
    span = right - left
    body = [f'<line x1="{left}" y1="{height - 20}" x2="{right}" y2="{height - 20}" stroke="#888"/>']
    for tick in (0, 50, 100):
        x = left + span * tick / 100
        body.append(f'<text x="{x:.1f}" y="{height - 6}" text-anchor="middle">{tick}%</text>')
    for i, rate in enumerate(rates):
        y = 15 + i * row
        body.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end">{escape(rate.label)}</text>')
        if not rate.rated or rate.interval is None:
            body.append(f'<text x="{left}" y="{y + 4}" fill="#666">no ratings yet</text>')
            continue
        low, high = rate.interval
        share = rate.liked / rate.rated
        body.append(
            f'<line class="interval" x1="{left + span * low:.1f}" y1="{y}" x2="{left + span * high:.1f}" y2="{y}" '
            f'stroke="{PALETTE[i % len(PALETTE)]}" stroke-width="3"/>'
        )
        body.append(
            f'<circle class="rate" cx="{left + span * share:.1f}" cy="{y}" r="5" fill="{PALETTE[i % len(PALETTE)]}">'
            f"<title>{escape(rate.label)}: {rate.liked} of {rate.rated} liked ({share:.0%}), "
            f"95% interval {low:.0%}-{high:.0%}</title></circle>"
        )
    return _svg(height, "Like rate per strategy with its 95% interval", body)

"""Objectives on the page: a service's objectives (target, observed, budget left, a burn chart)
and a team's list. The burn chart is a small inline SVG; every name is escaped by autoescape."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

from ownership.identity import CatalogIndex
from ownership.objectives.burn import FAST_BURN, SLOW_BURN
from ownership.objectives.evaluate import ObjectiveResult

CHART_MAX = 20.0  # burn rates above this are drawn at the top of the chart
WIDTH, HEIGHT, BAR, GAP, TOP = 176, 64, 30, 12, 6
_env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_CHART = _env.from_string("""\
<svg xmlns="http://www.w3.org/2000/svg" class="burn-chart" viewBox="0 0 {{ w }} {{ h + 14 }}" width="{{ w }}" \
height="{{ h + 14 }}" role="img" aria-label="burn rates of {{ name }}">
<title>burn rates of {{ name }}: {% for b in bars %}{{ b.label }} {{ b.text }}{% if not loop.last %}, {% endif %}\
{% endfor %}</title>
{% for line in lines %}<line x1="0" x2="{{ w }}" y1="{{ line.y }}" y2="{{ line.y }}" stroke="{{ line.colour }}" \
stroke-dasharray="3 2"><title>{{ line.label }}</title></line>
{% endfor %}
{% for b in bars %}<rect x="{{ b.x }}" y="{{ b.y }}" width="{{ bar }}" height="{{ b.height }}" fill="{{ b.colour }}">\
<title>{{ b.label }}: {{ b.text }}</title></rect>
<text x="{{ b.x + bar / 2 }}" y="{{ h + 12 }}" font-size="10" text-anchor="middle">{{ b.label }}</text>
{% endfor %}
</svg>""")


def _y(rate: float) -> float:
    return round(TOP + (HEIGHT - TOP) * (1 - min(rate, CHART_MAX) / CHART_MAX), 1)


def burn_chart(result: ObjectiveResult) -> Markup:
    """Bars of the 5m, 30m, 1h and 6h burn rates, with the slow (6) and fast (14.4) burn lines."""
    bars = []
    for i, (label, rate) in enumerate(result.burn.rates.items()):
        value = rate or 0.0
        colour = "#c62828" if value >= FAST_BURN else "#ef6c00" if value >= SLOW_BURN else "#2e7d32"
        y = _y(value)
        bars.append({"x": GAP + i * (BAR + GAP), "y": y, "height": round(HEIGHT - y, 1), "colour": colour,
                     "label": label, "text": "no calls" if rate is None else f"{rate:.3g}"})
    lines = [{"y": _y(SLOW_BURN), "colour": "#ef6c00", "label": f"slow burn {SLOW_BURN:g}"},
             {"y": _y(FAST_BURN), "colour": "#c62828", "label": f"fast burn {FAST_BURN:g}"}]
    return Markup(_CHART.render(w=WIDTH, h=HEIGHT, bar=BAR, bars=bars, lines=lines,  # noqa: S704 - autoescaped
                                name=result.objective.name))


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.3g}%"


def card(result: ObjectiveResult, chart: bool = True) -> dict[str, Any]:
    """What the page shows of one objective."""
    o = result.objective
    return {"name": o.name, "service": o.service, "status": result.status, "sli": o.sli,
            "target": _percent(o.target), "observed": _percent(result.budget.observed),
            "budget_left": _percent(result.budget.budget_remaining),
            "threshold": f"{o.threshold_ms:g} ms" if o.threshold_ms is not None else None,
            "estimated": o.estimated, "approximate": result.budget.approximate,
            "chart": burn_chart(result) if chart else None}


def service_cards(results: Iterable[ObjectiveResult], index: CatalogIndex, service: str) -> list[dict[str, Any]]:
    """The objectives of one service: declared for its name, or for the catalog entry it matches."""
    match = index.identify(service).match
    entity = match.entity if match is not None else None
    out = []
    for result in results:
        name = result.objective.service
        if name.lower() == service.lower() or (entity is not None and (m := index.identify(name).match) is not None
                                               and m.entity is entity):
            out.append(card(result))
    return out


def team_cards(results: Sequence[ObjectiveResult], team: str) -> list[dict[str, Any]]:
    """The objectives a team owns (no charts: a table row each)."""
    return [card(r, chart=False) for r in results if (r.owner or "").lower() == team.lower()]

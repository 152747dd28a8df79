"""The report's charts as PNG bytes, drawn by matplotlib (Agg canvas, no pyplot) with a Chinese font.

Debian has no CJK font by default, so the font comes from PyPI: Noto Sans SC of the
``pylopdf-fonts-zh-cn`` package (SIL OFL).  If that package is absent a system CJK font (Noto Sans
CJK, Source Han Sans, WenQuanYi …) is used; :func:`cjk_font` returns None when there is none and the
charts then fall back to matplotlib's default font (Chinese would show as boxes).

* :func:`region_chart` — reports by state (已发布 / 已隔离 / 缺失) per region, stacked bars;
* :func:`rules_chart` — the most frequently failed rules (errors red, warnings amber);
* :func:`trend_chart` — year over year: requests received (本年新收) as a line over the outcomes
  (予以公开 … 其他处理) as stacked bars, for the agencies covered.

Each returns PNG bytes, or None when there is nothing to draw; :func:`render_charts` draws all of
a :class:`~flows.report.data.Report` as a name → bytes mapping.
"""

from __future__ import annotations

import functools
import io
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.typing import RcKeyType

from flows.report.data import OUTCOME_GROUPS, STATE_LABELS, Report, RuleCount, TrendPoint
from flows.report.fonts import packaged_font

STATE_COLORS = {"promoted": "#2e7d32", "quarantined": "#c62828", "missing": "#9e9e9e"}
SEVERITY_COLORS = {"error": "#c62828", "warning": "#f9a825", "info": "#90a4ae"}
OUTCOME_COLORS = ["#1565c0", "#42a5f5", "#ef6c00", "#8d6e63", "#7e57c2", "#bdbdbd"]
_SYSTEM_CJK = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
)
DPI = 110


def _packaged_font() -> Path | None:
    return packaged_font()


@functools.cache
def cjk_font() -> str | None:
    """The family name of the Chinese font the charts use (registered with matplotlib), or None."""
    path = _packaged_font()
    if path is not None:
        font_manager.fontManager.addfont(str(path))
        return font_manager.FontProperties(fname=str(path)).get_name()
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _SYSTEM_CJK if name in installed), None)


def font_path() -> Path | None:
    """The file of the packaged Chinese font (also used to render the HTML in tests), or None."""
    return _packaged_font()


def _figure(width: float, height: float) -> Figure:
    """A blank figure on its own Agg canvas (no pyplot, no global backend switch, no display)."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    fig.patch.set_facecolor("white")
    return fig


def _style() -> dict[RcKeyType, Any]:
    family = cjk_font()
    return {
        "font.family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"],
        "axes.unicode_minus": False,
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def _integer_ticks(axis: Any) -> None:
    """Whole-number ticks on ``axis`` (counts of reports); its default locator is an AutoLocator, a MaxNLocator."""
    locator = axis.get_major_locator()
    if isinstance(locator, MaxNLocator):
        locator.set_params(integer=True)


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width=width)) or text


def region_chart(region_states: Mapping[str, Mapping[str, int]], year: int) -> bytes | None:
    """Stacked horizontal bars: agencies per region by state (已发布 / 已隔离 / 缺失)."""
    if not region_states:
        return None
    regions = list(region_states)[::-1]
    with matplotlib.rc_context(_style()):
        fig = _figure(8, 1.2 + 0.45 * len(regions))
        ax = fig.add_subplot()
        left = [0] * len(regions)
        for state, label in STATE_LABELS.items():
            values = [region_states[r].get(state, 0) for r in regions]
            bars = ax.barh(
                [_wrap(r, 18) for r in regions], values, left=left, color=STATE_COLORS[state], label=label, height=0.6
            )
            ax.bar_label(
                bars, labels=[str(v) if v else "" for v in values], label_type="center", color="white", fontsize=9
            )
            left = [a + b for a, b in zip(left, values, strict=True)]
        ax.set_xlabel("机关数")
        ax.set_title(f"各地区 {year} 年度报告状态", loc="left", fontsize=12)
        _integer_ticks(ax.xaxis)
        ax.legend(ncols=3, loc="lower right", bbox_to_anchor=(1, 1), frameon=False)
        return _png(fig)


def rules_chart(counts: Sequence[RuleCount]) -> bytes | None:
    """Horizontal bars of the most frequently failed rules (number of reports), errors in red."""
    if not counts:
        return None
    items = list(counts)[::-1]
    with matplotlib.rc_context(_style()):
        fig = _figure(8, 1.2 + 0.5 * len(items))
        ax = fig.add_subplot()
        labels = [_wrap(f"{c.title}", 26) for c in items]
        bars = ax.barh(
            labels,
            [c.reports for c in items],
            color=[SEVERITY_COLORS.get(c.severity, "#90a4ae") for c in items],
            height=0.6,
        )
        ax.bar_label(bars, padding=3, fontsize=9)
        ax.set_xlabel("报告数")
        _integer_ticks(ax.xaxis)
        ax.set_title("最常未通过的校验规则（红：错误，阻止发布；黄：警告）", loc="left", fontsize=12)
        ax.tick_params(axis="y", labelsize=8.5)
        return _png(fig)


def trend_chart(points: Sequence[TrendPoint]) -> bytes | None:
    """Year over year: outcomes (stacked bars) and requests received (line), published reports only."""
    if not points:
        return None
    years = [
        f"{p.year}\n（{p.reports}份" + (f"，{p.unread}份总计未读出、未计入" if p.unread else "") + "）" for p in points
    ]
    with matplotlib.rc_context(_style()):
        fig = _figure(8, 4.2)
        ax = fig.add_subplot()
        bottom = [0.0] * len(points)
        for (group, label), color in zip(OUTCOME_GROUPS.items(), OUTCOME_COLORS, strict=True):
            values = [p.outcomes.get(group, 0.0) for p in points]
            ax.bar(years, values, bottom=bottom, color=color, label=label, width=0.55)
            bottom = [a + b for a, b in zip(bottom, values, strict=True)]
        ax.plot(years, [p.new_received for p in points], color="#212121", marker="o", linewidth=2, label="本年新收")
        for x, p in zip(years, points, strict=True):
            ax.annotate(
                f"{p.new_received:g}",
                (x, p.new_received),
                textcoords="offset points",
                xytext=(0, 6),
                ha="center",
                fontsize=9,
            )
        ax.set_ylabel("申请件数")
        ax.set_title("依申请公开：本年新收与办理结果（已发布报告合计）", loc="left", fontsize=12)
        ax.legend(ncols=4, fontsize=8.5, loc="upper left", bbox_to_anchor=(0, -0.18), frameon=False)
        ax.set_ylim(0, max([*bottom, *(p.new_received for p in points), 1]) * 1.18)
        return _png(fig)


CHART_TITLES = {
    "regions": "各地区报告状态",
    "rules": "最常未通过的校验规则",
    "trend": "本年新收与办理结果的年度趋势",
}


def render_charts(report: Report) -> dict[str, bytes]:
    """Chart name (``regions``, ``rules``, ``trend``) → PNG bytes, for the charts that have data."""
    drawn = {
        "regions": region_chart(report.region_states, report.year),
        "rules": rules_chart(report.rule_counts),
        "trend": trend_chart(report.trend),
    }
    return {name: png for name, png in drawn.items() if png}

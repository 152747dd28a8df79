"""Regional totals the oversight office reports upward, for the e-mail table and the workbook sheet.

Per region × level × year (the report year and the one before it): the sums of the statutory figures
over the agencies' published reports, with their coverage — how many of the expected agencies are
included, missing, quarantined, and how many included reports have a figure that is not a number
(left out of that sum, never counted as 0).  The figures and rates are those of the warehouse view
``pub.v_region_year`` (``warehouse/regions.py``, which declares them); this module computes them from
the report's own agencies (registry or warehouse, exactly the report's expected agencies) and keeps
each agency's figures, so every total can be traced to the agencies behind it.

Plain data in, dataclasses out: the caller (``flows.report.data.build_report``) gives one
:class:`AgencyFigures` per expected agency and year.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sources import chinese
from warehouse.regions import FIGURES, OUTCOMES, T3_FIGURES, figure_cells

FIGURE_LABELS = {
    "new_received": "本年新收",
    "concluded": "办结",
    "granted": "予以公开",
    "partially_granted": "部分公开",
    "denied": "不予公开",
    "unable_to_provide": "无法提供",
    "not_processed": "不予处理",
    "other_handling": "其他处理",
    "disclosure_rate": "公开率",
    "review_cases": "行政复议",
    "review_decided": "复议审结",
    "review_corrected": "复议纠错",
    "review_correction_rate": "复议纠错率",
    "litigation_cases": "行政诉讼",
    "litigation_decided": "诉讼审结",
    "litigation_corrected": "诉讼纠错",
    "litigation_correction_rate": "诉讼纠错率",
}
#: The columns of the table and the sheet, in order (sums, then rates beside what they divide).
COLUMNS = (
    "new_received",
    "concluded",
    *OUTCOMES,
    "disclosure_rate",
    "review_cases",
    "review_corrected",
    "review_correction_rate",
    "litigation_cases",
    "litigation_corrected",
    "litigation_correction_rate",
)
RATES = {
    "disclosure_rate": ("granted", "partially_granted", "concluded"),
    "review_correction_rate": ("review_cases", "review_pending", "review_corrected"),
    "litigation_correction_rate": ("litigation_cases", "litigation_pending", "litigation_corrected"),
}
RATE_NOTE = (
    "公开率 =（予以公开 + 部分公开）÷ 办结（办理结果总计）；纠错率 = 结果纠正 ÷ 已审结（总计 − 尚未审结）；"
    "行政诉讼 = 未经复议直接起诉 + 复议后起诉。"
)


def report_figures(values: Mapping[str, float | None]) -> dict[str, float | None]:
    """Figure → value of one published report (its cells: address → value): each figure the sum of its
    printed cells, None when one of them is not a number or the report has none of them."""
    cells: dict[str, list[float | None]] = {}
    for address, figure in figure_cells():
        if address in values:
            cells.setdefault(figure, []).append(values[address])
    out: dict[str, float | None] = {}
    for figure in FIGURES:
        got = cells.get(figure)
        out[figure] = None if not got or any(v is None for v in got) else float(sum(v for v in got if v is not None))
    return out


@dataclass(frozen=True)
class AgencyFigures:
    """One expected agency in one year: its state and, when included, its report's figures."""

    name: str
    region: str
    region_label: str
    level: str
    year: int
    state: str  # promoted | quarantined | missing
    version_id: str | None = None
    figures: Mapping[str, float | None] = field(default_factory=dict)

    @property
    def included(self) -> bool:
        return self.state == "promoted"

    def value(self, column: str) -> float | None:
        """A figure, or the rate of this one report (None when a part is not a number)."""
        if column in RATES:
            return _rate(column, [self])
        if column in ("review_decided", "litigation_decided"):
            return _decided(column.split("_")[0], self.figures)
        return self.figures.get(column)


def _decided(kind: str, f: Mapping[str, float | None]) -> float | None:
    cases, pending = f.get(f"{kind}_cases"), f.get(f"{kind}_pending")
    return None if cases is None or pending is None else cases - pending


def _rate(column: str, agencies: Sequence[AgencyFigures]) -> float | None:
    """A rate over the included agencies that have every figure of it (4 decimals, as the view)."""
    parts = RATES[column]
    usable = [a.figures for a in agencies if a.included and all(a.figures.get(p) is not None for p in parts)]
    if column == "disclosure_rate":
        num = sum((f["granted"] or 0) + (f["partially_granted"] or 0) for f in usable)
        den = sum(f["concluded"] or 0 for f in usable)
    else:
        kind = column.split("_")[0]
        num = sum(f[f"{kind}_corrected"] or 0 for f in usable)
        den = sum(_decided(kind, f) or 0 for f in usable)
    return round(num / den, 4) if usable and den else None


@dataclass
class RegionTotal:
    """The sums of one region × level × year over its included agencies, with their coverage."""

    region: str
    region_label: str
    level: str
    year: int
    agencies: list[AgencyFigures]

    @property
    def level_label(self) -> str:
        return chinese.LEVEL.get(self.level, self.level)

    @property
    def expected(self) -> int:
        return len(self.agencies)

    @property
    def included(self) -> int:
        return sum(a.included for a in self.agencies)

    @property
    def missing(self) -> int:
        return sum(a.state == "missing" for a in self.agencies)

    @property
    def quarantined(self) -> int:
        return sum(a.state == "quarantined" for a in self.agencies)

    @property
    def unread(self) -> int:
        """Included reports with a figure that is not a number (left out of that figure's sum)."""
        return sum(a.included and any(a.figures.get(f) is None for f in FIGURES) for a in self.agencies)

    @property
    def coverage(self) -> str:
        """``25 家中 23 家已纳入，缺失 1 家，隔离 1 家`` (and the unread reports when there are any)."""
        text = f"{self.expected} 家中 {self.included} 家已纳入，缺失 {self.missing} 家，隔离 {self.quarantined} 家"
        return text + (f"；其中 {self.unread} 份报告有数值不可读，未计入相应合计" if self.unread else "")

    def total(self, column: str) -> float | None:
        """The sum of ``column`` over the included agencies whose value is a number (None when none is),
        or the rate of the region."""
        if column in RATES:
            return _rate(column, self.agencies)
        values = [v for a in self.agencies if a.included and (v := a.value(column)) is not None]
        return float(sum(values)) if values else None

    def behind(self, column: str) -> list[AgencyFigures]:
        """The agencies a figure covers: the included ones with a number for it."""
        return [a for a in self.agencies if a.included and a.value(column) is not None]


def region_totals(agencies: Iterable[AgencyFigures]) -> list[RegionTotal]:
    """One :class:`RegionTotal` per region × level × year, by region, level, then the later year first."""
    groups: dict[tuple[str, str, int], list[AgencyFigures]] = {}
    labels: dict[str, str] = {}
    for a in agencies:
        groups.setdefault((a.region, a.level, a.year), []).append(a)
        labels.setdefault(a.region, a.region_label)
    return [
        RegionTotal(region, labels[region], level, year, sorted(members, key=lambda a: a.name))
        for (region, level, year), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], -kv[0][2]))
    ]


def fmt(column: str, value: float | None) -> str:
    """A total as shown: a rate as a percentage (one decimal), a count as a whole number, None as —."""
    if value is None:
        return "—"
    if column in RATES:
        return f"{value * 100:.1f}%"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


__all__ = [
    "COLUMNS",
    "FIGURE_LABELS",
    "RATE_NOTE",
    "T3_FIGURES",
    "AgencyFigures",
    "RegionTotal",
    "fmt",
    "region_totals",
    "report_figures",
]

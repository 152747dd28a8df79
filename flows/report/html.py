"""The report as an HTML page (for the e-mail body and the folder output) and as plain text.

:func:`render_html` fills the Jinja2 templates in ``templates/`` (autoescaped: agency names and messages can never
inject markup) with inline CSS that mail clients keep.  Chart images are referenced through
``images``, a chart name → ``src`` mapping: ``cid:…`` in an e-mail, ``data:image/png;base64,…``
in the folder output.  :func:`render_text` is the plain-text alternative of the same content.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape

from flows.report.charts import CHART_TITLES
from flows.report.data import CHINA_TZ, KIND_LABELS, STATE_LABELS, AgencyStatus, CheckItem, Report
from flows.report.regions import COLUMNS, FIGURE_LABELS, RATE_NOTE, fmt
from sources import chinese

STATE_BADGE = {"promoted": "#2e7d32", "quarantined": "#c62828", "missing": "#757575"}
SAFE_SCHEMES = ("http", "https", "file")
TEMPLATES = Path(__file__).with_name("templates")  # report.html.j2, checks.html.j2

STYLES = {
    "h2": "font-size:17px;border-left:4px solid #1d4ed8;padding-left:8px;margin:22px 0 8px 0;color:#111827",
    "table": "width:100%;border-collapse:collapse;font-size:12.5px;margin:6px 0",
    "th": "background:#eef2ff;border:1px solid #c7d2fe;padding:5px 6px;text-align:left;font-weight:bold",
    "td": "border:1px solid #e5e7eb;padding:5px 6px;vertical-align:top",
}


def safe_link(link: str | None) -> str | None:
    """``link`` if it is an http(s) or file URL (never ``javascript:`` and the like), else None."""
    if not link:
        return None
    scheme = urlsplit(link).scheme.lower()
    return link if scheme in SAFE_SCHEMES else None


def agency_meta(a: AgencyStatus) -> str:
    """One line about the version shown: reported name, publication date, deadline, format."""
    parts = []
    if a.reported_name and a.reported_name != a.name:
        parts.append(f"报告署名：{a.reported_name}")
    if a.published_on:
        parts.append(f"发布日期 {a.published_on}")
    if a.deadline:
        parts.append(f"法定期限 {a.deadline}")
    if a.format:
        parts.append(a.format.upper())
    if a.version_id:
        parts.append(f"版本 {a.version_id}")
    return " · ".join(parts)


def warning_groups(items: list[CheckItem]) -> list[tuple[str, list[CheckItem]]]:
    """Warnings grouped by kind (cross-year, narrative vs table, deadline, other table checks)."""
    order = list(KIND_LABELS)
    groups: dict[str, list[CheckItem]] = {}
    for c in items:
        groups.setdefault(c.kind, []).append(c)
    return sorted(groups.items(), key=lambda kv: order.index(kv[0]))


def highlights(report: Report) -> list[str]:
    """The few sentences a reader needs first."""
    s = report.summary
    lines = [
        f"应报送 {s.expected} 个机关，已找到 {s.found} 份报告：{s.promoted} 份通过校验并发布，"
        f"{s.quarantined} 份未通过校验被隔离。"
    ]
    if s.missing:
        lines.append(f"{s.missing} 个机关尚无报告：" + "、".join(a.name for a in report.missing) + "。")
    if s.late:
        lines.append(f"{s.late} 份报告晚于法定期限发布：" + "、".join(a.name for a in report.late) + "。")
    if report.with_failures:
        lines.append("需退回修改的报告：" + "、".join(a.name for a in report.with_failures) + "。")
    if s.revised:
        lines.append(f"{s.revised} 个机关自上次以来发布了修订版本。")
    return lines


def summary_boxes(report: Report) -> list[tuple[str, int, str]]:
    """(label, value, colour) of the summary boxes."""
    s = report.summary
    return [
        ("应报送机关", s.expected, "#374151"),
        ("已找到报告", s.found, "#1d4ed8"),
        ("已发布", s.promoted, "#2e7d32"),
        ("已隔离", s.quarantined, "#c62828"),
        ("缺失", s.missing, "#757575"),
        ("逾期发布", s.late, "#ef6c00"),
        ("自上次修订", s.revised, "#6d28d9"),
    ]


def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        keep_trailing_newline=True,
    )
    env.globals.update(STYLES)
    return env


def report_title(report: Report) -> str:
    """``梅州市政务公开办公室 2023 年度政府信息公开年报数据质量报告``."""
    return f"{report.office.name} {report.year} 年度政府信息公开年报数据质量报告"


def render_html(report: Report, images: Mapping[str, str] | None = None, *, embed_font: bool = False) -> str:
    """The report as one HTML page; ``images`` maps chart names to ``src`` values (cid: or data:), and
    the names of OCR cell crops (:func:`crop_name`) to theirs.

    ``embed_font`` puts the subset of the packaged Chinese font for the page's characters into the page
    (``flows.report.fonts``): the folder output reads on a machine without CJK fonts.
    """
    page = _render(report, images, "")
    if not embed_font:
        return page
    from flows.report.fonts import font_face_css

    css = font_face_css(page)
    return _render(report, images, css) if css else page


def crop_name(version_id: str | None, address: str) -> str:
    """The image name of an OCR cell's crop among the report's images (``ocr-<version>-<address>``)."""
    return f"{CROP_PREFIX}{version_id}-{address}"


CROP_PREFIX = "ocr-"


def crop_images(report: Report) -> dict[str, bytes]:
    """Image name → PNG of every OCR cell to compare with the page image, of the reports shown as failing."""
    return {
        crop_name(a.version_id, c.address): c.crop
        for a in report.with_failures or []
        for c in a.ocr_cells
        if c.crop is not None
    }


def _render(report: Report, images: Mapping[str, str] | None, font_css: str) -> str:
    from markupsafe import Markup

    images = dict(images or {})
    crops = {name: src for name, src in images.items() if name.startswith(CROP_PREFIX)}
    charts = {name: src for name, src in images.items() if not name.startswith(CROP_PREFIX)}

    env = _env()
    checks = env.get_template("checks.html.j2")

    def checks_table(agency: AgencyStatus, items: list[CheckItem]) -> str:
        return Markup(checks.render(a=agency, items=items, safe=safe_link))

    return env.get_template("report.html.j2").render(
        report=report,
        title=report_title(report),
        generated=report.generated_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M"),
        baseline=_baseline(report.changes.baseline),
        boxes=summary_boxes(report),
        highlights=highlights(report),
        failing=report.with_failures,
        missing_or_late=[a for a in report.agencies if a.state == "missing" or a.late],
        warned=[a for a in report.agencies if a.warnings],
        images=charts,
        crops=crops,
        crop_name=crop_name,
        chart_titles=CHART_TITLES,
        state_labels=STATE_LABELS,
        kind_labels=KIND_LABELS,
        badge=STATE_BADGE,
        checks_table=checks_table,
        groups=warning_groups,
        meta=agency_meta,
        safe=safe_link,
        region_columns=COLUMNS,
        figure_labels=FIGURE_LABELS,
        fmt=fmt,
        rate_note=RATE_NOTE,
        font_css=Markup(font_css),  # our own rule (base64 and a fixed family name): CSS, never escaped
    )


def _baseline(value: str | None) -> str:
    if not value:
        return ""
    from datetime import datetime

    try:
        return datetime.fromisoformat(value).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return value


def data_uris(pngs: Mapping[str, bytes]) -> dict[str, str]:
    """Chart name → ``data:image/png;base64,…`` (self-contained HTML for the folder output)."""
    return {name: "data:image/png;base64," + base64.b64encode(png).decode("ascii") for name, png in pngs.items()}


# ------------------------------------------------------------------------------------------ plain text


def _check_lines(items: list[CheckItem]) -> list[str]:
    out = []
    for c in items:
        page = f"（第 {c.page} 页）" if c.page else ""
        out.append(f"    - {c.title} [{c.rule_id}] {c.location}{page}")
        out.append(f"      {c.message}")
        lhs, rhs = c.side_text("lhs"), c.side_text("rhs")
        if lhs or rhs:
            out.append(f"      左边：{lhs}；右边：{rhs}")
    return out


def render_text(report: Report) -> str:
    """The plain-text alternative of the report (same sections, no charts)."""
    s = report.summary
    lines = [
        report_title(report),
        f"生成时间 {report.generated_at.astimezone(CHINA_TZ):%Y-%m-%d %H:%M}（北京时间）",
        "",
        f"应报送机关 {s.expected}；已找到报告 {s.found}；已发布 {s.promoted}；已隔离 {s.quarantined}；"
        f"缺失 {s.missing}；逾期发布 {s.late}；自上次修订 {s.revised}",
        "",
        *highlights(report),
        "",
        "一、未通过校验的报告",
    ]
    for a in report.with_failures or []:
        lines.append(f"  {a.name}（{STATE_LABELS[a.state]}）{a.link or ''}")
        lines += _check_lines(a.failures)
        for c in a.ocr_cells:
            lines.append(
                f"    OCR 待核对 {c.label or c.address}（{c.address}，第 {c.page or '?'} 页）："
                f"识别为 {c.text or '（无）'}，{c.status_label}；"
                f"核对原件后：{chinese.confirm_command(a.version_id, c.address)}"
            )
    if not report.with_failures:
        lines.append("  无")
    lines += ["", "二、缺失与逾期发布的报告"]
    for a in report.agencies:
        if a.state == "missing" or a.late:
            lines.append(f"  {a.name}：{STATE_LABELS[a.state]}；{'；'.join(a.notes)}")
    lines += ["", "三、警告"]
    for a in report.agencies:
        if a.warnings:
            lines.append(f"  {a.name}")
            lines += _check_lines(a.warnings)
    lines += ["", "四、自上次报告以来的变化", *_change_lines(report)]
    lines += ["", "七、地区汇总（已发布报告合计）", *_region_lines(report), "", "图表与 Excel 附件见 HTML 版本与附件。"]
    return "\n".join(lines) + "\n"


def _change_lines(report: Report) -> list[str]:
    ch = report.changes
    if not ch.baseline:
        return ["  第一份报告，没有可比较的上次报告。"]
    lines = [f"  新增问题 {name}：{c.title}——{c.message}" for name, c in ch.new_failures]
    lines += [f"  已修正 {f.agency}：{f.title}" for f in ch.fixed_failures]
    lines += [f"  新发布 {name}" for name in ch.newly_published]
    lines += [f"  已修订 {name}" for name in ch.revised]
    lines += [f"  新缺失 {name}" for name in ch.newly_missing]
    return lines or ["  没有变化。"]


def _region_lines(report: Report) -> list[str]:
    lines = []
    for r in report.regions:
        figures = "，".join(f"{FIGURE_LABELS[c]} {fmt(c, r.total(c))}" for c in COLUMNS)
        lines.append(f"  {r.region_label} {r.level_label} {r.year} 年度（{r.coverage}）：{figures}")
    return (lines + [f"  {RATE_NOTE}"]) if lines else ["  暂无可汇总的机关。"]

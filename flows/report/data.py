"""The warehouse, read into the data-quality report model of one year and one oversight office.

Everything here produces plain dataclasses (no HTML, no Excel): :func:`build_report` reads the
warehouse through one read-only DuckDB connection and returns a :class:`Report` with

* the summary (agencies expected, reports found, promoted, quarantined, missing, late, revised);
* per agency its state, the report version shown (the published one, else the latest quarantined
  one), the failing error-level checks and the warnings, each with its evidence: the printed
  values of both sides of the rule, table / row / column, the source document and the page;
* the changes since the previous report of the same office and year (a snapshot dict, see
  :meth:`Report.snapshot`), the counts behind the charts and the published 表二/表三/表四 values;
* the regional totals of the year and the one before (``flows/report/regions.py``).

The module is long (about 1000 lines) on purpose: it is the report's only reader of the warehouse —
every query the report makes is here, and the renderers (html, excel, charts) read none.

Expected agencies come from the registry (``[[agency]]`` entries of the office); without a
registry they are every agency the warehouse has recorded for the year: the agencies of its staged
versions and of its ``qa.acquisitions`` rows (so the agencies the run found missing are missing here
too).  An expected agency without a promoted or quarantined version of the year is
*missing*; a version published after its statutory deadline (``publication_deadline``: 31 January,
31 March for a government's own report) is *late*, and so is one the flows found only after a check
after the deadline had recorded it missing (``qa.v_report_timeliness``).  The latest acquisition of
each agency (``qa.acquisitions``, recorded by the flows: missing after the deadline, not due,
failed with the step and reason, refused, wrong_year) is attached to the missing agencies as a note.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from flows.ingest import STATE_LABELS as VERSION_STATE_LABELS
from flows.report.regions import AgencyFigures, RegionTotal, region_totals, report_figures
from sources import chinese, rules
from sources.rules import messages
from sources.template import TABLE_NAMES, load_template
from warehouse.db import dict_rows, has_table
from warehouse.queries import is_initialised

# The states an agency has in the report: its version's warehouse state, or missing (no version).
STATE_LABELS = {s: VERSION_STATE_LABELS[s] for s in ("promoted", "quarantined")} | {"missing": "缺失"}


def _outcome_groups() -> dict[str, str]:
    """The 表三 outcome groups in printed order, key → short label (granted → 予以公开 … other_handling →
    其他处理): the rows that add up to 办理结果总计 (rule T3_RESULT_SUM_2021), each under its （三）…（六） group."""
    t3 = load_template("gov2021").table("t3")
    result_sum = next(i for i in rules.rule_instances("gov2021") if i.rule_id == "T3_RESULT_SUM_2021")
    keys: dict[str, None] = {}
    for row_key in (t.address.split(".")[1] for t in result_sum.rhs if t.address):
        group = t3.row(row_key).group
        keys[group if group and t3.row(group).group else row_key] = None  # a group nested in 三、办理结果
    return {key: rules.t3_short_label(key) for key in keys}


OUTCOME_GROUPS = _outcome_groups()
KIND_LABELS = {"cross_year": "跨年度衔接", "narrative": "正文与表格", "deadline": "发布期限", "table": "表格校验"}
CHINA_TZ = rules.CHINA_TZ
_PLACE = re.compile(r"^((?:[^省市县区盟旗]{1,8}?(?:省|自治区|自治州|地区|市|县|区|盟|旗))+)")


# ------------------------------------------------------------------------------------------ model


@dataclass(frozen=True)
class Office:
    """The oversight office the report is for (``id = "all"`` when there is no registry)."""

    id: str
    name: str
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExpectedAgency:
    """An agency expected to publish: registry id, name, identity key, region code and label, level."""

    id: str
    name: str
    key: str
    region: str = ""
    region_label: str = "未登记地区"
    level: str = ""


@dataclass(frozen=True)
class Term:
    """One printed value of a rule side: its label, where it is printed, the value and the page."""

    label: str
    location: str
    value: float | None
    raw: str | None
    page: int | None
    previous_year: bool = False
    coef: int = 1

    @property
    def shown(self) -> str:
        """The value as printed (raw text when the cell carried one, else the number)."""
        if self.raw not in (None, ""):
            return str(self.raw)
        return rules.fmt_number(self.value) if self.value is not None else "缺失"


@dataclass(frozen=True)
class CheckItem:
    """A failing (or not assessable) check of one report version, with its evidence."""

    rule_id: str
    instance: str
    title: str
    severity: str
    blocking: bool
    outcome: str
    message: str
    lhs: float | None
    rhs: float | None
    lhs_terms: tuple[Term, ...] = ()
    rhs_terms: tuple[Term, ...] = ()
    table: str = ""
    row: str = ""
    column: str = ""
    page: int | None = None
    waived: bool = False  # a reviewer waived this failing check (xxgk waive): shown, not blocking

    @property
    def key(self) -> str:
        """``RULE|instance``: how a check is recognised from one report to the next."""
        return f"{self.rule_id}|{self.instance}"

    @property
    def kind(self) -> str:
        """cross_year | narrative | deadline | table (for grouping the warnings)."""
        if self.rule_id.startswith("XY_"):
            return "cross_year"
        if self.rule_id.startswith("N_"):
            return "narrative"
        if self.rule_id == "S_DEADLINE":
            return "deadline"
        return "table"

    @property
    def location(self) -> str:
        """``表四 / 行政复议 / 总计`` (the parts that are known)."""
        return " / ".join(p for p in (self.table, self.row, self.column) if p)

    def side_text(self, side: str) -> str:
        """One side as printed: ``总计 0`` or ``结果维持 10 + 结果纠正 1 …（合计 11）`` (previous year marked)."""
        terms = self.lhs_terms if side == "lhs" else self.rhs_terms
        value = self.lhs if side == "lhs" else self.rhs
        if not terms:
            return messages.derived_side_text(self.rule_id, side, value)
        shown = [messages.ShownTerm(t.label, t.shown, t.coef, t.previous_year) for t in terms]
        return messages.side_text(shown, value)


@dataclass(frozen=True)
class ParseIssue:
    """A parser warning or error of the version shown (``stg.parse_issues``): stable code, Chinese text."""

    code: str
    severity: str
    text: str
    page: int | None = None


@dataclass(frozen=True)
class OcrCell:
    """An OCR cell of the version shown that a person must compare with the page image: unverified
    (an identity fails on it), or not usable (low confidence, unreadable); with the cell's image."""

    address: str
    label: str | None
    text: str | None  # as OCR read it
    status: str  # unverified | low_confidence | unreadable
    page: int | None
    crop: bytes | None  # PNG of the cell as scanned

    @property
    def status_label(self) -> str:
        return chinese.OCR_STATUS.get(self.status, self.status)


#: OCR cells shown per report (a scan with more doubtful cells is read by a person anyway).
MAX_OCR_CELLS = 40


@dataclass
class AgencyStatus:
    """One expected agency in the report: its state and the version shown, with checks and warnings."""

    agency: ExpectedAgency
    state: str  # promoted | quarantined | missing
    version_id: str | None = None
    reported_name: str | None = None
    template: str | None = None
    variant: str | None = None
    source: str | None = None
    link: str | None = None
    format: str | None = None
    published_on: date | None = None
    deadline: date | None = None
    versions: int = 0
    revised: bool = False
    run_id: str | None = None
    failures: list[CheckItem] = field(default_factory=list)
    warnings: list[CheckItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    late_reason: str | None = None  # late by the acquisitions: found only after a check recorded it missing
    acquisition: str | None = None  # status code of the latest acquisition when it found nothing (missing …)
    issues: list[ParseIssue] = field(default_factory=list)  # the parser's warnings and errors on the version
    ocr_cells: list[OcrCell] = field(default_factory=list)  # OCR cells to compare with the page image

    @property
    def name(self) -> str:
        return self.agency.name

    @property
    def found(self) -> bool:
        return self.state in ("promoted", "quarantined")

    @property
    def days_late(self) -> int:
        """Days after the statutory deadline the report was published (0 when on time or unknown)."""
        if self.published_on is None or self.deadline is None:
            return 0
        return max(0, (self.published_on - self.deadline).days)

    @property
    def codes(self) -> str:
        """The stable codes behind the Chinese state: ``missing``, ``acquisition=failed``, ``late`` …"""
        parts = [self.state] + ([f"acquisition={self.acquisition}"] if self.acquisition else [])
        return "; ".join(parts + (["late"] if self.late else []) + (["revised"] if self.revised else []))

    @property
    def late(self) -> bool:
        """Published after the deadline (printed date), or found only after a check recorded it missing."""
        return self.days_late > 0 or (self.found and self.late_reason is not None)

    def page_link(self, page: int | None) -> str | None:
        """The source link, pointing at ``page`` for a PDF (``#page=N``)."""
        if not self.link:
            return None
        if page and (self.format == "pdf" or (self.link or "").lower().split("?")[0].endswith(".pdf")):
            return f"{self.link}#page={page}"
        return self.link


@dataclass(frozen=True)
class Summary:
    """The counts at the top of the report."""

    expected: int
    found: int
    promoted: int
    quarantined: int
    missing: int
    late: int
    revised: int


@dataclass(frozen=True)
class FixedFailure:
    """A failure of the previous report that is gone now."""

    agency: str
    rule_id: str
    instance: str
    title: str
    message: str


@dataclass
class Changes:
    """What changed since the previous report of the same office and year (``baseline`` = its time)."""

    baseline: str | None
    new_failures: list[tuple[str, CheckItem]] = field(default_factory=list)
    fixed_failures: list[FixedFailure] = field(default_factory=list)
    newly_published: list[str] = field(default_factory=list)
    revised: list[str] = field(default_factory=list)
    newly_missing: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.new_failures or self.fixed_failures or self.newly_published or self.revised or self.newly_missing
        )


@dataclass(frozen=True)
class TrendPoint:
    """Published 表三 totals of the covered agencies for one year."""

    year: int
    reports: int
    new_received: float  # the sum of the printed 总计 that are numbers
    outcomes: dict[str, float]
    unread: int = 0  # reports whose 表三 总计 of a charted row is not a number: left out of the sums, never 0


@dataclass(frozen=True)
class RuleCount:
    """How many reports of the office fail (or warn on) a rule."""

    rule_id: str
    title: str
    severity: str
    reports: int


@dataclass(frozen=True)
class PublishedTables:
    """The published cell values of one agency's report (address → value / printed text)."""

    agency: str
    version_id: str
    template: str
    variant: str
    values: dict[str, float | None]
    raw: dict[str, str | None]


@dataclass
class Report:
    """The data-quality report of one office and one report year."""

    year: int
    office: Office
    generated_at: datetime
    warehouse: str
    summary: Summary
    agencies: list[AgencyStatus]
    changes: Changes
    region_states: dict[str, dict[str, int]]
    rule_counts: list[RuleCount]
    trend: list[TrendPoint]
    tables: list[PublishedTables]
    expected_from: str  # registry | warehouse
    regions: list[RegionTotal] = field(default_factory=list)  # this year and the one before, per region × level

    @property
    def with_failures(self) -> list[AgencyStatus]:
        return [a for a in self.agencies if a.failures]

    @property
    def missing(self) -> list[AgencyStatus]:
        return [a for a in self.agencies if a.state == "missing"]

    @property
    def late(self) -> list[AgencyStatus]:
        return [a for a in self.agencies if a.late]

    def snapshot(self) -> dict[str, Any]:
        """What the next report compares with (JSON-serialisable)."""
        return {
            "year": self.year,
            "office": self.office.id,
            "generated_at": self.generated_at.isoformat(),
            "agencies": {
                a.agency.key: {
                    "name": a.name,
                    "state": a.state,
                    "version_id": a.version_id,
                    "failures": {c.key: c.message for c in a.failures},
                    "titles": {c.key: c.title for c in a.failures},
                }
                for a in self.agencies
            },
        }


# ------------------------------------------------------------------------------------------ helpers


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def place_prefix(name: str) -> str | None:
    """The place an agency name starts with: 淮安市洪泽区人民政府 → 淮安市洪泽区, 示例市教育局 → 示例市."""
    m = _PLACE.match(rules.agency_key(name) or "")
    return m.group(1) if m else None


def region_labels(agencies: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Region code → a readable label (the place most of its agencies' names start with, and the code)."""
    places: dict[str, Counter[str]] = {}
    for region, name in agencies:
        places.setdefault(region, Counter())
        if (p := place_prefix(name)) is not None:
            places[region][p] += 1
    out = {}
    for region, counter in places.items():
        best = counter.most_common(1)[0][0] if counter else None
        out[region] = f"{best}（{region}）" if best and region else (best or region or "未登记地区")
    return out


def expected_from_registry(registry: Any, office_id: str | None = None) -> tuple[Office, list[ExpectedAgency]]:
    """The office and its agencies from a :class:`sources.registry.Registry` (all agencies if no office)."""
    if office_id is not None:
        found = registry.office(office_id)
        if found is None and not registry.agencies_of(office_id):
            raise KeyError(f"no [[oversight]] entry or agency with oversight = {office_id!r} in {registry.path}")
        office = Office(office_id, found.name if found else office_id, tuple(found.recipients) if found else ())
        agencies = registry.agencies_of(office_id)
    else:
        office, agencies = Office("all", "全部机关"), registry.agencies
    labels = region_labels((a.region, a.name) for a in agencies)
    return office, [
        ExpectedAgency(a.id, a.name, rules.agency_key(a.name) or a.name, a.region, labels[a.region], a.level)
        for a in agencies
    ]


def expected_from_warehouse(con: duckdb.DuckDBPyConnection, year: int) -> list[ExpectedAgency]:
    """Every agency the warehouse has recorded for ``year`` (no registry): the agencies of the year's
    staged versions (rejected ones included) and of the year's ``qa.acquisitions`` rows (missing, not
    due, failed, refused included), one per identity key; the acquisitions give id, region and level."""
    found: dict[str, dict[str, Any]] = {}
    if has_table(con, "qa", "acquisitions"):
        from warehouse.acquisitions import latest

        for r in latest(con, year):
            name = r.get("agency_name") or str(r["agency_id"])
            key = rules.agency_key(name) or name
            found.setdefault(key, {"id": str(r["agency_id"]), "name": name, "region": r.get("region") or ""})
            found[key].setdefault("level", r.get("level") or "")
    if is_initialised(con):
        rows = dict_rows(
            con,
            """
            SELECT r.agency_key AS key, arg_max(r.agency, epoch(r.loaded_at)) AS name
            FROM stg.report_versions r JOIN qa.version_state s ON s.version_id = r.version_id
            WHERE r.year = ? AND r.agency_key IS NOT NULL
            GROUP BY r.agency_key ORDER BY r.agency_key
            """,
            [year],
        )
        linked = version_keys(con, year)
        known = {v["id"] for v in found.values()}
        for r in rows:
            if r["key"] in found or linked.get(r["key"]) in known:
                continue  # the agency of an acquisition (its report may print another name)
            found[r["key"]] = {"id": r["key"], "name": r["name"], "region": "", "level": ""}
    labels = region_labels((v["region"], v["name"]) for v in found.values())
    return [
        ExpectedAgency(
            v["id"],
            v["name"],
            key,
            v["region"],
            labels[v["region"]] if v["region"] else (place_prefix(v["name"]) or "未登记地区"),
            v.get("level") or "",
        )
        for key, v in sorted(found.items())
    ]


def version_keys(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, str]:
    """Identity key of a version of ``year`` → the registry agency id whose acquisition produced it
    (``qa.acquisitions.version_id``): how a report that prints another name than the registry's is
    still matched to its agency."""
    if not (has_table(con, "qa", "acquisitions") and has_table(con, "stg", "report_versions")):
        return {}
    rows = con.execute(
        """
        SELECT DISTINCT r.agency_key, a.agency_id
        FROM qa.acquisitions a JOIN stg.report_versions r ON r.version_id = a.version_id
        WHERE a.year = ? AND r.year = ? AND r.agency_key IS NOT NULL
        """,
        [year, year],
    ).fetchall()
    return {str(k): str(a) for k, a in rows}


def source_link(source_url: str | None, source_path: str | None) -> str | None:
    """A link a person can open: the URL, else a ``file://`` URI of an absolute local path."""
    if source_url:
        return source_url
    if source_path:
        path = Path(source_path)
        return path.as_uri() if path.is_absolute() else source_path
    return None


# ------------------------------------------------------------------------------------------ versions


def _versions(con: duckdb.DuckDBPyConnection, year: int, keys: Sequence[str]) -> list[dict[str, Any]]:
    """Every promoted / quarantined / superseded version of ``year`` of the agencies ``keys``."""
    return dict_rows(
        con,
        """
        SELECT r.version_id, r.agency, r.agency_key, r.template, r.variant, r.source_url, r.source_path,
               r.format, r.published_on, r.publication_deadline, r.loaded_at, r.run_id, s.state
        FROM stg.report_versions r JOIN qa.version_state s ON s.version_id = r.version_id
        WHERE r.year = ? AND r.agency_key IN (SELECT unnest(?::VARCHAR[])) AND s.state <> 'rejected'
        ORDER BY r.agency_key, r.loaded_at, r.version_id
        """,
        [year, list(keys)],
    )


def _rejected(con: duckdb.DuckDBPyConnection, year: int, keys: Sequence[str]) -> dict[str, list[str]]:
    rows = dict_rows(
        con,
        """
        SELECT r.agency_key, coalesce(s.reason, r.reject_reason) AS reason
        FROM stg.report_versions r JOIN qa.version_state s ON s.version_id = r.version_id
        WHERE r.year = ? AND r.agency_key IN (SELECT unnest(?::VARCHAR[])) AND s.state = 'rejected'
        """,
        [year, list(keys)],
    )
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r["agency_key"], []).append(r["reason"] or "不是法定年报")
    return out


def current_versions(versions: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Per agency key the version the report shows: the promoted one, else the latest quarantined."""
    out: dict[str, Mapping[str, Any]] = {}
    for v in versions:
        if v["state"] not in ("promoted", "quarantined"):
            continue
        have = out.get(v["agency_key"])
        if have is None or have["state"] != "promoted":
            out[v["agency_key"]] = v
    return out


def _latest_run(con: duckdb.DuckDBPyConnection) -> str | None:
    if not has_table(con, "qa", "runs"):
        return None
    row = con.execute("SELECT run_id FROM qa.runs ORDER BY started_at DESC LIMIT 1").fetchone()
    return row[0] if row else None


# ------------------------------------------------------------------------------------------ checks


_CHECKS_SQL = """
SELECT k.version_id, k.rule_id, k.instance, k.severity, k.blocking, k.outcome,
       k.lhs_value, k.rhs_value, coalesce(k.waived, false) AS waived, k.message,
       coalesce(rr.title, k.rule_id) AS title, coalesce(ri.seq, 0) AS seq
FROM qa.check_results k
JOIN stg.report_versions r ON r.version_id = k.version_id
LEFT JOIN ref.rules rr ON rr.rule_id = k.rule_id
LEFT JOIN ref.rule_instances ri ON ri.variant = r.variant AND ri.rule_id = k.rule_id AND ri.instance = k.instance
WHERE k.version_id IN (SELECT unnest(?::VARCHAR[])) AND k.outcome <> 'pass'
ORDER BY k.version_id, k.blocking DESC, seq, k.rule_id, k.instance
"""

_TERMS_SQL = """
SELECT k.version_id, k.rule_id, k.instance, t.side, t.pos, t.scope, t.address, t.coef, t.const, t.label,
       coalesce(c.value, n.value) AS value, c.raw, c.page, tc.table_kind, tc.subtable_caption, tc.row_label,
       tc.col_label
FROM qa.check_results k
JOIN stg.report_versions r ON r.version_id = k.version_id
JOIN ref.rule_terms t ON t.variant = r.variant AND t.rule_id = k.rule_id AND t.instance = k.instance
     AND t.side IN ('lhs', 'rhs')
LEFT JOIN stg.cells c ON c.address = t.address
     AND c.version_id = CASE WHEN t.scope = 'prev' THEN k.prev_version_id ELSE k.version_id END
LEFT JOIN stg.narrative_facts n ON n.version_id = k.version_id AND 'narr.' || n.key = t.address
LEFT JOIN ref.template_cells tc ON tc.variant = r.variant AND tc.address = t.address
WHERE k.version_id IN (SELECT unnest(?::VARCHAR[])) AND k.outcome <> 'pass'
ORDER BY k.version_id, k.rule_id, k.instance, t.side, t.pos
"""


def _where(row: Mapping[str, Any]) -> tuple[str, str, str]:
    """(table, row, column) labels of a term's cell; empty strings for derived facts."""
    kind = row.get("table_kind")
    if not kind:
        return "", "", ""
    table = TABLE_NAMES.get(kind, kind)
    if kind == "t2" and row.get("subtable_caption"):
        table = f"{table} {row['subtable_caption']}"
    return table, row.get("row_label") or "", row.get("col_label") or ""


def _term(row: Mapping[str, Any]) -> Term:
    table, row_label, col_label = _where(row)
    location = " / ".join(p for p in (table, row_label, col_label) if p)
    value = _float(row["value"]) if row.get("address") else _float(row.get("const"))
    label = row.get("label") or col_label or row_label or (row.get("address") or "")
    return Term(
        label=label,
        location=location,
        value=value,
        raw=row.get("raw"),
        page=row.get("page") if row.get("scope") != "prev" else None,
        previous_year=row.get("scope") == "prev",
        coef=int(row.get("coef") or 1),
    )


def _terms_by_check(con: duckdb.DuckDBPyConnection, version_ids: Sequence[str]) -> dict[tuple, dict[str, Any]]:
    out: dict[tuple, dict[str, Any]] = {}
    for row in dict_rows(con, _TERMS_SQL, [list(version_ids)]):
        if not row.get("table_kind") and not row.get("label"):
            continue  # a derived fact (meta.*): the message explains it
        key = (row["version_id"], row["rule_id"], row["instance"])
        entry = out.setdefault(key, {"lhs": [], "rhs": [], "where": None})
        entry[row["side"]].append(_term(row))
        if entry["where"] is None and row["side"] == "lhs" and row.get("table_kind"):
            entry["where"] = _where(row)
    return out


def _check_item(row: Mapping[str, Any], terms: Mapping[str, Any] | None) -> CheckItem:
    terms = terms or {"lhs": [], "rhs": [], "where": None}
    table, row_label, col_label = terms["where"] or ("", "", "")
    pages = [t.page for t in (*terms["lhs"], *terms["rhs"]) if t.page]
    return CheckItem(
        rule_id=row["rule_id"],
        instance=row["instance"],
        title=row["title"],
        severity=row["severity"],
        blocking=bool(row["blocking"]),
        outcome=row["outcome"],
        message=row["message"] or "",
        lhs=_float(row["lhs_value"]),
        rhs=_float(row["rhs_value"]),
        lhs_terms=tuple(terms["lhs"]),
        rhs_terms=tuple(terms["rhs"]),
        table=table,
        row=row_label,
        column=col_label,
        page=min(pages) if pages else None,
        waived=bool(row.get("waived")),
    )


def parse_issues_of(con: duckdb.DuckDBPyConnection, version_ids: Sequence[str]) -> dict[str, list[ParseIssue]]:
    """Version id → its parser warnings and errors (``stg.parse_issues``, info left out), in Chinese."""
    if not version_ids or not has_table(con, "stg", "parse_issues"):
        return {}
    out: dict[str, list[ParseIssue]] = {}
    for row in dict_rows(
        con,
        """
        SELECT version_id, code, severity, message, page FROM stg.parse_issues
        WHERE version_id IN (SELECT unnest(?::VARCHAR[])) AND severity IN ('error', 'warning')
        ORDER BY version_id, seq
        """,
        [list(version_ids)],
    ):
        issue = ParseIssue(row["code"] or "", row["severity"] or "", chinese.issue_text(row), row["page"])
        out.setdefault(row["version_id"], []).append(issue)
    return out


def ocr_cells_of(con: duckdb.DuckDBPyConnection, version_ids: Sequence[str]) -> dict[str, list[OcrCell]]:
    """Version id → its OCR cells a person must look at (at most :data:`MAX_OCR_CELLS`), with their images."""
    if not version_ids or not has_table(con, "stg", "cells"):
        return {}
    out: dict[str, list[OcrCell]] = {}
    for row in dict_rows(
        con,
        """
        SELECT version_id, address, label, ocr, ocr_status, page FROM (
          SELECT *, row_number() OVER (PARTITION BY version_id ORDER BY address) AS n FROM stg.cells
          WHERE version_id IN (SELECT unnest(?::VARCHAR[]))
            AND ocr_status IN ('unverified', 'low_confidence', 'unreadable'))
        WHERE n <= ? ORDER BY version_id, address
        """,
        [list(version_ids), MAX_OCR_CELLS],
    ):
        ocr = json.loads(row["ocr"] or "{}")
        crop = base64.b64decode(ocr["crop"]) if ocr.get("crop") else None
        cell = OcrCell(row["address"], row["label"], ocr.get("text"), row["ocr_status"], ocr.get("page"), crop)
        out.setdefault(row["version_id"], []).append(cell)
    return out


def checks_of(con: duckdb.DuckDBPyConnection, version_ids: Sequence[str]) -> dict[str, list[CheckItem]]:
    """Version id → its failing and not-assessable checks, blocking ones first, with evidence."""
    if not version_ids:
        return {}
    terms = _terms_by_check(con, version_ids)
    out: dict[str, list[CheckItem]] = {}
    for row in dict_rows(con, _CHECKS_SQL, [list(version_ids)]):
        item = _check_item(row, terms.get((row["version_id"], row["rule_id"], row["instance"])))
        out.setdefault(row["version_id"], []).append(item)
    return out


# ------------------------------------------------------------------------------------------ acquisitions


ACQUISITION_LABELS = {
    "fetched": "已获取",
    "not_modified": "已获取（未变化）",
    "missing": "截止日期后仍未找到",
    "not_due": "尚未到截止日期",
    "failed": "获取失败",
    "refused": "地址不在允许的主机内，未获取",
    "wrong_year": "找到的是其他年度的报告，本年度记为缺失",
}


def _acquisition_note(row: Mapping[str, Any]) -> str:
    """``最近一次采集：截止日期后仍未找到（http://…：不存在（HTTP 404，页面不存在）），尝试了 1 个地址``."""
    label = ACQUISITION_LABELS.get(row.get("status") or "", row.get("status") or "")
    step = chinese.STEP.get(row.get("step") or "", row.get("step") or "")
    step = f"{step}：" if step and row.get("status") == "failed" else ""
    reason = f"（{step}{chinese.chinese(row['reason'])}）" if row.get("reason") else ""
    tried = len(row.get("tried") or [])
    return f"最近一次采集：{label}{reason}" + (f"，尝试了 {tried} 个地址" if tried else "")


def acquisition_notes(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, tuple[str, str]]:
    """Registry agency id → (status code, Chinese note) of its latest acquisition of ``year`` when that
    found nothing (missing, not due, failed, refused, wrong_year; ``qa.acquisitions``, recorded by the flows)."""
    from warehouse.acquisitions import latest

    return {
        str(r["agency_id"]): (str(r.get("status")), _acquisition_note(r))
        for r in latest(con, year)
        if r.get("status") not in ("fetched", "not_modified")
    }


def late_by_check(con: duckdb.DuckDBPyConnection, year: int) -> dict[str, str]:
    """Registry agency id → why its report counts as late by the acquisitions (found only after a check
    after the deadline had recorded it missing); from ``qa.v_report_timeliness``."""
    if not has_table(con, "qa", "v_report_timeliness"):
        return {}
    rows = con.execute(
        "SELECT agency_id, late_reason FROM qa.v_report_timeliness WHERE year = ? AND late AND late_reason IS NOT NULL",
        [year],
    ).fetchall()
    return {str(a): str(r) for a, r in rows}


# ------------------------------------------------------------------------------------------ statuses


def _status(agency: ExpectedAgency, version: Mapping[str, Any] | None, year: int) -> AgencyStatus:
    if version is None:
        return AgencyStatus(agency, "missing", deadline=rules.publication_deadline(agency.name, year))
    return AgencyStatus(
        agency=agency,
        state=version["state"],
        version_id=version["version_id"],
        reported_name=version["agency"],
        template=version["template"],
        variant=version["variant"],
        source=version["source_url"] or version["source_path"],
        link=source_link(version["source_url"], version["source_path"]),
        format=version["format"],
        published_on=version["published_on"],
        deadline=version["publication_deadline"] or rules.publication_deadline(version["agency"], year),
        run_id=version["run_id"],
    )


def _is_revised(status: AgencyStatus, previous: Mapping[str, Any] | None, latest_run: str | None) -> bool:
    """Revised: another version than in the previous report; without one, a second version of the
    year loaded in the latest run."""
    if status.version_id is None:
        return False
    if previous is not None:
        before = (previous.get("agencies") or {}).get(status.agency.key) or {}
        return bool(before.get("version_id")) and before["version_id"] != status.version_id
    return status.versions > 1 and status.run_id is not None and status.run_id == latest_run


def agency_statuses(
    con: duckdb.DuckDBPyConnection,
    year: int,
    expected: Sequence[ExpectedAgency],
    previous: Mapping[str, Any] | None = None,
    today: date | None = None,
) -> list[AgencyStatus]:
    """One :class:`AgencyStatus` per expected agency (failing first, then missing, then the rest)."""
    if not is_initialised(con):
        return [_status(a, None, year) for a in expected]
    by_id = {a.id: a.key for a in expected}
    # a report printing another name than the registry's is its agency's when the run fetched it for that agency
    alias = {k: by_id[i] for k, i in version_keys(con, year).items() if i in by_id}
    keys = list(dict.fromkeys([a.key for a in expected] + list(alias)))
    versions = [{**v, "agency_key": alias.get(v["agency_key"], v["agency_key"])} for v in _versions(con, year, keys)]
    current = current_versions(versions)
    counts = Counter(v["agency_key"] for v in versions)
    checks = checks_of(con, [v["version_id"] for v in current.values()])
    issues = parse_issues_of(con, [v["version_id"] for v in current.values()])
    ocr_cells = ocr_cells_of(con, [v["version_id"] for v in current.values()])
    rejected: dict[str, list[str]] = {}
    for key, reasons in _rejected(con, year, keys).items():
        rejected.setdefault(alias.get(key, key), []).extend(reasons)
    notes = acquisition_notes(con, year)
    late_checks = late_by_check(con, year)
    latest = _latest_run(con)
    today = today or datetime.now(CHINA_TZ).date()
    out = []
    for agency in expected:
        status = _status(agency, current.get(agency.key), year)
        status.versions = counts.get(agency.key, 0)
        status.revised = _is_revised(status, previous, latest)
        status.late_reason = late_checks.get(agency.id)
        items = checks.get(status.version_id or "", [])
        status.issues = issues.get(status.version_id or "", [])
        status.ocr_cells = ocr_cells.get(status.version_id or "", [])
        status.failures = [c for c in items if c.blocking]
        status.warnings = [c for c in items if not c.blocking]
        status.notes += _notes(status, rejected.get(agency.key, []), notes, today)
        out.append(status)
    order = {"quarantined": 0, "missing": 1, "promoted": 2}
    return sorted(out, key=lambda s: (order[s.state], not s.late, -len(s.warnings), s.agency.region, s.name))


def _notes(
    status: AgencyStatus, rejected: Sequence[str], acquisitions: Mapping[str, tuple[str, str]], today: date
) -> list[str]:
    out = [f"收到的文件不是法定年报，已拒绝：{chinese.chinese(r)}" for r in dict.fromkeys(rejected)]
    if found := acquisitions.get(status.agency.id):
        status.acquisition = found[0]
        out.append(found[1])
    if status.state == "missing":
        if status.deadline and today <= status.deadline:
            out.append(f"尚未到法定发布期限（{status.deadline.isoformat()}）")
        elif status.deadline:
            out.append(f"已超过法定发布期限（{status.deadline.isoformat()}）{(today - status.deadline).days} 天")
    if status.days_late and status.deadline:
        out.append(f"晚于法定期限 {status.deadline.isoformat()} 发布，逾期 {status.days_late} 天")
    elif status.late and status.late_reason:
        out.append(f"逾期：{status.late_reason}")
    return out


def summarize(statuses: Sequence[AgencyStatus]) -> Summary:
    """The summary counts of the report."""
    return Summary(
        expected=len(statuses),
        found=sum(s.found for s in statuses),
        promoted=sum(s.state == "promoted" for s in statuses),
        quarantined=sum(s.state == "quarantined" for s in statuses),
        missing=sum(s.state == "missing" for s in statuses),
        late=sum(s.late for s in statuses),
        revised=sum(s.revised for s in statuses),
    )


# ------------------------------------------------------------------------------------------ changes


def changes_since(statuses: Sequence[AgencyStatus], previous: Mapping[str, Any] | None) -> Changes:
    """New and fixed failures, newly published, revised and newly missing agencies since ``previous``."""
    if not previous:
        return Changes(baseline=None)
    before: Mapping[str, Any] = previous.get("agencies") or {}
    changes = Changes(baseline=previous.get("generated_at"))
    for s in statuses:
        old = before.get(s.agency.key) or {}
        old_failures: Mapping[str, str] = old.get("failures") or {}
        now = {c.key: c for c in s.failures}
        changes.new_failures += [(s.name, c) for k, c in now.items() if k not in old_failures]
        titles = old.get("titles") or {}
        for k, message in old_failures.items():
            if k not in now:
                rule_id, _, instance = k.partition("|")
                changes.fixed_failures.append(FixedFailure(s.name, rule_id, instance, titles.get(k, rule_id), message))
        if s.state == "promoted" and old.get("state") != "promoted":
            changes.newly_published.append(s.name)
        if s.revised:
            changes.revised.append(s.name)
        if s.state == "missing" and old and old.get("state") != "missing":
            changes.newly_missing.append(s.name)
    return changes


# ------------------------------------------------------------------------------------------ charts data


def region_states(statuses: Sequence[AgencyStatus]) -> dict[str, dict[str, int]]:
    """Region label → counts of promoted / quarantined / missing agencies."""
    out: dict[str, dict[str, int]] = {}
    for s in statuses:
        counts = out.setdefault(s.agency.region_label, dict.fromkeys(STATE_LABELS, 0))
        counts[s.state] += 1
    return dict(sorted(out.items()))


def rule_counts(statuses: Sequence[AgencyStatus], top: int = 10) -> list[RuleCount]:
    """The most frequently failed rules: reports failing (or warning on) each rule id, most first."""
    seen: dict[str, tuple[str, str]] = {}
    counter: Counter[str] = Counter()
    for s in statuses:
        for c in {c.rule_id: c for c in (*s.failures, *s.warnings)}.values():
            counter[c.rule_id] += 1
            seen[c.rule_id] = (c.title, c.severity)
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], seen[kv[0]][1] != "error", kv[0]))[:top]
    return [RuleCount(r, seen[r][0], seen[r][1], n) for r, n in ranked]


def outcome_group(row_key: str) -> str | None:
    """The 表三 outcome group of a row (予以公开 … 其他处理), or None for other rows."""
    if row_key in OUTCOME_GROUPS:
        return row_key
    for template in ("gov2021", "gov2019"):
        for row in load_template(template).table("t3").rows:
            if row.key == row_key and row.group in OUTCOME_GROUPS:
                return row.group
    return None


def trend(con: duckdb.DuckDBPyConnection, keys: Sequence[str], year: int, years: int = 6) -> list[TrendPoint]:
    """Per year (up to ``year``, at most ``years`` years) the published 表三 总计 of the agencies ``keys``:
    本年新收 and the outcomes grouped as printed (予以公开 … 其他处理)."""
    if not keys or not has_table(con, "pub", "cells"):
        return []
    rows = dict_rows(
        con,
        """
        SELECT r.year, count(DISTINCT r.version_id) AS reports, c.row_key, sum(c.value) AS value,
               list(DISTINCT r.version_id) FILTER (WHERE c.value IS NULL) AS unread
        FROM pub.report_versions r JOIN pub.cells c ON c.version_id = r.version_id
        WHERE r.agency_key IN (SELECT unnest(?::VARCHAR[])) AND r.year BETWEEN ? AND ?
              AND c.table_id = 't3' AND c.col_key = 'total'
        GROUP BY r.year, c.row_key ORDER BY r.year
        """,
        [list(keys), year - years + 1, year],
    )
    by_year: dict[int, dict[str, Any]] = {}
    for r in rows:
        point = by_year.setdefault(r["year"], {"reports": 0, "new": 0.0, "outcomes": {}, "unread": set()})
        # the reports of the year: a row printed by only some of them (a variant's rows) counts fewer
        point["reports"] = max(point["reports"], r["reports"])
        # sum() skips a 总计 that is not a number (it reaches pub only through a waiver): the report is
        # counted as unread for the year instead of adding 0 for it
        value = float(r["value"]) if r["value"] is not None else 0.0
        if r["row_key"] == "new_received":
            point["new"] = value
        elif (group := outcome_group(r["row_key"])) is not None:
            point["outcomes"][group] = point["outcomes"].get(group, 0.0) + value
        else:
            continue
        point["unread"].update(r["unread"] or [])
    return [
        TrendPoint(y, p["reports"], p["new"], {g: p["outcomes"].get(g, 0.0) for g in OUTCOME_GROUPS}, len(p["unread"]))
        for y, p in sorted(by_year.items())
    ]


def published_tables(con: duckdb.DuckDBPyConnection, statuses: Sequence[AgencyStatus]) -> list[PublishedTables]:
    """The published cells of every promoted agency of the report, in report order."""
    promoted = [s for s in statuses if s.state == "promoted" and s.version_id]
    if not promoted or not has_table(con, "pub", "cells"):
        return []
    values: dict[str, dict[str, float | None]] = {}
    raw: dict[str, dict[str, str | None]] = {}
    for vid, address, value, text in con.execute(
        "SELECT version_id, address, value, raw FROM pub.cells WHERE version_id IN (SELECT unnest(?::VARCHAR[]))",
        [[s.version_id for s in promoted]],
    ).fetchall():
        values.setdefault(vid, {})[address] = _float(value)
        raw.setdefault(vid, {})[address] = text
    return [
        PublishedTables(
            s.name,
            s.version_id,
            s.template or "gov2021",
            s.variant or s.template or "gov2021",
            values.get(s.version_id, {}),
            raw.get(s.version_id, {}),
        )
        for s in promoted
        if s.version_id
    ]


# ------------------------------------------------------------------------------------------ report


def build_report(
    con: duckdb.DuckDBPyConnection,
    year: int,
    office: Office,
    expected: Sequence[ExpectedAgency] | None = None,
    previous: Mapping[str, Any] | None = None,
    *,
    warehouse: str = "",
    now: datetime | None = None,
) -> Report:
    """The :class:`Report` of ``office`` for ``year``; ``expected=None`` derives the agencies from the
    warehouse; ``previous`` is the snapshot of the last report (for "changed since")."""
    now = now or datetime.now(UTC)
    expected_from = "registry" if expected is not None else "warehouse"
    agencies = list(expected) if expected is not None else expected_from_warehouse(con, year)
    today = now.astimezone(CHINA_TZ).date()
    statuses = agency_statuses(con, year, agencies, previous, today)
    ready = is_initialised(con)
    tables = published_tables(con, statuses) if ready else []
    before = list(expected) if expected is not None else expected_from_warehouse(con, year - 1)
    before_statuses = agency_statuses(con, year - 1, before, None, today)
    before_tables = published_tables(con, before_statuses) if ready else []
    regions = region_totals(
        [*agency_figures(statuses, tables, year), *agency_figures(before_statuses, before_tables, year - 1)]
    )
    return Report(
        year=year,
        office=office,
        generated_at=now,
        warehouse=warehouse,
        summary=summarize(statuses),
        agencies=statuses,
        changes=changes_since(statuses, previous),
        region_states=region_states(statuses),
        rule_counts=rule_counts(statuses),
        trend=trend(con, [a.key for a in agencies], year) if ready else [],
        tables=tables,
        expected_from=expected_from,
        regions=regions,
    )


def agency_figures(
    statuses: Sequence[AgencyStatus], tables: Sequence[PublishedTables], year: int
) -> list[AgencyFigures]:
    """One :class:`~flows.report.regions.AgencyFigures` per agency of ``year``: its region, level, state and,
    when published, its report's statutory figures (the input of the regional totals)."""
    values = {t.version_id: t.values for t in tables}
    return [
        AgencyFigures(
            s.name,
            s.agency.region,
            s.agency.region_label,
            s.agency.level,
            year,
            s.state,
            s.version_id,
            report_figures(values.get(s.version_id, {})) if s.state == "promoted" and s.version_id else {},
        )
        for s in statuses
    ]

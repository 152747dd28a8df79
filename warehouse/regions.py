"""Regional totals the oversight office reports upward: ``pub.v_region_year``, for BI tools.

One row per region × level × report year of the agencies the runs recorded (``qa.acquisitions``,
whose rows carry the registry's region and level): how many agencies, how many of them are included
(a published report), missing or quarantined, and the sums of the statutory figures over the
published reports —

* 表三 (总计 column): ``new_received`` (本年新收), ``concluded`` (办理结果总计, 办结), the outcomes
  ``granted`` … ``other_handling`` (予以公开 … 其他处理, each the sum of its printed rows);
* ``disclosure_rate`` = (予以公开 + 部分公开) / 办结;
* 表四: ``review_cases`` / ``litigation_cases`` (总计; litigation = 未经复议直接起诉 + 复议后起诉),
  ``*_decided`` (总计 − 尚未审结), ``*_corrected`` (结果纠正) and ``*_correction_rate`` = 纠正 / 审结;

and ``coverage``, the Chinese sentence saying which agencies the sums cover.  A figure of a report that
is not a number (a blank or text 总计 published through a waiver) is left out of that figure's sum and
counted in ``unread_reports``, never added as 0; a rate uses only the reports that have every figure
of it.  The same definitions are computed in Python for the e-mail and the workbook
(``flows/report/regions.py``), which a test compares with this view.
"""

from __future__ import annotations

import functools

import duckdb

from sources.template import load_template
from warehouse.db import has_table

#: 表三 outcome groups (予以公开 … 其他处理) and the figures of one report, in column order.
OUTCOMES = ("granted", "partially_granted", "denied", "unable_to_provide", "not_processed", "other_handling")
T3_FIGURES = ("new_received", "concluded", *OUTCOMES)
T4_FIGURES = (
    "review_cases",
    "review_pending",
    "review_corrected",
    "litigation_cases",
    "litigation_pending",
    "litigation_corrected",
)
FIGURES = T3_FIGURES + T4_FIGURES
_T4 = {"cases": "total", "pending": "pending", "corrected": "corrected"}
_LITIGATION = ("litigation_direct", "litigation_after_review")


@functools.cache
def figure_cells() -> tuple[tuple[str, str], ...]:
    """(cell address, figure) for every cell a figure adds up, over both templates (a 2021 report's
    （六）其他处理 is three rows, a 2019 or hybrid report's one)."""
    out: dict[tuple[str, str], None] = {}
    for template in ("gov2021", "gov2019"):
        t3 = load_template(template).table("t3")
        for row in t3.data_rows:
            group = row.key if row.key in OUTCOMES else row.group
            figure = {"new_received": "new_received", "result_total": "concluded"}.get(row.key, group)
            if figure in T3_FIGURES:
                out[(f"t3.{row.key}.total", figure)] = None
    for what, col in _T4.items():
        out[(f"t4.review.{col}", f"review_{what}")] = None
        for block in _LITIGATION:
            out[(f"t4.{block}.{col}", f"litigation_{what}")] = None
    return tuple(out)


def _values_sql() -> str:
    return ", ".join(f"('{address}', '{figure}')" for address, figure in figure_cells())


def _rate(num: str, den: str, parts: tuple[str, ...]) -> str:
    """sum(num) / sum(den) over the reports that have every figure of ``parts`` (4 decimals)."""
    have = " AND ".join(f"f.{p} IS NOT NULL" for p in parts)
    return f"round(sum(CASE WHEN {have} THEN {num} END) / nullif(sum(CASE WHEN {have} THEN {den} END), 0), 4)"


@functools.cache
def region_year_sql() -> str:
    """The DDL of ``pub.v_region_year`` (see the module docstring)."""
    pivot = ",\n           ".join(f"max(value) FILTER (WHERE figure = '{f}') AS {f}" for f in FIGURES)
    sums = ",\n       ".join(f"sum(f.{f}) AS {f}" for f in T3_FIGURES)
    review_decided = "f.review_cases - f.review_pending"
    litigation_decided = "f.litigation_cases - f.litigation_pending"
    return f"""
CREATE OR REPLACE VIEW pub.v_region_year AS
WITH agency AS (
    SELECT agency_id, year, coalesce(region, '') AS region, coalesce(level, '') AS level
    FROM qa.v_acquisitions_latest
), keyed AS (   -- the identity keys of the reports the runs fetched for the agency and year
    SELECT DISTINCT a.agency_id, a.year, r.agency_key
    FROM qa.acquisitions a JOIN stg.report_versions r ON r.version_id = a.version_id AND r.year = a.year
    WHERE r.agency_key IS NOT NULL
), shown AS (
    SELECT k.agency_id, k.year, max(p.version_id) AS version_id, bool_or(s.state = 'quarantined') AS quarantined
    FROM keyed k
    LEFT JOIN pub.report_versions p ON p.agency_key = k.agency_key AND p.year = k.year
    LEFT JOIN stg.report_versions r ON r.agency_key = k.agency_key AND r.year = k.year
    LEFT JOIN qa.version_state s ON s.version_id = r.version_id
    GROUP BY k.agency_id, k.year
), cell_figures AS (   -- a figure is unread (NULL) when any of its printed cells is not a number
    SELECT c.version_id, m.figure, CASE WHEN bool_and(c.value IS NOT NULL) THEN sum(c.value) END AS value
    FROM pub.cells c JOIN (VALUES {_values_sql()}) m(address, figure) ON m.address = c.address
    GROUP BY c.version_id, m.figure
), figures AS (
    SELECT version_id,
           {pivot}
    FROM cell_figures GROUP BY version_id
)
SELECT a.region, a.level, a.year,
       count(*) AS agencies,
       count(s.version_id) AS included,
       count(*) FILTER (WHERE s.version_id IS NULL AND coalesce(s.quarantined, false)) AS quarantined,
       count(*) FILTER (WHERE s.version_id IS NULL AND NOT coalesce(s.quarantined, false)) AS missing,
       count(s.version_id) FILTER (WHERE {" OR ".join(f"f.{f} IS NULL" for f in FIGURES)}) AS unread_reports,
       {sums},
       {_rate("f.granted + f.partially_granted", "f.concluded", ("granted", "partially_granted", "concluded"))}
           AS disclosure_rate,
       sum(f.review_cases) AS review_cases,
       sum({review_decided}) AS review_decided,
       sum(f.review_corrected) AS review_corrected,
       {_rate("f.review_corrected", review_decided, ("review_cases", "review_pending", "review_corrected"))}
           AS review_correction_rate,
       sum(f.litigation_cases) AS litigation_cases,
       sum({litigation_decided}) AS litigation_decided,
       sum(f.litigation_corrected) AS litigation_corrected,
       {
        _rate(
            "f.litigation_corrected",
            litigation_decided,
            ("litigation_cases", "litigation_pending", "litigation_corrected"),
        )
    }
           AS litigation_correction_rate,
       count(*)::VARCHAR || ' 家中 ' || count(s.version_id)::VARCHAR || ' 家已纳入，缺失 '
           || (count(*) FILTER (WHERE s.version_id IS NULL AND NOT coalesce(s.quarantined, false)))::VARCHAR
           || ' 家，隔离 '
           || (count(*) FILTER (WHERE s.version_id IS NULL AND coalesce(s.quarantined, false)))::VARCHAR || ' 家'
           AS coverage
FROM agency a
LEFT JOIN shown s ON s.agency_id = a.agency_id AND s.year = a.year
LEFT JOIN figures f ON f.version_id = s.version_id
GROUP BY a.region, a.level, a.year
"""


def ensure_view(con: duckdb.DuckDBPyConnection) -> bool:
    """(Re)create ``pub.v_region_year`` when its inputs exist (the published layer and the acquisitions
    the runs record); False when they do not yet."""
    needed = [("qa", "acquisitions"), ("pub", "cells"), ("pub", "report_versions"), ("qa", "version_state")]
    if not all(has_table(con, schema, table) for schema, table in needed):
        return False
    con.execute(region_year_sql())
    return True

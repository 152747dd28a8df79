"""What became of every agency's report in every run: ``qa.acquisitions`` and its views.

Missing reports are data.  Each pipeline run (``flows/pipeline.py``) appends one row per agency and
report year it looked at — found (``fetched`` / ``not_modified``), ``missing`` after the statutory
deadline, ``not_due`` yet, ``failed`` (with the pipeline step and the reason), ``refused`` (a URL
outside the agency's allowed hosts) or ``wrong_year`` (the document found prints another report year:
it is stored for that year, ``doc_year``, and the asked year counts as missing) — with the registry
identity of the agency (id, name, region, oversight office), every URL tried, and the link to the
report version it produced (``version_id`` = ``stg.report_versions.version_id``).

Views (recreated on every write; the ones joining ``stg``/``qa.version_state`` only once those exist):

* ``qa.v_acquisitions_latest`` — the latest row per (agency_id, year);
* ``qa.v_missing_reports`` — latest status ``missing`` or ``wrong_year``: who, which oversight office,
  the deadline, how many days overdue at the check, what was tried, and for ``wrong_year`` the year
  the document found prints (``printed_year``);
* ``qa.v_report_timeliness`` — per (agency_id, year): first time the report was found, last time it
  was recorded missing, the publication date printed in it, the current state of its version, and
  ``late`` (found only after a check had recorded it missing, or printed publication date after the
  deadline) with ``late_reason``.

The table is written with plain SQL in one transaction (a few hundred rows per run); dlt owns only
``stg``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.config import WarehouseConfig
from warehouse.db import WarehouseError, connect, dict_rows, has_table, table_columns, transaction
from warehouse.schema import duck_type

STATUSES = ("fetched", "not_modified", "missing", "not_due", "failed", "refused", "wrong_year")
STEPS = ("discover", "fetch", "parse", "load", "validate", "promote")

TRIED = pa.struct(
    [
        pa.field("url", pa.string()),
        pa.field("status", pa.string()),
        pa.field("http_status", pa.int64()),
        pa.field("reason", pa.string()),
    ]
)

ACQUISITIONS = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("agency_id", pa.string(), nullable=False),
        pa.field("year", pa.int64(), nullable=False),
        pa.field("agency_name", pa.string()),
        pa.field("region", pa.string()),
        pa.field("level", pa.string()),
        pa.field("oversight", pa.string()),
        pa.field("oversight_name", pa.string()),
        pa.field("status", pa.string()),
        pa.field("step", pa.string()),
        pa.field("reason", pa.string()),
        pa.field("url", pa.string()),
        pa.field("final_url", pa.string()),
        pa.field("format", pa.string()),
        pa.field("sha256", pa.string()),
        pa.field("version_id", pa.string()),
        pa.field("doc_state", pa.string()),
        pa.field("doc_year", pa.int64()),
        pa.field("new_document", pa.bool_()),
        pa.field("downloaded_bytes", pa.int64()),
        pa.field("tried", pa.list_(TRIED)),
        pa.field("deadline", pa.date32()),
        pa.field("checked_at", pa.timestamp("us", tz="UTC")),
        pa.field("ingest_run_id", pa.string()),
    ]
)

LATEST_VIEW = """
CREATE OR REPLACE VIEW qa.v_acquisitions_latest AS
SELECT * EXCLUDE (rn) FROM (
    SELECT a.*, row_number() OVER (PARTITION BY agency_id, year ORDER BY checked_at DESC, run_id DESC) AS rn
    FROM qa.acquisitions a
) WHERE rn = 1
"""

MISSING_VIEW = """
CREATE OR REPLACE VIEW qa.v_missing_reports AS
SELECT agency_id, agency_name, region, level, oversight, oversight_name, year, deadline,
       date_diff('day', deadline, CAST(timezone('Asia/Shanghai', checked_at) AS DATE)) AS days_overdue,
       reason, tried, checked_at, run_id, status,
       CASE WHEN status = 'wrong_year' THEN doc_year END AS printed_year
FROM qa.v_acquisitions_latest
WHERE status IN ('missing', 'wrong_year')
"""

_TIMELINESS = """
CREATE OR REPLACE VIEW qa.v_report_timeliness AS
WITH seen AS (
    SELECT agency_id, year,
           min(checked_at) FILTER (WHERE status IN ('fetched', 'not_modified')) AS first_found_at,
           max(checked_at) FILTER (WHERE status IN ('missing', 'wrong_year')) AS last_missing_at
    FROM qa.acquisitions GROUP BY agency_id, year
), base AS (
    SELECT l.agency_id, l.agency_name, l.region, l.oversight, l.oversight_name, l.year, l.deadline, l.status,
           l.version_id, {state} AS state, s.first_found_at, s.last_missing_at, {published} AS published_on
    FROM qa.v_acquisitions_latest l JOIN seen s USING (agency_id, year)
    {joins}
)
SELECT *,
       coalesce(last_missing_at < first_found_at, false) OR coalesce(published_on > deadline, false) AS late,
       CASE WHEN last_missing_at < first_found_at
                 THEN '截止日期后检查时未发布（' || strftime(last_missing_at, '%Y-%m-%d') || '）'
            WHEN published_on > deadline
                 THEN '发布日期 ' || strftime(published_on, '%Y-%m-%d') || ' 晚于截止日期'
       END AS late_reason
FROM base
"""


def columns_sql() -> str:
    """The column definitions of ``qa.acquisitions`` (from :data:`ACQUISITIONS`)."""
    cols = [f"{f.name} {duck_type(f.type)}{'' if f.nullable else ' NOT NULL'}" for f in ACQUISITIONS]
    return ", ".join(cols + ["PRIMARY KEY (run_id, agency_id, year)"])


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    """Create ``qa.acquisitions`` (refusing a drifted shape) and (re)create its views."""
    con.execute("CREATE SCHEMA IF NOT EXISTS qa")
    con.execute(f"CREATE TABLE IF NOT EXISTS qa.acquisitions ({columns_sql()})")
    found = table_columns(con, "qa", "acquisitions")
    if found != ACQUISITIONS.names:
        raise WarehouseError(
            f"qa.acquisitions has columns {found}, the code expects {ACQUISITIONS.names}; "
            "migrate the table (or start a new warehouse file)"
        )
    con.execute(LATEST_VIEW)
    con.execute(MISSING_VIEW)
    con.execute(timeliness_sql(con))
    from warehouse.regions import ensure_view

    ensure_view(con)  # pub.v_region_year joins the acquisitions' regions to the published figures


def timeliness_sql(con: duckdb.DuckDBPyConnection) -> str:
    """The ``qa.v_report_timeliness`` DDL, joining the version tables that exist in this warehouse."""
    joins, state, published = [], "l.doc_state", "CAST(NULL AS DATE)"
    if has_table(con, "qa", "version_state"):
        joins.append("LEFT JOIN qa.version_state vs ON vs.version_id = l.version_id")
        state = "coalesce(vs.state, l.doc_state)"
    if has_table(con, "stg", "report_versions"):
        joins.append("LEFT JOIN stg.report_versions rv ON rv.version_id = l.version_id")
        published = "rv.published_on"
    return _TIMELINESS.format(state=state, published=published, joins="\n    ".join(joins))


def to_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """The Arrow table of acquisition rows (missing keys are null; unknown keys are an error)."""
    unknown = {k for r in rows for k in r} - set(ACQUISITIONS.names)
    if unknown:
        raise ValueError(f"unknown acquisition columns: {sorted(unknown)}")
    bad = sorted({r.get("status") for r in rows} - set(STATUSES), key=str)
    if bad:
        raise ValueError(f"unknown acquisition status {bad}; expected one of {STATUSES}")
    return pa.Table.from_pylist([{n: r.get(n) for n in ACQUISITIONS.names} for r in rows], schema=ACQUISITIONS)


def record(cfg: WarehouseConfig, rows: Sequence[Mapping[str, Any]]) -> int:
    """Append ``rows`` to ``qa.acquisitions`` in one transaction (a re-recorded run replaces its rows).

    Returns the number of rows written.
    """
    table = to_table(rows)
    con = connect(cfg.db_path)
    try:
        with transaction(con):
            ensure(con)
            if table.num_rows:
                con.register("acquisition_batch", table)
                con.execute("INSERT OR REPLACE INTO qa.acquisitions SELECT * FROM acquisition_batch")
                con.unregister("acquisition_batch")
    finally:
        con.close()
    return table.num_rows


def latest(con: duckdb.DuckDBPyConnection, year: int | None = None) -> list[dict[str, Any]]:
    """The latest acquisition per (agency, year), optionally of one ``year``, ordered by agency."""
    if not has_table(con, "qa", "acquisitions"):
        return []
    where = "WHERE year = ?" if year is not None else ""
    return dict_rows(
        con,
        f"SELECT * FROM qa.v_acquisitions_latest {where} ORDER BY year, agency_id",
        [year] if year is not None else [],
    )


def missing(con: duckdb.DuckDBPyConnection, year: int | None = None) -> list[dict[str, Any]]:
    """Rows of ``qa.v_missing_reports`` (optionally of one ``year``), ordered by oversight and agency."""
    if not has_table(con, "qa", "acquisitions"):
        return []
    where = "WHERE year = ?" if year is not None else ""
    return dict_rows(
        con,
        f"SELECT * FROM qa.v_missing_reports {where} ORDER BY oversight, year, agency_id",
        [year] if year is not None else [],
    )

"""Read-only questions to the warehouse, answered as plain dicts (for the CLI and for machines).

* :func:`status` — counts per state and per year, and one entry per report version with its
  agency, year, state and the ids of its failing error-level rules and of its waived rules.
* :func:`years_seen` — the report years the warehouse has recorded anything for (a version or an
  acquisition), so that a year it never saw is not shown as a clean one.
* :func:`failing_checks` — one entry per failing (or not assessable) check, filterable by agency,
  year, rule and severity; a waived check says so (``waived``, the waiver's reason, who, when).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import duckdb

from warehouse.db import dict_rows, has_column, has_table

STATES = ("promoted", "quarantined", "rejected", "superseded")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    return [{n: _plain(v) for n, v in row.items()} for row in dict_rows(con, sql, params)]


def is_initialised(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether at least one ingest run completed (staging and state tables exist)."""
    return has_table(con, "stg", "report_versions") and has_table(con, "qa", "version_state")


def years_seen(con: duckdb.DuckDBPyConnection) -> list[int]:
    """The report years of every staged version and every ``qa.acquisitions`` row, ascending."""
    parts = []
    if has_table(con, "stg", "report_versions"):
        parts.append("SELECT year FROM stg.report_versions")
    if has_table(con, "qa", "acquisitions"):
        parts.append("SELECT year FROM qa.acquisitions")
    if not parts:
        return []
    sql = f"SELECT DISTINCT year FROM ({' UNION ALL '.join(parts)}) WHERE year IS NOT NULL ORDER BY year"
    return [int(y) for (y,) in con.execute(sql).fetchall()]


def status(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Counts by state and by year × state, and every report version with its state."""
    counts = dict.fromkeys(STATES, 0)
    if not is_initialised(con):
        return {"counts": counts, "by_year": [], "versions": [], "publications": []}
    for state, n in con.execute("SELECT state, count(*) FROM qa.version_state GROUP BY state").fetchall():
        counts[state] = n
    per_state = ", ".join(f"count(*) FILTER (WHERE s.state = '{state}') AS {state}" for state in STATES)
    by_year = _rows(
        con,
        f"""
        SELECT r.year, {per_state}
        FROM qa.version_state s JOIN stg.report_versions r ON r.version_id = s.version_id
        GROUP BY r.year ORDER BY r.year NULLS LAST
        """,
    )
    waived = "s.waived_rules" if has_column(con, "qa", "version_state", "waived_rules") else "NULL"
    versions = _rows(
        con,
        f"""
        SELECT s.version_id, r.agency, r.year, r.template, s.state, s.failing_rules, s.warning_rules,
               {waived} AS waived_rules, s.reason, s.superseded_by, coalesce(r.source_url, r.source_path) AS source,
               r.published_on, s.decided_at
        FROM qa.version_state s JOIN stg.report_versions r ON r.version_id = s.version_id
        ORDER BY r.year NULLS LAST, r.agency NULLS LAST, s.decided_at, s.version_id
        """,
    )
    for v in versions:
        for key in ("failing_rules", "warning_rules", "waived_rules"):
            v[key] = list(v[key] or [])
    return {"counts": counts, "by_year": by_year, "versions": versions, "publications": publications(con)}


def publications(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per publish destination (``warehouse.publish``): the reports it holds and when it was last sent to."""
    if not has_table(con, "qa", "publications"):
        return []
    return _rows(
        con,
        """
        SELECT destination, count(*) FILTER (WHERE item LIKE 'slot:%') AS reports,
               max(published_at) AS last_published_at
        FROM qa.publications GROUP BY destination ORDER BY destination
        """,
    )


def failing_checks(
    con: duckdb.DuckDBPyConnection,
    *,
    agency: str | None = None,
    year: int | None = None,
    rule: str | None = None,
    severity: str | None = None,
    include_superseded: bool = False,
) -> list[dict[str, Any]]:
    """Failing and not-assessable checks (``qa.v_failing_checks``), blocking ones first.

    ``agency`` matches a substring of the agency name; ``rule`` an exact rule id or a prefix
    ending in ``*`` (``T3_*``).  Checks of superseded versions are left out unless asked for.
    """
    if not is_initialised(con) or not has_table(con, "qa", "v_failing_checks"):
        return []
    where: list[str] = ["true"]
    params: list[Any] = []
    if agency:
        where.append("(agency LIKE ? OR agency_key LIKE ?)")
        params += [f"%{agency}%", f"%{agency}%"]
    if year is not None:
        where.append("year = ?")
        params.append(year)
    if rule:
        if rule.endswith("*"):
            where.append("rule_id LIKE ?")
            params.append(rule[:-1].upper() + "%")
        else:
            where.append("rule_id = ?")
            params.append(rule.upper())
    if severity:
        where.append("severity = ?")
        params.append(severity)
    if not include_superseded:
        where.append("state <> 'superseded'")
    waivers = (
        "waived, waiver_reason, waived_by, waived_at"
        if has_column(con, "qa", "v_failing_checks", "waived")
        else "false AS waived, NULL AS waiver_reason, NULL AS waived_by, NULL AS waived_at"
    )
    return _rows(
        con,
        f"""
        SELECT version_id, agency, year, state, rule_id, instance, severity, blocking, outcome, {waivers},
               lhs_value AS lhs, rhs_value AS rhs, message, source
        FROM qa.v_failing_checks WHERE {" AND ".join(where)}
        ORDER BY (blocking AND NOT waived) DESC, year NULLS LAST, agency NULLS LAST, version_id, rule_id, instance
        """,
        params,
    )

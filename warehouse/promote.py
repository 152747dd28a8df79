"""Promotion: the decisions of one run applied to ``qa`` and ``pub`` in ONE DuckDB transaction.

For every version of the run: its check results replace earlier ones in ``qa.check_results`` and
its state is written to ``qa.version_state``.  A version that passed every error-level check is
published — copied with its cells, parse issues, narrative facts and check results from ``stg`` /
``qa`` into ``pub`` — and replaces the published version of the same (agency_key, year), which
becomes ``superseded``.  A version that failed stays out of ``pub`` (``quarantined``), so the
previously published version of its agency and year stays published.  If the run fails anywhere,
the transaction is rolled back and ``pub`` is untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from warehouse.checks import Decision
from warehouse.frames import CELLS, NARRATIVE_FACTS, PARSE_ISSUES, REPORT_VERSIONS
from warehouse.schema import CHECK_RESULTS, RUNS, VERSION_STATE, column_list


@dataclass(frozen=True)
class PromotionResult:
    """Final state per version of the run, and the published versions it superseded."""

    states: dict[str, str]
    superseded: dict[str, str]  # old version_id -> the version that replaced it


def _identity(con: duckdb.DuckDBPyConnection, version_ids: list[str]) -> dict[str, tuple[str | None, int | None]]:
    rows = con.execute(
        "SELECT version_id, agency_key, year FROM stg.report_versions "
        "WHERE version_id IN (SELECT unnest(?::VARCHAR[]))",
        [version_ids],
    ).fetchall()
    return {vid: (key, year) for vid, key, year in rows}


def _winners(
    order: list[str], decisions: Mapping[str, Decision], identity: Mapping[str, tuple[str | None, int | None]]
) -> tuple[dict[tuple[str | None, int | None], str], dict[str, str]]:
    """The version to publish per (agency_key, year) — the last passing one in ingest order — and
    the passing versions of the same run it beats (→ superseded)."""
    winners: dict[tuple[str | None, int | None], str] = {}
    for vid in order:
        d = decisions.get(vid)
        if d is not None and d.state == "promoted":
            winners[identity[vid]] = vid
    beaten = {
        vid: winners[identity[vid]]
        for vid in order
        if vid in decisions and decisions[vid].state == "promoted" and winners[identity[vid]] != vid
    }
    return winners, beaten


def apply_run(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    decided_at: datetime,
    order: list[str],
    decisions: Mapping[str, Decision],
    rejected: Mapping[str, str],
    checks: pa.Table,
    run_row: Mapping[str, object],
) -> PromotionResult:
    """Write check results, states and promotions of one run atomically.

    ``order``: every version id of the run in ingest order; ``decisions``: validated versions;
    ``rejected``: non-statutory versions and why.
    """
    identity = _identity(con, order)
    winners, beaten = _winners(order, decisions, identity)
    states: dict[str, str] = {}
    state_rows: list[dict[str, object]] = []
    for vid in order:
        key, year = identity.get(vid, (None, None))
        if vid in rejected:
            state, failing, warning, reason, by = "rejected", [], [], rejected[vid], None
        else:
            d = decisions[vid]
            state, failing, warning, reason, by = d.state, d.failing_rules, d.warning_rules, d.reason, None
            if vid in beaten:
                state, by = "superseded", beaten[vid]
        states[vid] = state
        state_rows.append(
            {
                "version_id": vid,
                "agency_key": key,
                "year": year,
                "state": state,
                "failing_rules": failing,
                "warning_rules": warning,
                "reason": reason,
                "superseded_by": by,
                "run_id": run_id,
                "decided_at": decided_at,
            }
        )
    promote_ids = list(winners.values())
    # versions of this run that are published now but no longer pass: taken out of pub
    unpublish = [vid for vid in order if states[vid] in ("quarantined", "rejected")]
    con.register("_states", pa.Table.from_pylist(state_rows, schema=VERSION_STATE))
    con.register("_checks", checks.cast(CHECK_RESULTS))
    counted = dict(run_row)
    for state in ("promoted", "quarantined", "rejected", "superseded"):
        counted[state] = sum(1 for s in states.values() if s == state)
    con.register("_run", pa.Table.from_pylist([counted], schema=RUNS))
    superseded: dict[str, str] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM qa.check_results WHERE version_id IN (SELECT version_id FROM _states)")
        con.execute(f"INSERT INTO qa.check_results ({column_list(CHECK_RESULTS)}) SELECT * FROM _checks")
        con.execute("DELETE FROM qa.version_state WHERE version_id IN (SELECT version_id FROM _states)")
        con.execute(f"INSERT INTO qa.version_state ({column_list(VERSION_STATE)}) SELECT * FROM _states")
        if promote_ids:
            old = con.execute(
                """
                SELECT p.version_id, w.version_id FROM pub.report_versions p
                JOIN stg.report_versions w ON w.agency_key = p.agency_key AND w.year = p.year
                WHERE w.version_id IN (SELECT unnest(?::VARCHAR[])) AND p.version_id <> w.version_id
                """,
                [promote_ids],
            ).fetchall()
            superseded = {o: n for o, n in old}
            for old_id, new_id in superseded.items():
                con.execute(
                    "UPDATE qa.version_state SET state = 'superseded', superseded_by = ? WHERE version_id = ?",
                    [new_id, old_id],
                )
        drop = list(superseded) + promote_ids + unpublish
        if drop:
            for table in ("check_results", "narrative_facts", "parse_issues", "cells", "report_versions"):
                con.execute(f"DELETE FROM pub.{table} WHERE version_id IN (SELECT unnest(?::VARCHAR[]))", [drop])
        if promote_ids:
            ids = "(SELECT unnest(?::VARCHAR[]))"
            con.execute(
                f"INSERT INTO pub.report_versions SELECT {column_list(REPORT_VERSIONS)}, ?, ? "
                f"FROM stg.report_versions WHERE version_id IN {ids}",
                [decided_at, run_id, promote_ids],
            )
            for table, schema in (
                ("cells", CELLS),
                ("parse_issues", PARSE_ISSUES),
                ("narrative_facts", NARRATIVE_FACTS),
            ):
                con.execute(
                    f"INSERT INTO pub.{table} SELECT {column_list(schema)} FROM stg.{table} WHERE version_id IN {ids}",
                    [promote_ids],
                )
            con.execute(
                f"INSERT INTO pub.check_results SELECT {column_list(CHECK_RESULTS)} FROM qa.check_results "
                f"WHERE version_id IN {ids}",
                [promote_ids],
            )
        con.execute(f"INSERT INTO qa.runs ({column_list(RUNS)}) SELECT * FROM _run")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        for name in ("_states", "_checks", "_run"):
            con.unregister(name)
    return PromotionResult(states, superseded)

"""Promotion: the decisions of one run applied to ``qa`` and ``pub`` in ONE DuckDB transaction.

For every version of the run: its check results replace earlier ones in ``qa.check_results`` and
its state is written to ``qa.version_state``.  A version that passed every error-level check (or
whose failing ones a reviewer waived) is published — copied with its cells, parse issues and
narrative facts from ``stg`` into ``pub`` (``pub.check_results`` is a view of its ``qa`` rows) —
and replaces the published version of the same (agency_key, year), which becomes ``superseded``.
A version that failed stays out of ``pub`` (``quarantined``), so the previously published version
of its agency and year stays published.  If the run fails anywhere, the transaction is rolled back
and ``pub`` is untouched.

:func:`redecide` is the same decision for one version from its *stored* results, after a waiver
was added or removed (nothing is parsed, loaded or validated again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from warehouse.checks import WAIVED_SQL, Decision, decide
from warehouse.db import transaction
from warehouse.frames import CELLS, NARRATIVE_FACTS, PARSE_ISSUES, REPORT_VERSIONS
from warehouse.queries import STATES
from warehouse.schema import CHECK_RESULTS, RUNS, VERSION_STATE, column_list

_IDS = "(SELECT unnest(?::VARCHAR[]))"


@dataclass(frozen=True)
class PromotionResult:
    """Final state per version of the run, and the published versions it superseded."""

    states: dict[str, str]
    superseded: dict[str, str]  # old version_id -> the version that replaced it


def _identity(con: duckdb.DuckDBPyConnection, version_ids: list[str]) -> dict[str, tuple[str | None, int | None]]:
    """(agency_key, year) of each version."""
    rows = con.execute(
        f"SELECT version_id, agency_key, year FROM stg.report_versions WHERE version_id IN {_IDS}", [version_ids]
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


def unpublish(con: duckdb.DuckDBPyConnection, version_ids: Sequence[str]) -> None:
    """Remove versions from ``pub`` (their rows of every published table)."""
    if version_ids:
        for table in ("narrative_facts", "parse_issues", "cells", "report_versions"):
            con.execute(f"DELETE FROM pub.{table} WHERE version_id IN {_IDS}", [list(version_ids)])


def publish(con: duckdb.DuckDBPyConnection, version_ids: Sequence[str], decided_at: datetime, run_id: str) -> None:
    """Copy versions from ``stg`` into ``pub`` (report version row, cells, parse issues, narrative facts)."""
    if not version_ids:
        return
    ids = list(version_ids)
    con.execute(
        f"INSERT INTO pub.report_versions SELECT {column_list(REPORT_VERSIONS)}, ?, ? "
        f"FROM stg.report_versions WHERE version_id IN {_IDS}",
        [decided_at, run_id, ids],
    )
    for table, schema in (("cells", CELLS), ("parse_issues", PARSE_ISSUES), ("narrative_facts", NARRATIVE_FACTS)):
        con.execute(
            f"INSERT INTO pub.{table} SELECT {column_list(schema)} FROM stg.{table} WHERE version_id IN {_IDS}", [ids]
        )


def _state_rows(
    order: list[str],
    decisions: Mapping[str, Decision],
    rejected: Mapping[str, str],
    beaten: Mapping[str, str],
    identity: Mapping[str, tuple[str | None, int | None]],
    run_id: str,
    decided_at: datetime,
) -> list[dict[str, object]]:
    """One ``qa.version_state`` row per version of the run."""
    rows: list[dict[str, object]] = []
    for vid in order:
        key, year = identity.get(vid, (None, None))
        d = decisions.get(vid)
        if vid in rejected or d is None:
            d = Decision(vid, "rejected", [], [], rejected.get(vid))
        rows.append(
            {
                "version_id": vid,
                "agency_key": key,
                "year": year,
                "state": "superseded" if vid in beaten else d.state,
                "failing_rules": d.failing_rules,
                "warning_rules": d.warning_rules,
                "reason": d.reason,
                "superseded_by": beaten.get(vid),
                "run_id": run_id,
                "decided_at": decided_at,
                "waived_rules": d.waived_rules,
            }
        )
    return rows


def apply_run(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    decided_at: datetime,
    order: list[str],
    decisions: Mapping[str, Decision],
    rejected: Mapping[str, str],
    checks: pa.Table | str,
    run_row: Mapping[str, object],
) -> PromotionResult:
    """Write check results, states and promotions of one run atomically.

    ``order``: every version id of the run in ingest order; ``decisions``: validated versions;
    ``rejected``: non-statutory versions and why; ``checks``: the run's check results, an Arrow
    table or the name of a table with the ``qa.check_results`` columns (``run_checks``).
    """
    identity = _identity(con, order)
    winners, beaten = _winners(order, decisions, identity)
    state_rows = _state_rows(order, decisions, rejected, beaten, identity, run_id, decided_at)
    states = {str(r["version_id"]): str(r["state"]) for r in state_rows}
    promote_ids = list(winners.values())
    # versions of this run that are published now but no longer pass: taken out of pub
    unpublish_ids = [vid for vid in order if states[vid] in ("quarantined", "rejected")]
    counted = dict(run_row)
    for state in STATES:
        counted[state] = sum(1 for s in states.values() if s == state)
    registered = {
        "_states": pa.Table.from_pylist(state_rows, schema=VERSION_STATE),
        "_run": pa.Table.from_pylist([counted], schema=RUNS),
    }
    if not isinstance(checks, str):
        registered["_checks"] = checks.cast(CHECK_RESULTS)
    source = checks if isinstance(checks, str) else "_checks"
    for name, table in registered.items():
        con.register(name, table)
    superseded: dict[str, str] = {}
    cols = column_list(CHECK_RESULTS)
    try:
        with transaction(con):
            con.execute("DELETE FROM qa.check_results WHERE version_id IN (SELECT version_id FROM _states)")
            con.execute(f"INSERT INTO qa.check_results ({cols}) SELECT {cols} FROM {source}")
            con.execute("DELETE FROM qa.version_state WHERE version_id IN (SELECT version_id FROM _states)")
            con.execute(f"INSERT INTO qa.version_state ({column_list(VERSION_STATE)}) SELECT * FROM _states")
            if promote_ids:
                superseded = _supersede_published(con, promote_ids)
            unpublish(con, list(superseded) + promote_ids + unpublish_ids)
            publish(con, promote_ids, decided_at, run_id)
            con.execute(f"INSERT INTO qa.runs ({column_list(RUNS)}) SELECT * FROM _run")
    finally:
        for name in registered:
            con.unregister(name)
    return PromotionResult(states, superseded)


def _supersede_published(con: duckdb.DuckDBPyConnection, promote_ids: list[str]) -> dict[str, str]:
    """Mark the published versions the new winners replace as superseded; old id → new id."""
    old = con.execute(
        f"""
        SELECT p.version_id, w.version_id FROM pub.report_versions p
        JOIN stg.report_versions w ON w.agency_key = p.agency_key AND w.year = p.year
        WHERE w.version_id IN {_IDS} AND p.version_id <> w.version_id
        """,
        [promote_ids],
    ).fetchall()
    for old_id, new_id in old:
        con.execute(
            "UPDATE qa.version_state SET state = 'superseded', superseded_by = ? WHERE version_id = ?", [new_id, old_id]
        )
    return {o: n for o, n in old}


# ------------------------------------------------------------------------------------------ one version


@dataclass(frozen=True)
class Redecision:
    """A version decided again from its stored check results (after a waiver changed)."""

    version_id: str
    before: str
    after: str
    decision: Decision
    superseded: str | None = None  # the published version this one replaced
    superseded_by: str | None = None  # the newer published version that keeps this one out of pub
    restored: str | None = None  # the version published again because this one lost its place


def _stored_decision(con: duckdb.DuckDBPyConnection, vid: str) -> Decision:
    """The decision of a version from ``qa.check_results`` (message order from ``ref.rule_instances``)."""
    quoted = vid.replace("'", "''")
    source = f"""(
        SELECT k.*, coalesce(i.seq, 0) AS seq FROM qa.check_results k
        JOIN stg.report_versions r ON r.version_id = k.version_id
        LEFT JOIN ref.rule_instances i ON i.variant = r.variant AND i.rule_id = k.rule_id AND i.instance = k.instance
        WHERE k.version_id = '{quoted}')"""
    return decide(con, [vid], source)[vid]


def _published_rival(con: duckdb.DuckDBPyConnection, vid: str) -> tuple[str, bool] | None:
    """The other published version of the same (agency_key, year): (its id, loaded after ``vid``)."""
    row = con.execute(
        """
        SELECT p.version_id, p.loaded_at > v.loaded_at FROM stg.report_versions v
        JOIN pub.report_versions p ON p.agency_key = v.agency_key AND p.year = v.year AND p.version_id <> v.version_id
        WHERE v.version_id = ?
        """,
        [vid],
    ).fetchall()
    return (row[0][0], bool(row[0][1])) if row else None


def _write_state(
    con: duckdb.DuckDBPyConnection, d: Decision, state: str, by: str | None, run_id: str, at: datetime
) -> None:
    """Overwrite the ``qa.version_state`` row of the decided version."""
    con.execute(
        """
        UPDATE qa.version_state SET state = ?, failing_rules = ?, warning_rules = ?, waived_rules = ?, reason = ?,
               superseded_by = ?, run_id = ?, decided_at = ?
        WHERE version_id = ?
        """,
        [state, d.failing_rules, d.warning_rules, d.waived_rules, d.reason, by, run_id, at, d.version_id],
    )


def _restore_predecessor(con: duckdb.DuckDBPyConnection, vid: str, run_id: str, at: datetime) -> str | None:
    """Publish again the newest version ``vid`` had superseded, if it still passes; its id."""
    rows = con.execute(
        """
        SELECT s.version_id FROM qa.version_state s JOIN stg.report_versions r ON r.version_id = s.version_id
        WHERE s.state = 'superseded' AND s.superseded_by = ? ORDER BY r.loaded_at DESC, s.version_id DESC
        """,
        [vid],
    ).fetchall()
    for (old,) in rows:
        d = _stored_decision(con, old)
        if d.state == "promoted":
            publish(con, [old], at, run_id)
            _write_state(con, d, "promoted", None, run_id, at)
            return old
    return None


def redecide(con: duckdb.DuckDBPyConnection, vid: str, *, run_id: str, decided_at: datetime) -> Redecision:
    """Decide one version again from its stored check results and the current ``qa.waivers``.

    Runs inside the caller's transaction.  Marks its non-passing checks ``waived`` or not, then:
    a version that now passes is published unless a version of its agency and year loaded later is
    published (it replaces an earlier one, which becomes superseded); a published version that no
    longer passes is taken out of ``pub``, and the version it had superseded is published again if
    that one passes.
    """
    t = "check_results"
    con.execute(
        f"UPDATE qa.check_results SET waived = outcome <> 'pass' AND {WAIVED_SQL.format(t=t)} WHERE version_id = ?",
        [vid],
    )
    (before, old_by), published = (
        con.execute("SELECT state, superseded_by FROM qa.version_state WHERE version_id = ?", [vid]).fetchall()[0],
        bool(con.execute("SELECT count(*) FROM pub.report_versions WHERE version_id = ?", [vid]).fetchall()[0][0]),
    )
    d = _stored_decision(con, vid)
    if d.state != "promoted":
        restored = None
        if published:
            unpublish(con, [vid])
            restored = _restore_predecessor(con, vid, run_id, decided_at)
        _write_state(con, d, "quarantined", None, run_id, decided_at)
        return Redecision(vid, before, "quarantined", d, restored=restored)
    if published:
        _write_state(con, d, "promoted", None, run_id, decided_at)
        return Redecision(vid, before, "promoted", d)
    rival = _published_rival(con, vid)
    if rival is not None and (rival[1] or (before == "superseded" and old_by == rival[0])):
        _write_state(con, d, "superseded", rival[0], run_id, decided_at)
        return Redecision(vid, before, "superseded", d, superseded_by=rival[0])
    if rival is not None:
        unpublish(con, [rival[0]])
        con.execute(
            "UPDATE qa.version_state SET state = 'superseded', superseded_by = ? WHERE version_id = ?", [vid, rival[0]]
        )
    publish(con, [vid], decided_at, run_id)
    _write_state(con, d, "promoted", None, run_id, decided_at)
    return Redecision(vid, before, "promoted", d, superseded=rival[0] if rival else None)

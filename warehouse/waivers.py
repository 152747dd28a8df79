"""Waivers: a reviewer accepts one failing check of one report version, with a reason.

A waiver is a row of ``qa.waivers`` — one per report version × rule × instance (``*`` = every
instance of the rule) with the reason, who (``--by`` or the OS user) and when.  It is keyed by the
version (the document's hash), so it survives re-runs, ``ingest --force`` and re-validation, and
never applies to a revised document (a new version).

A waived check keeps its outcome (``fail`` / ``not_assessable``) and gets ``waived = true``; the
promotion decision does not count it as blocking.  Adding or removing a waiver decides the version
again from its stored check results (:func:`warehouse.promote.redecide`: nothing is parsed,
loaded or validated) and, in the same transaction as the waiver row, publishes or unpublishes it.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from warehouse.db import WarehouseError, dict_rows, has_table, transaction
from warehouse.promote import Redecision, redecide
from warehouse.schema import ALL_INSTANCES


class WaiverError(WarehouseError):
    """A waiver that cannot be recorded or removed; the message says what to do instead."""


@dataclass(frozen=True)
class Version:
    """A report version a waiver refers to."""

    version_id: str
    agency: str | None
    year: int | None
    state: str | None
    reject_reason: str | None

    @property
    def label(self) -> str:
        return f"{self.version_id} ({self.agency or '?'} {self.year or '?'})"


@dataclass(frozen=True)
class WaiverResult:
    """A waiver added, updated or removed, and what the re-decision did to its version."""

    action: str  # added | updated | removed
    version: Version
    rule_id: str
    instance: str
    reason: str | None
    waived_by: str | None
    waived_at: datetime
    severity: str  # error | warning
    redecision: Redecision


def current_user() -> str:
    """Who is waiving when ``--by`` is not given: the OS login name."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return os.environ.get("USER") or f"uid {os.getuid()}"


def _require_initialised(con: duckdb.DuckDBPyConnection) -> None:
    """Stop unless an ingest run completed; bring the layers and views to the current shape."""
    if not (has_table(con, "stg", "report_versions") and has_table(con, "qa", "check_results")):
        raise WaiverError("the warehouse holds no validated report yet; run `xxgk ingest PATH...` first")
    if not has_table(con, "qa", "waivers"):  # written before waivers existed
        from warehouse.schema import prepare

        prepare(con)


def resolve_version(con: duckdb.DuckDBPyConnection, ref: str) -> Version:
    """The report version ``ref`` names: a version id, a unique prefix of one, or a sha256 (prefix)."""
    _require_initialised(con)
    ref = ref.strip().lower()
    if len(ref) < 4:
        raise WaiverError(f"version {ref!r} is too short; give at least 4 characters of the version id (xxgk status)")
    rows = con.execute(
        """
        SELECT r.version_id, r.agency, r.year, s.state, r.reject_reason
        FROM stg.report_versions r LEFT JOIN qa.version_state s ON s.version_id = r.version_id
        WHERE starts_with(r.version_id, ?) OR starts_with(r.sha256, ?)
        ORDER BY r.version_id
        """,
        [ref, ref],
    ).fetchall()
    if not rows:
        raise WaiverError(f"no report version {ref!r} in the warehouse; `xxgk status` lists the version ids")
    if len(rows) > 1:
        shown = ", ".join(Version(*r).label for r in rows[:5]) + (" …" if len(rows) > 5 else "")
        raise WaiverError(f"{ref!r} matches {len(rows)} report versions ({shown}); give more characters")
    return Version(*rows[0])


def _failing_checks(con: duckdb.DuckDBPyConnection, vid: str) -> dict[str, list[tuple[str, str]]]:
    """Rule id → [(instance, severity)] of the version's checks that did not pass."""
    out: dict[str, list[tuple[str, str]]] = {}
    for rule_id, instance, severity in con.execute(
        "SELECT rule_id, instance, severity FROM qa.check_results WHERE version_id = ? AND outcome <> 'pass' "
        "ORDER BY rule_id, instance",
        [vid],
    ).fetchall():
        out.setdefault(rule_id, []).append((instance, severity))
    return out


def _describe(failing: dict[str, list[tuple[str, str]]]) -> str:
    """``its failing checks: T4_BLOCK_TOTAL (review, …)`` for error messages."""
    if not failing:
        return "none of its checks fails"
    parts = [f"{rule} ({', '.join(i for i, _s in items)})" for rule, items in failing.items()]
    return "its failing checks: " + "; ".join(parts)


def _check_rule(con: duckdb.DuckDBPyConnection, version: Version, rule_id: str, instance: str | None) -> str:
    """The severity of the failing check(s) to waive; :class:`WaiverError` when there is none."""
    if version.state is None:
        raise WaiverError(
            f"version {version.label} was loaded but never validated (an interrupted run?); "
            "run `xxgk ingest --force FILE` for its document first"
        )
    if version.state == "rejected":
        raise WaiverError(
            f"version {version.label} is rejected ({version.reject_reason or 'not a statutory report'}); "
            "it has no checks to waive"
        )
    failing = _failing_checks(con, version.version_id)
    known = {r[0] for r in con.execute("SELECT rule_id FROM ref.rules").fetchall()}
    if rule_id not in known:
        raise WaiverError(f"unknown rule {rule_id!r} (not in ref.rules); version {version.label}: {_describe(failing)}")
    items = failing.get(rule_id, [])
    if not items:
        raise WaiverError(
            f"rule {rule_id} does not fail for version {version.label}, nothing to waive; {_describe(failing)}"
        )
    if instance is not None and instance != ALL_INSTANCES and instance not in {i for i, _s in items}:
        listed = ", ".join(i for i, _s in items)
        raise WaiverError(
            f"rule {rule_id} has no failing instance {instance!r} for version {version.label}; "
            f"its failing instances: {listed} (omit --instance to waive them all)"
        )
    return "error" if any(s == "error" for _i, s in items) else items[0][1]


def add_waiver(
    con: duckdb.DuckDBPyConnection,
    ref: str,
    rule_id: str,
    reason: str,
    *,
    instance: str | None = None,
    by: str | None = None,
    now: datetime | None = None,
) -> WaiverResult:
    """Waive the failing check(s) ``rule_id`` [``instance``] of version ``ref`` and decide it again.

    The waiver row and the re-decision (promotion if nothing else blocks) are one transaction.
    Waiving the same check again replaces the reason, who and when.
    """
    if not reason or not reason.strip():
        raise WaiverError("a waiver needs a reason: --reason '为什么可以接受'")
    rule_id = rule_id.strip().upper()
    version = resolve_version(con, ref)
    severity = _check_rule(con, version, rule_id, instance)
    key = instance or ALL_INSTANCES
    at = now or datetime.now(UTC)
    who = by or current_user()
    existed = con.execute(
        "SELECT count(*) FROM qa.waivers WHERE version_id = ? AND rule_id = ? AND instance = ?",
        [version.version_id, rule_id, key],
    ).fetchall()[0][0]
    with transaction(con):
        con.execute(
            "INSERT OR REPLACE INTO qa.waivers (version_id, rule_id, instance, reason, waived_by, waived_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [version.version_id, rule_id, key, reason.strip(), who, at],
        )
        decision = redecide(con, version.version_id, run_id=_run_id("waive", at), decided_at=at)
    action = "updated" if existed else "added"
    return WaiverResult(action, version, rule_id, key, reason.strip(), who, at, severity, decision)


def remove_waiver(
    con: duckdb.DuckDBPyConnection, ref: str, rule_id: str, *, instance: str | None = None, now: datetime | None = None
) -> WaiverResult:
    """Remove the waiver of ``rule_id`` [``instance``] of version ``ref`` and decide it again."""
    rule_id = rule_id.strip().upper()
    version = resolve_version(con, ref)
    key = instance or ALL_INSTANCES
    row = con.execute(
        "SELECT reason, waived_by FROM qa.waivers WHERE version_id = ? AND rule_id = ? AND instance = ?",
        [version.version_id, rule_id, key],
    ).fetchall()
    if not row:
        present = con.execute(
            "SELECT string_agg(rule_id || ' ' || instance, ', ' ORDER BY rule_id, instance) FROM qa.waivers "
            "WHERE version_id = ?",
            [version.version_id],
        ).fetchall()[0][0]
        raise WaiverError(
            f"version {version.label} has no waiver for {rule_id} {key}; "
            + (f"its waivers: {present}" if present else "it has no waivers (`xxgk waivers` lists them)")
        )
    at = now or datetime.now(UTC)
    with transaction(con):
        con.execute(
            "DELETE FROM qa.waivers WHERE version_id = ? AND rule_id = ? AND instance = ?",
            [version.version_id, rule_id, key],
        )
        decision = redecide(con, version.version_id, run_id=_run_id("unwaive", at), decided_at=at)
    severity = con.execute(
        "SELECT coalesce(max(severity), 'error') FROM qa.check_results WHERE version_id = ? AND rule_id = ?",
        [version.version_id, rule_id],
    ).fetchall()[0][0]
    return WaiverResult("removed", version, rule_id, key, row[0][0], row[0][1], at, severity, decision)


def _run_id(kind: str, at: datetime) -> str:
    """The ``run_id`` stamped on a decision made by a waiver, e.g. ``waive-20250101T080000Z``."""
    return f"{kind}-{at.strftime('%Y%m%dT%H%M%S%fZ')}"


def list_waivers(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every waiver with its version's agency, year and state, and how many checks it covers now.

    ``checks_waived``: non-passing checks of the version it covers (0 when a re-validation made
    the rule pass: the waiver is kept but has nothing to do).
    """
    if not has_table(con, "qa", "waivers"):
        return []
    return dict_rows(
        con,
        """
        SELECT w.version_id, r.agency, r.year, s.state, w.rule_id, w.instance, w.reason, w.waived_by, w.waived_at,
               (SELECT count(*) FROM qa.check_results k WHERE k.version_id = w.version_id AND k.rule_id = w.rule_id
                  AND k.outcome <> 'pass' AND w.instance IN (k.instance, ?)) AS checks_waived,
               coalesce(r.source_url, r.source_path) AS source
        FROM qa.waivers w
        LEFT JOIN stg.report_versions r ON r.version_id = w.version_id
        LEFT JOIN qa.version_state s ON s.version_id = w.version_id
        ORDER BY w.waived_at, w.version_id, w.rule_id, w.instance
        """,
        [ALL_INSTANCES],
    )

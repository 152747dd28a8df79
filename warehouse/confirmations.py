"""OCR confirmations: a reviewer records the value printed on the page image for one OCR cell.

A confirmation is a row of ``qa.ocr_confirmations`` keyed by the document's sha256 and the cell
address, with the value as read, what OCR had read, who (``--by`` or the OS user) and when.  Being
keyed by the document it survives re-runs, ``ingest --force`` and re-parses (the parse results are
given the confirmations before they are loaded: :func:`for_documents`), and never applies to a
revised document.

Confirming changes the cell, so the version's checks are computed again: in one transaction the
confirmation row is written, the staged cells and OCR issues of the version are rewritten
(:func:`sources.parsing.confirm.apply_confirmations`: the cell takes the reviewer's value, status
``confirmed``, the OCR reading kept in its provenance; the report's own identities decide again
which other OCR cells stay ``unverified``), the version is validated again (the caller's
``validate``: the same SQL sides and GX expectations as an ingest run), its check results are
replaced, and it is decided again the way a waiver decides it (:func:`warehouse.promote.redecide`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from sources.parsing.confirm import CELL_CODES, Confirmation, NotAValue, apply_confirmations, confirmed_value
from warehouse.db import has_table, transaction
from warehouse.frames import CELLS, PARSE_ISSUES
from warehouse.promote import Redecision, redecide
from warehouse.schema import CHECK_RESULTS, column_list
from warehouse.waivers import Version, WaiverError, current_user, resolve_version

#: ``validate(con, version_id, run_id, at)``: validate one staged version; its check results in ``run_checks``.
Validate = Callable[[duckdb.DuckDBPyConnection, str, str, datetime], None]


class ConfirmError(WaiverError):
    """A confirmation that cannot be recorded; the message says what to do instead."""


@dataclass(frozen=True)
class ConfirmResult:
    """A confirmation added, updated or left unchanged, and what it did to its version."""

    action: str  # added | updated | unchanged
    version: Version
    address: str
    value: str
    ocr_text: str | None
    previous: str | None  # the value confirmed before (updated)
    confirmed_by: str
    confirmed_at: datetime
    changed: list[str]  # cells rewritten (the confirmed one and those whose unverified mark came or went)
    still_unverified: list[str]  # OCR cells of the version still unverified
    redecision: Redecision | None  # None when nothing changed


def for_documents(con: duckdb.DuckDBPyConnection, shas: Iterable[str]) -> dict[str, dict[str, Confirmation]]:
    """The confirmations of documents by sha256: sha256 → address → :class:`Confirmation`."""
    if not has_table(con, "qa", "ocr_confirmations"):
        return {}
    out: dict[str, dict[str, Confirmation]] = {}
    for sha, address, value, by, at in con.execute(
        "SELECT sha256, address, value, confirmed_by, confirmed_at FROM qa.ocr_confirmations "
        "WHERE sha256 IN (SELECT unnest(?::VARCHAR[]))",
        [list(shas)],
    ).fetchall():
        out.setdefault(sha, {})[address] = Confirmation(value, by or "", _iso(at))
    return out


def _iso(at: Any) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds") if isinstance(at, datetime) else str(at)


def list_confirmations(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every confirmation with the version it belongs to (agency, year, state) and the cell's label."""
    if not has_table(con, "qa", "ocr_confirmations"):
        return []
    from warehouse.db import dict_rows

    return dict_rows(
        con,
        """
        SELECT r.version_id, r.agency, r.year, s.state, k.address, c.label, k.value, k.ocr_text,
               k.confirmed_by, k.confirmed_at
        FROM qa.ocr_confirmations k
        JOIN stg.report_versions r ON r.sha256 = k.sha256
        LEFT JOIN qa.version_state s ON s.version_id = r.version_id
        LEFT JOIN stg.cells c ON c.version_id = r.version_id AND c.address = k.address
        ORDER BY k.confirmed_at, r.version_id, k.address
        """,
    )


def _staged_result(con: duckdb.DuckDBPyConnection, vid: str) -> dict[str, Any]:
    """The parse result of a staged version as far as confirming needs it: template, cells, issues."""
    [(template, sha)] = con.execute(
        "SELECT template, sha256 FROM stg.report_versions WHERE version_id = ?", [vid]
    ).fetchall()
    cells = []
    for address, value, raw, semantic, reason, page, ocr in con.execute(
        "SELECT address, value, raw, semantic, reason, page, ocr FROM stg.cells WHERE version_id = ? ORDER BY address",
        [vid],
    ).fetchall():
        cell: dict[str, Any] = {"address": address, "value": value, "raw": raw, "semantic": semantic, "page": page}
        if reason is not None:
            cell["reason"] = reason
        if ocr is not None:
            cell["method"] = "ocr"
            cell["ocr"] = json.loads(ocr)
        cells.append(cell)
    issues = [
        {"code": code, "severity": severity, "message": message, "address": address, "page": page}
        for code, severity, message, address, page in con.execute(
            "SELECT code, severity, message, address, page FROM stg.parse_issues WHERE version_id = ? ORDER BY seq",
            [vid],
        ).fetchall()
    ]
    return {"template": template, "sha256": sha, "cells": cells, "issues": issues}


def _restage(con: duckdb.DuckDBPyConnection, vid: str, result: dict[str, Any], changed: list[str]) -> None:
    """Write the changed cells and the recomputed OCR issues of ``vid`` back to ``stg``."""
    by_address = {c["address"]: c for c in result["cells"]}
    for address in changed:
        c = by_address[address]
        con.execute(
            "UPDATE stg.cells SET value = ?, raw = ?, semantic = ?, reason = ?, ocr_status = ?, ocr = ? "
            "WHERE version_id = ? AND address = ?",
            [
                c.get("value"),
                c.get("raw"),
                c.get("semantic"),
                c.get("reason"),
                c["ocr"].get("status"),
                json.dumps(c["ocr"], ensure_ascii=False),
                vid,
                address,
            ],
        )
    codes = list(CELL_CODES)
    con.execute(
        "DELETE FROM stg.parse_issues WHERE version_id = ? AND code IN (SELECT unnest(?::VARCHAR[]))", [vid, codes]
    )
    [(seq,)] = con.execute("SELECT coalesce(max(seq), 0) FROM stg.parse_issues WHERE version_id = ?", [vid]).fetchall()
    for issue in (i for i in result["issues"] if i.get("code") in CELL_CODES):
        seq += 1
        con.execute(
            "INSERT INTO stg.parse_issues (version_id, seq, code, severity, address, page, message) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [vid, seq, issue["code"], issue["severity"], issue.get("address"), issue.get("page"), issue["message"]],
        )
    con.execute(
        "UPDATE stg.report_versions SET issue_count = (SELECT count(*) FROM stg.parse_issues WHERE version_id = ?) "
        "WHERE version_id = ?",
        [vid, vid],
    )


def _refresh_published(con: duckdb.DuckDBPyConnection, vid: str) -> None:
    """A published version whose cells changed: its ``pub`` cells and parse issues copied again."""
    for table, schema in (("cells", CELLS), ("parse_issues", PARSE_ISSUES)):
        con.execute(f"DELETE FROM pub.{table} WHERE version_id = ?", [vid])
        con.execute(
            f"INSERT INTO pub.{table} SELECT {column_list(schema)} FROM stg.{table} WHERE version_id = ?", [vid]
        )


def _check_cell(con: duckdb.DuckDBPyConnection, version: Version, address: str) -> tuple[str | None, str | None]:
    """(OCR text, OCR status) of the cell to confirm; :class:`ConfirmError` when it cannot be confirmed."""
    if version.state is None:
        raise ConfirmError(
            f"version {version.label} was loaded but never validated (an interrupted run?); "
            "run `xxgk ingest --force FILE` for its document first"
        )
    if version.state == "rejected":
        raise ConfirmError(f"version {version.label} is rejected ({version.reject_reason or 'not a statutory report'})")
    row = con.execute(
        "SELECT ocr FROM stg.cells WHERE version_id = ? AND address = ?", [version.version_id, address]
    ).fetchall()
    if not row:
        unverified = _unverified(con, version.version_id)
        hint = (
            f"its unverified OCR cells: {', '.join(unverified)}"
            if unverified
            else "addresses look like t3.new_received.total"
        )
        raise ConfirmError(f"version {version.label} has no cell {address!r}; {hint}")
    if row[0][0] is None:
        raise ConfirmError(
            f"cell {address} of version {version.label} was read from the document's text, not by OCR: nothing to "
            "confirm (a figure the publisher got wrong is waived: xxgk waive VERSION RULE --reason …)"
        )
    ocr = json.loads(row[0][0])
    return ocr.get("text"), ocr.get("status")


#: OCR statuses of a cell a person must compare with the page image.
PENDING_STATUSES = ("unverified", "low_confidence", "unreadable")


def pending_cells(
    con: duckdb.DuckDBPyConnection, version_ids: Iterable[str] | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """The OCR cells still to compare with the page image, one dict per cell (``version_id``,
    ``agency``, ``year``, ``state``, ``address``, ``label``, ``status``, ``ocr``: the provenance with
    the cell's ``crop``), by version and address: of ``version_ids``, or of every version not
    superseded; at most ``limit``."""
    if not has_table(con, "stg", "cells") or not has_table(con, "qa", "version_state"):
        return []
    where, params = "s.state <> 'superseded'", []
    if version_ids is not None:
        where, params = "c.version_id IN (SELECT unnest(?::VARCHAR[]))", [list(version_ids)]
    rows = con.execute(
        f"""
        SELECT c.version_id, r.agency, r.year, s.state, c.address, c.label, c.ocr_status, c.ocr
        FROM stg.cells c
        JOIN stg.report_versions r ON r.version_id = c.version_id
        JOIN qa.version_state s ON s.version_id = c.version_id
        WHERE c.ocr_status IN (SELECT unnest(?::VARCHAR[])) AND {where}
        ORDER BY c.version_id, c.address LIMIT ?
        """,
        [list(PENDING_STATUSES), *params, limit],
    ).fetchall()
    keys = ("version_id", "agency", "year", "state", "address", "label", "status", "ocr")
    out = [dict(zip(keys, row, strict=True)) for row in rows]
    for row in out:
        row["ocr"] = json.loads(row["ocr"] or "{}")
    return out


def _unverified(con: duckdb.DuckDBPyConnection, vid: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT address FROM stg.cells WHERE version_id = ? AND ocr_status = 'unverified' ORDER BY address", [vid]
        ).fetchall()
    ]


def confirm_cell(
    con: duckdb.DuckDBPyConnection,
    ref: str,
    address: str,
    value: str,
    *,
    validate: Validate,
    by: str | None = None,
    now: datetime | None = None,
) -> ConfirmResult:
    """Record that the page image of version ``ref`` prints ``value`` in OCR cell ``address``; validate
    the version again and decide it (promoted if nothing else blocks).

    Confirming the same value again changes nothing (``unchanged``); another value replaces it.
    """
    address = address.strip()
    value = value.strip()
    version = resolve_version(con, ref)
    ocr_text, _status = _check_cell(con, version, address)
    vid = version.version_id
    staged = _staged_result(con, vid)
    try:
        confirmed_value(staged["template"], address, value)
    except NotAValue:
        raise ConfirmError(
            f"{value!r} is not a value of cell {address}: give the figure printed on the page image "
            "(e.g. --value 12; --value / for a printed placeholder)"
        ) from None
    sha = staged["sha256"]
    existing = for_documents(con, [sha]).get(sha, {})
    who = by or current_user()
    at = now or datetime.now(UTC)
    previous = existing[address].text if address in existing else None
    if previous == value:
        same = existing[address]
        return ConfirmResult(
            "unchanged",
            version,
            address,
            value,
            ocr_text,
            previous,
            same.by,
            datetime.fromisoformat(same.at),
            [],
            _unverified(con, vid),
            None,
        )
    confirmations: Mapping[str, Confirmation] = {**existing, address: Confirmation(value, who, _iso(at))}
    run_id = f"confirm-{at.strftime('%Y%m%dT%H%M%S%fZ')}"
    from warehouse.schema import prepare

    prepare(con)  # reference tables and check views of the running code (its own transaction)
    with transaction(con):
        con.execute(
            "INSERT OR REPLACE INTO qa.ocr_confirmations "
            "(sha256, address, value, ocr_text, confirmed_by, confirmed_at) VALUES (?, ?, ?, ?, ?, ?)",
            [sha, address, value, ocr_text, who, at],
        )
        changed = apply_confirmations(staged, confirmations)
        _restage(con, vid, staged, changed)
        published = bool(
            con.execute("SELECT count(*) FROM pub.report_versions WHERE version_id = ?", [vid]).fetchall()[0][0]
        )
        validate(con, vid, run_id, at)
        cols = column_list(CHECK_RESULTS)
        con.execute("DELETE FROM qa.check_results WHERE version_id = ?", [vid])
        con.execute(f"INSERT INTO qa.check_results ({cols}) SELECT {cols} FROM run_checks WHERE version_id = ?", [vid])
        decision = redecide(con, vid, run_id=run_id, decided_at=at)
        if published and decision.after == "promoted":
            _refresh_published(con, vid)  # still published: its pub rows carry the confirmed value now
    action = "updated" if previous is not None else "added"
    return ConfirmResult(
        action, version, address, value, ocr_text, previous, who, at, changed, _unverified(con, vid), decision
    )

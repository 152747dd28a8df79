"""The cells of a parse result: one per template address, from a :class:`~sources.parsing.walk.Walk`.

A cell read is its value with provenance (page, line, table, unit, OCR reading); a cell not read is
``MISSING`` with the reason.  OCR readings that are not usable leave the value null with their
reason, and OCR cells on a failing statutory identity are marked ``unverified``
(:func:`verify_ocr`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sources.parsing.document import CellSource, Issue
from sources.parsing.walk import Walk
from sources.rules import RuleInstance, Term, cell_specs, check_report, rule_instances, variant_of
from sources.template import TABLE_NAMES, Template


def _json_value(value: int | Decimal | None) -> int | float | None:
    if isinstance(value, Decimal):
        return float(value)
    return value


def _addresses(template: Template, hybrid: bool) -> list[str]:
    """Template addresses; a hybrid report keeps its single （六）其他处理 row instead of the three."""
    if not hybrid:
        return list(template.addresses)
    return [c.address for c in cell_specs("gov2021_hybrid")]


def build_cells(template: Template, walk: Walk, unreadable: str | None = None) -> list[dict[str, Any]]:
    """One dict per template cell: the value read, or MISSING with the reason (``unreadable``: why the
    tables of this report could not be read, the reason of every cell of a table not found)."""
    cells: list[dict[str, Any]] = []
    for address in _addresses(template, walk.hybrid_other):
        table_id, row_key, _col = address.split(".")
        found = walk.found.get(address)
        if found is not None:
            cell: dict[str, Any] = {
                "address": address,
                "value": _json_value(found.parsed.value),
                "raw": found.raw,
                "semantic": found.parsed.semantic,
                "label": found.label,
            }
            if found.row.page is not None:
                cell["page"] = found.row.page
            if found.row.line is not None:
                cell["line"] = found.row.line
            if found.row.table is not None:
                cell["table"] = found.row.table
            if found.parsed.unit:
                cell["unit"] = found.parsed.unit
            if found.parsed.note:
                cell["note"] = found.parsed.note
            if found.source is not None:
                _ocr_cell(cell, found.source)
            cells.append(cell)
            continue
        kind = template.table(table_id).kind
        reason = walk.bad_rows.get(f"{table_id}.{row_key}") or walk.bad_rows.get(table_id)
        if reason is None:
            title = TABLE_NAMES[kind][1:]  # "四" in "table 四 not found"
            if kind not in walk.tables_seen:
                reason = unreadable or f"table {title} not found in the document"
            else:
                reason = f"row {template.table(table_id).row(row_key).label} not found in table {title}"
        cells.append({"address": address, "value": None, "raw": None, "semantic": "MISSING", "reason": reason})
    return cells


# Why an OCR reading was not used, by CellSource.status: the cell's reason code and its message.
OCR_REASONS = {
    "low_confidence": ("ocr_low_confidence", "OCR read {text!r} with confidence {confidence} below {threshold}"),
    "unreadable": ("ocr_unreadable", "OCR could not read a number here (read {text!r})"),
}


def _ocr_cell(cell: dict[str, Any], source: CellSource) -> None:
    """Attach an OCR reading to a cell; a reading that is not usable leaves the value null with its reason."""
    from sources.parsing.ocr import MIN_CONFIDENCE

    cell["method"] = "ocr"
    cell["ocr"] = source.to_json()
    if source.status in OCR_REASONS:
        code, text = OCR_REASONS[source.status]
        # MISSING, not EMPTY or TEXT: the printed value is unknown (an EMPTY cell would count as 0).
        cell.update(value=None, semantic="MISSING", reason_code=code)
        conf = "?" if source.confidence is None else f"{source.confidence:.2f}"
        cell["reason"] = text.format(text=source.text, confidence=conf, threshold=MIN_CONFIDENCE)


def ocr_issues(cells: list[dict[str, Any]]) -> list[Issue]:
    """One issue per OCR cell whose value was not used (``ocr_low_confidence`` / ``ocr_unreadable``)."""
    return [
        Issue(
            c["reason_code"],
            "error",
            f"{c['address']}: {c['reason']}; check the page image",
            c["address"],
            c.get("page"),
        )
        for c in cells
        if c.get("reason_code") in ("ocr_low_confidence", "ocr_unreadable")
    ]


def _terms(inst: RuleInstance) -> tuple[Term, ...]:
    return inst.lhs + inst.rhs


def _identity_instances(variant: str) -> dict[tuple[str, str], RuleInstance]:
    """The report's own statutory identities: error-level equalities between its table cells."""
    return {
        inst.key: inst
        for inst in rule_instances(variant)
        if inst.severity == "error"
        and inst.op == "eq"
        and all(
            t.scope == "this" and (t.address is None or t.address[:3] in ("t2.", "t3.", "t4.")) for t in _terms(inst)
        )
        and any(t.address for t in _terms(inst))
    }


def verify_ocr(result: dict[str, Any]) -> list[Issue]:
    """Mark OCR-read cells of failing statutory identities ``unverified``; one ``ocr_unverified`` issue each.

    A report's own identities (表三 row totals and balance, 表四 block totals …) hold in a correct
    report; where one fails on cells that OCR read, a misread is as likely as a publisher's error,
    so those cells are not trusted until a person has looked at the page (their value stays, as
    read, and the report is not promoted on them: rule S_OCR_VERIFIED).
    """
    cells = {c["address"]: c for c in result["cells"]}
    if not any(c.get("method") == "ocr" for c in cells.values()):
        return []
    variant = variant_of(result.get("template"), cells)
    if variant is None:
        return []
    identities = _identity_instances(variant)
    failing: dict[str, list[str]] = {}
    for check in check_report(result):
        inst = identities.get((check.rule_id, check.instance))
        if inst is None or check.outcome != "fail":
            continue
        for term in _terms(inst):
            cell = cells.get(term.address or "")
            # a cell a reviewer confirmed on the page image is the printed value: a failing identity on it
            # is the publisher's (the rule reports it), not a misread
            if (
                cell is not None
                and cell.get("method") == "ocr"
                and cell["value"] is not None
                and cell["ocr"].get("status") != "confirmed"
            ):
                failing.setdefault(cell["address"], []).append(check.rule_id)
    issues = []
    for address, rule_ids in failing.items():
        cell = cells[address]
        cell["ocr"]["status"] = "unverified"
        rules_text = ", ".join(dict.fromkeys(rule_ids))
        issues.append(
            Issue(
                "ocr_unverified",
                "error",
                f"{address}: OCR read {cell['raw']!r}, but {rules_text} fails on it; compare the page image "
                "and confirm the value (xxgk confirm) before it is used",
                address,
                cell.get("page"),
            )
        )
    return issues

"""What a reviewer read on the page image, applied to the OCR cells of a parse result.

A reviewer who compared an OCR cell with its page image records the value printed there
(``xxgk confirm``).  Confirmations are keyed by the document's sha256 and the cell address, so
they apply to every parse of the same document.  Applying them is pure: the confirmed cells take
the reviewer's value (the OCR reading stays in ``ocr.text``/``ocr.confidence``, status
``confirmed`` with who and when), and the report's own identities are evaluated again — a
confirmed cell is never marked ``unverified`` again, and the other OCR cells are marked only where
an identity still fails (a corrected misread may make one hold, or fail elsewhere).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sources.parsing.numbers import CellValue, parse_cell
from sources.template.model import load_template

#: OCR issue codes about one cell, recomputed when confirmations are applied.
CELL_CODES = ("ocr_low_confidence", "ocr_unreadable", "ocr_unverified")


@dataclass(frozen=True)
class Confirmation:
    """The value a reviewer read on the page image for one cell (as printed: ``12``, ``0``, ``/``)."""

    text: str
    by: str
    at: str  # ISO 8601, UTC


class NotAValue(ValueError):
    """The confirmed text is not a value of the cell's type."""


def confirmed_value(template: str, address: str, text: str) -> CellValue:
    """The cell value of ``text`` for ``address`` of ``template``; :class:`NotAValue` for text that is
    not a number or a placeholder of that cell's type (a confirmation never stores free text)."""
    parsed = parse_cell(text, load_template(template).value_type(address))
    if parsed.semantic == "TEXT" or not text.strip():
        raise NotAValue(f"{text!r} is not a value of cell {address}")
    return parsed


def apply_confirmations(result: dict[str, Any], confirmations: Mapping[str, Confirmation]) -> list[str]:
    """Apply ``confirmations`` (address → what the reviewer read) to ``result`` in place.

    Only OCR cells are changed.  Returns the addresses whose value, status or reason changed (the
    confirmed cells and the cells whose ``unverified`` mark came or went); the OCR issues of the
    result (``ocr_low_confidence``, ``ocr_unreadable``, ``ocr_unverified``) are recomputed.
    """
    from sources.parsing.assemble import verify_ocr

    template = result.get("template")
    cells = [c for c in result.get("cells") or [] if c.get("method") == "ocr" and c.get("ocr")]
    if not template or not cells:
        return []
    before = {c["address"]: (c.get("value"), c["ocr"].get("status"), c.get("reason")) for c in cells}
    for cell in cells:
        seen = confirmations.get(cell["address"])
        if seen is not None:
            parsed = confirmed_value(template, cell["address"], seen.text)
            value = parsed.value
            cell.update(
                value=float(value) if value is not None and not isinstance(value, int) else value,
                raw=seen.text.strip(),
                semantic=parsed.semantic,
            )
            cell.pop("reason", None)
            cell.pop("reason_code", None)
            cell["ocr"]["status"] = "confirmed"
            cell["ocr"]["confirmed"] = {"value": seen.text.strip(), "by": seen.by, "at": seen.at}
        elif cell["ocr"].get("status") == "unverified":
            cell["ocr"]["status"] = "ok"  # decided again below, on the values as they stand now
    kept = [
        i
        for i in result.get("issues") or []
        if not (
            i.get("code") in CELL_CODES and (i.get("code") == "ocr_unverified" or i.get("address") in confirmations)
        )
    ]
    result["issues"] = kept + [i.to_json() for i in verify_ocr(result)]
    return [
        c["address"]
        for c in cells
        if (c.get("value"), c["ocr"].get("status"), c.get("reason")) != before[c["address"]]
        or c["address"] in confirmations
    ]

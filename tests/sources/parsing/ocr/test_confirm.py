"""What a reviewer read on the page image, applied to a parse result's OCR cells."""

from __future__ import annotations

import pytest
from test_assemble_ocr import _doc, _ocr_rows

from sources.parsing.assemble import parse_document
from sources.parsing.confirm import Confirmation, NotAValue, apply_confirmations, confirmed_value
from sources.rules import evaluate_report


def _misread() -> tuple[dict, int]:
    doc, row = _doc()
    total = len(row.cells) - 1
    printed = int(row.cells[total])
    result = parse_document(_ocr_rows(doc, {f"{row.line}:{total}": (str(printed + 10), "ok")}))
    return result, printed


def _verdict(result: dict, rule: str) -> set[str]:
    return {c.outcome for c in evaluate_report(result) if c.rule_id == rule}


def test_confirming_the_printed_value_clears_the_misread_and_its_identity():
    result, printed = _misread()
    cells = {c["address"]: c for c in result["cells"]}
    assert cells["t3.new_received.natural_person"]["ocr"]["status"] == "unverified"
    changed = apply_confirmations(
        result, {"t3.new_received.total": Confirmation(str(printed), "张三", "2026-12-03T13:00:00+00:00")}
    )
    cells = {c["address"]: c for c in result["cells"]}
    total = cells["t3.new_received.total"]
    assert total["value"] == printed and total["raw"] == str(printed) and total["semantic"] == "NUMBER"
    assert total["ocr"]["status"] == "confirmed" and total["ocr"]["text"] == str(printed + 10)  # the reading kept
    assert total["ocr"]["confirmed"] == {"value": str(printed), "by": "张三", "at": "2026-12-03T13:00:00+00:00"}
    # the row total holds again: the other cells of that identity are not in doubt any more
    assert cells["t3.new_received.natural_person"]["ocr"]["status"] == "ok"
    assert "t3.new_received.total" in changed and "t3.new_received.natural_person" in changed
    assert not [i for i in result["issues"] if i["code"] == "ocr_unverified"]
    assert _verdict(result, "S_OCR_VERIFIED") == {"pass"}


def test_confirming_the_misread_value_as_printed_leaves_the_other_cells_unverified():
    # The reviewer says the page does print the odd total: the publisher's error then, but the
    # components of the failing row total were read by OCR too and still wait for a look.
    result, printed = _misread()
    apply_confirmations(result, {"t3.new_received.total": Confirmation(str(printed + 10), "李四", "t")})
    cells = {c["address"]: c for c in result["cells"]}
    assert cells["t3.new_received.total"]["ocr"]["status"] == "confirmed"
    assert cells["t3.new_received.total"]["value"] == printed + 10
    assert cells["t3.new_received.natural_person"]["ocr"]["status"] == "unverified"
    unverified = {i["address"] for i in result["issues"] if i["code"] == "ocr_unverified"}
    assert "t3.new_received.total" not in unverified and "t3.new_received.natural_person" in unverified
    assert _verdict(result, "S_OCR_VERIFIED") == {"fail"}


def test_a_low_confidence_cell_confirmed_gets_a_value_and_loses_its_reason():
    doc, row = _doc()
    total = len(row.cells) - 1
    printed = row.cells[total]
    result = parse_document(_ocr_rows(doc, {f"{row.line}:{total}": ("9", "low_confidence")}))
    assert {i["code"] for i in result["issues"]} >= {"ocr_low_confidence"}
    apply_confirmations(result, {"t3.new_received.total": Confirmation(printed, "王五", "t")})
    cell = next(c for c in result["cells"] if c["address"] == "t3.new_received.total")
    assert cell["value"] == int(printed) and "reason" not in cell and "reason_code" not in cell
    assert "ocr_low_confidence" not in {i["code"] for i in result["issues"]}


def test_a_confirmation_is_a_value_of_the_cells_type():
    assert confirmed_value("gov2021", "t3.new_received.total", "/").semantic == "NA"
    assert confirmed_value("gov2021", "t3.new_received.total", "0").semantic == "ZERO"
    for bad in ("1O", "", "十二", "1.5"):
        with pytest.raises(NotAValue):
            confirmed_value("gov2021", "t3.new_received.total", bad)

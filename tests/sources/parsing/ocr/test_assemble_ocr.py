"""OCR provenance through the assembler: statuses become nulls with reasons; failed identities mark cells."""

from __future__ import annotations

import factory

from sources.parsing.assemble import parse_document
from sources.parsing.document import CellSource, Document, Row
from sources.parsing.readers.text import read_text


def _ocr_rows(doc: Document, damage: dict[str, tuple[str, str]]) -> Document:
    """The document's rows as if OCR had read them; ``damage`` maps a cell text of the 本年新收 row
    (by its row label and column index) to (text read, status)."""
    rows = []
    for r in doc.rows:
        cells = list(r.cells)
        statuses = ["ok"] * len(cells)
        for i in range(len(cells)):
            key = f"{r.line}:{i}"
            if key in damage:
                cells[i], statuses[i] = damage[key]
        sources = tuple(
            CellSource(1, (float(i), 0.0, float(i) + 1, 1.0), t, 0.99, s)
            for i, (t, s) in enumerate(zip(cells, statuses, strict=True))
        )
        rows.append(Row(tuple(cells), r.page, r.line, r.table, sources=sources))
    return Document("image", doc.text, rows)


def _doc() -> tuple[Document, Row]:
    facts = factory.make_facts(seed=3)
    doc = read_text(factory.render(facts, "text"))
    row = next(r for r in doc.rows if any("本年新收" in c for c in r.cells))
    return doc, row


def test_ocr_cells_carry_provenance_and_unusable_readings_are_null():
    doc, row = _doc()
    total = len(row.cells) - 1  # the 总计 column of 本年新收
    first = total - 6  # the 自然人 column (6 applicant columns, then 总计)
    result = parse_document(
        _ocr_rows(doc, {f"{row.line}:{first}": ("1O", "unreadable"), f"{row.line}:{total}": ("9", "low_confidence")})
    )
    cells = {c["address"]: c for c in result["cells"]}
    person, tot = cells["t3.new_received.natural_person"], cells["t3.new_received.total"]
    assert person["value"] is None and person["reason_code"] == "ocr_unreadable" and person["semantic"] == "MISSING"
    assert tot["value"] is None and tot["reason_code"] == "ocr_low_confidence"
    assert person["ocr"]["text"] == "1O" and person["method"] == "ocr"
    other = cells["t3.new_received.legal_commercial"]
    assert other["value"] is not None and other["ocr"]["status"] == "ok" and other["ocr"]["confidence"] == 0.99
    codes = [(i["code"], i.get("address")) for i in result["issues"]]
    assert ("ocr_unreadable", "t3.new_received.natural_person") in codes
    assert ("ocr_low_confidence", "t3.new_received.total") in codes


def test_a_confident_misread_breaking_an_identity_is_unverified_not_published():
    from sources.rules import evaluate_report

    doc, row = _doc()
    total = len(row.cells) - 1
    printed = int(row.cells[total])
    misread = str(printed + 10)
    result = parse_document(_ocr_rows(doc, {f"{row.line}:{total}": (misread, "ok")}))
    cells = {c["address"]: c for c in result["cells"]}
    assert cells["t3.new_received.total"]["value"] == printed + 10
    assert cells["t3.new_received.total"]["ocr"]["status"] == "unverified"
    # every OCR cell of the failing row total is unverified; a cell of no failing identity is not
    assert cells["t3.new_received.natural_person"]["ocr"]["status"] == "unverified"
    assert cells["t4.review.total"]["ocr"]["status"] == "ok"
    assert "ocr_unverified" in {i["code"] for i in result["issues"]}
    verdict = {c.rule_id: c.outcome for c in evaluate_report(result) if c.rule_id == "S_OCR_VERIFIED"}
    assert verdict == {"S_OCR_VERIFIED": "fail"}
    clean = parse_document(_ocr_rows(doc, {}))
    assert not [c for c in clean["cells"] if c.get("ocr", {}).get("status") not in ("ok", None)]
    assert {c.rule_id: c.outcome for c in evaluate_report(clean) if c.rule_id == "S_OCR_VERIFIED"} == {
        "S_OCR_VERIFIED": "pass"
    }

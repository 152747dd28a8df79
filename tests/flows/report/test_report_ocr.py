"""A scanned report in the oversight e-mail: each OCR cell to look at is shown with its page image crop
beside the value read (HTML through a real SMTP server on 127.0.0.1, and the workbook); once a
reviewer confirmed the cells (xxgk confirm) they are not asked about again."""

from __future__ import annotations

import email
import io
from email import policy

import ocrkit
import pytest
from openpyxl import load_workbook
from smtp_servers import smtp_server
from test_report_mail import settings_for

from flows.ingest import ingest_documents, revalidator
from flows.report.data import Office, build_report
from flows.report.service import email_report, reader
from warehouse.config import WarehouseConfig
from warehouse.confirmations import confirm_cell
from warehouse.db import connect

pytest.importorskip("rapidocr")
REVIEW = [f"t4.review.{c}" for c in ("upheld", "corrected", "other", "pending", "total")]
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


def _report(cfg: WarehouseConfig, year: int):
    with reader(cfg) as con:
        return build_report(con, year, Office("all", "示例政务公开办公室", ("gkb@example.org",)))


def test_unverified_ocr_cells_are_mailed_with_their_image_and_settled_by_confirm(tmp_path):
    scanned = ocrkit.parse_in_child(ocrkit.scanned_pdf(dpi=150, angle=0.8, quality=62), "scan.pdf", tmp_path)
    cfg = WarehouseConfig.resolve(tmp_path / "wh" / "xxgk.duckdb")
    summary = ingest_documents([scanned], warehouse=cfg.db_path, data_docs=False)
    (doc,) = summary.documents
    assert doc.state == "quarantined" and "S_OCR_VERIFIED" in doc.failing_rules
    report = _report(cfg, scanned["year"])
    (status,) = [a for a in report.agencies if a.version_id == doc.version_id]
    assert [c.address for c in status.ocr_cells] == sorted(REVIEW)
    assert all(c.crop and c.crop.startswith(b"\x89PNG") and c.status == "unverified" for c in status.ocr_cells)

    with smtp_server() as (sink, port):
        delivery = email_report(report, settings_for(port, tmp_path / "outbox"))
    assert delivery.status == "sent"
    msg = email.message_from_bytes(sink.envelopes[0].content, policy=policy.default)
    html = msg.get_body(("html",)).get_content()
    related = next(p for p in msg.walk() if p.get_content_type() == "multipart/related")
    images = {
        p["Content-ID"].strip("<>"): p.get_content()
        for p in related.iter_parts()
        if p.get_content_type() == "image/png"
    }
    crops = {c.crop for c in status.ocr_cells}
    assert crops <= set(images.values())  # every cell image travels inline …
    for cid, png in images.items():
        if png in crops:
            assert f'src="cid:{cid}"' in html  # … and the HTML shows it
    assert "与勾稽关系不符" in html and f"xxgk confirm {doc.version_id}" in html
    text = msg.get_body(("plain",)).get_content()
    assert f"xxgk confirm {doc.version_id} t4.review.total" in text
    (attachment,) = list(msg.iter_attachments())
    ws = load_workbook(io.BytesIO(attachment.get_content()))["OCR核对"]
    assert sorted(r[1].split("\n")[-1] for r in ws.iter_rows(min_row=2, values_only=True)) == sorted(REVIEW)
    assert len(ws._images) == len(REVIEW)

    # The page prints 6/1/0/1 and 总计 0: the reviewer confirms what OCR read.  The OCR doubt is settled;
    # the publisher's own error (T4_BLOCK_TOTAL) stays and keeps the report quarantined.
    printed = {c["address"]: c["raw"] for c in scanned["cells"] if c["address"] in REVIEW}
    con = connect(cfg.db_path)
    try:
        for address in REVIEW:
            result = confirm_cell(con, doc.version_id, address, printed[address], by="张三", validate=revalidator(cfg))
    finally:
        con.close()
    assert result.still_unverified == []
    assert result.redecision is not None and result.redecision.decision.failing_rules == ["T4_BLOCK_TOTAL"]
    after = _report(cfg, scanned["year"])
    (status,) = [a for a in after.agencies if a.version_id == doc.version_id]
    assert status.ocr_cells == [] and status.state == "quarantined"

"""The annual run ends by sending the oversight report; without SMTP it lands in the outbox."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest

from flows.pipeline import annual_run

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_annual_run_queues_the_oversight_report_in_the_outbox(site_kit, tmp_path, monkeypatch):
    for key in ("SMTP__HOST", "SMTP__PORT", "SMTP__PASSWORD"):
        monkeypatch.delenv(key, raising=False)
    site = site_kit.serve([site_kit.Spec("edu", "示例市教育局", "html")], [2023])
    wh = tmp_path / "xxgk.duckdb"
    result = annual_run(2023, sources=str(site.registry), warehouse=str(wh))
    assert result["counts"]["promoted"] == 1
    report = result["report"]
    assert report["errors"] == []
    assert [d["status"] for d in report["deliveries"]] == ["queued"]
    path = Path(report["deliveries"][0]["path"])
    assert path.is_file() and tmp_path in path.parents
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert "2023" in message["Subject"]
    html = message.get_body(("html",)).get_content()
    assert "示例市教育局" in html
    assert any(part.get_filename() and part.get_filename().endswith(".xlsx") for part in message.iter_attachments())

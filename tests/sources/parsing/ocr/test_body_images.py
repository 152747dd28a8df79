"""Tables pasted as pictures into an HTML report page: the page's images are fetched like attachments
(only from the agency's allowed hosts, archived by sha256), read by OCR where they stand and handed
to the assembler as rows — a real HTTP server on 127.0.0.1 serves the page whose 表三 is a PNG."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import factory
import ocrkit
import pytest
from sitekit import RecordingSite

from sources.fetching.archive import Archive
from sources.fetching.fetch import FetchConfig, Fetcher

pytest.importorskip("rapidocr")
ROOT = Path(__file__).resolve().parents[4]
CONFIG = FetchConfig(timeout=5, retries=0, backoff=0, min_interval=0, max_seconds=30, trust_env=False)

CHILD = """
import json, sys
from flows.tasks.parse import parse_item
from sources.parsing.limits import ReadLimits
from sources.parsing.parse import parse_bytes
from sources.rules import evaluate_report
sha, archive, page, png = sys.argv[1:5]
fetched = parse_item(sha, "page.html", archive)
images = {"t3.png": open(png, "rb").read()}
damaged = parse_bytes(open(page, "rb").read(), "page.html", images=images, limits=ReadLimits(parse_seconds=1800))
damaged["verdicts"] = [[c.rule_id, c.outcome] for c in evaluate_report(damaged)]
print(json.dumps({"fetched": fetched, "damaged": damaged}))
"""


def test_html_page_whose_table_is_a_png_reads_like_its_text_version(tmp_path):
    facts = factory.make_facts(seed=3)
    page, png = ocrkit.html_with_table_image(facts)
    # a logo (too small to hold a table) and an image on a host the agency does not list
    page = page.replace(
        b'<p><img src="t3.png"',
        b'<p><img src="logo.png"><img src="http://images.elsewhere.example/t3.png"></p><p><img src="t3.png"',
    )
    site_root = tmp_path / "site"
    site_root.mkdir()
    (site_root / "page.html").write_bytes(page)
    (site_root / "t3.png").write_bytes(png)
    from PIL import Image

    Image.new("L", (40, 40), 0).save(site_root / "logo.png")
    archive = Archive(tmp_path / "archive")
    with RecordingSite(site_root) as site, Fetcher(archive, CONFIG) as fetcher:
        result = fetcher.fetch(f"{site.base}/page.html", ["127.0.0.1"])
        hits = sorted(h.path for h in site.hits)
    assert result.status == "fetched" and result.report_like
    assert hits == ["/logo.png", "/page.html", "/t3.png"]  # nothing requested off the allow-list
    memo = archive.memo_get("body_images", result.sha256 or "")
    assert memo is not None and [src for src, _sha in memo["images"]] == ["logo.png", "t3.png"]
    assert archive.get(dict(memo["images"])["t3.png"]) == png  # archived by sha256
    refused = [e for e in archive.events() if e.get("status") == "refused"]
    assert [e["url"] for e in refused] == ["http://images.elsewhere.example/t3.png"]

    # the same PNG with one figure changed (本年新收 总计 +10): a wrong number the identities must catch
    cells = dict(facts["cells"])
    cells["t3.new_received.total"] += 10
    damaged_png = ocrkit.image_bytes(ocrkit.grid_image(factory.grids(cells)["t3"]), "PNG")
    (tmp_path / "damaged.png").write_bytes(damaged_png)
    (tmp_path / "page.html").write_bytes(page)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            result.sha256 or "",
            str(archive.root),
            str(tmp_path / "page.html"),
            str(tmp_path / "damaged.png"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        # what is read, not how fast: a limit far above OCR's time on a loaded machine
        env={**os.environ, "PYTHONPATH": str(ROOT), "XXGK__LIMITS__PARSE_SECONDS": "1800"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])

    parsed = out["fetched"]
    assert parsed["template"] == "gov2021" and parsed["source"]["ocr_pages"] == 1
    got = {c["address"]: c for c in parsed["cells"]}
    assert {a: c["value"] for a, c in got.items()} == facts["cells"]
    assert all(c.get("method") == "ocr" and c["ocr"]["status"] == "ok" for a, c in got.items() if a.startswith("t3."))
    assert not any(c.get("method") for a, c in got.items() if not a.startswith("t3."))  # 表二/表四 are HTML
    assert any(i["code"] == "ocr_page" and "t3.png" in i["message"] for i in parsed["issues"])

    damaged = {c["address"]: c for c in out["damaged"]["cells"]}
    total = damaged["t3.new_received.total"]
    assert total["value"] is None or total["ocr"]["status"] == "unverified"  # never a verified wrong number
    assert ["S_OCR_VERIFIED", "fail"] in out["damaged"]["verdicts"]


def test_docx_whose_table_is_a_picture_reads_its_cells_and_catches_a_damaged_figure(tmp_path):
    facts = factory.make_facts(seed=3)
    cells = dict(facts["cells"])
    cells["t3.granted.total"] += 10  # the picture prints a wrong 予以公开 总计
    data = ocrkit.docx_with_table_picture(facts, picture_cells=cells)
    result = ocrkit.parse_in_child(data, "report.docx", tmp_path)
    assert result["template"] == "gov2021" and result["source"]["ocr_pages"] == 1
    got = {c["address"]: c for c in result["cells"]}
    assert {a for a, c in got.items() if c.get("method") == "ocr"} == {a for a in facts["cells"] if a.startswith("t3.")}
    damaged = got.pop("t3.granted.total")
    assert damaged["value"] is None or damaged["ocr"]["status"] == "unverified"  # never a verified wrong number
    assert {a: c["value"] for a, c in got.items()} == {a: v for a, v in facts["cells"].items() if a in got}
    assert "ocr_unverified" in {i["code"] for i in result["issues"]} or damaged["value"] is None

"""The hard parse time limit: a document whose parse runs past the limit inside one reader call (a
dense PDF page: one pdfium call the readers' own clock checks cannot interrupt) ends as
``parse_timeout``; its parse process is killed and replaced, and the documents before and after it
are parsed as usual, each exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest
from factory import make_facts, render
from hostile import slow_render_pdf

from flows.tasks import parse_guard
from sources.fetching.archive import Archive
from sources.parsing.limits import ReadLimits

# Any OCR page may start: the page has no text layer, so it is an OCR page, and its render for OCR
# (one pdfium call of about 10 s CPU) is what the guard must cut.
LIMITS = ReadLimits(parse_seconds=3.0, ocr_page_seconds=0.0)
# The good documents' limit: a fresh parse process's first document on a loaded machine may take
# longer than 3 s (templates and rules loaded on first use); what is tested is the dense one.
ROOMY = ReadLimits(parse_seconds=60.0, ocr_page_seconds=0.0)


def dense_pdf() -> bytes:
    """One page of 24 000 strokes across the page and no text: rendering it for OCR is one pdfium call
    of about 10 s CPU (far past the 3 s limit on any machine)."""
    return slow_render_pdf()


def _gone(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "State:\tZ" in status.read_text()


@pytest.fixture
def archive(tmp_path):
    root = tmp_path / "archive"
    store = Archive(root)
    good = [store.put_bytes(render(make_facts(f"示例市第{i}局", 2023, seed=i), "html")) for i in (1, 2)]
    return str(root), good, store.put_bytes(dense_pdf())


def test_a_parse_past_the_limit_ends_as_parse_timeout_and_its_process_is_replaced(archive):
    root, (good1, good2), dense = archive
    try:
        first = parse_guard.parse_guarded(good1, "a.html", root, ROOMY)
        (child,) = parse_guard._idle
        stopped = parse_guard.parse_guarded(dense, "dense.pdf", root, LIMITS)
        assert not parse_guard._idle and _gone(child.pid)  # killed, not put back
        last = parse_guard.parse_guarded(good2, "b.html", root, ROOMY)
        (replacement,) = parse_guard._idle
    finally:
        parse_guard.stop_children()
    assert replacement.pid != child.pid
    assert first.get("error") is None and first["source"]["sha256"] == good1 and first["template"]
    assert last.get("error") is None and last["source"]["sha256"] == good2 and last["template"]
    (issue,) = stopped["issues"]
    assert issue["code"] == "parse_timeout" and stopped["source"]["sha256"] == dense
    assert stopped["source"]["format"] == "pdf"
    assert "解析超过 3 秒" in stopped["error"] and "解析进程已被终止" in stopped["error"]


def test_a_parse_within_the_limit_is_the_same_as_in_process(archive):
    root, (good1, _good2), _dense = archive
    try:
        guarded = parse_guard.parse_guarded(good1, "a.html", root, LIMITS)
    finally:
        parse_guard.stop_children()
    here = parse_guard.parse_here(good1, "a.html", root, LIMITS)
    for doc in (guarded, here):
        doc.pop("parse_seconds")
    assert guarded == here


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("workers", [2, 1])
def test_in_a_run_the_other_documents_are_unaffected(site_kit, tmp_path, workers):
    """A run on the process pool (two parse processes, limits from ``XXGK__LIMITS__*``) or on the flow's
    threads (``--parse-workers 1``): the agency whose PDF hangs its reader has its document refused as
    ``parse_timeout``, its parse process killed; the others are promoted, every document loaded once."""
    from datetime import date

    import duckdb

    from flows.pipeline import ingest_year

    Spec = site_kit.Spec
    specs = [Spec("a", "示例市教育局", "html"), Spec("dense", "示例市财政局", "pdf"), Spec("b", "示例市民政局", "text")]
    site = site_kit.serve(specs, [2023])
    (site.root / "dense" / "2023" / "report.pdf").write_bytes(dense_pdf())
    wh = tmp_path / "xxgk.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XXGK__LIMITS__PARSE_SECONDS", "3")
        mp.setenv("XXGK__LIMITS__OCR_PAGE_SECONDS", "0.001")  # positive, as a limit must be
        out = ingest_year(
            2023,
            sources=str(site.registry),
            warehouse=str(wh),
            min_interval=0.0,
            parse_workers=workers,
            today=date(2024, 3, 1),
            data_docs=False,
            fetch_options={"retries": 0, "timeout": 5},
        )
    by_id = {a["agency_id"]: a for a in out["agencies"]}
    assert (by_id["a"]["doc_state"], by_id["b"]["doc_state"]) == ("promoted", "promoted")
    assert by_id["dense"]["status"] == "fetched" and by_id["dense"]["doc_state"] == "rejected"
    con = duckdb.connect(str(wh), read_only=True)
    try:
        versions = con.execute("select count(*), count(distinct sha256) from stg.report_versions").fetchone()
        codes = con.execute(
            "select i.code, i.message like '%解析进程已被终止%' from stg.parse_issues i "
            "join stg.report_versions v using (version_id) "
            "where v.version_id = ?",
            [by_id["dense"]["version_id"]],
        ).fetchall()
    finally:
        con.close()
    assert versions == (3, 3)
    assert codes == [("parse_timeout", True)]
    assert not parse_guard._idle  # the run ended the parse processes it started

"""One failing agency never stops the run; missing reports are recorded after the deadline."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

import flows.tasks.parse
import sources.parsing.parse
from flows.pipeline import ingest_year
from flows.tasks.load import ingest_isolating
from warehouse.config import WarehouseConfig

pytestmark = pytest.mark.usefixtures("prefect_harness")

FAST_FETCH = {"retries": 1, "backoff": 0.01, "timeout": 5}


@pytest.fixture(scope="module")
def mixed(site_kit, tmp_path_factory):
    """2023: two good agencies, one behind a 503, one whose parse crashes, one 404, one government 404."""
    Spec = site_kit.Spec
    specs = [
        Spec("ok-html", "示例市教育局", "html"),
        Spec("ok-docx", "示例市卫生健康委员会", "docx", how="listing"),
        Spec("down", "示例市财政局", "html"),
        Spec("crash", "示例市民政局", "text"),
        Spec("gone", "示例市审计局", "html"),
        Spec("gov", "示例县人民政府", "html"),
    ]
    site = site_kit.serve(
        specs, [2023], statuses={"/down/2023/report.html": 503}, absent=[("gone", 2023), ("gov", 2023)]
    )
    return site, tmp_path_factory.mktemp("failures") / "xxgk.duckdb"


@pytest.fixture(scope="module")
def run(mixed, prefect_harness):
    """One ingest_year on 1 March 2024 (after 31 January, before a government's 31 March)."""
    site, wh = mixed
    crash_text = (site.root / "crash" / "2023" / "report.txt").read_bytes()
    real = sources.parsing.parse.parse_bytes

    def parse_bytes(data: bytes, path: str, content_type: str | None = None, **kw):
        if data == crash_text:
            raise RuntimeError("boom in the reader")
        return real(data, path, content_type, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sources.parsing.parse, "parse_bytes", parse_bytes)
        # each document in this process, as the guard's child parses it (parse_here), so that the
        # crash injected above reaches the parser
        mp.setattr(flows.tasks.parse, "parse_guarded", flows.tasks.parse.parse_here)
        out = ingest_year(
            2023,
            sources=str(site.registry),
            warehouse=str(wh),
            min_interval=0.0,
            parse_workers=1,
            today=date(2024, 3, 1),
            data_docs=False,
            fetch_options=FAST_FETCH,
        )
    return out, {a["agency_id"]: a for a in out["agencies"]}


def test_failing_agencies_are_recorded_with_step_and_reason(run):
    _out, by_id = run
    down = by_id["down"]
    assert (down["status"], down["step"]) == ("failed", "fetch")
    assert down["reason"].endswith("/down/2023/report.html: failed (HTTP 503 after 2 attempts)")
    assert [t["status"] for t in down["tried"]] == ["failed"]
    crash = by_id["crash"]
    assert (crash["status"], crash["step"], crash["reason"]) == ("failed", "parse", "RuntimeError: boom in the reader")
    assert crash["sha256"] and crash["version_id"] is None


def test_the_other_agencies_complete(run):
    out, by_id = run
    assert by_id["ok-html"]["doc_state"] == by_id["ok-docx"]["doc_state"] == "promoted"
    assert by_id["ok-docx"]["format"] == "docx" and by_id["ok-docx"]["url"].endswith("/ok-docx/2023/report.docx")
    c = out["counts"]
    assert (c["agencies_attempted"], c["promoted"], c["failed"], c["missing"], c["not_due"]) == (6, 2, 2, 1, 1)


def test_missing_after_deadline_not_due_before(run):
    _out, by_id = run
    gone, gov = by_id["gone"], by_id["gov"]
    assert (gone["status"], gone["deadline"]) == ("missing", "2024-01-31")
    assert gone["tried"][0]["http_status"] == 404 and gone["reason"].endswith("missing (HTTP 404)")
    # a people's government's own report is due 31 March (sources.rules), so on 1 March it is not late yet
    assert (gov["status"], gov["deadline"]) == ("not_due", "2024-03-31")


def test_acquisitions_table_and_missing_view(run, mixed):
    _site, wh = mixed
    con = duckdb.connect(str(wh), read_only=True)
    try:
        sql = "select agency_id, status || ':' || coalesce(step, '') from qa.acquisitions"
        rows = dict(con.execute(sql).fetchall())
        missing = con.execute(
            "select agency_id, agency_name, oversight, oversight_name, year, deadline, days_overdue "
            "from qa.v_missing_reports"
        ).fetchall()
        linked = con.execute(
            "select a.agency_id, v.agency from qa.acquisitions a "
            "join stg.report_versions v using (version_id) order by 1"
        ).fetchall()
    finally:
        con.close()
    assert rows == {
        "ok-html": "fetched:",
        "ok-docx": "fetched:",
        "down": "failed:fetch",
        "crash": "failed:parse",
        "gone": "missing:",
        "gov": "not_due:",
    }
    assert [m[:6] for m in missing] == [
        ("gone", "示例市审计局", "demo-gkb", "示例市政务公开办公室", 2023, date(2024, 1, 31))
    ]
    assert missing[0][6] > 0  # days overdue when checked
    assert linked == [("ok-docx", "示例市卫生健康委员会"), ("ok-html", "示例市教育局")]


def test_a_load_failure_is_isolated_to_its_document(monkeypatch, tmp_path):
    """ingest_isolating halves a failing batch until the failing document is found; the step is the one
    the failing step of ingest_documents recorded."""
    import flows.ingest

    calls = []

    def fake_ingest(batch, **kw):
        calls.append([d["agency"] for d in batch])
        with flows.ingest.at_step("load"):
            pass
        bad = [d for d in batch if d["agency"] == "bad"]
        if bad:
            with flows.ingest.at_step("validate"):
                raise RuntimeError("GX exploded on " + bad[0]["agency"])
        return type("S", (), {"documents": [], "counts": {}, "run_id": "r", "data_docs": None})()

    monkeypatch.setattr(flows.ingest, "ingest_documents", fake_ingest)
    docs = [{"agency": a, "source": {"sha256": a * 8}} for a in ("a", "b", "bad", "c")]
    out = ingest_isolating(docs, WarehouseConfig.resolve(tmp_path / "x.duckdb"), False)
    assert out.failures == {"bad" * 8: ("validate", "RuntimeError: GX exploded on bad")}
    assert calls == [["a", "b", "bad", "c"], ["a", "b"], ["bad", "c"], ["bad"], ["c"]]
    assert len(out.summaries) == 2


def test_the_run_publishes_its_outcome_as_a_prefect_table_artifact(run):
    import json

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    out, _by_id = run
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[out["run_id"]]))
        )
    assert [(a.key, a.type) for a in artifacts] == [("xxgk-ingest-2023", "table")]
    rows = json.loads(artifacts[0].data)
    counts = {r["item"]: r["value"] for r in rows if r["section"] == "count"}
    assert counts == out["counts"]
    listed = {(r["section"], r["item"].split()[0]) for r in rows if r["section"] != "count"}
    assert listed == {("failed", "down"), ("failed", "crash"), ("missing", "gone"), ("not_due", "gov")}
    crash = next(r for r in rows if r["item"].startswith("crash"))
    assert (crash["value"], crash["detail"]) == ("parse", "RuntimeError: boom in the reader")
    assert "已发布 2" in artifacts[0].description

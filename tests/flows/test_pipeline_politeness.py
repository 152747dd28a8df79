"""Politeness per host holds across every fetch worker of a run: a true minimum interval between two
requests to one host, and a true cap on requests to one host in flight (a real local HTTP server
records when each request arrived); parsing runs on Prefect's process-pool task runner."""

from __future__ import annotations

import os
from datetime import date

import pytest
from sitekit import RecordingSite

from flows.demo.site import write_registry
from flows.pipeline import ingest_year

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _site(site_kit, tmp_path, n: int, delay: float) -> tuple[RecordingSite, str]:
    Spec = site_kit.Spec
    specs = [Spec(f"p{i:02d}", f"示例市第{i}局", "text") for i in range(n)]
    agencies, _facts = site_kit.write_site(tmp_path / "site", specs, [2023], seed=5)
    site = RecordingSite(tmp_path / "site", delay=delay).start()
    return site, str(write_registry(agencies, site.base, tmp_path / "agencies.toml"))


def test_min_interval_holds_across_all_fetch_tasks_and_threads(site_kit, tmp_path):
    """12 agencies on one host in chunks of 3 (two fetch tasks in flight, 8 threads each): every two
    requests to the host start at least min_interval apart.  (Two fetch processes pacing themselves
    separately let requests come 0.054 s apart with a 1 s interval.)"""
    site, registry = _site(site_kit, tmp_path, 12, delay=0.0)
    try:
        out = ingest_year(
            2023,
            sources=registry,
            warehouse=str(tmp_path / "wh.duckdb"),
            min_interval=1.0,
            chunk_size=3,
            fetch_threads=8,
            host_limit=4,
            parse_workers=2,
            today=date(2024, 6, 1),
            data_docs=False,
        )
        starts = site.starts()
    finally:
        site.stop()
    assert out["counts"]["documents_fetched"] == 12 and out["counts"]["failed"] == 0
    assert len(starts) == 12
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # The server notes a request when its thread gets to it: on a busy machine one noted late shortens
    # the gap after it (0.14 s was seen once at load 9), so one short gap is allowed, and none under
    # 0.1 s. Two processes pacing themselves separately gave 12 of 37 gaps under 0.9 s, down to 0.054 s;
    # no pacing at all starts the 12 requests together.
    short = [round(g, 3) for g in gaps if g < 0.5]
    assert len(short) <= 1 and min(gaps) >= 0.1, sorted(gaps)[:3]
    # parsed on Prefect's ProcessPoolTaskRunner: in other processes than the flow's
    assert out["tasks"]["parse_pids"] and os.getpid() not in out["tasks"]["parse_pids"]
    assert out["tasks"]["parse"]["tasks"] >= 2
    # the bench's CPU per format: every document counted once per stage, under its format
    by_format = out["tasks"]["cpu_by_format"]
    assert {f: v["documents"] for f, v in by_format["fetch"].items()} == {"text": 12}
    assert {f: v["documents"] for f, v in by_format["parse"].items()} == {"text": 12}
    assert set(out["tasks"]["flow_cpu_by_stage"]) == {"fetch_parse", "load_validate_promote", "record_publish"}


@pytest.mark.parametrize("limit", [1, 2])
def test_host_limit_caps_requests_in_flight(site_kit, tmp_path, limit):
    """10 agencies, 8 fetch threads in each of two fetch tasks, answers that take 0.3 s: never more
    than ``host_limit`` requests at once (two fetch processes with a share of the limit each let 2
    through for a limit of 1)."""
    site, registry = _site(site_kit, tmp_path, 10, delay=0.3)
    try:
        out = ingest_year(
            2023,
            sources=registry,
            warehouse=str(tmp_path / "wh.duckdb"),
            min_interval=0.0,
            chunk_size=5,
            fetch_threads=8,
            host_limit=limit,
            parse_workers=1,
            today=date(2024, 6, 1),
            data_docs=False,
        )
    finally:
        site.stop()
    assert out["counts"]["documents_fetched"] == 10
    assert site.max_in_flight == limit

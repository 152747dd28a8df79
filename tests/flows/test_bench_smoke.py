"""The benchmark runs end to end on a tiny batch (figures are printed, never asserted)."""

from __future__ import annotations

from flows.bench import bench_load


def test_bench_load_runs(tmp_path):
    lines: list[str] = []
    results = bench_load(2, data_docs=False, workdir=tmp_path, echo=lines.append)
    assert set(results) == {"cold", "warm", "idempotent", "revisions"}
    assert all("total" in t for t in results.values())
    assert len(lines) == 6 and lines[0].startswith("bench:")

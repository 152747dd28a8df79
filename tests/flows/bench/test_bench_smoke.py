"""The benchmark runs end to end on a tiny batch (figures are printed, never asserted)."""

from __future__ import annotations

from flows.bench.bench import bench_load


def test_bench_load_prints_the_four_figures(tmp_path):
    lines: list[str] = []
    figures = bench_load(3, data_docs=False, workdir=tmp_path, echo=lines.append, publish=True)
    assert set(figures) == {"load", "validation", "promotion", "fixed_cost", "peak_memory_mb", "publish", "republish"}
    assert all(value > 0 for value in figures.values())
    assert len(lines) == 8 and lines[0].startswith("bench: 3 synthetic reports, 600 cells, 780 checks")
    assert [line.split()[0] for line in lines[1:]] == [
        "load",
        "validation",
        "promotion",
        "fixed",
        "memory",
        "publish",
        "re-publish",
    ]
    assert all("target ≤" in line for line in lines[1:6])
    assert "3 reports" in lines[6] and "0 reports sent" in lines[7]

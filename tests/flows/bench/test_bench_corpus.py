"""The bench corpus (``flows/bench/corpus``) reads as the facts it was made from, and the bench site
is built from it in the published mix."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest

from flows.demo.site import bench_corpus, bench_corpus_dir, bench_plan, build_bench_site
from sources.parsing.parse import parse_path

EXPECTED = json.loads((bench_corpus_dir() / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_document_reads_as_printed(name):
    expected = EXPECTED[name]
    result = parse_path(bench_corpus_dir() / name)
    assert result["error"] is None
    assert result["template"] == expected["template"]
    assert (result["agency"], result["year"], result["source"]["format"]) == (
        expected["agency"],
        expected["year"],
        expected["format"],
    )
    got = {c["address"]: c["value"] for c in result["cells"]}
    assert set(got) == set(expected["cells"])
    for address, value in expected["cells"].items():
        if isinstance(value, float):
            assert got[address] is not None and math.isclose(got[address], value, abs_tol=1e-9), address
        else:
            assert got[address] == value, address


def test_corpus_has_every_shape():
    corpus = bench_corpus()
    assert {k: len(v) for k, v in corpus.items()} == {"html": 4, "pdf": 3, "docx": 2}
    assert any(b"charset=gbk" in p.read_bytes()[:2000] for p in corpus["html"])
    assert all(90_000 <= p.stat().st_size <= 120_000 for p in corpus["html"])


def test_bench_plan_is_the_published_mix():
    assert Counter(bench_plan(1000)) == {"html": 610, "pdf": 280, "docx": 110}


def test_bench_site_documents_are_distinct(tmp_path):
    agencies = build_bench_site(tmp_path, 12, tag="t")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    reports = [p for p in files if not p.name.endswith("_art.html")]
    assert len(reports) == 12 and len({p.read_bytes() for p in reports}) == 12
    assert len(agencies) == 12 and all(a.reports[2023].startswith("/a") for a in agencies)


def test_bench_site_on_the_samples_links_each_sample_directly(tmp_path):
    from flows.demo.site import samples_dir

    agencies = build_bench_site(tmp_path, 12, tag="t", corpus_name="samples")
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert len(files) == 12 and not any(p.name.endswith("_art.html") for p in files)
    sizes = {
        p.suffix: (samples_dir() / f"{ {'.html': 'zrzyj', '.pdf': 'xzf', '.docx': 'jyj'}[p.suffix] }-2023{p.suffix}")
        .stat()
        .st_size
        for p in files
    }
    for p in files:
        assert p.stat().st_size >= sizes[p.suffix]
    assert {a.reports[2023].rsplit(".", 1)[1] for a in agencies} == {"html", "pdf", "docx"}
    with pytest.raises(ValueError, match="realistic \\| samples"):
        build_bench_site(tmp_path / "x", 2, corpus_name="small")

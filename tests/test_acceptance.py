"""Acceptance on the reference reports in ../shared (skipped cleanly when they are absent).

* seeds: every cell equals the printed value; cells the text cannot give are null with a reason;
* corpus: zero silent errors (a number that differs from the printed one, or a number where the
  document has none) and at least 99.5 % of the printed cells read.
"""

from __future__ import annotations

import json
import math

from refdata import shared_dir

from sources.parsing.parse import parse_path


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=0, abs_tol=1e-9)
    return a == b


def _load(folder, name):
    truth = json.loads((folder / "truth" / f"{name}.json").read_text(encoding="utf-8"))
    return truth


def test_seeds_every_cell_as_printed_and_nothing_invented():
    seeds = shared_dir("seeds")
    files = sorted(seeds.glob("*.txt"))
    assert len(files) == 5
    total = 0
    for path in files:
        truth = _load(seeds, path.stem)
        result = parse_path(path)
        assert result["error"] is None
        assert result["template"] == truth["template"], path.name
        got = {c["address"]: c for c in result["cells"]}
        assert set(got) == set(truth["cells"]), path.name
        for address, expected in truth["cells"].items():
            total += 1
            cell = got[address]
            if expected is None:
                assert cell["value"] is None, (path.name, address, cell)
                assert cell.get("reason"), (path.name, address, "null without a reason")
            else:
                assert _same(cell["value"], expected), (path.name, address, cell["value"], expected)
    assert total == 1000
    seed4 = next(p for p in files if p.name.startswith("004"))
    nulls = [c for c in parse_path(seed4)["cells"] if c["value"] is None]
    assert len(nulls) == 36
    assert all(c["semantic"] == "MISSING" and c["reason"] for c in nulls)


def test_corpus_zero_silent_errors_and_995_percent_read():
    corpus = shared_dir("corpus")
    docs = sorted((corpus / "docs").iterdir())
    assert docs, "corpus/docs is empty"
    printed = read = 0
    silent: list[tuple[str, str, object, object]] = []
    for path in docs:
        truth = _load(corpus, path.stem)
        result = parse_path(path)
        assert result["error"] is None, (path.name, result["error"])
        assert result["template"] == truth["template"], path.name
        got = {c["address"]: c["value"] for c in result["cells"]}
        for address, value in got.items():
            expected = truth["cells"].get(address)
            if value is not None and (expected is None or not _same(value, expected)):
                silent.append((path.name, address, value, expected))
        for address, expected in truth["cells"].items():
            if expected is not None:
                printed += 1
                read += _same(got.get(address), expected)
    assert silent == [], f"silent errors: {silent[:10]}"
    assert printed > 0
    assert read / printed >= 0.995, f"read {read}/{printed} printed cells"

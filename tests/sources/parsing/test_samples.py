"""The bundled samples (what `xxgk demo` shows) parse to the facts they were made from."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sources.parsing.parse import parse_path

SAMPLES = Path(__file__).resolve().parents[3] / "sources" / "samples"
EXPECTED = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_reads_as_printed(name):
    expected = EXPECTED[name]
    result = parse_path(SAMPLES / name)
    assert result["error"] is None
    assert result["template"] == expected["template"]
    assert (result["agency"], result["year"]) == (expected["agency"], expected["year"])
    got = {c["address"]: c["value"] for c in result["cells"]}
    assert set(got) == set(expected["cells"])
    for address, value in expected["cells"].items():
        if isinstance(value, float):
            assert got[address] is not None and math.isclose(got[address], value, abs_tol=1e-9), address
        else:
            assert got[address] == value, address

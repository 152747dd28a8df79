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


@pytest.mark.parametrize("strength", [40, 128])
def test_sample_encrypted_by_reportlab_without_a_user_password_reads_as_printed(strength):
    """reportlab's encryption (an owner password only: it opens without one) leaves the strings of the
    CID font's /CIDSystemInfo unencrypted; pdfminer decrypted them into noise and every table cell read
    as ``(cid:N)`` (0 of 200 cells).  The sample PDF, made again from its facts and encrypted so."""
    import factory
    from reportlab.lib.pdfencrypt import StandardEncryption

    from sources.parsing.parse import parse_bytes

    (spec,) = [s for s in factory.sample_specs() if s.file == "xzf-2023.pdf"]
    assert factory.render_sample(spec) == (SAMPLES / spec.file).read_bytes()  # the bundled sample itself
    lock = StandardEncryption("", ownerPassword="owner", canPrint=1, canCopy=0, strength=strength)
    data = factory.render(spec.facts, spec.fmt, **spec.opts, encrypt=lock)
    assert b"/Encrypt" in data
    result = parse_bytes(data, spec.file)
    expected = EXPECTED[spec.file]
    assert result["error"] is None and result["template"] == expected["template"]
    assert [i["code"] for i in result["issues"] if i["severity"] != "info"] == []
    assert {c["address"]: c["value"] for c in result["cells"]} == expected["cells"]

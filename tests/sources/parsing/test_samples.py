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


def _encrypted_sample(strength: int) -> bytes:
    """The PDF sample made again from its facts, encrypted by reportlab with an owner password only
    (it opens without a password, as most encrypted reports do)."""
    import factory
    from reportlab.lib.pdfencrypt import StandardEncryption

    (spec,) = [s for s in factory.sample_specs() if s.file == "xzf-2023.pdf"]
    assert factory.render_sample(spec) == (SAMPLES / spec.file).read_bytes()  # the bundled sample itself
    lock = StandardEncryption("", ownerPassword="owner", canPrint=1, canCopy=0, strength=strength)
    data = factory.render(spec.facts, spec.fmt, **spec.opts, encrypt=lock)
    assert b"/Encrypt" in data
    return data


@pytest.mark.parametrize("strength", [40, 128])
def test_sample_encrypted_by_reportlab_without_a_user_password_reads_as_printed(strength):
    """reportlab's encryption leaves the strings of the CID font's /CIDSystemInfo unencrypted; pdfminer
    decrypted them into noise, and the tables pdfplumber read gave ``(cid:N)`` (0 of 200 cells; the
    tables now come from pdfium's page model, pdfplumber reads the pages it cannot give)."""
    from sources.parsing.parse import parse_bytes

    data = _encrypted_sample(strength)
    result = parse_bytes(data, "xzf-2023.pdf")
    expected = EXPECTED["xzf-2023.pdf"]
    assert result["error"] is None and result["template"] == expected["template"]
    assert [i["code"] for i in result["issues"] if i["severity"] != "info"] == []
    assert {c["address"]: c["value"] for c in result["cells"]} == expected["cells"]


@pytest.mark.parametrize("strength", [40, 128])
def test_pdfplumber_reads_the_text_of_a_reportlab_encrypted_pdf(strength):
    """pdfplumber reads the table pages pdfium's page model cannot give (rotated, offset media box):
    with the font repairs it reads such a PDF's Chinese text, not ``(cid:N)``."""
    import io

    import pdfplumber

    from sources.parsing.readers.pdfminer_fonts import FontRepairs

    data = _encrypted_sample(strength)
    with pdfplumber.open(io.BytesIO(data)) as plain:
        assert "(cid:" in plain.pages[1].extract_text()  # what pdfminer alone makes of it
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        pdf.rsrcmgr = FontRepairs()
        text = pdf.pages[1].extract_text()
    assert "(cid:" not in text and "行政事业性收费" in text and "316.08" in text

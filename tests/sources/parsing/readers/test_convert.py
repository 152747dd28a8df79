"""Old Word .doc and Kingsoft WPS .wps files: converted by LibreOffice (headless) and read like DOCX, or
refused with a reason that says what to do.  The .doc files are made here by LibreOffice from the
project's DOCX sample; tests that need LibreOffice skip cleanly where it is not installed."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from sources.parsing.parse import parse_bytes
from sources.parsing.readers import sniff_format
from sources.parsing.readers.convert import find_converter

SAMPLE = Path(__file__).resolve().parents[4] / "sources" / "samples" / "jyj-2023.docx"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
needs_soffice = pytest.mark.skipif(find_converter() is None, reason="LibreOffice Writer (soffice) is not installed")

# Kingsoft WPS Office records its build in a custom document property of every file it saves.
_WPS_CUSTOM = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
    'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
    '<property fmtid="{D5CDD505-2E9C-101B-9397-08002B2CF9AE}" pid="2" name="KSOProductBuildVer">'
    "<vt:lpwstr>2052-11.1.0.14309</vt:lpwstr></property></Properties>"
)


def _as_saved_by_wps(docx: bytes) -> bytes:
    """The DOCX with WPS Office's custom property (and its part registered), as WPS saves it."""
    src = zipfile.ZipFile(io.BytesIO(docx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/docProps/custom.xml" '
                    b'ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/></Types>',
                )
            elif item.filename == "_rels/.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdWps" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    b'relationships/custom-properties" Target="docProps/custom.xml"/></Relationships>',
                )
            dst.writestr(item, data)
        dst.writestr("docProps/custom.xml", _WPS_CUSTOM)
    return out.getvalue()


@pytest.fixture(scope="module")
def word97(tmp_path_factory) -> dict[str, bytes]:
    """The DOCX sample saved by LibreOffice as Word 97–2003 (.doc), plain and as saved by WPS."""
    tmp = tmp_path_factory.mktemp("word97")
    (tmp / "plain.docx").write_bytes(SAMPLE.read_bytes())
    (tmp / "wps.docx").write_bytes(_as_saved_by_wps(SAMPLE.read_bytes()))
    subprocess.run(
        [
            find_converter() or "soffice",
            f"-env:UserInstallation={(tmp / 'profile').as_uri()}",
            "--headless",
            "--convert-to",
            "doc:MS Word 97",
            "--outdir",
            str(tmp / "out"),
            str(tmp / "plain.docx"),
            str(tmp / "wps.docx"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return {name: (tmp / "out" / f"{name}.doc").read_bytes() for name in ("plain", "wps")}


def _cells(result: dict) -> dict[str, tuple]:
    return {c["address"]: (c["value"], c["semantic"], c["raw"]) for c in result["cells"]}


def _cfb(*stream_names: str) -> bytes:
    """Enough of an OLE compound file to sniff: the magic and UTF-16LE directory names."""
    body = b"".join(name.encode("utf-16-le") + b"\x00" * (64 - 2 * len(name)) for name in stream_names)
    return OLE + b"\x00" * 504 + body + b"\x00" * 512


@needs_soffice
def test_doc_made_by_libreoffice_gives_the_cells_of_its_docx(word97):
    data = word97["plain"]
    assert data[:8] == OLE and sniff_format(data) == "doc_cfb"
    docx = parse_bytes(SAMPLE.read_bytes(), "jyj-2023.docx")
    doc = parse_bytes(data, "jyj-2023.doc")
    assert doc["error"] is None
    assert doc["source"]["format"] == "doc"
    assert (doc["template"], doc["agency"], doc["year"], doc["published_on"]) == (
        docx["template"],
        docx["agency"],
        docx["year"],
        docx["published_on"],
    )
    assert _cells(doc) == _cells(docx)
    assert sum(1 for c in doc["cells"] if c["semantic"] in ("NUMBER", "ZERO")) > 150


@needs_soffice
def test_file_saved_by_wps_is_sniffed_as_wps_and_converted(word97):
    data = word97["wps"]
    assert sniff_format(data) == "wps"
    result = parse_bytes(data, "report.wps")
    assert result["error"] is None and result["source"]["format"] == "wps"
    assert _cells(result) == _cells(parse_bytes(SAMPLE.read_bytes(), "jyj-2023.docx"))


@needs_soffice
def test_damaged_doc_is_refused_with_the_reason():
    result = parse_bytes(_cfb("Root Entry", "WordDocument", "1Table"), "broken.doc")
    assert result["error"] and result["template"] is None
    issue = result["issues"][0]
    assert issue["code"] == "conversion_failed" and "另存为 .docx" in issue["message"]


def test_without_libreoffice_the_reason_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no soffice / libreoffice on it
    for data, name in ((_cfb("Root Entry", "WordDocument", "1Table"), "旧版 Word"), (_cfb("CONTENTS"), "WPS")):
        result = parse_bytes(data, "report.doc")
        issue = result["issues"][0]
        assert issue["code"] == "converter_missing"
        assert (
            name in issue["message"]
            and "apt-get install -y --no-install-recommends libreoffice-writer" in issue["message"]
        )
        assert result["error"] and result["template"] is None


def test_libreoffice_without_writer_counts_as_missing(monkeypatch, tmp_path):
    program = tmp_path / "program"  # LibreOffice's layout with Calc only (no libswlo): cannot read Word
    program.mkdir()
    for name in ("soffice", "soffice.bin", "libsclo.so"):
        (program / name).write_text("#!/bin/sh\nexit 1\n")
        (program / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(program))
    assert find_converter() is None
    assert parse_bytes(_cfb("Root Entry", "WordDocument"), "a.doc")["issues"][0]["code"] == "converter_missing"


@pytest.mark.parametrize(
    ("streams", "fmt", "code"),
    [
        (("Root Entry", "Workbook"), "doc_cfb", "not_a_document"),
        (("Root Entry", "PowerPoint Document"), "doc_cfb", "not_a_document"),
        (("Root Entry", "EncryptionInfo", "EncryptedPackage"), "doc_cfb", "encrypted"),
        (("Root Entry", "Something"), "doc_cfb", "unsupported_format"),
    ],
)
def test_other_ole_files_are_refused_without_a_conversion(streams, fmt, code, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: pytest.fail(f"looked for {name}"))
    data = _cfb(*streams)
    assert sniff_format(data) == fmt
    assert parse_bytes(data, "x.doc")["issues"][0]["code"] == code


def test_wps_marks_sniff_as_wps():
    assert (
        sniff_format(_cfb("Root Entry", "WordDocument", "1Table") + "KSOProductBuildVer".encode("utf-16-le")) == "wps"
    )
    assert sniff_format(_cfb("Root Entry", "CONTENTS", "SPELLING")) == "wps"
    assert sniff_format(_cfb("Root Entry", "WordDocument", "1Table")) == "doc_cfb"

"""End to end through `parse_bytes`: every format × template variant made by the factory reads as printed,
and every kind of unreadable file gives an error object with a stable code."""

from __future__ import annotations

import math

import factory
import pytest

from sources.parsing.parse import parse_bytes

VARIANTS = [
    ("gov2021", False),
    ("gov2019", False),
    ("gov2021", True),  # hybrid: a 2021 report with the old single （六）其他处理 row
]
FORMATS = [
    ("text", {}),
    ("text", {"layout": "cells"}),
    ("text", {"layout": "pipe"}),
    ("html", {}),
    ("html", {"encoding": "gbk", "single_table": True}),
    ("html", {"encoding": "big5"}),
    ("docx", {"nested": "t4"}),
    ("pdf", {}),
    ("pdf", {"ruled": False}),
]


def _assert_cells(result, cells):
    got = {c["address"]: c["value"] for c in result["cells"]}
    assert set(got) == set(cells)
    wrong = {
        a: (got[a], v)
        for a, v in cells.items()
        if not (got[a] == v or (isinstance(v, float) and got[a] is not None and math.isclose(got[a], v, abs_tol=1e-9)))
    }
    assert wrong == {}


@pytest.mark.parametrize(("template", "single_other"), VARIANTS, ids=["gov2021", "gov2019", "hybrid"])
@pytest.mark.parametrize(
    ("fmt", "opts"), FORMATS, ids=[f"{f}-{'-'.join(map(str, o.values())) or 'plain'}" for f, o in FORMATS]
)
def test_format_matrix(fmt, opts, template, single_other):
    year = 2020 if template == "gov2019" else 2023
    facts = factory.make_facts("示例市统计局", year, template, seed=7, single_other=single_other)
    data = factory.render(facts, fmt, **opts)
    result = parse_bytes(data, f"report.{fmt}")
    assert result["error"] is None
    assert result["source"]["format"] == fmt
    assert result["template"] == template
    assert (result["agency"], result["year"]) == ("示例市统计局", year)
    _assert_cells(result, facts["cells"])
    codes = {i["code"] for i in result["issues"]}
    assert ("hybrid_other_handling" in codes) == single_other


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (factory.empty_bytes, "empty_file"),
        (factory.random_bytes, "not_a_document"),
        (factory.truncated_pdf, "truncated"),
        (factory.encrypted_pdf, "encrypted"),
    ],
)
def test_unreadable_files_give_an_error_object(make, code):
    result = parse_bytes(make(), "broken.bin")
    assert result["error"]
    assert result["issues"][0]["code"] == code
    assert result["template"] is None and result["cells"] == []


def test_image_only_pdf_is_reported_not_read_as_empty():
    result = parse_bytes(factory.image_only_pdf(), "scan.pdf")
    assert result["error"] is None
    assert result["template"] is None and result["cells"] == []
    assert "ocr_needed" in {i["code"] for i in result["issues"]}


def test_blank_template_and_unrelated_page_have_no_numbers():
    for data in (
        factory.render_blank_template("docx"),
        factory.render_blank_template("html"),
        factory.render_notice_html(),
    ):
        result = parse_bytes(data, "x")
        assert result["template"] is None and result["cells"] == []

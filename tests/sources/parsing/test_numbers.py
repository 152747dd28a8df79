from decimal import Decimal

import pytest

from sources.parsing.numbers import looks_like_value, parse_cell


@pytest.mark.parametrize(
    ("raw", "semantic", "value"),
    [
        ("0", "ZERO", 0),
        ("０", "ZERO", 0),
        ("１２", "NUMBER", 12),
        ("1,234", "NUMBER", 1234),
        ("[bookmark: _GoBack]0", "ZERO", 0),
        ("　3　", "NUMBER", 3),
        ("", "EMPTY", None),
        ("/", "NA", None),
        ("——", "NA", None),
        ("无", "NA", None),
        ("22（其中修订16件）", "NUMBER", 22),
        ("5件", "NUMBER", 5),
        ("3.0", "NUMBER", 3),
        ("约10", "TEXT", None),
        ("1.5", "TEXT", None),
    ],
)
def test_count_cells(raw, semantic, value):
    cell = parse_cell(raw, "count")
    assert (cell.semantic, cell.value) == (semantic, value)


def test_annotation_is_kept_as_note():
    assert parse_cell("22（其中修订16件）").note == "其中修订16件"


def test_amounts_convert_yuan_to_wan_yuan():
    assert parse_cell("27.66", "amount_wan_yuan").value == Decimal("27.66")
    assert parse_cell("75394432.52元", "amount_unit_in_cell").value == Decimal("7539.443252")
    assert parse_cell("1.2亿元", "amount_wan_yuan").value == Decimal("12000.0")
    assert parse_cell("0.00", "amount_wan_yuan").semantic == "ZERO"


def test_signed_counts():
    assert parse_cell("+3", "signed_count").value == 3
    assert parse_cell("减2", "signed_count").value == -2
    assert parse_cell("持平", "signed_count").value == 0


def test_value_vs_label():
    assert looks_like_value("12")
    assert looks_like_value("")
    assert looks_like_value("/")
    assert looks_like_value("22（其中修订16件）")
    assert not looks_like_value("1.属于国家秘密")
    assert not looks_like_value("行政许可")


def test_traditional_units():
    assert parse_cell("3萬元", "amount_wan_yuan").value == Decimal("3")
    assert parse_cell("20000元", "amount_wan_yuan").value == Decimal("2")

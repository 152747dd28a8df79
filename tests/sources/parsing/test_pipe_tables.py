"""Pipe-table exports end to end: the cells as printed; rows that lost or merged cells are read only
when their values can be placed without a guess, else null with the reason — never shifted."""

from __future__ import annotations

import factory
import pytest

from sources.parsing.parse import parse_bytes

FACTS = factory.make_facts("示例市统计局", 2023, "gov2021", seed=7)


def _lines() -> list[str]:
    return factory.render(FACTS, "text", layout="pipe").decode().split("\n")


def _find(lines: list[str], label: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith("|") and label in line)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _stack(lines: list[str], label: str, sep: str) -> list[str]:
    """The table line naming ``label`` and the next one printed as one line, each cell holding both texts."""
    i = _find(lines, label)
    a, b = _cells(lines[i]), _cells(lines[i + 1])
    merged = [x if not y else (y if not x else f"{x}{sep}{y}") for x, y in zip(a, b, strict=True)]
    return [*lines[:i], _line(merged), *lines[i + 2 :]]


def _parse(lines: list[str]) -> dict:
    return parse_bytes("\n".join(lines).encode(), "export.md")


def _values(result: dict) -> dict:
    return {c["address"]: c["value"] for c in result["cells"]}


def _t3(row: str) -> dict[str, object]:
    return {a: v for a, v in FACTS["cells"].items() if a.startswith(f"t3.{row}.")}


def test_row_that_lost_its_blank_label_cells_is_read():
    lines = _lines()
    i = _find(lines, "一、本年新收")
    lines[i] = _line([c for c in _cells(lines[i]) if c])  # the converter dropped the two empty positions
    result = _parse(lines)
    assert result["template"] == "gov2021"
    got = _values(result)
    assert {a: got[a] for a in _t3("new_received")} == _t3("new_received")
    assert not [i for i in result["issues"] if i["code"] == "row_width"]


@pytest.mark.parametrize("drop", [3, 9], ids=["natural_person", "total"])
def test_row_that_lost_a_value_cell_is_refused_not_shifted(drop):
    lines = _lines()
    i = _find(lines, "（一）予以公开")
    cells = _cells(lines[i])
    lines[i] = _line(cells[:drop] + cells[drop + 1 :])
    result = _parse(lines)
    cells_out = {c["address"]: c for c in result["cells"]}
    for address in _t3("granted"):
        assert cells_out[address]["value"] is None
        assert "少1格" in cells_out[address]["reason"]
    # every other 表三 row is still read
    others = {a: v for a, v in FACTS["cells"].items() if a.startswith("t3.") and ".granted." not in a}
    assert {a: cells_out[a]["value"] for a in others} == others
    assert any(i["code"] == "row_width" and i.get("address") == "t3.granted" for i in result["issues"])


@pytest.mark.parametrize("sep", ["<br>", " "])
def test_two_rows_stacked_in_one_line_are_split(sep):
    lines = _stack(_lines(), "1.属于国家秘密", sep)
    got = _values(_parse(lines))
    expected = _t3("denied_state_secret") | _t3("denied_law_forbidden")
    assert {a: got[a] for a in expected} == expected


def test_stacked_line_whose_cells_do_not_split_alike_gives_null_with_the_reason():
    lines = _stack(_lines(), "1.属于国家秘密", " ")
    i = _find(lines, "1.属于国家秘密")
    merged = _cells(lines[i])
    merged[5] = "0"  # a converter kept one number of the two
    lines[i] = _line(merged)
    result = _parse(lines)
    cells = {c["address"]: c for c in result["cells"]}
    for address in _t3("denied_state_secret") | _t3("denied_law_forbidden"):
        assert cells[address]["value"] is None and "拆不成2份" in cells[address]["reason"]


def test_row_glued_onto_the_previous_one_is_split():
    lines = _lines()
    i = _find(lines, "（一）予以公开")
    glued = _cells(lines[i]) + [c for c in _cells(lines[i + 1]) if c][:1] + _cells(lines[i + 1])[3:]
    lines[i : i + 2] = [_line(glued)]
    got = _values(_parse(lines))
    expected = _t3("granted") | _t3("partially_granted")
    assert {a: got[a] for a in expected} == expected


def test_markdown_with_br_in_cells_is_text_not_html():
    lines = _stack(_lines(), "1.属于国家秘密", "<br>")
    result = _parse(lines)
    assert result["source"]["format"] == "text"
    assert result["template"] == "gov2021"


def test_pipe_tables_pasted_into_an_html_page_are_read():
    lines = _stack(_lines(), "1.属于国家秘密", "<br>")
    body = "".join(f"<p>{line}</p>\n" for line in lines)
    page = f"<html><head><meta charset='utf-8'><title>报告</title></head><body>{body}</body></html>"
    result = parse_bytes(page.encode(), "report.html")
    assert result["source"]["format"] == "html"
    assert _values(result) == FACTS["cells"]

"""The assembler on hand-built documents: each quirk in isolation, asserted cell by cell."""

from __future__ import annotations

from sources.parsing.assemble import parse_document
from sources.parsing.document import Document, Row
from sources.parsing.rows import align
from sources.template import load_template

T21 = load_template("gov2021")
COLS = [c.key for c in T21.table("t3").columns]


def t2_rows(template_id="gov2021"):
    rows = []
    for table in load_template(template_id).tables_of("t2"):
        rows.append(Row((table.title.split(" ")[1],)))
        rows.append(Row(("信息内容", *[c.label for c in table.columns])))
        for i, r in enumerate(table.rows):
            rows.append(Row((r.label, *[str(i + j) for j, _ in enumerate(table.columns)])))
    return rows


def t3_rows(template_id="gov2021", values=None, skip=(), override=None):
    """Every data row of 表三 with 7 values; the group label printed beside the first child."""
    table = load_template(template_id).table("t3")
    rows = [Row(("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况"))]
    for r in table.data_rows:
        if r.key in skip:
            continue
        vals = (override or {}).get(r.key) or [str(v) for v in (values or {}).get(r.key, [1, 0, 0, 0, 0, 0, 1])]
        group = table.row(r.group).label if r.group else ""
        rows.append(Row((group, r.label, *vals), line=len(rows) + 1))
    return rows


def t4_rows():
    return [Row(("行政复议", "行政诉讼")), Row(tuple(str(i) for i in range(15)), page=4)]


def doc(
    rows,
    text="某某局2023年政府信息公开工作年度报告\n一、总体情况\n二、主动公开政府信息情况\n"
    "三、收到和处理政府信息公开申请情况\n四、政府信息公开行政复议、行政诉讼情况\n五、存在的主要问题及改进情况\n"
    "六、其他需要报告的事项\n发布日期：2024-01-15",
):
    return Document(format="text", text=text, rows=list(rows))


def cells(result):
    return {c["address"]: c for c in result["cells"]}


def test_full_report_reads_every_cell():
    result = parse_document(doc(t2_rows() + t3_rows() + t4_rows()))
    assert result["template"] == "gov2021"
    assert (result["agency"], result["year"], result["published_on"]) == ("某某局", 2023, "2024-01-15")
    assert len(result["sections"]) == 6
    got = cells(result)
    assert len(got) == 200
    assert got["t3.new_received.natural_person"]["value"] == 1
    assert got["t3.new_received.total"]["value"] == 1
    assert got["t2_art20_1.normative_documents.repealed"]["value"] == 2
    assert [got[f"t4.review.{m}"]["value"] for m in ("upheld", "corrected", "other", "pending", "total")] == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert got["t4.litigation_after_review.total"]["value"] == 14
    assert not [i for i in result["issues"] if i["severity"] == "error"]


def test_row_with_six_values_for_seven_columns_is_null_with_reason():
    rows = t3_rows(override={"unable_not_held": ["0", "0", "0", "0", "0", "0"]})
    got = cells(parse_document(doc(t2_rows() + rows + t4_rows())))
    for col in COLS:
        cell = got[f"t3.unable_not_held.{col}"]
        assert cell["value"] is None and cell["semantic"] == "MISSING"
        assert "6 values for 7 columns" in cell["reason"]


def test_absent_rows_and_absent_table_four_are_missing_not_zero():
    rows = t3_rows(skip=("other_fee_unpaid_overdue", "other_misc"))
    result = parse_document(doc(t2_rows() + rows))
    got = cells(result)
    assert got["t3.other_misc.total"]["value"] is None
    assert "not found" in got["t3.other_misc.total"]["reason"]
    assert all(got[a]["semantic"] == "MISSING" for a in got if a.startswith("t4."))
    assert got["t4.review.total"]["reason"] == "table 四 not found in the document"
    assert "missing_table" in {i["code"] for i in result["issues"]}


def test_group_label_on_the_wrong_line_does_not_move_the_row():
    rows = t3_rows()
    # seed-004 style: '(五) 不予处理' printed beside an item of （四）
    moved = [Row(("（五）不予处理", "2.没有现成信息需要另行制作", "7", "0", "0", "0", "0", "0", "7"))]
    rows = [r for r in rows if "没有现成信息" not in "".join(r.cells)] + moved
    got = cells(parse_document(doc(t2_rows() + rows + t4_rows())))
    assert got["t3.unable_need_creation.natural_person"]["value"] == 7
    assert got["t3.not_processed_petition_complaint.natural_person"]["value"] == 1


def test_hybrid_single_other_handling_row_is_kept_with_issue():
    rows = t3_rows(skip=("other_no_correction_overdue", "other_fee_unpaid_overdue", "other_misc"))
    idx = next(i for i, r in enumerate(rows) if "总计" in r.cells[1])
    rows.insert(idx, Row(("", "（六）其他处理", "2", "0", "0", "0", "0", "0", "2")))
    result = parse_document(doc(t2_rows() + rows + t4_rows()))
    got = cells(result)
    assert result["template"] == "gov2021"
    assert len(got) == 186
    assert got["t3.other_handling.natural_person"]["value"] == 2
    assert "t3.other_misc.total" not in got
    order = list(got)  # the single row stands where the three sub-rows would
    before = order.index("t3.not_processed_confirm_or_reissue.total")
    assert order[before + 1 : before + 8] == [f"t3.other_handling.{c}" for c in COLS]
    assert "hybrid_other_handling" in {i["code"] for i in result["issues"]}


def test_blank_template_gives_no_template_and_no_numbers():
    rows = t3_rows(override={r.key: [""] * 7 for r in T21.table("t3").data_rows})
    result = parse_document(doc(rows))
    assert result["template"] is None and result["cells"] == []


def test_unrelated_document_is_not_a_statutory_report():
    result = parse_document(doc([Row(("统计指标", "单位", "统计数")), Row(("主动公开政府信息数", "条", "120"))]))
    assert result["template"] is None
    assert result["cells"] == []
    assert result["issues"][0]["code"] == "not_statutory_report"


def test_gov2019_template_detected_from_labels():
    rows = t2_rows("gov2019") + t3_rows("gov2019") + t4_rows()
    result = parse_document(doc(rows))
    assert result["template"] == "gov2019"
    assert len(result["cells"]) == 198


def test_printed_totals_are_kept_even_when_wrong():
    rows = t2_rows() + t3_rows() + [Row(("行政复议",)), Row(("10", "1", "0", "0", "0") + ("0",) * 10)]
    got = cells(parse_document(doc(rows)))
    assert [got[f"t4.review.{m}"]["value"] for m in ("upheld", "corrected", "other", "pending", "total")] == [
        10,
        1,
        0,
        0,
        0,
    ]


def test_align_only_drops_blank_edges():
    assert align(("", "1", "2"), 2) == ("1", "2")
    assert align(("1", "", ""), 1) == ("1",)
    assert align(("1", "2", "3"), 2) is None
    assert align(("1", "", "3"), 2) is None
    assert align(("1",), 2) is None


def test_align_refuses_when_blanks_at_both_edges_make_it_ambiguous():
    # a blank first column and a stray trailing cell: which blank belongs to the row is unknown
    assert align(("", "1", "2", ""), 3) is None
    assert align(("", "", "1", ""), 2) is None
    assert align(("", "1", "2", ""), 2) == ("1", "2")  # both edges must go: one way only
    assert align(("", "", ""), 2) == ("", "")  # every choice gives the same cells


def test_label_wrapped_onto_the_row_with_the_numbers_is_joined():
    rows = [r for r in t3_rows() if "确认或重新" not in "".join(r.cells)]
    idx = next(i for i, r in enumerate(rows) if "1.申请人无正当理由" in "".join(r.cells))
    rows[idx:idx] = [
        Row(("", "5.要求行政机关确认或重新")),
        Row(("", "出具已获取信息", "4", "0", "0", "0", "0", "0", "4")),
    ]
    got = cells(parse_document(doc(t2_rows() + rows + t4_rows())))
    assert got["t3.not_processed_confirm_or_reissue.natural_person"]["value"] == 4
    assert got["t3.not_processed_confirm_or_reissue.total"]["label"] == "5.要求行政机关确认或重新出具已获取信息"


def test_text_where_a_number_belongs_is_one_text_cell_not_a_broken_row():
    rows = t3_rows(override={"granted": ["约10件", "0", "0", "0", "0", "0", "不详"]})
    got = cells(parse_document(doc(t2_rows() + rows + t4_rows())))
    assert got["t3.granted.natural_person"]["semantic"] == "TEXT"
    assert got["t3.granted.natural_person"]["value"] is None
    assert got["t3.granted.natural_person"]["raw"] == "约10件"
    assert got["t3.granted.total"]["semantic"] == "TEXT"
    assert got["t3.granted.legal_commercial"]["value"] == 0


def test_narrative_figures_are_read_from_the_text():
    text = doc([]).text + "\n本年度共收到政府信息公开申请5件。被申请行政复议2件，提起行政诉讼1件。"
    result = parse_document(doc(t2_rows() + t3_rows() + t4_rows(), text=text))
    assert result["narrative"] == {"requests_received": 5, "review": 2, "litigation": 1}
    text = doc([]).text + "\n本年度未收到政府信息公开申请，未发生政府信息公开行政复议、行政诉讼案件。"
    result = parse_document(doc(t2_rows() + t3_rows() + t4_rows(), text=text))
    assert result["narrative"] == {"zero_requests": 0, "review": 0, "litigation": 0}


def test_table_4_printed_twice_keeps_the_first_row_and_says_so():
    again = Row(tuple(str(100 + i) for i in range(15)), page=5)
    result = parse_document(doc(t2_rows() + t3_rows() + t4_rows() + [again]))
    got = cells(result)
    assert got["t4.review.upheld"]["value"] == 0 and got["t4.litigation_after_review.total"]["value"] == 14
    duplicates = [i for i in result["issues"] if i["code"] == "duplicate_row"]
    assert [(i["address"], i["severity"]) for i in duplicates] == [("t4.review.upheld", "info")]

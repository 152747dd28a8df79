"""Invariants of the document factory (tests/factory.py) and of the bundled samples it wrote."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import factory as fx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sources" / "samples"
SHARED = Path("/work/shared")

VARIANTS = [("gov2021", False), ("gov2021", True), ("gov2019", False)]


# ------------------------------------------------------------------ independent helpers


def yaml_addresses(template: str, single_other: bool = False) -> set[str]:
    """Every address of a template, computed here straight from templates.yaml (not via the factory)."""
    t = yaml.safe_load((ROOT / "sources/template/templates.yaml").read_text(encoding="utf-8"))["templates"]
    tables = t[template]["tables"]
    out = set()
    for sub in tables["t2"]["subtables"]:
        out |= {f"{sub['id']}.{r['key']}.{c['key']}" for r in sub["rows"] for c in sub["columns"]}
    cols = [c["key"] for c in tables["t3"]["columns"]]
    rows = [r["key"] for r in tables["t3"]["rows"] if r.get("is_data_row")]
    if single_other:
        rows = [r for r in rows if not r.startswith("other_")] + ["other_handling"]
    out |= {f"t3.{r}.{c}" for r in rows for c in cols}
    out |= {f"t4.{x}" for x in tables["t4"]["flattened_order"]}
    return out


def sniff(data: bytes) -> str:
    """Format from magic bytes only (independent of factory.sniff)."""
    if not data:
        return "empty"
    if data[:5] == b"%PDF-":
        return "pdf"
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "docx" if "word/document.xml" in z.namelist() else "zip"
    if re.match(rb"\s*<!DOCTYPE html|\s*<html", data[:200], re.I):
        return "html"
    try:
        data.decode("utf-8")
        return "text" if b"\x00" not in data else "binary"
    except UnicodeDecodeError:
        return "binary"


def html_text(data: bytes) -> str:
    m = re.search(rb'charset="?([A-Za-z0-9_-]+)', data[:2000])
    assert m, "no declared charset"
    return data.decode(m.group(1).decode())


def pdf_text(data: bytes) -> list[str]:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [p.extract_text() or "" for p in pdf.pages]


def docx_text(data: bytes) -> str:
    import docx

    d = docx.Document(io.BytesIO(data))
    out = [p.text for p in d.paragraphs]

    def walk(tables):
        for t in tables:
            for row in t.rows:
                for cell in row.cells:
                    out.append(cell.text)
                    walk(cell.tables)

    walk(d.tables)
    return "\n".join(out)


def document_text(fmt: str, data: bytes) -> str:
    if fmt == "text":
        return data.decode("utf-8")
    if fmt == "html":
        return html_text(data)
    if fmt == "pdf":
        return "\n".join(pdf_text(data))
    return docx_text(data)


def arithmetic_problems(cells: dict, template: str, single_other: bool) -> list[str]:
    """The statutory identities, re-implemented here so the factory's own check_cells is not trusted."""
    t = yaml.safe_load((ROOT / "sources/template/templates.yaml").read_text(encoding="utf-8"))["templates"]
    leaves = list(t[template]["tables"]["t3"]["leaf_result_rows"])
    if single_other:
        leaves = [k for k in leaves if not k.startswith("other_")] + ["other_handling"]
    cols = fx.T3_COLUMNS
    bad = []
    for c in cols:
        if cells[f"t3.new_received.{c}"] + cells[f"t3.carried_over.{c}"] != (
            cells[f"t3.result_total.{c}"] + cells[f"t3.carry_to_next.{c}"]
        ):
            bad.append(f"balance {c}")
        if sum(cells[f"t3.{k}.{c}"] for k in leaves) != cells[f"t3.result_total.{c}"]:
            bad.append(f"result sum {c}")
    for a in cells:
        if a.startswith("t3.") and a.endswith(".total"):
            row = a.split(".")[1]
            if sum(cells[f"t3.{row}.{c}"] for c in cols[:-1]) != cells[a]:
                bad.append(f"row total {row}")
    for b in ("review", "litigation_direct", "litigation_after_review"):
        parts = [cells[f"t4.{b}.{m}"] for m in ("upheld", "corrected", "other", "pending")]
        if sum(parts) != cells[f"t4.{b}.total"]:
            bad.append(f"t4 {b}")
    for a, v in cells.items():
        if a.endswith((".fee_amount", ".procurement_amount")):
            ok = isinstance(v, float) and v >= 0
        elif a.endswith(".change"):
            ok = isinstance(v, int)
        else:
            ok = isinstance(v, int) and v >= 0
        if not ok:
            bad.append(f"type {a}")
    return bad


# ------------------------------------------------------------------ cells


@pytest.mark.parametrize("template,single_other", VARIANTS)
def test_addresses_match_templates_yaml(template, single_other):
    cells = fx.make_cells(template, 1, single_other=single_other)
    assert set(cells) == yaml_addresses(template, single_other)
    assert list(cells) == fx.addresses(template, single_other)
    assert (
        len(cells)
        == {("gov2021", False): 200, ("gov2021", True): 186, ("gov2019", False): 198}[(template, single_other)]
    )


@pytest.mark.skipif(not SHARED.exists(), reason="shared truth not mounted")
def test_addresses_match_real_truth_files():
    seeds = sorted((SHARED / "seeds/truth").glob("*.json"))
    for p in seeds:
        assert set(json.loads(p.read_text())["cells"]) == set(fx.addresses("gov2021")), p.name
    truth = SHARED / "corpus/truth"
    assert set(json.loads((truth / "pingtan-2019.json").read_text())["cells"]) == set(fx.addresses("gov2019"))
    assert set(json.loads((truth / "hongzequ-2023.json").read_text())["cells"]) == set(
        fx.addresses("gov2021", single_other=True)
    )


@pytest.mark.parametrize("template,single_other", VARIANTS)
@pytest.mark.parametrize("seed", range(25))
def test_cells_are_consistent(template, single_other, seed):
    cells = fx.make_cells(template, seed, single_other=single_other)
    assert arithmetic_problems(cells, template, single_other) == []
    assert fx.check_cells(cells) == []
    assert fx.detect_template(cells) == (template, single_other)


def test_cells_options_and_determinism():
    assert fx.make_cells("gov2021", 7) == fx.make_cells("gov2021", 7)
    assert fx.make_cells("gov2021", 7) != fx.make_cells("gov2021", 8)
    zero = fx.make_cells("gov2021", 3, zero_requests=True)
    assert all(v == 0 for a, v in zero.items() if a.startswith("t3."))
    c = fx.make_cells("gov2021", 3, requests=17, review=(10, 1, 0, 0), fee=12.5, fee_notices=2)
    assert c["t3.result_total.total"] == 17 + 2
    assert c["t3.other_fee_unpaid_overdue.total"] == 2
    assert (c["t4.review.upheld"], c["t4.review.corrected"], c["t4.review.total"]) == (10, 1, 11)
    assert c["t2_art20_8.admin_fees.fee_amount"] == 12.5
    assert fx.check_cells(c) == []
    c19 = fx.make_cells("gov2019", 5)
    amount = c19["t2_art20_9.central_procurement.procurement_amount"]
    assert isinstance(amount, float) and round(amount, 6) == amount
    assert fx.fmt_value("t2_art20_9.central_procurement.procurement_amount", 7539.443252) == "75394432.52元"
    assert fx.fmt_value("t2_art20_5.admin_licensing.change", 3) == "+3"
    assert fx.fmt_value("t2_art20_5.admin_licensing.change", -2) == "-2"
    assert fx.fmt_value("t2_art20_8.admin_fees.fee_amount", 26.815) == "26.815"
    assert fx.fmt_value("t2_art20_8.admin_fees.fee_amount", 0.0) == "0"


def test_rule_breakers_break_exactly_their_rule():
    c = fx.make_cells("gov2021", 11, requests=20)
    assert fx.check_cells(fx.break_t4_total(c)) == ["T4_BLOCK_TOTAL:review"]
    broken = fx.break_t4_total(c)
    assert [broken[f"t4.review.{m}"] for m in fx.T4_MEASURES] == [10, 1, 0, 0, 0]
    kept = fx.break_t4_total(c, "litigation_after_review", parts=None, printed_total=0)
    if sum(c[f"t4.litigation_after_review.{m}"] for m in fx.T4_PARTS):
        assert fx.check_cells(kept) == ["T4_BLOCK_TOTAL:litigation_after_review"]
    assert sorted(fx.check_cells(fx.break_t3_balance(c))) == ["T3_BALANCE:natural_person", "T3_BALANCE:total"]
    assert sorted(fx.check_cells(fx.break_t3_result_sum(c, delta=-1))) == [
        "T3_RESULT_SUM:natural_person",
        "T3_RESULT_SUM:total",
    ]
    assert "T3_ROW_TOTAL:carried_over" in fx.check_cells(fx.break_t3_row_total(c))
    assert c == fx.make_cells("gov2021", 11, requests=20), "breakers must not modify their input"


# ------------------------------------------------------------------ renderers


@pytest.fixture(scope="module")
def facts():
    return {
        v: fx.make_facts("示例市测试局", 2023 if v[0] == "gov2021" else 2020, v[0], seed=9, single_other=v[1])
        for v in VARIANTS
    }


@pytest.mark.parametrize("fmt", ["text", "html", "docx", "pdf"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_format_renders_a_whole_report(facts, fmt, variant):
    f = facts[variant]
    data = fx.render(f, fmt)
    assert sniff(data) == fmt == fx.sniff(data)
    text = document_text(fmt, data)
    flat = re.sub(r"\s+", "", text)
    assert "示例市测试局" in flat and f"{f['year']}年政府信息公开工作年度报告" in flat
    pos = [flat.find(re.sub(r"\s", "", s)) for s in fx.SECTION_LABELS]
    assert -1 not in pos and pos == sorted(pos), "the six section headings in order"
    n = f["cells"]["t3.new_received.total"]
    assert f"全年共收到政府信息公开申请{n}件" in flat or (n == 0 and "全年未收到政府信息公开申请" in flat)
    y, m, d = (int(x) for x in f["published"].split("-"))
    assert f"{y}年{m}月{d}日" in flat
    if fmt == "html":
        assert f"发布日期：{f['published']}" in text
    marker = "第二十条第（九）项" if variant[0] == "gov2019" else "本年收费金额（单位：万元）"
    assert marker in flat
    if variant[1]:
        assert "（六）其他处理" in flat and "逾期不补正" not in flat


def _html_rows(data: bytes) -> list[list[str]]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "lxml")
    return [[td.get_text("", strip=True).replace("\xa0", "") for td in tr.find_all("td")] for tr in soup.find_all("tr")]


@pytest.mark.parametrize("variant", VARIANTS)
def test_html_tables_carry_the_cells(facts, variant):
    f = facts[variant]
    cells = f["cells"]
    rows = _html_rows(fx.render(f, "html"))
    t4 = [fx.fmt_value(f"t4.{x}", cells[f"t4.{x}"]) for x in fx._tpl(variant[0])["tables"]["t4"]["flattened_order"]]
    assert t4 in rows
    for rk in fx.t3_data_rows(*variant):
        want = [str(cells[f"t3.{rk}.{c}"]) for c in fx.T3_COLUMNS]
        assert any(r[-7:] == want and any(r[:-7]) for r in rows), rk


def test_html_layout_spans():
    from bs4 import BeautifulSoup

    data = fx.render_html(fx.make_cells("gov2021", 2))
    soup = BeautifulSoup(data, "lxml")
    tables = soup.find_all("table")
    assert len(tables) == 3
    t3, t4 = tables[1], tables[2]
    first = t3.find("tr").find_all("td")
    assert (first[0]["rowspan"], first[0]["colspan"], first[1]["colspan"]) == ("3", "3", "7")
    results = t3.find(lambda tag: tag.name == "td" and tag.get_text(strip=True) == "三、本年度办理结果")
    assert results["rowspan"] == "22"
    assert len(t4.find_all("tr")) == 4 and len(t4.find_all("tr")[-1].find_all("td")) == 15
    one = fx.render_html(fx.make_cells("gov2021", 2), single_table=True)
    assert len(BeautifulSoup(one, "lxml").find_all("table")) == 1
    assert "<nav" in data.decode() or 'class="nav"' in data.decode()
    assert 'class="footer"' in data.decode()


@pytest.mark.parametrize("encoding", ["utf-8", "gbk", "big5"])
def test_html_encodings(encoding):
    data = fx.render_html(fx.make_cells("gov2021", 4), encoding=encoding)
    assert sniff(data) == "html"
    assert re.search(rf'charset="?{encoding}"?'.encode(), data[:1000])
    with pytest.raises(UnicodeDecodeError):
        if encoding == "utf-8":
            data.decode("ascii")
        else:
            data.decode("utf-8")
    text = data.decode(encoding)
    if encoding == "big5":
        assert "總計" in text and "申請人情況" in text and "&#" not in text
    else:
        assert "总计" in text and "申请人情况" in text


def test_text_quirks():
    cells = fx.make_cells("gov2021", 5, requests=30)
    text = fx.render_text(cells).decode("utf-8")
    assert "[bookmark: _GoBack]" in text
    assert "\u3000" in text
    assert re.search("[０-９]", text)
    assert "5.要求行政机关确认或重新出具已获取信息" not in text  # wrapped over two lines
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.endswith("5.要求行政机关确认或重新"))
    assert lines[i + 1].split("\t")[2] == "出具已获取信息"
    assert lines[i + 1].split("\t")[-1] == str(cells["t3.not_processed_confirm_or_reissue.total"])
    t4 = [line for line in lines if "[bookmark: _GoBack]" in line][0].split("\t")
    assert len(t4) == 15
    grid = [line.split("\t") for line in lines if line.startswith("一、本年新收")]
    assert len(grid[0]) == 10 and grid[0][1:3] == ["", ""]
    plain = fx.render_text(cells, quirks=False).decode("utf-8")
    assert "[bookmark" not in plain and "\u3000" not in plain
    per_cell = fx.render_text(cells, layout="cells").decode().splitlines()
    assert len(per_cell) > len(lines)
    k = per_cell.index("\t5.要求行政机关确认或重新")
    assert per_cell[k + 1] == "出具已获取信息"  # seed-003 style: the continuation line has no tab


def test_docx_merged_nested_bookmark():
    import docx

    cells = fx.make_cells("gov2021", 6, requests=12)
    data = fx.render_docx(cells, nested="t4", bookmark="t3.granted.total")
    assert data == fx.render_docx(cells, nested="t4", bookmark="t3.granted.total"), "deterministic bytes"
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    assert 'w:name="_GoBack"' in xml and "w:gridSpan" in xml and "w:vMerge" in xml and "tbRlV" in xml
    d = docx.Document(io.BytesIO(data))
    assert [(len(t.rows), len(t.columns)) for t in d.tables] == [(14, 4), (28, 10), (1, 1)]
    inner = d.tables[2].cell(0, 0).tables[0]
    assert [c.text for c in inner.rows[3].cells] == [
        str(cells[f"t4.{x}"]) for x in fx._tpl("gov2021")["tables"]["t4"]["flattened_order"]
    ]
    t3 = d.tables[1]
    assert t3.cell(5, 0).text == "三、本年度办理结果" and t3.cell(26, 0).text == "三、本年度办理结果"
    assert [c.text for c in t3.rows[3].cells][3:] == [str(cells[f"t3.new_received.{c}"]) for c in fx.T3_COLUMNS]


def test_pdf_split_vertical_footer():
    cells = fx.make_cells("gov2021", 8, requests=20)
    data = fx.render_pdf(cells)
    assert data == fx.render_pdf(cells), "deterministic bytes"
    pages = pdf_text(data)
    assert len(pages) >= 3
    assert all(p.rstrip().endswith(f"- {i} -") for i, p in enumerate(pages, 1))
    k = next(i for i, p in enumerate(pages) if "2.没有现成信息需要另行制作" in p)
    assert "3.补正后申请内容仍不明确" not in pages[k]
    after = pages[k + 1].splitlines()
    assert after[0].startswith("3.补正后申请内容仍不明确")
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        assert sum(len(p.lines) for p in pdf.pages) > 100
        # the group label sits alone in the 24pt-wide first column, one character per line
        column = [
            ch
            for p in pdf.pages
            for ch in sorted(p.chars, key=lambda c: c["top"])
            if abs(ch["x0"] + ch["width"] / 2 - 84) < 0.6 and ch["size"] < 10  # centre of the 1st column
        ]
        assert "".join(c["text"] for c in column) == "三、本年度办理结果"
        assert len({round(c["top"]) for c in column}) == len(column)
    unruled = fx.render_pdf(cells, ruled=False)
    with pdfplumber.open(io.BytesIO(unruled)) as pdf:
        assert sum(len(p.lines) + len(p.rects) for p in pdf.pages) == 0
        assert "三、收到和处理政府信息公开申请情况" in "".join(p.extract_text() for p in pdf.pages)
    with_image = fx.render_pdf(cells, image_page=True)
    with pdfplumber.open(io.BytesIO(with_image)) as pdf:
        last = pdf.pages[-1]
        assert last.images and not (last.extract_text() or "").strip()


def test_gov2019_rendering_units_and_signs():
    cells = fx.set_cells(
        fx.make_cells("gov2019", 3), t2_art20_5__admin_licensing__change=4, t2_art20_6__admin_coercion__change=-2
    )
    text = fx.render_html(cells, year=2020).decode("utf-8")
    assert "+4" in text and "-2" in text
    amount = cells["t2_art20_9.central_procurement.procurement_amount"]
    if amount:
        assert fx.fmt_value("t2_art20_9.central_procurement.procurement_amount", amount) in text
        assert fx.fmt_value("x.procurement_amount", amount).endswith("元")
    for label in (
        "本年新制作数量",
        "本年新公开数量",
        "对外公开总数量",
        "上一年项目数量",
        "本年增/减",
        "处理决定数量",
        "政府集中采购",
        "采购总金额",
    ):
        assert label in text


# ------------------------------------------------------------------ unreadable and special documents


def test_unreadable_makers():
    import pdfplumber

    assert fx.empty_bytes() == b"" and sniff(fx.empty_bytes()) == "empty"
    noise = fx.random_bytes()
    assert (
        len(noise) == 4096
        and sniff(noise) == "binary" == sniff(fx.random_bytes(seed=1))
        and fx.sniff(noise) == "unknown"
    )
    trunc = fx.truncated_pdf()
    assert trunc.startswith(b"%PDF-") and b"%%EOF" not in trunc
    enc = fx.encrypted_pdf()
    assert enc.startswith(b"%PDF-") and b"/Encrypt" in enc
    for bad in (trunc, enc):
        with pytest.raises(Exception):  # noqa: B017 - any failure to read is what we want
            with pdfplumber.open(io.BytesIO(bad)) as pdf:
                "".join(p.extract_text() or "" for p in pdf.pages)
    img = fx.image_only_pdf(pages=2)
    with pdfplumber.open(io.BytesIO(img)) as pdf:
        assert len(pdf.pages) == 2
        assert all(p.images and not (p.extract_text() or "").strip() for p in pdf.pages)
        assert not pdf.pages[0].chars


def test_blank_template_and_notice():
    import docx

    blank = fx.render_blank_template("docx")
    d = docx.Document(io.BytesIO(blank))
    assert "政府信息公开工作年度报告格式模板" in d.paragraphs[0].text
    assert len(d.tables) == 3
    values = [c.text for t in d.tables for row in t.rows for c in row.cells]
    assert not any(re.fullmatch(r"\d+(\.\d+)?", v) for v in values)
    for fmt in ("html", "text", "pdf"):
        data = fx.render_blank_template(fmt)
        assert "本年制发件数" in re.sub(r"\s", "", document_text(fmt, data))
    notice = fx.render_notice_html()
    text = notice.decode("utf-8")
    assert sniff(notice) == "html" and "<table" in text
    assert not any(label in text for label in ("一、总体情况", "申请人情况", "本年制发件数"))


# ------------------------------------------------------------------ the bundled samples


@pytest.fixture(scope="module")
def expected():
    return json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def specs():
    return {s.file: s for s in fx.sample_specs()}


def test_samples_listed_and_small(expected, specs):
    files = {p.name for p in SAMPLES.iterdir()} - {"expected.json", "README.md"}
    assert files == set(expected) == set(specs)
    assert sum(p.stat().st_size for p in SAMPLES.iterdir()) < 300 * 1024
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in readme for name in files)
    formats = sorted(e["format"] for e in expected.values())
    assert formats.count("html") >= 3 and {"text", "docx", "pdf"} <= set(formats)


def test_samples_are_the_facts_rendered(expected, specs):
    """expected.json == the factory's facts, and each file is exactly those facts rendered."""
    for name, spec in specs.items():
        e = expected[name]
        assert e == json.loads(json.dumps(fx.expected_entry(spec), ensure_ascii=False)), name
        assert (SAMPLES / name).read_bytes() == fx.render_sample(spec), f"{name} is stale: rerun --write-samples"


def test_samples_cells_complete_and_checked(expected):
    errors = {}
    for name, e in expected.items():
        if e["template"] is None:
            assert e["cells"] == {} and e["year"] is None
            continue
        assert set(e["cells"]) == yaml_addresses(e["template"], e["single_other_row"]), name
        problems = fx.check_cells(e["cells"])
        if problems:
            errors[name] = problems
        assert bool(problems) == bool(e["known_publisher_errors"]), name
    assert errors == {"xzf-2023.pdf": ["T4_BLOCK_TOTAL:review"]}
    templates = {(e["template"], e["single_other_row"]) for e in expected.values()}
    assert {("gov2021", False), ("gov2021", True), ("gov2019", False), (None, False)} <= templates


def test_samples_sniff_and_print_their_facts(expected):
    for name, e in expected.items():
        data = (SAMPLES / name).read_bytes()
        assert sniff(data) == e["format"] == fx.sniff(data), name
        text = document_text(e["format"], data)
        flat = re.sub(r"\s+", "", text)
        if e["template"] is None:
            assert e["agency"] is None and e["year"] is None and "示例市人力资源和社会保障局" in flat
            continue
        assert e["agency"] in flat, name
        assert f"{e['year']}年政府信息公开工作年度报告" in flat, name
        n = e["cells"]["t3.new_received.total"]
        assert f"全年共收到政府信息公开申请{n}件" in flat, name
        y, m, d = (int(x) for x in e["published"].split("-"))
        assert f"{y}年{m}月{d}日" in flat, name
        # the 15 numbers of 表四 appear in order (as printed, publisher error included)
        t4 = [
            fx.fmt_value(f"t4.{x}", e["cells"][f"t4.{x}"])
            for x in fx._tpl(e["template"])["tables"]["t4"]["flattened_order"]
        ]
        if e["format"] == "html":
            assert t4 in _html_rows(data), name
        elif e["format"] == "pdf":
            assert " ".join(t4) in text, name
        elif e["format"] == "text":
            assert "\t".join(t4) in text.replace("[bookmark: _GoBack]", ""), name


def test_sample_encodings(expected):
    gbk = (SAMPLES / "scjgj-2022-gbk.html").read_bytes()
    assert b"charset=gbk" in gbk
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    assert "申请人情况" in gbk.decode("gbk")
    assert b'<meta charset="utf-8">' in (SAMPLES / "zrzyj-2023.html").read_bytes()
    pdf = (SAMPLES / "xzf-2023.pdf").read_bytes()
    pages = pdf_text(pdf)
    k = next(i for i, p in enumerate(pages) if "2.没有现成信息需要另行制作" in p)
    assert pages[k].rstrip().endswith(f"- {k + 1} -") and pages[k + 1].startswith("3.补正后申请内容仍不明确")

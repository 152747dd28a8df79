"""`xxgk parse` as a user runs it: JSON Lines contract, human tables, and unreadable files."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app

TEXT_REPORT = """示例县应急管理局2023年政府信息公开工作年度报告
一、总体情况
二、主动公开政府信息情况
第二十条第（一）项\t\t\t
信息内容\t本年制发件数\t本年废止件数\t现行有效件数
规章\t0\t0\t0
行政规范性文件\t1\t0\t4
三、收到和处理政府信息公开申请情况
{t3}
四、政府信息公开行政复议、行政诉讼情况
行政复议\t行政诉讼
{t4}
五、存在的主要问题及改进情况
六、其他需要报告的事项
发布日期：2024-01-20
"""


def _report_text() -> str:
    from sources.template import load_template

    t3 = load_template("gov2021").table("t3")
    lines = [f"{r.label}\t\t1\t0\t0\t0\t0\t0\t1" for r in t3.data_rows]
    return TEXT_REPORT.format(t3="\n".join(lines), t4="\t".join(["0"] * 15))


def test_parse_json_lines_contract_and_bad_files(tmp_path):
    good = tmp_path / "report.txt"
    good.write_text(_report_text(), encoding="utf-8")
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.docx"
    junk.write_bytes(b"\x00\x01\x02 not a document \xff" * 20)
    result = CliRunner().invoke(app, ["parse", str(empty), str(good), str(junk), "--json"])
    assert result.exit_code == 1
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["source"]["path"] for o in objects] == [str(empty), str(good), str(junk)]
    bad1, ok, bad2 = objects
    assert bad1["error"] and bad1["issues"][0]["code"] == "empty_file" and bad1["cells"] == []
    assert bad2["error"] and bad2["issues"][0]["code"] == "not_a_document"
    assert ok["error"] is None
    assert ok["source"]["format"] == "text" and len(ok["source"]["sha256"]) == 64
    assert (ok["agency"], ok["year"], ok["template"], ok["published_on"]) == (
        "示例县应急管理局",
        2023,
        "gov2021",
        "2024-01-20",
    )
    assert len(ok["cells"]) == 200
    by = {c["address"]: c for c in ok["cells"]}
    # the 1-based line of the text where 表三's first row is printed
    printed_at = next(i for i, line in enumerate(_report_text().splitlines(), 1) if line.startswith("一、本年新收"))
    assert by["t3.new_received.natural_person"] == {
        "address": "t3.new_received.natural_person",
        "value": 1,
        "raw": "1",
        "semantic": "NUMBER",
        "label": "一、本年新收政府信息公开申请数量",
        "line": printed_at,
    }
    assert by["t2_art20_5.admin_licensing.decisions"]["semantic"] == "MISSING"
    assert by["t2_art20_5.admin_licensing.decisions"]["reason"]
    (line,) = [x for x in result.stderr.splitlines() if "empty.pdf" in x]
    assert line.startswith("错误：") and "error" not in line
    # the within-report rules it breaks: 表二 lacks four cells, every 表三 row prints 1 under 办理结果 too
    assert [(c["rule_id"], c["instance"], c["outcome"], c["lhs"], c["rhs"]) for c in ok["checks"]] == [
        ("S_CELLS_COMPLETE", "t2", "fail", 6.0, 10.0),
        ("T3_RESULT_SUM_2021", "natural_person", "fail", 1.0, 21.0),
        ("T3_RESULT_SUM_2021", "total", "fail", 1.0, 21.0),
    ]
    assert ok["checks"][0]["severity"] == "error" and ok["checks"][0]["message"].startswith("表二：应有10个单元格")
    assert bad1["checks"] == [] and bad2["checks"] == []


def test_parse_human_output_shows_chinese_tables(tmp_path):
    good = tmp_path / "report.txt"
    good.write_text(_report_text(), encoding="utf-8")
    result = CliRunner().invoke(app, ["parse", str(good)])
    assert result.exit_code == 0
    assert "表三 收到和处理政府信息公开申请情况" in result.stdout
    assert "一、本年新收政府信息公开申请数量" in result.stdout
    assert "示例县应急管理局" in result.stdout
    assert "未通过的规则检查（3 项，不含跨年度检查）" in result.stdout
    assert "[错误·不通过] T3_RESULT_SUM_2021 total：" in result.stdout and "应有10个单元格，读到6个" in result.stdout


def _invoke_as_unprivileged(args: list[str]) -> tuple[int, str, str]:
    """``xxgk`` with ``args`` as a user the file permissions apply to (root reads everything: a forked
    child drops to ``nobody`` first, after this process has imported everything the parse needs).  As
    ``nobody`` the interpreter may not be executable (installed under ``/root``): the command then
    parses in its own process, as it does wherever no parse process can be started."""
    if os.geteuid() != 0:
        result = CliRunner().invoke(app, args)
        return result.exit_code, result.stdout, result.stderr
    CliRunner().invoke(app, [*args[:1], *args[2:]])  # warm up: every module the command imports, as root
    # and dlt's own settings reading, which the child may need: as nobody, whether /root/.dlt holds a
    # settings file cannot be known, so the settings are read through dlt (nobody may not read the
    # interpreter's library under /root to import it then)
    import dlt

    dlt.config.get("xxgk.limits")
    from sources.parsing.parse import parse_path

    for arg in args[1:]:  # and those the parse imports (the command parses in a child process)
        if not arg.startswith("--"):
            parse_path(arg)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setgid(65534)
            os.setuid(65534)
            result = CliRunner().invoke(app, args)
            payload = json.dumps([result.exit_code, result.stdout, result.stderr]).encode()
        except BaseException as exc:  # report anything to the parent
            payload = json.dumps([-1, "", repr(exc)]).encode()
        with os.fdopen(write, "wb") as fh:
            fh.write(payload)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        data = fh.read()
    os.waitpid(pid, 0)
    code, stdout, stderr = json.loads(data)
    return code, stdout, stderr


def test_an_unreadable_file_is_its_own_error_and_the_others_are_parsed():
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:  # pytest's tmp_path is not reachable by nobody
        Path(folder).chmod(0o755)
        _unreadable_and_good(Path(folder))


def _unreadable_and_good(tmp_path: Path) -> None:
    locked = tmp_path / "locked.pdf"
    locked.write_bytes(b"%PDF-1.4 not readable by anyone\n%%EOF\n")
    locked.chmod(0)
    good = tmp_path / "good.txt"
    good.write_text(_report_text(), encoding="utf-8")
    good.chmod(0o644)
    code, stdout, stderr = _invoke_as_unprivileged(["parse", str(locked), str(good), "--json"])
    assert code == 1, stderr
    bad, ok = [json.loads(line) for line in stdout.splitlines()]
    assert bad["source"]["path"] == str(locked) and bad["issues"][0]["code"] == "cannot_open"
    assert "无法打开文件" in bad["error"] and bad["cells"] == []
    assert ok["error"] is None and ok["template"] == "gov2021" and ok["year"] == 2023
    assert str(locked) in stderr and "Usage" not in stderr
    code, stdout, stderr = _invoke_as_unprivileged(["parse", str(locked), str(good)])
    assert code == 1 and "无法打开文件" in stdout + stderr and "示例县应急管理局" in stdout


def test_special_files_are_refused_each_on_its_own_line(tmp_path):
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    good = tmp_path / "good.txt"
    good.write_text(_report_text(), encoding="utf-8")
    result = CliRunner().invoke(app, ["parse", "/dev/zero", str(fifo), str(good), "--json"])
    assert result.exit_code == 1
    zero, pipe, ok = [json.loads(line) for line in result.stdout.splitlines()]
    assert zero["issues"][0]["code"] == pipe["issues"][0]["code"] == "not_regular_file"
    assert ok["template"] == "gov2021"


def test_parse_reads_its_limits_from_the_settings(tmp_path, monkeypatch):
    good = tmp_path / "good.txt"
    good.write_text(_report_text(), encoding="utf-8")
    monkeypatch.setenv("XXGK__LIMITS__FILE_BYTES", "100")
    result = CliRunner().invoke(app, ["parse", str(good), "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["issues"][0]["code"] == "too_large"
    monkeypatch.setenv("XXGK__LIMITS__FILE_BYTE", "100")  # misspelt: refused in one line, not ignored
    result = CliRunner().invoke(app, ["parse", str(good)])
    assert result.exit_code == 2 and "file_byte" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_parse_past_the_limit_is_killed_and_the_other_files_are_parsed(tmp_path, monkeypatch):
    """``xxgk parse`` holds the same hard limit as a run: a PDF whose one page renders in one pdfium
    call of several seconds (no cooperative check can stop it) ends as ``parse_timeout`` with its
    parse process killed, and the files before and after it are parsed."""
    from hostile import slow_render_pdf

    from flows.tasks import parse_guard

    good = tmp_path / "good.txt"
    good.write_text(_report_text(), encoding="utf-8")
    dense = tmp_path / "dense.pdf"
    dense.write_bytes(slow_render_pdf())  # strokes and no text: an OCR page whose render takes ~10 s CPU
    monkeypatch.setenv("XXGK__LIMITS__PARSE_SECONDS", "3")
    monkeypatch.setenv("XXGK__LIMITS__OCR_PAGE_SECONDS", "0.001")
    result = CliRunner().invoke(app, ["parse", str(good), str(dense), str(good), "--json"])
    assert result.exit_code == 1, result.stderr
    first, stopped, last = [json.loads(line) for line in result.stdout.splitlines()]
    assert first["error"] is None and last["error"] is None and first["cells"] == last["cells"]
    assert [i["code"] for i in stopped["issues"]] == ["parse_timeout"]
    assert stopped["source"]["path"] == str(dense) and stopped["source"]["format"] == "pdf"
    assert len(stopped["source"]["sha256"]) == 64 and stopped["cells"] == []
    assert "解析进程已被终止" in stopped["error"]
    (line,) = [x for x in result.stderr.splitlines() if "dense.pdf" in x]
    assert line.startswith("错误：") and "解析超过 3 秒" in line
    assert not parse_guard._idle  # no parse process outlives the command

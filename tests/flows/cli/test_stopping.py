"""Stopping: real signals to a real ``xxgk run`` subprocess, its processes polled in ``/proc``.

Ctrl-C (SIGINT to the whole process group, as a terminal sends it) and SIGTERM end the command with
exit status 130 / 143 and one Chinese line, the Prefect server and the parse processes with it, and
a re-run completes the warehouse; a second Ctrl-C ends at once; Ctrl-C while the Prefect server
starts works; after SIGKILL no process of the run survives; a second run on a locked warehouse is
refused before it fetches anything, in one line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from sitekit import RecordingSite

from flows.cli.signals import descendants
from flows.demo.site import write_registry

ROOT = Path(__file__).resolve().parents[3]
N_AGENCIES = 16


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Prefect home for the module's runs (the server's database is created once)."""
    return tmp_path_factory.mktemp("prefect-home")


@pytest.fixture
def slow_site(site_kit, tmp_path) -> Iterator[tuple[RecordingSite, Path]]:
    """16 agencies on one host answering after 0.3 s each: a run fetches for several seconds."""
    Spec = site_kit.Spec
    specs = [Spec(f"s{i:02d}", f"示例市第{i}局", "text") for i in range(N_AGENCIES)]
    agencies, _facts = site_kit.write_site(tmp_path / "site", specs, [2023], seed=9)
    site = RecordingSite(tmp_path / "site", delay=0.3).start()
    yield site, write_registry(agencies, site.base, tmp_path / "agencies.toml")
    site.stop()


def xxgk(args: list[str], prefect_home: Path) -> subprocess.Popen[str]:
    """``xxgk ARGS`` as its own process group (so a test can send the group a terminal's Ctrl-C)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")},
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "PREFECT_HOME": str(prefect_home),
    }
    code = "from flows.cli import app; app()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def run_args(registry: Path, warehouse: Path, *extra: str) -> list[str]:
    return [
        "run",
        "--year",
        "2023",
        "--sources",
        str(registry),
        "--warehouse",
        str(warehouse),
        "--min-interval",
        "0",
        "--no-docs",
        "--as-of",
        "2024-06-01",
        *extra,
    ]


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], what: str, limit: float = 180) -> None:
    """Poll ``condition`` until it holds (fails if the command exits first or ``limit`` passes)."""
    deadline = time.monotonic() + limit
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"xxgk exited ({proc.returncode}) before {what}: {proc.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {limit} s")
        time.sleep(0.05)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def alive(pids: set[int]) -> set[int]:
    """The pids of ``pids`` still running (zombies count as gone)."""
    out = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


def gone_within(pids: set[int], limit: float = 20) -> set[int]:
    """Poll until none of ``pids`` runs; what still runs after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive(pids)


def kill_all(pids: set[int]) -> None:
    for pid in alive(pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _state(warehouse: Path) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "select r.agency, s.state from stg.report_versions r join qa.version_state s using (version_id) "
            "order by 1, 2"
        ).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize(
    ("sig", "group", "status", "label"), [(signal.SIGINT, True, 130, "Ctrl-C"), (signal.SIGTERM, False, 143, "SIGTERM")]
)
def test_a_signal_stops_the_run_and_a_rerun_completes_it(slow_site, prefect_home, tmp_path, sig, group, status, label):
    site, registry = slow_site
    wh = tmp_path / "wh" / "xxgk.duckdb"
    proc = xxgk(run_args(registry, wh), prefect_home)
    seen: set[int] = set()
    try:
        wait_for(lambda: site.count() >= 3, proc, "fetching")
        seen = set(descendants(proc.pid))
        assert any("uvicorn" in cmdline(p) for p in seen)  # the embedded Prefect server
        if group:
            os.killpg(proc.pid, sig)  # what a terminal's Ctrl-C does
        else:
            os.kill(proc.pid, sig)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        leftovers = gone_within(seen | {proc.pid})
        kill_all(leftovers)
    assert proc.returncode == status, err[-3000:]
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith(f"已中断（{label}）：2023 年度已处理机构 "), err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert not leftovers, [cmdline(p) for p in leftovers]

    again = xxgk([*run_args(registry, wh), "--json"], prefect_home)
    out, err = again.communicate(timeout=600)
    assert again.returncode == 0, err[-3000:]
    summary = json.loads(out)
    assert (summary["agencies_attempted"], summary["failed"]) == (N_AGENCIES, 0)
    # every report exactly once, each in a decided state: as an uninterrupted run leaves it
    state = _state(wh)
    assert len(state) == N_AGENCIES and len({a for a, _s in state}) == N_AGENCIES
    assert {s for _a, s in state} <= {"promoted", "quarantined"}
    assert {a["agency_id"]: a["doc_state"] for a in summary["agencies"]}.keys() == {
        f"s{i:02d}" for i in range(N_AGENCIES)
    }


def test_ctrl_c_during_start_up_and_a_second_ctrl_c(slow_site, prefect_home, tmp_path):
    site, registry = slow_site
    proc = xxgk(run_args(registry, tmp_path / "a.duckdb"), prefect_home)
    seen: set[int] = set()
    try:
        wait_for(lambda: any("uvicorn" in cmdline(p) for p in descendants(proc.pid)), proc, "the Prefect server")
        seen = set(descendants(proc.pid))
        os.killpg(proc.pid, signal.SIGINT)  # the server is still starting
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        leftovers = gone_within(seen)
        kill_all(leftovers)
    assert proc.returncode == 130, err[-3000:]
    assert err.strip().splitlines()[-1] == "已中断（Ctrl-C）：采集尚未开始，数据仓库未改动。"
    assert "Traceback" not in err and not leftovers
    assert site.count() == 0

    proc = xxgk(run_args(registry, tmp_path / "b.duckdb"), prefect_home)
    seen = set()
    try:
        wait_for(lambda: site.count() >= 2, proc, "fetching")
        seen = set(descendants(proc.pid))
        os.killpg(proc.pid, signal.SIGINT)
        os.killpg(proc.pid, signal.SIGINT)  # the second one ends it at once, whatever the first was doing
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        leftovers = gone_within(seen)
        kill_all(leftovers)
    assert proc.returncode == 130, err[-3000:]
    assert err.strip().splitlines()[-1].startswith("已中断（Ctrl-C）：")
    assert not leftovers, [cmdline(p) for p in leftovers]


def test_a_locked_warehouse_is_refused_before_fetching_and_sigkill_leaves_no_process(prefect_home, tmp_path, site_kit):
    """The first run is still fetching (its site answers after 20 s; DuckDB is not open yet) when the
    second starts on the same warehouse."""
    Spec = site_kit.Spec
    agencies, _facts = site_kit.write_site(tmp_path / "site", [Spec("w1", "示例市教育局", "text")], [2023], seed=4)
    site = RecordingSite(tmp_path / "site", delay=20).start()
    registry = write_registry(agencies, site.base, tmp_path / "agencies.toml")
    wh = tmp_path / "wh.duckdb"
    first = xxgk(run_args(registry, wh), prefect_home)
    other_root = tmp_path / "other"
    agencies, _facts = site_kit.write_site(other_root, [Spec("o1", "示例市审计局", "text")], [2023], seed=2)
    other = RecordingSite(other_root).start()
    seen: set[int] = set()
    try:
        wait_for(lambda: site.count() >= 1, first, "fetching")
        other_registry = write_registry(agencies, other.base, tmp_path / "other.toml")
        second = xxgk(run_args(other_registry, wh), prefect_home)
        _out, err = second.communicate(timeout=300)
        assert second.returncode == 2, err[-3000:]
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and "正被进程" in lines[0] and str(first.pid) in lines[0], err
        assert other.count() == 0  # refused before anything was fetched

        wait_for(lambda: any("uvicorn" in cmdline(p) for p in descendants(first.pid)), first, "the server")
        wait_for(lambda: len(descendants(first.pid)) >= 4, first, "parse processes", limit=60)
        seen = set(descendants(first.pid))
        first.kill()  # SIGKILL: no handler runs
        first.wait(timeout=10)
        leftovers = gone_within(seen, limit=60)  # a parse process still importing Prefect notices it after
    finally:
        other.stop()
        site.stop()
        if first.poll() is None:
            first.kill()
        kill_all(seen)
    assert not leftovers, [cmdline(p) for p in leftovers]


def test_an_interrupted_ingest_says_what_it_completed(prefect_home, tmp_path):
    """``xxgk ingest`` interrupted while it parses a PDF whose one page holds pdfium for 10 s or more:
    exit 130, one line naming what was done (never "采集尚未开始": it had begun), warehouse untouched."""
    from hostile import slow_render_pdf

    dense = tmp_path / "dense.pdf"
    # a page without text rendered for OCR: one pdfium call of ~0.2 ms per stroke here.  (A page of
    # 150 000 tiny paths, used before, is now read in about a second: no longer "held" by pdfium.)
    dense.write_bytes(slow_render_pdf(48_000))
    other = tmp_path / "other.txt"
    other.write_text("示例市教育局2023年政府信息公开工作年度报告\n", encoding="utf-8")
    wh = tmp_path / "w.duckdb"
    proc = xxgk(["ingest", str(dense), str(other), "--warehouse", str(wh), "--no-docs"], prefect_home)
    try:
        # the run lock is taken once the command has begun (just before it reads and parses the files)
        wait_for(lambda: wh.with_name(wh.name + ".run.lock").exists(), proc, "the run lock")
        os.killpg(proc.pid, signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last in (
        "已中断（Ctrl-C）：正在读取文件，尚未解析，数据仓库未改动。",
        "已中断（Ctrl-C）：已解析 0/2 个文件，尚未入库，数据仓库未改动。",
    ), err[-3000:]
    assert "Traceback" not in err
    if not wh.exists():  # interrupted before the warehouse file was created: nothing written either
        return
    con = duckdb.connect(str(wh), read_only=True)  # opened (empty) to see it is not locked, nothing written
    try:
        assert con.execute("select count(*) from information_schema.tables").fetchone() == (0,)
    finally:
        con.close()


@pytest.mark.parametrize(
    ("stage", "parsed", "promoted", "line"),
    [
        ("read", 0, 0, "正在读取文件，尚未解析，数据仓库未改动。"),
        ("parse", 1, 0, "已解析 1/3 个文件，尚未入库，数据仓库未改动。"),
        ("load", 3, 0, "已解析 3/3 个文件；入库（校验、发布）未完成，已放弃"),
        ("loaded", 3, 2, "已解析 3/3 个文件，已入库并发布 2 份；"),
    ],
)
def test_the_ingest_line_follows_the_stage_reached(stage, parsed, promoted, line):
    from flows.cli import progress
    from flows.cli.signals import summary_line

    progress.begin("本地文件", kind="files")
    progress.set_total("parsed", 3)
    progress.advance("parsed", parsed)
    progress.advance("promoted", promoted)
    progress.stage(stage)
    try:
        assert summary_line(signal.SIGINT).startswith(f"已中断（Ctrl-C）：{line}")
        assert summary_line(signal.SIGTERM).startswith("已中断（SIGTERM）：")
    finally:  # as before any run began
        progress.begin("", kind="year")
        progress._label.clear()

"""OCR cells to check, in the terminal: ``xxgk parse`` and ``xxgk ingest`` (real subprocesses) of a local
HTML page whose 表三 is a PNG beside it printing one wrong figure list the cells to compare with the
page image, write each cell's image as a PNG file, draw it with half blocks when asked (or on a
terminal), and print the ``xxgk confirm`` command; ``xxgk confirmations`` lists what is still to check."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import factory
import numpy as np
import ocrkit
import pytest
from rich.console import Console

from flows.cli.crops import INLINE_COLUMNS, PendingCell, half_blocks, print_pending, show_inline

pytest.importorskip("rapidocr")
ROOT = Path(__file__).resolve().parents[3]
CLI = "import sys; from flows.cli import app; sys.argv[0] = 'xxgk'; app()"


def xxgk(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-c", CLI, *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=cwd,
        # a limit far above OCR's time on a loaded machine: these tests are about what is shown
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "150", "XXGK__LIMITS__PARSE_SECONDS": "1800"},
    )
    return done


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """page.html whose 表三 is page_files/t3.png, the picture printing 本年新收 总计 10 too high."""
    root = tmp_path_factory.mktemp("crops")
    facts = factory.make_facts(seed=3)
    page, _png = ocrkit.html_with_table_image(facts, src="page_files/t3.png")
    cells = dict(facts["cells"])
    cells["t3.new_received.total"] += 10
    (root / "page_files").mkdir()
    (root / "page_files" / "t3.png").write_bytes(ocrkit.image_bytes(ocrkit.grid_image(factory.grids(cells)["t3"])))
    (root / "page.html").write_bytes(page)
    return root


@pytest.fixture(scope="module")
def parsed(site) -> dict:
    done = xxgk("parse", "page.html", "--crops", "crops", "--inline-crops", cwd=site)
    assert done.returncode == 0, done.stderr[-2000:]
    return {"out": done.stdout, "crops": site / "crops"}


def _paths(output: str) -> dict[str, Path]:
    """Cell address → the crop file printed for it (``• ADDRESS …`` then ``原图：PATH``)."""
    found, address = {}, None
    for line in output.splitlines():
        if m := re.match(r"• (\S+) ", line.strip()):
            address = m[1]
        elif (m := re.match(r"原图：(.+\.png)$", line.strip())) and address:
            found[address] = Path(m[1])
    return found


def test_parse_lists_the_cells_to_check_with_their_image_file_and_confirm_command(parsed, site):
    from PIL import Image

    out = parsed["out"]
    assert "OCR 待核对单元格" in out
    paths = _paths(out)
    assert "t3.new_received.total" in paths  # the wrong figure is among the cells to check
    for address, path in paths.items():
        full = site / path
        assert full.is_file() and full.parent.parent == parsed["crops"]
        image = Image.open(full)
        image.load()  # decodes
        assert image.format == "PNG" and image.mode == "L" and image.width <= 360
        assert f"xxgk confirm 版本号 {address} --value 原件数字" in out
    assert "▀" in out  # --inline-crops: drawn although stdout is not a terminal


def test_half_blocks_of_a_real_crop(parsed, site):
    from PIL import Image

    png = (site / _paths(parsed["out"])["t3.new_received.total"]).read_bytes()
    image = Image.open(io.BytesIO(png)).convert("L")
    text = half_blocks(png)
    lines = text.plain.split("\n")
    width = min(INLINE_COLUMNS, image.width)
    height = round(image.height * width / image.width)
    assert {len(line) for line in lines} == {width} and set(text.plain) <= {"▀", "\n"}
    assert len(lines) == (height + 1) // 2  # one character row per two pixel rows
    # each character's upper half is the grey of its block of the crop: dark ink → dark cells
    small = np.asarray(image.resize((width, height + height % 2), Image.Resampling.BOX))
    greys = []
    for span in text.spans:
        colour = span.style.color.triplet  # type: ignore[union-attr]
        assert colour.red == colour.green == colour.blue  # grey
        greys.append(colour.red)
    fg = np.array(greys).reshape(len(lines), width)
    assert np.array_equal(fg, small[0::2])
    assert (fg < 100).sum() >= 10 and (fg > 200).sum() >= 10  # the figure and the rules dark, paper light
    dark_in_crop = np.asarray(image) < 100
    assert dark_in_crop.any()


def test_inline_images_only_on_a_terminal_unless_asked(parsed, site):
    png = (site / _paths(parsed["out"])["t3.new_received.total"]).read_bytes()
    cell = PendingCell("t3.new_received.total", "37", "unverified", 1, png, "abc123")
    piped = Console(file=io.StringIO(), width=150)
    assert show_inline(piped, None) is False and show_inline(piped, True) is True
    written = print_pending(piped, [cell], site / "piped", inline=show_inline(piped, None))
    text = piped.file.getvalue()  # type: ignore[attr-defined]
    assert "▀" not in text and str(written[0]) in text and written[0].read_bytes() == png
    assert "xxgk confirm abc123 t3.new_received.total --value 原件数字" in text
    tty = Console(file=io.StringIO(), width=150, force_terminal=True, color_system="256")
    print_pending(tty, [cell], site / "tty", inline=show_inline(tty, None))
    drawn = tty.file.getvalue()  # type: ignore[attr-defined]
    pairs = re.findall(r"\x1b\[38;5;(\d+);48;5;(\d+)m▀", drawn)
    greys = {16, 59, 102, 145, 188, 231, *range(232, 256)}  # the 256-colour greys (cube diagonal and ramp)
    assert pairs and {int(c) for pair in pairs for c in pair} <= greys
    assert {16, 232, 233, 234, 235, 59} & {int(fg) for fg, _bg in pairs}  # dark ink drawn dark


def test_ingest_and_confirmations_name_the_version_to_confirm(site, tmp_path):
    wh = tmp_path / "wh" / "xxgk.duckdb"
    done = xxgk("ingest", "page.html", "--warehouse", str(wh), "--no-docs", cwd=site)
    assert done.returncode == 0, done.stderr[-2000:]
    commands = re.findall(r"xxgk confirm (\S+) (\S+) --value 原件数字", done.stdout)
    assert commands and ("t3.new_received.total" in {a for _v, a in commands})
    version = commands[0][0]
    assert version != "版本号" and {v for v, _a in commands} == {version}
    paths = _paths(done.stdout)
    assert paths and all(p.is_file() and p.parent.parent == wh.parent / "ocr-crops" for p in paths.values())
    listed = xxgk("confirmations", "--warehouse", str(wh), "--crops", str(tmp_path / "c2"), cwd=site)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "没有 OCR 人工确认" in listed.stdout
    assert f"xxgk confirm {version} t3.new_received.total --value 原件数字" in listed.stdout
    assert set(_paths(listed.stdout)) == set(paths) and "▀" not in listed.stdout

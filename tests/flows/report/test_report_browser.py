"""The report in real viewers: the HTML in headless Chromium (screenshot checked for content), the
workbook in headless LibreOffice Calc (printed to PDF, text checked).

Each test skips cleanly when its program is absent (``apt-get install chromium`` /
``apt-get install libreoffice-calc-nogui``).  Chinese text is
rendered with the Noto Sans SC file the charts use, handed to Chromium through a private
fontconfig file, so the screenshot shows characters, not boxes, on a machine without CJK fonts.
The screenshot is kept as ``report-screenshot.png`` in the test's temporary folder for a person to
look at.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import report_world
from PIL import Image

from flows.report.charts import font_path
from flows.report.service import write_folder

world = report_world.world  # the shared warehouse (a session fixture)
report = report_world.report

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--disable-dev-shm-usage",
]


def fontconfig(folder: Path) -> Path:
    """A fontconfig file adding the packaged Chinese font to the system's fonts."""
    font = font_path()
    assert font is not None
    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<dir>{font.parent}</dir><cachedir>{folder / 'fc-cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    return conf


def screenshot(html: Path, out: Path, tmp: Path, size: tuple[int, int] = (1000, 2400)) -> None:
    """Render ``html`` with headless Chromium into the PNG ``out``."""
    env = os.environ | {"FONTCONFIG_FILE": str(fontconfig(tmp)), "HOME": str(tmp)}
    cmd = [
        str(CHROMIUM),
        *FLAGS,
        f"--user-data-dir={tmp / 'profile'}",
        f"--window-size={size[0]},{size[1]}",
        f"--screenshot={out}",
        html.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, timeout=120, check=False)
    assert out.is_file(), proc.stderr.decode(errors="replace")[-2000:]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (apt-get install chromium)")
def test_html_report_renders_in_chromium(report, tmp_path):
    written = write_folder(report, tmp_path / "out")
    shot = tmp_path / "report-screenshot.png"
    screenshot(written["html"], shot, tmp_path)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1000, 2400)
    gray = image.convert("L")
    dark = sum(n for value, n in enumerate(gray.histogram()) if value < 128)
    assert dark > 0.01 * image.width * image.height  # text and charts, not a blank page
    colours = image.resize((250, 600)).getcolors(maxcolors=1 << 16) or []
    assert len(colours) > 200  # the coloured summary boxes, badges and chart images are there
    top = gray.crop((0, 0, 1000, 120))
    assert min(top.getextrema()) < 60  # the heading is drawn at the top


SOFFICE = Path("/usr/bin/soffice")


@pytest.mark.skipif(not SOFFICE.exists(), reason="LibreOffice is absent (apt-get install libreoffice-calc-nogui)")
def test_workbook_opens_in_libreoffice(report, tmp_path):
    """The workbook opens in a real spreadsheet program (LibreOffice Calc, headless) and prints."""
    import pypdfium2

    written = write_folder(report, tmp_path / "out")
    env = os.environ | {"FONTCONFIG_FILE": str(fontconfig(tmp_path)), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [
            str(SOFFICE),
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(written["xlsx"]),
        ],
        env=env,
        capture_output=True,
        timeout=180,
        check=False,
    )
    pdf_path = tmp_path / "report-huaian-2023.pdf"
    assert pdf_path.is_file(), proc.stderr.decode(errors="replace")[-2000:]
    pdf = pypdfium2.PdfDocument(str(pdf_path))
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert len(pdf) >= 4  # 概况, checks, missing/late, the printed tables
    assert "淮安市洪泽区人民政府" in text and "T4_BLOCK_TOTAL" in text
    assert "表四 政府信息公开行政复议、行政诉讼情况" in text

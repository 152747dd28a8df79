"""The report in real viewers: the HTML in headless Chromium (screenshot checked for content), the
workbook in headless LibreOffice Calc (printed to PDF, text checked).

Each test skips cleanly when its program is absent (``apt-get install chromium`` /
``apt-get install libreoffice-calc-nogui``; ``.ci/run`` installs both).  Chromium runs with a private
fontconfig file naming only matplotlib's DejaVu fonts — a fresh container without any CJK font — so
the HTML report's Chinese can only come from the font it embeds; the check compares the heading with
the same page rendered with Noto Sans SC installed (same pixels) and without the embedded font (boxes).
(With no font at all Chromium draws no text, embedded fonts included: one Latin font stands for the
base system.)  LibreOffice gets the packaged Noto Sans SC added to the system fonts.  The screenshot is
kept as ``report-screenshot.png`` in the test's temporary folder for a person to look at.
"""

from __future__ import annotations

import os
import re
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


def font_dirs_config(folder: Path, name: str, dirs: list[Path]) -> Path:
    """A fontconfig file with only the fonts of ``dirs`` (no system fonts)."""
    conf = folder / f"{name}.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        + "".join(f"<dir>{d}</dir>" for d in dirs)
        + f"<cachedir>{folder / 'fc-cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    return conf


def latin_fonts() -> Path:
    """matplotlib's own fonts (DejaVu …): Latin only, present wherever the report runs."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def latin_only(folder: Path) -> Path:
    """A machine without CJK fonts: matplotlib's DejaVu fonts only."""
    return font_dirs_config(folder, "latin", [latin_fonts()])


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


def screenshot(
    html: Path, out: Path, tmp: Path, size: tuple[int, int] = (1000, 2400), fonts: Path | None = None
) -> None:
    """Render ``html`` with headless Chromium into the PNG ``out`` (fonts: a fontconfig file, default
    :func:`latin_only`)."""
    env = os.environ | {"FONTCONFIG_FILE": str(fonts or latin_only(tmp)), "HOME": str(tmp)}
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


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (apt-get install chromium)")
def test_html_report_reads_on_a_machine_without_cjk_fonts(report, tmp_path):
    """The heading drawn with the embedded font is the heading drawn with Noto Sans SC installed, not boxes."""
    from PIL import ImageChops, ImageStat

    html = write_folder(report, tmp_path / "out")["html"]
    page = html.read_text(encoding="utf-8")
    assert page.count("@font-face") == 1
    without = tmp_path / "without-embedded-font.html"
    without.write_text(re.sub(r"<style>@font-face.*?</style>", "", page, flags=re.DOTALL), encoding="utf-8")
    font = font_path()
    assert font is not None
    with_cjk = font_dirs_config(tmp_path, "cjk", [latin_fonts(), font.parent])
    shots = {}
    for name, source, fonts in [
        ("embedded", html, latin_only(tmp_path)),
        ("tofu", without, latin_only(tmp_path)),
        ("reference", without, with_cjk),
    ]:
        screenshot(source, tmp_path / f"{name}.png", tmp_path, (1000, 300), fonts)
        shots[name] = Image.open(tmp_path / f"{name}.png").convert("L").crop((0, 0, 500, 110))  # the heading

    def diff(a: str, b: str) -> float:
        return ImageStat.Stat(ImageChops.difference(shots[a], shots[b])).mean[0]

    assert diff("tofu", "reference") > 5  # without a CJK font the characters are boxes: the check can fail
    assert diff("embedded", "reference") < 1  # with the embedded font they are Noto Sans SC's glyphs


def test_email_html_carries_no_font(report):
    """The e-mail keeps its inline styles and font stack only: mail clients drop @font-face data URIs."""
    from flows.report.service import email_content

    html = email_content(report).html
    assert "@font-face" not in html and "'Noto Sans SC'" in html


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


def test_ci_installs_the_viewers_before_the_readme_test_command():
    """CI runs these tests instead of skipping them: .ci/run installs Chromium and LibreOffice Calc first."""
    root = Path(__file__).resolve().parents[3]
    script = (root / ".ci" / "run").read_text(encoding="utf-8")
    readme = (root / "README.md").read_text(encoding="utf-8")
    (test_command,) = [line for line in readme.splitlines() if "python -m pytest" in line and "pip install" in line]
    install = script.index("apt-get install")
    assert script.rstrip().endswith(test_command) and install < script.index(test_command)
    assert re.search(r"command -v chromium\b.*\bchromium\)", script)
    assert re.search(r"command -v soffice\b.*\blibreoffice-calc-nogui\)", script)
    assert script.count("apt-get install") == 1  # one apt-get line for every program the tests need

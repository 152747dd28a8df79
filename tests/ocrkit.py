"""Scanned fixtures for the OCR tests, made from the project's own sample reports.

A sample PDF is re-rendered with an embedded CJK TrueType font (the bundled sample uses the
non-embedded STSong-Light, which a renderer without CJK fonts draws without its Chinese), then
each page is rasterised with pypdfium2 and degraded like a scan: greyscale, a slight rotation,
scanner speckle, JPEG at 60–75 quality.  The pages are wrapped as an image-only PDF or saved as
PNG/JPEG/TIFF files.  The font comes from a test dependency; without it the OCR tests skip.
"""

from __future__ import annotations

import functools
import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import factory
import pytest


def cjk_font() -> str:
    """Path of a CJK TrueType font shipped by a test dependency (skip the test when absent)."""
    try:
        import paperang_p2_fonts_cjk
    except ImportError:
        pytest.skip("no CJK TrueType font installed (pip install paperang-p2-fonts-cjk)")
    path = Path(paperang_p2_fonts_cjk.__file__).parent / "fonts" / "wqy-microhei.ttc"
    if not path.exists():
        pytest.skip("the CJK font package has no wqy-microhei.ttc")
    return str(path)


def sample(name: str = "xzf-2023.pdf") -> factory.Sample:
    return next(s for s in factory.sample_specs() if s.file == name)


@functools.cache
def text_pdf(name: str = "xzf-2023.pdf") -> bytes:
    """The sample report as a text PDF with its CJK font embedded."""
    s = sample(name)
    assert s.facts is not None
    return factory.render(s.facts, "pdf", **s.opts, font_file=cjk_font())


def render_pages(pdf: bytes, dpi: int) -> list[Any]:
    """Every page of a PDF as a greyscale PIL image at ``dpi``."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L") for i in range(len(doc))]
    finally:
        doc.close()


def degrade(img: Any, *, angle: float = 0.6, quality: int = 68, seed: int = 0, speckle: float = 0.0008) -> Any:
    """A page image as a scanner makes it: rotated by ``angle`` degrees, speckled, JPEG-compressed."""
    from PIL import Image

    rng = random.Random(seed)
    out = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    px = out.load()
    w, h = out.size
    for _ in range(int(w * h * speckle)):
        x, y = rng.randrange(w), rng.randrange(h)
        px[x, y] = rng.choice((0, 40, 90))
    buf = io.BytesIO()
    out.save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


def image_pdf(images: list[Any], dpi: int) -> bytes:
    """An image-only PDF (no text layer): one JPEG page per image, page size from ``dpi``."""
    buf = io.BytesIO()
    first, *rest = [im.convert("L") for im in images]
    first.save(buf, format="PDF", save_all=True, append_images=rest, resolution=float(dpi))
    return buf.getvalue()


def image_bytes(img: Any, fmt: str = "PNG", dpi: int = 200) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, dpi=(dpi, dpi))
    return buf.getvalue()


@functools.cache
def scanned_pdf(name: str = "xzf-2023.pdf", dpi: int = 200, angle: float = 0.6, quality: int = 68) -> bytes:
    """The sample as a scanned, image-only PDF."""
    pages = render_pages(text_pdf(name), dpi)
    return image_pdf([degrade(p, angle=angle * (-1) ** i, quality=quality, seed=i) for i, p in enumerate(pages)], dpi)


def word_box(pdf: bytes, page: int, text: str, row_label: str) -> tuple[float, float, float, float]:
    """Box (x0, top, x1, bottom, in points) of the rightmost word ``text`` on the line of ``row_label``."""
    import pdfplumber

    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        words = doc.pages[page - 1].extract_words()
    label = next(w for w in words if row_label in w["text"])
    same_line = [w for w in words if w["text"] == text and abs(w["top"] - label["top"]) < 6]
    w = max(same_line, key=lambda w: w["x0"])
    return (w["x0"], w["top"], w["x1"], w["bottom"])


def overprint(img: Any, box_pt: tuple[float, float, float, float], dpi: int, text: str, part: float = 0.5) -> Any:
    """The page with the right ``part`` of a printed word replaced by ``text`` (a deliberately
    damaged digit: a confident misread that the report's identities must catch)."""
    from PIL import ImageDraw, ImageFont

    out = img.copy()
    k = dpi / 72
    x0, top, x1, bottom = (v * k for v in box_pt)
    left = x1 - (x1 - x0) * part
    draw = ImageDraw.Draw(out)
    draw.rectangle([left, top - 1, x1 + 1, bottom + 1], fill=255)
    font = ImageFont.truetype(cjk_font(), size=int(bottom - top))
    draw.text((left, top), text, fill=0, font=font)
    return out


def parse_in_child(data: bytes, name: str, tmp_path: Path, parse_seconds: float = 1800.0) -> dict[str, Any]:
    """``parse_bytes`` of ``data`` in a fresh interpreter, its result as a dict (within ``parse_seconds``:
    by default far above what OCR takes even on a loaded machine, as these tests are about what is read).

    OCR raises a process's peak memory by several hundred MB (the engine's tensors); a child keeps
    it out of the test process, whose peak every later child started with vfork inherits (the
    memory-bound parsing tests measure exactly that peak).
    """
    path = tmp_path / name
    path.write_bytes(data)
    script = (
        "import json, sys\nfrom sources.parsing.limits import ReadLimits\n"
        "from sources.parsing.parse import parse_path\n"
        "print(json.dumps(parse_path(sys.argv[1], ReadLimits(parse_seconds=float(sys.argv[2])))))\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), str(parse_seconds)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def grid_image(grid: Any, *, size: int = 16, row_height: int = 34) -> Any:
    """A statutory table (``factory`` grid: merged cells as printed) drawn as a screenshot would show it:
    black rules on white, labels left, figures centred, greyscale PIL image."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(cjk_font(), size=size)
    cells = factory.place(grid)
    widths = [70] * grid.ncols
    for _r, c, cell in cells:
        if cell.colspan == 1:
            longest = max((font.getlength(t) for t in cell.text.split("\n")), default=0)
            widths[c] = max(widths[c], int(longest) + 24)
    xs = [10]
    for w in widths:
        xs.append(xs[-1] + w)
    heights = [
        row_height * max(1, max((cell.text.count("\n") + 1 for r2, _c, cell in cells if r2 == r), default=1))
        for r in range(len(grid.rows))
    ]
    ys = [10]
    for h in heights:
        ys.append(ys[-1] + h)
    img = Image.new("L", (xs[-1] + 10, ys[-1] + 10), 255)
    draw = ImageDraw.Draw(img)
    for r, c, cell in cells:
        x0, x1 = xs[c], xs[min(c + cell.colspan, grid.ncols)]
        y0, y1 = ys[r], ys[min(r + cell.rowspan, len(grid.rows))]
        draw.rectangle([x0, y0, x1, y1], outline=0, width=2)
        lines = cell.text.split("\n") if cell.text else []
        for i, line in enumerate(lines):
            w = font.getlength(line)
            x = x0 + 10 if cell.kind != "value" and w + 20 < x1 - x0 else x0 + (x1 - x0 - w) / 2
            y = y0 + (y1 - y0) / 2 - len(lines) * size * 0.65 + i * size * 1.3
            draw.text((x, y), line, fill=0, font=font)
    return img


def html_with_table_image(facts: dict[str, Any], table: str = "t3", src: str = "t3.png") -> tuple[bytes, bytes]:
    """The report as an HTML page whose ``table`` (t2/t3/t4) is an ``<img src>`` (a screenshot), and the PNG."""
    import re

    html = factory.render(facts, "html").decode("utf-8")
    spans = [(m.start(), html.index("</table>", m.start()) + len("</table>")) for m in re.finditer("<table", html)]
    start, end = spans[{"t2": 0, "t3": 1, "t4": 2}[table]]
    page = html[:start] + f'<p><img src="{src}" alt="表格"></p>' + html[end:]
    png = image_bytes(grid_image(factory.grids(facts["cells"])[table]), "PNG")
    return page.encode("utf-8"), png


def docx_with_table_picture(
    facts: dict[str, Any], table: str = "t3", picture_cells: dict[str, Any] | None = None
) -> bytes:
    """The report as a DOCX whose ``table`` (t2/t3/t4) is a picture pasted where the table stood (drawn
    from ``picture_cells`` when given: a picture printing other figures than the facts)."""
    import docx
    from docx.shared import Cm

    document = docx.Document(io.BytesIO(factory.render(facts, "docx")))
    tbl = document.tables[{"t2": 0, "t3": 1, "t4": 2}[table]]
    png = image_bytes(grid_image(factory.grids(picture_cells or facts["cells"])[table]), "PNG")
    paragraph = document.add_paragraph()
    paragraph.add_run().add_picture(io.BytesIO(png), width=Cm(16))
    tbl._element.addprevious(paragraph._element)
    tbl._element.getparent().remove(tbl._element)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()

"""OCR cells a person must look at, in the terminal: the crop of the page image beside the value read,
and the ``xxgk confirm`` command to record what the page prints.

Each crop (the greyscale PNG cut at parse time, ``ocr.crop``) is written as a PNG file the user
can open, and printed inline with Unicode half blocks when stdout is a terminal: one character
cell shows two pixels, the upper one as the foreground of ``▀`` and the lower one as its
background, in 24-bit greys (rich lowers them to the 256-colour grey ramp or fewer on terminals
that have less).  Captured or piped output gets the path only, unless the inline images are asked for.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.style import Style
from rich.text import Text

from sources import chinese

#: An inline crop is at most this many character cells wide (a crop is at most 360 px wide).
INLINE_COLUMNS = 48
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

CropsOpt = Annotated[
    Path | None,
    typer.Option(
        "--crops",
        help="Folder the images of OCR cells to check are written to, as PNG files "
        "(default: ocr-crops in the current folder; for warehouse commands next to the warehouse).",
    ),
]
InlineOpt = Annotated[
    bool | None,
    typer.Option(
        "--inline-crops/--no-inline-crops",
        help="Draw those images in the terminal with half-block characters (default: when stdout is a terminal).",
    ),
]


@dataclass(frozen=True)
class PendingCell:
    """One OCR cell to compare with the page image: where it is, what OCR read, its image, and the
    report version to name in ``xxgk confirm`` (None when the document is not in a warehouse)."""

    address: str
    text: str | None  # as OCR read it
    status: str  # unverified | low_confidence | unreadable
    page: int | None
    crop: bytes | None  # PNG
    version_id: str | None = None
    label: str | None = None


def pending_cells(result: dict[str, Any], version_id: str | None = None) -> list[PendingCell]:
    """The OCR cells of one parse result (the ``xxgk parse`` JSON) whose status is not ``ok``."""
    out = []
    for cell in result.get("cells") or []:
        ocr = cell.get("ocr") or {}
        if ocr and ocr.get("status") not in ("ok", "confirmed", None):
            crop = ocr.get("crop")
            out.append(
                PendingCell(
                    cell["address"],
                    ocr.get("text"),
                    ocr["status"],
                    ocr.get("page"),
                    base64.b64decode(crop) if crop else None,
                    version_id,
                    cell.get("label"),
                )
            )
    return out


def from_warehouse(row: dict[str, Any]) -> PendingCell:
    """A cell of :func:`warehouse.confirmations.pending_cells` as a :class:`PendingCell`."""
    ocr = row.get("ocr") or {}
    crop = ocr.get("crop")
    return PendingCell(
        row["address"],
        ocr.get("text"),
        row["status"],
        ocr.get("page"),
        base64.b64decode(crop) if crop else None,
        row["version_id"],
        row.get("label"),
    )


def show_inline(console: Console, inline: bool | None) -> bool:
    """Whether to draw crops in the terminal: as asked, else only when the console is a terminal."""
    return console.is_terminal if inline is None else inline


def half_blocks(png: bytes, columns: int = INLINE_COLUMNS) -> Text:
    """A PNG as rich text of ``▀`` characters: at most ``columns`` wide, one character per two pixel
    rows of the image scaled to that width (aspect kept: a character cell is about twice as tall as
    wide), the upper pixel as foreground and the lower one as background, in 24-bit grey."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    width = max(1, min(columns, image.width))
    height = max(2, round(image.height * width / image.width))
    height += height % 2
    grey = image.resize((width, height), Image.Resampling.BOX).tobytes()  # one byte per pixel, row by row
    text = Text()
    for y in range(0, height, 2):
        for x in range(width):
            top, bottom = grey[y * width + x], grey[(y + 1) * width + x]
            text.append("▀", Style(color=f"rgb({top},{top},{top})", bgcolor=f"rgb({bottom},{bottom},{bottom})"))
        if y + 2 < height:
            text.append("\n")
    return text


def crop_path(folder: Path, cell: PendingCell, document: str | None = None) -> Path:
    """Where the crop of ``cell`` is written: ``folder/<version or document>/<address>.png``."""
    group = cell.version_id or Path(document or "document").name
    return folder / _UNSAFE.sub("_", group) / f"{_UNSAFE.sub('_', cell.address)}.png"


def confirm_command(cell: PendingCell) -> str:
    """The ``xxgk confirm`` command a reviewer completes with the figure printed on the image."""
    return chinese.confirm_command(cell.version_id, cell.address)


def print_pending(
    console: Console,
    cells: Iterable[PendingCell],
    folder: Path,
    *,
    inline: bool,
    document: str | None = None,
) -> list[Path]:
    """Print each cell to check (address, status, value read, crop file, the crop inline when
    ``inline``, the confirm command); write its crop under ``folder``; return the files written."""
    cells = list(cells)
    if not cells:
        return []
    written: list[Path] = []
    console.print(f"[bold]OCR 待核对单元格（{len(cells)} 个）[/]：请对照原图，用下面的命令记录原件上的数字")
    for cell in cells:
        read = f"“{cell.text}”" if cell.text else "（未识别出内容）"
        where = f"第 {cell.page} 幅/页，" if cell.page else ""
        console.print(
            f"• [bold]{escape(cell.address)}[/] {escape(cell.label or '')}  {where}"
            f"{chinese.OCR_STATUS.get(cell.status, cell.status)}；OCR 识别为 {escape(read)}",
            highlight=False,
        )
        if cell.crop is not None:
            path = crop_path(folder, cell, document)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(cell.crop)
            written.append(path)
            console.print(f"  原图：{escape(str(path))}", highlight=False, soft_wrap=True)
            if inline:
                console.print(half_blocks(cell.crop))
        else:
            console.print("  原图：（无截图）", highlight=False)
        console.print(f"  核对后：{escape(confirm_command(cell))}", highlight=False, soft_wrap=True)
    if not any(c.version_id for c in cells):
        console.print("[dim]版本号：用 xxgk ingest 入库后由 xxgk status 或入库结果给出[/]")
    return written

"""The Chinese font the HTML report carries inside itself, so it reads on a machine without CJK fonts.

A Linux server or a fresh container has no Chinese font: the HTML report opened there showed a box for
every character.  :func:`font_face_css` subsets Noto Sans SC of the ``pylopdf-fonts-zh-cn`` package
(SIL OFL, the font the charts are drawn with) to the characters of one page with fontTools, and returns
an ``@font-face`` rule with the subset as a base64 ``data:`` URI (WOFF2 when brotli is installed,
else WOFF) under the family :data:`FAMILY`, which the page's font stack names first.

The folder output embeds it (a few hundred characters: ~100–200 KB); the e-mail does not — mail
clients drop ``@font-face`` rules with data URIs, and the recipients' machines have Chinese fonts —
so the message stays small and renders with the font stack as before.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
from pathlib import Path

log = logging.getLogger(__name__)

FAMILY = "xxgk Noto Sans SC"
# Always in the subset: what the page's markup and numbers may show beside the text (ASCII, punctuation).
_ALWAYS = "".join(chr(c) for c in range(0x20, 0x7F)) + "，。、；：？！“”‘’（）《》【】—…·％～"


def packaged_font() -> Path | None:
    """The Noto Sans SC file of ``pylopdf-fonts-zh-cn`` (None when the package is absent)."""
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        return None
    path = Path(pylopdf_fonts_zh_cn.sans_path())
    return path if path.is_file() else None


def _flavor() -> str:
    try:
        import brotli  # noqa: F401 - fontTools needs it for WOFF2
    except ImportError:
        return "woff"
    return "woff2"


@functools.lru_cache(maxsize=8)
def subset_font(characters: str) -> tuple[bytes, str] | None:
    """(font bytes, ``woff2`` | ``woff``): the packaged font reduced to ``characters`` (None without
    fontTools or the font)."""
    path = packaged_font()
    if path is None:
        return None
    try:
        from fontTools import subset
    except ImportError:
        return None
    flavor = _flavor()
    options = subset.Options()
    options.flavor = flavor
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    font = subset.load_font(str(path), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(font)
    buf = io.BytesIO()
    subset.save_font(font, buf, options)
    return buf.getvalue(), flavor


def font_face_css(text: str) -> str:
    """An ``@font-face`` rule for :data:`FAMILY` holding the glyphs of every character of ``text``
    ("" when the font or fontTools is unavailable: the page then uses the font stack alone)."""
    characters = "".join(sorted(set(text) | set(_ALWAYS)))
    try:
        found = subset_font(characters)
    except Exception:  # a broken font file must not stop the report
        log.exception("the Chinese font could not be embedded")
        return ""
    if found is None:
        return ""
    data, flavor = found
    uri = f"data:font/{flavor};base64,{base64.b64encode(data).decode('ascii')}"
    return f"@font-face{{font-family:'{FAMILY}';src:url({uri}) format('{flavor}');font-display:block}}"

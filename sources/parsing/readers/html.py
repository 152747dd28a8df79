"""HTML reports → :class:`~sources.parsing.document.Document`.

Decoding follows the browser order: byte-order mark, the HTTP ``Content-Type`` charset, ``<meta
charset>`` / ``<meta http-equiv=Content-Type>`` (or an XML declaration), else detection (UTF-8, then
GB18030 / Big5 chosen by how common the decoded characters are, then charset-normalizer).  GBK and
GB2312 labels decode as GB18030 (their superset); Big5 as Big5-HKSCS / CP950.  A declaration the
bytes contradict, an unknown label or undeclared non-UTF-8 bytes give an ``encoding_guessed`` issue.

The tree is built with ``lxml.html`` directly and walked once, producing both the reading-order
text and the table rows (about 7 ms in all for the 120 KB pingtan-2023 page; building a
BeautifulSoup tree of it alone takes about 26 ms):

* text: script/style/head/nav and site boilerplate (header, footer, menus, breadcrumbs, search
  boxes, recognised by tag, ARIA role or class/id) are dropped; block elements end lines; a table
  row becomes one line with its cells joined by tabs.
* rows: each ``<tr>`` of each table gives a :class:`~sources.parsing.document.Row` of its physical cells
  (every ``<td>``/``<th>`` once: no repetition for rowspan/colspan), ``table`` numbering tables in
  document order (outer before inner), ``line`` the 1-based row index inside its table.  A nested
  table is never part of its outer cell's text: its rows follow the outer row as their own rows.
  An outer row is dropped when, without the nested tables, it is empty or it is page layout (a
  cell of long multi-line text and no figure in the row), so a layout table never yields a giant
  cell holding the whole report.  Markdown pipe tables in the text (a converter's export pasted into
  ``<p>``/``<pre>``) are read by :mod:`sources.parsing.readers.pipes`; their rows follow the HTML ones.

(Over 500 lines: decoding (:func:`decode_html`, about 260 lines, also used by the fetcher's page
analysis) and the one walk over the tree are the two halves of reading an HTML page; the decoding is
the seam to split along, left for when this reader is not being reworked by other changes.)
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import lxml.html
from lxml import etree

from sources.parsing.document import Document, Issue, Row, UnreadableDocument
from sources.parsing.labels import clean_lines
from sources.parsing.limits import DEFAULT_LIMITS, ReadLimits
from sources.parsing.readers import body_images, is_layout_row, wide_encoding
from sources.parsing.readers.body_images import BodyImages, ImageResolver
from sources.parsing.readers.pipes import has_pipe_table, pipe_rows

# --------------------------------------------------------------------------------------- encoding

_GB_LABELS = {
    "gb2312",
    "gbk",
    "gb18030",
    "cp936",
    "ms936",
    "windows-936",
    "euc-cn",
    "euccn",
    "x-euc-cn",
    "x-gbk",
    "gb_2312-80",
    "gb_2312",
    "iso-ir-58",
    "chinese",
    "csgb2312",
    "csiso58gb231280",
    "gb-2312",
}
_BIG5_LABELS = {
    "big5",
    "big-5",
    "big5-hkscs",
    "big5hkscs",
    "cp950",
    "ms950",
    "windows-950",
    "x-x-big5",
    "csbig5",
    "cn-big5",
    "x-big5",
    "big5_hkscs",
}
_UTF8_LABELS = {"utf-8", "utf8", "unicode-1-1-utf-8", "x-unicode20utf8", "unicode20utf8"}
# Single-byte labels that Chinese sites often declare by mistake (templates copied from elsewhere).
_SINGLE_BYTE = {"latin_1", "iso8859-1", "cp1252", "ascii", "iso8859-15", "cp1250", "cp1251"}

_CHARSET_PARAM = re.compile(rb"""charset\s*=\s*["']?\s*([-\w.:]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([-\w.:]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([-\w.:]+)["']""", re.I)
_XML_DECL_STR = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)

# Very frequent characters of Chinese government prose, in simplified and traditional forms: text
# decoded with the wrong double-byte codec turns into rare characters, kana and box drawing instead.
_COMMON = frozenset(
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种"
    "面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去"
    "把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反明看原又么利比或但质"
    "第向道命此变条只没结解问意建月公无系很情者最立代想已通并提直题党程展五果料象员位入常文总次品式活设及管"
    "特件长求基资边流路级少图统接知较将组见计别期根论运指几九区强放决被做必先回则任取据处给门即保治北造百规"
    "领七海口东导压志世金增争济术交受联认六共权收证改清美再采转更单切打教速带安场身例真务具万每目至达走积示"
    "议报完类八名确才科张信节话整空元况今集传许步群广记需段研界律究观越装算低持音众书布复容须际商非验连断深"
    "难近千周委素技备半办青省列习响约支般史感便团往历市何除消构府称准精值号率族维划选标写存候亲效院查型按格"
    "养易置派层片始专状育识适属包住调满县局照参细引听该价严申请答诉讼罚许审批依予诺告年度报告信息公开政府"
    "這個為們來時會發動對說產種後學經進著電裡現實數業與關間義樣處區將見計別論運幾強決則據給門規領導壓術聯認"
    "權證條單張應員問題黨報類離華確許書復際驗難連斷級圖統較過長頭資邊從當體機點還氣質變結無係軍變參價嚴辦務"
    "紀錄請訴訟議縣區處罰許審批覆訊開"
)


def _canonical_encoding(label: str | bytes | None) -> str | None:
    """A charset label → the Python codec to decode with (GBK family → gb18030, Big5 family → big5)."""
    if label is None:
        return None
    if isinstance(label, bytes):
        label = label.decode("ascii", "ignore")
    name = label.strip().strip("\"'").lower()
    if not name:
        return None
    if name in _GB_LABELS:
        return "gb18030"
    if name in _BIG5_LABELS:
        return "big5"
    if name in _UTF8_LABELS:
        return "utf-8"
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    if codec in ("gbk", "gb2312", "gb18030"):
        return "gb18030"
    if codec in ("big5", "big5hkscs", "cp950"):
        return "big5"
    if codec == "latin-1" or codec == "iso8859-1":
        return "cp1252"  # WHATWG: the latin-1 label means windows-1252
    return codec


def _decode_strict(data: bytes, encoding: str) -> str | None:
    """Decode or return None; Big5 tries the HKSCS and Microsoft variants; a cut last char is tolerated."""
    codecs_to_try = ("big5hkscs", "cp950") if encoding == "big5" else (encoding,)
    for codec in codecs_to_try:
        try:
            return data.decode(codec)
        except UnicodeDecodeError as exc:
            # A file cut inside its last multi-byte character is still that encoding.
            if exc.start >= len(data) - 3 and exc.end == len(data):
                try:
                    return data[: exc.start].decode(codec) + "\ufffd"
                except UnicodeDecodeError:
                    pass
        except LookupError:
            return None
    return None


def _common_score(text: str) -> float:
    """Share of non-ASCII characters that are frequent Chinese characters (0..1)."""
    total = hits = 0
    for ch in text:
        if ch > "\x7f":
            total += 1
            if ch in _COMMON:
                hits += 1
            if total >= 20000:
                break
    return hits / total if total else 0.0


def _nearly(data: bytes, encoding: str) -> str | None:
    """Decoded with replacement when only a few bytes are bad (a damaged character or two), else None."""
    codec = "big5hkscs" if encoding == "big5" else encoding
    try:
        text = data.decode(codec, errors="replace")
    except LookupError:
        return None
    bad = text.count("\ufffd")
    return text if bad <= max(3, len(text) // 1000) else None


def _detect(data: bytes) -> tuple[str, str, bool]:
    """Undeclared bytes → (text, codec, confident)."""
    if data.isascii():
        return data.decode("ascii"), "ascii", True
    text = _decode_strict(data, "utf-8")
    if text is not None:
        return text, "utf-8", True
    text = _nearly(data, "utf-8")  # UTF-8 is structured: other encodings give many bad sequences
    if text is not None:
        return text, "utf-8", False
    candidates = []
    for enc in ("gb18030", "big5"):
        decoded = _decode_strict(data, enc)
        if decoded is not None:
            candidates.append((_common_score(decoded), enc, decoded))
    if candidates:
        candidates.sort(key=lambda c: c[0], reverse=True)  # stable: gb18030 wins ties
        score, enc, decoded = candidates[0]
        return decoded, enc, score >= 0.3
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
    except Exception:  # pragma: no cover - detector failure is not fatal
        best = None
    if best is not None and best.encoding:
        enc = _canonical_encoding(best.encoding) or best.encoding
        return data.decode(enc if enc != "big5" else "big5hkscs", errors="replace"), enc, False
    return data.decode("gb18030", errors="replace"), "gb18030", False


def _declared_meta(data: bytes) -> str | None:
    head = data[:16384]
    m = _XML_DECL.match(head)
    if m:
        return m.group(1).decode("ascii", "ignore")
    m = _META_CHARSET.search(head)
    return m.group(1).decode("ascii", "ignore") if m else None


def decode_html(data: bytes, content_type: str | None = None) -> tuple[str, str, list[Issue]]:
    """HTML bytes → (text, codec used, issues)."""
    issues: list[Issue] = []
    wide = wide_encoding(data)  # UTF-16/32, with or without a byte-order mark: the bytes say it all
    known = (
        (len(codecs.BOM_UTF8), "utf-8") if data.startswith(codecs.BOM_UTF8) else (wide[1], wide[0]) if wide else None
    )
    if known is not None:
        skip, enc = known
        body = data[skip:]
        text = _decode_strict(body, enc)
        if text is None:
            text = body.decode(enc, errors="replace")
            issues.append(
                Issue(
                    "encoding_guessed",
                    "warning",
                    f"bytes are not valid {enc} despite the byte-order mark; undecodable bytes were replaced",
                )
            )
        elif wide and not skip:
            issues.append(Issue("encoding_guessed", "info", f"no byte-order mark; the bytes read as {enc}"))
        return text, enc, issues

    declared: list[tuple[str, str]] = []  # (where, label)
    if content_type:
        m = _CHARSET_PARAM.search(content_type.encode("latin-1", "ignore"))
        if m:
            declared.append(("HTTP header", m.group(1).decode("ascii", "ignore")))
    meta = _declared_meta(data)
    if meta:
        declared.append(("document", meta))

    notes: list[str] = []  # why a declaration was not used
    tried: list[str] = []
    for where, label in declared:
        canonical = _canonical_encoding(label)
        if canonical is None:
            notes.append(f"unknown charset {label!r} declared in the {where}")
            continue
        enc = canonical
        if where == "document" and (enc.startswith("utf-16") or enc.startswith("utf-32")):
            enc = "utf-8"  # a meta can't declare UTF-16 (WHATWG): the bytes are ASCII-compatible
        if enc in tried:
            continue
        tried.append(enc)
        if enc in _SINGLE_BYTE and not data.isascii():
            # Chinese pages declaring latin-1/windows-1252 are nearly always wrong: check the bytes.
            text, found, confident = _detect(data)
            if found in ("utf-8", "gb18030", "big5") and confident:
                notes.append(f"the {where} declares {label!r} but the bytes read as {found}")
                issues.append(Issue("encoding_guessed", "warning", "; ".join(notes) + f"; decoded as {found}"))
                return text, found, issues
        text = _decode_strict(data, enc)
        if text is not None:
            if notes:
                issues.append(
                    Issue(
                        "encoding_guessed",
                        "warning",
                        "; ".join(notes) + f"; decoded as {enc} (declared in the {where})",
                    )
                )
            return text, enc, issues
        notes.append(f"the {where} declares {label!r} but the bytes are not valid {enc}")

    text, enc, confident = _detect(data)
    if not confident and tried:
        # Neither the declaration nor detection fits every byte: the declaration with a few bytes
        # replaced beats a guess.
        nearly = _nearly(data, tried[0])
        if nearly is not None:
            text, enc = nearly, tried[0]
    if notes:
        issues.append(Issue("encoding_guessed", "warning", "; ".join(notes) + f"; detected and decoded as {enc}"))
    elif not confident or enc not in ("ascii", "utf-8"):
        issues.append(
            Issue(
                "encoding_guessed",
                "info" if confident else "warning",
                f"no charset declared; detected and decoded as {enc}",
            )
        )
    if "\ufffd" in text and "\ufffd" not in data.decode("utf-8", "ignore"):
        issues.append(Issue("encoding_guessed", "warning", "some bytes could not be decoded and were replaced"))
    return text, enc, issues


# ------------------------------------------------------------------------------------------ walk

_DROP_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "head",
        "title",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "svg",
        "math",
        "canvas",
        "select",
        "option",
        "optgroup",
        "button",
        "input",
        "textarea",
        "map",
        "audio",
        "video",
        "source",
        "track",
        "nav",
        "link",
        "meta",
        "base",
        "datalist",
    }
)
_BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "html",
        "li",
        "main",
        "menu",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "ul",
        "caption",
        "legend",
        "listing",
        "xmp",
        "plaintext",
        "marquee",
        "noframes",
    }
)
_CELL_TAGS = ("td", "th")
_PRE_TAGS = frozenset({"pre", "listing", "plaintext", "xmp"})
_SECTION_TAGS = ("thead", "tbody", "tfoot")
_BOILER_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "menu", "menubar"})
# Site chrome by class/id token: "header", "site-footer", "menu_base", "copyright_info"; an article's
# own parts ("article-header", "detail_footer") are not matched (they hold the title and the date).
_BOILER_TOKEN = re.compile(
    r"^(?:(?:site|page|top|global|common|web|g|m|main)[-_])?"
    r"(?:header|footer|foot|nav|navbar|navigation|menu|submenu|breadcrumbs?|crumbs?|sidebar|share|"
    r"copyright|search|searchbar|topbar|toolbar)(?:[-_][a-z0-9]+)?$"
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_STATUTORY_HINT = ("第二十条", "行政复议", "自然人", "申请人", "本年新收", "办理结果")
_WS = re.compile(r"[ \t\n\r\f\v]+")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_INVISIBLE.update({0xA0: " ", 0x2002: " ", 0x2003: " ", 0x2009: " ", 0x202F: " "})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _ws(text: str) -> str:
    return _WS.sub(" ", text.translate(_INVISIBLE))


def _ws_pre(text: str) -> str:
    return text.translate(_INVISIBLE).replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")


def _boiler_candidate(el) -> bool:
    """Whether ``el`` may be site chrome by its ARIA role or a class/id token (the tags header, footer
    and aside aside)."""
    if el.get("role") in _BOILER_ROLES:
        return True
    names = (el.get("class") or "") + " " + (el.get("id") or "")
    return bool(names.strip()) and any(_BOILER_TOKEN.match(tok) for tok in names.lower().split())


def _is_hidden(el) -> bool:
    if el.get("hidden") is not None or el.get("aria-hidden") == "true":
        return True
    style = el.get("style")
    if not style:
        return False
    # Most styled cells hide nothing: a match needs "none" or the "dden" of "hidden" (letters with
    # no other case-insensitive match), found far faster than by the regex over every long style.
    low = style.lower()
    return ("none" in low or "dden" in low) and bool(_HIDDEN_STYLE.search(style))


@dataclass
class _Walker:
    body_len: int
    rows: list[Row] = field(default_factory=list)
    tables: int = 0
    pre: int = 0  # inside <pre>: source line breaks are kept
    images: BodyImages | None = None  # set: <img> of the body are read by OCR where they stand

    # -- boilerplate ---------------------------------------------------------------------------
    def _is_boilerplate(self, el, tag: str) -> bool:
        candidate = False
        if tag in ("header", "footer", "aside"):
            candidate = not any(a.tag in ("article", "main") for a in el.iterancestors())
        if not candidate:
            candidate = _boiler_candidate(el)
        if not candidate:
            return False
        # Safety: never drop the report itself (a statutory table, a report heading, most of the page).
        text = el.text_content()
        if len(text) > 0.4 * self.body_len:
            return False
        for table in el.iter("table"):
            table_text = table.text_content()
            if any(h in table_text for h in _STATUTORY_HINT):
                return False
        for h in el.iter("h1", "h2", "h3"):
            if "报告" in h.text_content():
                return False
        return True

    # -- generic rendering ---------------------------------------------------------------------
    def children(self, el, out: list[str], doc: bool) -> None:
        ws = _ws_pre if self.pre else _ws
        if el.text:
            out.append(ws(el.text))
        for child in el:
            self.node(child, out, doc)
            if child.tail:
                out.append(ws(child.tail))

    def node(self, el, out: list[str], doc: bool) -> None:
        """Render one element (not its tail).  ``doc``: tables emit rows; else (cell text) tables are skipped."""
        tag = el.tag
        if not isinstance(tag, str):
            return
        tag = tag.lower()
        if tag in _DROP_TAGS or _is_hidden(el):
            return
        if tag == "br":
            out.append("\n")
            return
        if tag == "img" and doc and self.images is not None:
            self.tables += self.images.read(el.get("src") or "", self.tables, out, self.rows)
            return
        if tag == "table":
            if doc and not self._is_boilerplate(el, tag):
                self.table(el, out)
            return
        if doc and tag in _BLOCK_TAGS and tag not in ("html", "body") and self._is_boilerplate(el, tag):
            return
        if tag == "tr" and doc:  # a row outside any table (broken markup): a one-row table
            self.tables += 1
            self.row(el, out, self.tables - 1, 1)
            return
        if tag in _PRE_TAGS:
            self.pre += 1
            out.append("\n")
            self.children(el, out, doc)
            out.append("\n")
            self.pre -= 1
            return
        if tag in _BLOCK_TAGS or tag in _CELL_TAGS or tag == "tr":
            out.append("\n")
            self.children(el, out, doc)
            out.append("\n")
            return
        self.children(el, out, doc)

    # -- tables --------------------------------------------------------------------------------
    def table(self, table, out: list[str]) -> None:
        index = self.tables
        self.tables += 1
        out.append("\n")
        line = 0
        # Own rows in order, through thead/tbody/tfoot; anything else inside the table is a block.
        stack = [iter(table)]
        if table.text and table.text.strip():
            out.append(_ws(table.text) + "\n")
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                continue
            tag = child.tag.lower() if isinstance(child.tag, str) else None
            if tag == "tr":
                line += 1
                self.row(child, out, index, line)
            elif tag in _SECTION_TAGS:
                if not _is_hidden(child):
                    stack.append(iter(child))
            elif tag in ("colgroup", "col"):
                pass
            elif tag is not None:
                out.append("\n")
                self.node(child, out, True)
                out.append("\n")
            if child.tail and child.tail.strip():
                out.append(_ws(child.tail) + "\n")
        out.append("\n")

    def cell_text(self, cell) -> str:
        parts: list[str] = []
        self.children(cell, parts, doc=False)
        return "\n".join(clean_lines("".join(parts)))

    def row(self, tr, out: list[str], table: int, line: int) -> None:
        if _is_hidden(tr):
            return
        cells = [c for c in tr if isinstance(c.tag, str) and c.tag.lower() in _CELL_TAGS and not _is_hidden(c)]
        texts = [self.cell_text(c) for c in cells]
        nested = tr.find(".//table") is not None
        layout = is_layout_row(texts)
        if cells and not layout and not (nested and not any(texts)):
            self.rows.append(Row(cells=tuple(texts), line=line, table=table))
        if not nested and not layout:
            out.append("\n" + "\t".join(t.replace("\n", " ") for t in texts) + "\n")
            return
        # Layout row or a row holding tables: its content as blocks, nested tables in place.
        for cell in cells:
            out.append("\n")
            self.children(cell, out, doc=True)
            out.append("\n")


# ------------------------------------------------------------------------------------------- API


def _title(root) -> str | None:
    for el in root.iter("title"):
        title = " ".join(_ws(el.text_content()).split())
        if title:
            return title
    for el in root.iter("h1", "h2"):
        title = " ".join(_ws(el.text_content()).split())
        if title:
            return title
    return None


# Tags kept when flattening deep nesting: the table structure, elements whose end tag is optional
# (libxml2 closes them itself) and elements whose content is not markup.
_FLATTEN_KEEP = frozenset(
    {"html", "head", "body", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "colgroup", "p"}
    | {"li", "dt", "dd", "option", "optgroup", "script", "style", "textarea", "title", "xmp", "plaintext"}
)
_VOID_TAGS = frozenset(
    {"area", "base", "basefont", "br", "col", "embed", "frame", "hr", "img", "input", "keygen", "link", "meta"}
    | {"param", "source", "track", "wbr"}
)
_TAG = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][A-Za-z0-9:-]*)(?=[\s/>])[^>]*>", re.S)


def flatten_nesting(text: str, depth: int) -> str:
    """HTML text with wrapper elements nested deeper than ``depth`` removed, their content kept.

    libxml2 stops building the tree at 256 levels (and raising that limit lets hostile input cost
    unbounded memory), so a real report wrapped in thousands of ``<div>``/``<span>``/``<font>`` would
    lose its tables.  Removing the surplus wrapper tags keeps all the text and every table: a
    removed block element becomes a ``<br>`` so that its lines stay apart.  A single pass over
    the tags with an explicit stack (no recursion).
    """
    stack: list[tuple[str, bool]] = []  # open wrapper elements: (name, removed)
    out: list[str] = []
    pos = 0
    for m in _TAG.finditer(text):
        closing, name = m.group(1), (m.group(2) or "").lower()
        if not name or name in _FLATTEN_KEEP or name in _VOID_TAGS:
            continue
        replacement: str | None = None
        if closing:
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] == name:
                    removed = stack[i][1]
                    del stack[i:]  # elements left open inside are closed by this end tag
                    if removed:
                        replacement = "<br>" if name in _BLOCK_TAGS else ""
                    break
        else:
            removed = len(stack) >= depth
            stack.append((name, removed))
            if removed:
                replacement = "<br>" if name in _BLOCK_TAGS else ""
        if replacement is not None:
            out.append(text[pos : m.start()])
            out.append(replacement)
            pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def _parse_tree(text: str):
    """The lxml tree of HTML text, and whether libxml2 stopped at its nesting limit."""
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    root = lxml.html.document_fromstring(text.encode("utf-8", "surrogatepass"), parser=parser)
    too_deep = any(e.type_name == "ERR_RESOURCE_LIMIT" or "Excessive depth" in e.message for e in parser.error_log)
    return root, too_deep


@dataclass
class _Page:
    """One read of an HTML page: the document of its own text and tables, and the parsed ``<body>``
    (``None`` when the page has no element at all) with its text length, for a second walk."""

    doc: Document
    body: Any = None
    body_len: int = 0

    def image_sources(self) -> list[str]:
        """The ``src`` of every ``<img>`` of the body, as written, in document order."""
        body = self.body
        return [img.get("src") or "" for img in body.iter("img")] if body is not None else []


def _page_tree(data: bytes, content_type: str | None, limits: ReadLimits) -> tuple[Any, list[Issue]]:
    """The page decoded and parsed (wrappers past ``html_depth`` flattened): its root element, ``None``
    when it has no element at all, and the decoding issues."""
    if not data:
        raise UnreadableDocument("empty_file", "the file is empty (0 bytes): re-download it")
    limits.check_size(len(data), limits.text_bytes, "HTML 文件")
    text, _encoding, issues = decode_html(data, content_type)
    text = _CONTROL.sub("", _XML_DECL_STR.sub("", text, count=1))
    if not text.strip():
        return None, issues
    try:
        root, too_deep = _parse_tree(text)
        if too_deep:
            limits.check_time("展平 HTML 嵌套")
            root, too_deep = _parse_tree(flatten_nesting(text, limits.html_depth))
    except (etree.ParserError, ValueError):
        # libxml2 finds no element at all (e.g. only a doctype): nothing visible to read.
        return None, issues
    if too_deep:
        raise UnreadableDocument(
            "too_deep", "HTML 表格嵌套过深（超过 256 层），无法读取：请人工检查或索取其他格式的报告"
        )
    limits.check_time("解析 HTML")
    return root, issues


def _body(root: Any) -> Any:
    """The element the walk starts from: ``<body>``, or the root of a page without one."""
    body = root.find("body")
    return root if body is None else body


def _walk_page(root: Any, issues: list[Issue]) -> _Page:
    """The document of the parsed page ``root``: one walk for its text and table rows (images not read)."""
    body = _body(root)
    walker = _Walker(body_len=len(body.text_content()))
    parts: list[str] = []
    try:
        walker.node(body, parts, doc=True)
    except RecursionError as exc:
        raise UnreadableDocument("too_deep", "HTML 嵌套过深，无法读取：请人工检查或索取其他格式的报告") from exc
    lines = clean_lines("".join(parts))
    rows = walker.rows
    if has_pipe_table(lines):  # a converter's Markdown pasted into <p>/<pre>: its pipe tables, after the HTML ones
        rows = rows + pipe_rows(lines)
    doc = Document(format="html", text="\n".join(lines), rows=rows, issues=issues, title=_title(root))
    return _Page(doc, body, walker.body_len)


def _read_page(data: bytes, content_type: str | None, limits: ReadLimits) -> _Page:
    """Decode, parse and walk the page once (its images not read): see :func:`read_html`."""
    root, issues = _page_tree(data, content_type, limits)
    if root is None:
        return _Page(Document(format="html", text="", issues=issues))
    return _walk_page(root, issues)


def read_html(
    data: bytes,
    content_type: str | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
    images: Mapping[str, bytes] | ImageResolver | None = None,
) -> Document:
    """HTML bytes (any common Chinese encoding) → Document(format="html").

    Images of the body (``images``: the fetched ones by their ``src`` as written, or a function
    reading them — called once, with the sources worth reading, only when the page's own tables
    lack a statutory table and its body shows an image; ``data:`` URIs are decoded here) are read
    by OCR where they stand when the page's own tables lack a statutory table
    (:mod:`sources.parsing.readers.body_images`).  The page is decoded and parsed once.

    Bounded by ``limits``: the size (``too_large``), the nesting (wrappers deeper than
    ``html_depth`` are flattened, see :func:`flatten_nesting`; ``too_deep`` only when the tree is
    still too deep), the parse clock.
    """
    page = _read_page(data, content_type, limits)
    doc, body = page.doc, page.body
    if body is None:
        return doc
    sources = page.image_sources()
    if callable(images):
        wanted = body_images.worth_reading(doc.rows, sources)
        images = images(wanted) if wanted else None
    if body_images.wanted(doc.rows, sources, images):
        # tables pasted as pictures: walk again, reading the images where they stand
        reader = BodyImages(images or {}, limits)
        walker = _Walker(body_len=page.body_len, images=reader)
        parts: list[str] = []
        walker.node(body, parts, doc=True)
        lines = clean_lines("".join(parts))
        rows = walker.rows + (pipe_rows(lines) if has_pipe_table(lines) else [])
        doc = reader.document(doc, "\n".join(lines), rows)
    return doc


def html_image_sources(data: bytes, content_type: str | None = None) -> list[str]:
    """The sources worth fetching of the images an HTML page's body shows
    (:func:`~sources.parsing.readers.body_images.worth_reading`), from one parse of the page: ``[]``
    when its own tables hold every statutory table, it shows no image, or it cannot be read.

    The walk that reads the page's rows (5-10 ms on a real 120 KB page) is skipped when the body
    shows no image worth fetching, or when each statutory table's anchor label is in a cell the
    walk surely reads (:func:`_surely_complete`): then the walk could only find the same."""
    try:
        root, issues = _page_tree(data, content_type, DEFAULT_LIMITS)
    except UnreadableDocument:
        return []
    if root is None:
        return []
    sources = [img.get("src") or "" for img in _body(root).iter("img")]
    if not body_images.worth_reading([], sources) or _surely_complete(_body(root)):
        return []
    try:
        page = _walk_page(root, issues)
    except UnreadableDocument:
        return []
    return body_images.worth_reading(page.doc.rows, sources)


def _surely_complete(body: Any) -> bool:
    """Whether the walk of ``body`` surely finds every statutory table's anchor label in a row
    (:func:`~sources.parsing.readers.body_images.missing_tables` of its rows is empty).

    Only cells the walk cannot leave out count: a ``<td>``/``<th>`` of a ``<tr>`` directly in a
    ``<table>`` (or its ``<thead>``/``<tbody>``/``<tfoot>``), with no hidden or dropped element from
    it up to ``<body>``, none that could be site boilerplate (by tag, role, class or id: the safety
    rules that keep some are not relied on), each ancestor reached the way the walk reaches it, and
    a row whose cells are too short to be a layout row.  The label is looked for in the cell's own
    text as the walk reads it (nested tables, hidden and dropped elements left out, whitespace and
    invisible characters removed).  ``False`` means only that the walk must decide."""
    missing = dict(body_images.ANCHORS)
    for cell in body.iter(*_CELL_TAGS):
        found = [t for t, anchor in missing.items() if anchor in "".join(cell.text_content().split())]
        if not found or not _surely_read(cell, body):
            continue
        own: list[str] = []
        _own_text(cell, own)
        text = "".join("".join(own).translate(_INVISIBLE).split())
        for table in found:
            if missing[table] in text:
                del missing[table]
        if not missing:
            return True
    return False


def _surely_read(cell: Any, body: Any) -> bool:
    """Whether the walk of ``body`` surely reads ``cell`` as a cell of a row (see :func:`_surely_complete`)."""
    tr = cell.getparent()
    if tr is None or _tag(tr) != "tr":
        return False
    table = tr.getparent()
    if table is not None and _tag(table) in _SECTION_TAGS:
        table = table.getparent()
    if table is None or _tag(table) != "table":
        return False
    # a layout row has a cell of over 200 characters as read; one of at most 100 characters of text
    # is read as at most 199 (a line break or space between every two characters at most)
    if any(_tag(c) in _CELL_TAGS and len(c.text_content()) > 100 for c in tr):
        return False
    child, el = None, cell
    while el is not None:
        tag = _tag(el)
        if tag in _DROP_TAGS or _is_hidden(el):
            return False
        if el is body:
            return True
        if tag in ("header", "footer", "aside") or _boiler_candidate(el):
            return False
        if child is not None and not _reaches(tag, _tag(child)):
            return False
        child, el = el, el.getparent()
    return False  # not inside the body


def _reaches(tag: str, child: str) -> bool:
    """Whether the walk goes from an element ``tag`` on to its child element ``child`` with tables read
    as rows: a row only through its cells, a table or section not into ``<colgroup>``/``<col>``."""
    if tag == "tr":
        return child in _CELL_TAGS
    if tag == "table" or tag in _SECTION_TAGS:
        return child not in ("colgroup", "col")
    return True


def _tag(el: Any) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _own_text(el: Any, out: list[str]) -> None:
    """The text of ``el`` as a cell's text is read: nested tables, hidden and dropped elements left out
    (the text after each of them kept)."""
    if el.text:
        out.append(el.text)
    for child in el:
        tag = _tag(child)
        if tag and tag not in _DROP_TAGS and tag != "table" and not _is_hidden(child):
            _own_text(child, out)
        if child.tail:
            out.append(child.tail)

"""The OCR engine: a page image → text boxes with the engine's confidence.  The one module that imports
``rapidocr`` (and through it ``onnxruntime``).

RapidOCR 3 runs the PP-OCRv6 detection and recognition models on onnxruntime, on the CPU.  The
models are files inside the ``rapidocr`` wheel; they are passed by path so the engine never looks
for them elsewhere (RapidOCR downloads a model it cannot find, and nothing may be downloaded at run
time).  One engine per process, one thread each: the parse workers run in parallel.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Boxes the engine scores below this are dropped by RapidOCR by default (0.5); we keep every box
#: and decide ourselves (a dropped digit would read as an empty cell, a silent error).
_KEEP_ALL = 0.0

_LOCK = threading.Lock()  # one onnxruntime session per process, used by one thread at a time

#: Detection runs on the image scaled to at most this many pixels on its long side: table text
#: stays >= 12 px high, and the detector costs a third of what it does at 200 dpi.
DET_SIDE = 1280
#: Enough for a PDF page of at most A4 size rendered at 200 dpi (8–9 pt table text ~10 px high for
#: the detector): 0.3 s less CPU per page than :data:`DET_SIDE`, the same cells read on the scanned
#: sample (150 and 200 dpi) and on image-only renderings of a real report.  Not for other images:
#: a tall screenshot scaled this far loses its small text.
PAGE_DET_SIDE = 1024


@dataclass(frozen=True)
class TextBox:
    """One line of text the engine found: the text as recognised, its confidence (0–1), its
    axis-aligned box ``(x0, top, x1, bottom)`` in pixels of the image it was given, and the angle
    of its top edge in degrees (the page's skew, for boxes wider than tall)."""

    text: str
    confidence: float
    box: tuple[float, float, float, float]
    angle: float = 0.0


class OcrUnavailable(RuntimeError):
    """The OCR engine or its packaged models are not installed."""


def model_dir() -> Path:
    """The folder of the models shipped inside the rapidocr wheel."""
    import rapidocr

    return Path(rapidocr.__file__).parent / "models"


@functools.cache
def _engine() -> Any:
    try:
        from rapidocr import RapidOCR
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise OcrUnavailable("the OCR engine is not installed: pip install rapidocr onnxruntime") from exc
    models = model_dir()
    paths = {
        "Det.model_path": models / "PP-OCRv6_det_small.onnx",
        "Rec.model_path": models / "PP-OCRv6_rec_small.onnx",
        "Cls.model_path": models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
    }
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        raise OcrUnavailable(f"the OCR models are missing ({', '.join(missing)}): reinstall rapidocr")
    params: dict[str, Any] = {k: str(v) for k, v in paths.items()}
    params.update(
        {
            "Global.log_level": "error",
            "Global.use_cls": False,  # pages are upright; skew is corrected before OCR
            "Global.text_score": _KEEP_ALL,
            "Det.limit_type": "max",
            "Det.limit_side_len": DET_SIDE,  # per call: _detect_at
            # Recognition pads every line of a batch to at least this width: 320 (the default)
            # makes each lone digit of a table cost as much as a line of text; 96 reads the same.
            "Rec.rec_img_shape": [3, 48, 96],
            # Lines are recognised in batches sorted by width, each padded to its widest line; on one
            # core the padding costs more than the batching saves: pairs took 24 % less CPU than the
            # default 6 on dense table pages (interleaved A/B, same readings; 1 and 3 were slower).
            # 48 px wide instead of 96 was not taken: lone "0"s lost confidence (0.99 → 0.5–0.9).
            "Rec.rec_batch_num": 2,
            "EngineConfig.onnxruntime.intra_op_num_threads": 1,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            # onnxruntime's memory arena: tensors reused between lines instead of allocated (6 % less CPU)
            "EngineConfig.onnxruntime.enable_cpu_mem_arena": True,
        }
    )
    return RapidOCR(params=params)


def _boxes(result: Any) -> list[TextBox]:
    out: list[TextBox] = []
    if result.boxes is None or result.txts is None:
        return out
    for quad, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
        xs = [float(p[0]) for p in quad]
        ys = [float(p[1]) for p in quad]
        angle = math.degrees(math.atan2(ys[1] - ys[0], xs[1] - xs[0]))
        out.append(TextBox(str(text), float(score), (min(xs), min(ys), max(xs), max(ys)), angle))
    return out


def _detect_at(engine: Any, side: int) -> None:
    """Set the long side the detector scales images to (RapidOCR reads it at each call; under the lock)."""
    detector = engine._load_det_model()  # RapidOCR takes the size only from its configuration
    detector.limit_side_len = side


def recognise(image: np.ndarray, det_side: int = DET_SIDE) -> list[TextBox]:
    """Detect and recognise every text line of a greyscale or RGB image (uint8 array); detection on
    the image scaled to at most ``det_side`` pixels on its long side."""
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    engine = _engine()
    with _LOCK:
        _detect_at(engine, det_side)
        result = engine(image, use_det=True, use_cls=False, use_rec=True)
    return _boxes(result)


def detect(image: np.ndarray) -> list[TextBox]:
    """The text line boxes of a greyscale image, nothing recognised (about a third of a page's cost)."""
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    engine = _engine()
    with _LOCK:
        _detect_at(engine, DET_SIDE)
        result = engine(image, use_det=True, use_cls=False, use_rec=False)
    if result.boxes is None:
        return []
    out = []
    for quad in result.boxes:
        xs = [float(p[0]) for p in quad]
        ys = [float(p[1]) for p in quad]
        angle = math.degrees(math.atan2(ys[1] - ys[0], xs[1] - xs[0]))
        out.append(TextBox("", 0.0, (min(xs), min(ys), max(xs), max(ys)), angle))
    return out


def recognise_line(image: np.ndarray) -> TextBox | None:
    """Recognise one cropped text line without detection (a cell where detection found nothing)."""
    if image.size == 0:
        return None
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    engine = _engine()
    with _LOCK:
        result = engine(image, use_det=False, use_cls=False, use_rec=True)
    if result.txts is None or not len(result.txts):
        return None
    h, w = image.shape[:2]
    return TextBox(str(result.txts[0]), float(result.scores[0]), (0.0, 0.0, float(w), float(h)))

"""The KPI trend chart of the weekly e-mail, as PNG bytes.

A small rasteriser (zlib + struct) instead of matplotlib: the chart is four polylines on a
0–100% grid, which takes a few dozen lines of drawing code, while matplotlib would add a heavy
dependency with a font cache to build on first use on every shop's machine. The only text inside
the image is digits (axis percentages and week dates, "11.16" or "11/16") from a built-in 3x5
pixel font, so no font file is needed and the image reads the same in every language; the
legend, in the template's language, is written in the HTML next to the image.

The image is drawn at twice its display size so it stays sharp on phone screens.
"""

from __future__ import annotations

import math
import struct
import zlib
from typing import Sequence

RGB = tuple[int, int, int]

# one colour per KPI, in WeekSummary.kpis order; the HTML legend uses the same hex values
SERIES_COLORS: tuple[str, ...] = ("#2563EB", "#EA580C", "#7C3AED", "#0D9488",
                                  "#DB2777", "#65A30D", "#0891B2", "#A16207")

_BACKGROUND: RGB = (255, 255, 255)
_GRID: RGB = (229, 231, 235)
_AXIS_TEXT: RGB = (107, 114, 128)

# 3x5 pixel glyphs, rows top to bottom
_GLYPHS = {
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "001", "001", "001"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
    ".": ("000", "000", "000", "000", "010"),
    "%": ("101", "001", "010", "100", "101"),
    "/": ("001", "001", "010", "100", "100"),
}


def hex_rgb(color: str) -> RGB:
    value = color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


class _Canvas:
    """An RGB pixel buffer with just the drawing operations the chart needs."""

    def __init__(self, width: int, height: int):
        self.width = width
        self.height = height
        self.px = bytearray(bytes(_BACKGROUND) * (width * height))

    def span(self, x0: int, x1: int, y: int, color: RGB) -> None:
        """Fill pixels x0..x1 (inclusive) of row y, clipped to the canvas."""
        x0, x1 = max(x0, 0), min(x1, self.width - 1)
        if 0 <= y < self.height and x0 <= x1:
            start = (y * self.width + x0) * 3
            self.px[start:start + (x1 - x0 + 1) * 3] = bytes(color) * (x1 - x0 + 1)

    def rect(self, x: int, y: int, w: int, h: int, color: RGB) -> None:
        for row in range(y, y + h):
            self.span(x, x + w - 1, row, color)

    def disc(self, cx: int, cy: int, r: int, color: RGB) -> None:
        for dy in range(-r, r + 1):
            half = int((r * r - dy * dy) ** 0.5)
            self.span(cx - half, cx + half, cy + dy, color)

    def line(self, x0: float, y0: float, x1: float, y1: float, r: int, color: RGB) -> None:
        """A thick line: discs stamped at every pixel step along the segment."""
        steps = max(int(max(abs(x1 - x0), abs(y1 - y0))), 1)
        for i in range(steps + 1):
            t = i / steps
            self.disc(round(x0 + (x1 - x0) * t), round(y0 + (y1 - y0) * t), r, color)

    def text(self, x: int, y: int, text: str, size: int, color: RGB) -> None:
        """Draw digits with the 3x5 font, each font pixel ``size`` screen pixels wide."""
        for ch in text:
            for row, bits in enumerate(_GLYPHS[ch]):
                for col, bit in enumerate(bits):
                    if bit == "1":
                        self.rect(x + col * size, y + row * size, size, size, color)
            x += 4 * size

    def png(self) -> bytes:
        stride = self.width * 3
        raw = b"".join(b"\x00" + bytes(self.px[y * stride:(y + 1) * stride]) for y in range(self.height))
        ihdr = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)  # 8-bit RGB
        return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw, 9))
                + _chunk(b"IEND", b""))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def text_width(text: str, size: int) -> int:
    return max(len(text) * 4 - 1, 0) * size


def trend_chart_png(
    labels: Sequence[str],
    series: Sequence[Sequence[float | None]],
    colors: Sequence[str] = SERIES_COLORS,
    width: int = 560,
    height: int = 220,
    scale: int = 2,
) -> bytes:
    """Line chart of rates (0..1) over ``labels`` (one per week, digits, '.' and '/' only).

    A ``None`` value (no data that week) leaves a gap in its line. The image is
    ``width*scale`` x ``height*scale`` pixels; show it at ``width`` x ``height``.
    """
    w, h = width * scale, height * scale
    canvas = _Canvas(w, h)
    font = 3 * scale  # digits 9 × 15 at the chart's width: still readable where a phone shrinks it to 360
    left, right, top, bottom = 50 * scale, 12 * scale, 10 * scale, 24 * scale
    plot_w, plot_h = w - left - right, h - top - bottom

    def y_of(value: float) -> float:
        return top + plot_h * (1 - min(max(value, 0.0), 1.0))

    for pct in (0, 25, 50, 75, 100):
        y = round(y_of(pct / 100))
        canvas.span(left, left + plot_w, y, _GRID)
        if pct % 50 == 0:
            label = f"{pct}%"
            canvas.text(left - 3 * scale - text_width(label, font), y - 5 * font // 2, label, font, _AXIS_TEXT)

    n = len(labels)

    def x_of(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n if n else 0)

    # thin out crowded dates, always keeping the newest week
    widest = max((text_width(label, font) for label in labels), default=0)
    step = max(1, math.ceil(n * (widest + 8 * scale) / plot_w))
    for i, label in enumerate(labels):
        if (n - 1 - i) % step == 0:
            x = round(x_of(i)) - text_width(label, font) // 2
            canvas.text(x, top + plot_h + 4 * scale, label, font, _AXIS_TEXT)

    for k, values in enumerate(series):  # more series than colours: the colours repeat, no line is left out
        rgb = hex_rgb(colors[k % len(colors)])
        points = [(x_of(i), y_of(v)) if v is not None else None for i, v in enumerate(values)]
        for a, b in zip(points, points[1:], strict=False):
            if a is not None and b is not None:
                canvas.line(a[0], a[1], b[0], b[1], scale, rgb)
        for p in points:
            if p is not None:
                canvas.disc(round(p[0]), round(p[1]), 3 * scale, rgb)
    return canvas.png()

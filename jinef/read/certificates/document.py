"""The certificate as an A4 PDF: Persian right to left, letters shaped and joined by HarfBuzz (fpdf2 with
uharfbuzz), Persian digits, every level of the address, the standard address, the location with a sketch of
the buildings around it, a Code-128 of the postcode, a QR code of the signed payload, the dates in the Solar
Hijri and Gregorian calendars, the serial and the validity. The signed payload is also the PDF's keywords, so
``jinef certificate verify FILE.pdf`` needs no QR reader.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from importlib.resources import files

import barcode
import jdatetime
import segno
from fpdf import FPDF

from jinef.model.address import Address, Usage, floor_text
from jinef.model.digits import to_persian_digits
from jinef.read.certificates.payload import Payload

FONT = "Vazirmatn"
_MARGIN = 15.0
_WIDTH = 210.0 - 2 * _MARGIN


def _font_path(name: str) -> str:
    return str(files("jinef.read.certificates").joinpath(f"fonts/{name}"))


def new_document() -> FPDF:
    """An A4 page set up for shaped Persian text (the one way certificates write text)."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.add_font(FONT, "", _font_path("Vazirmatn-Regular.ttf"))
    pdf.add_font(FONT, "B", _font_path("Vazirmatn-Bold.ttf"))
    persian(pdf)
    pdf.add_page()
    return pdf


def persian(pdf: FPDF) -> None:
    """Shape text as Persian, right to left."""
    pdf.set_text_shaping(use_shaping_engine=True, direction="rtl", script="arab", language="fas")


def latin(pdf: FPDF) -> None:
    """Shape text left to right (the payload, Gregorian dates)."""
    pdf.set_text_shaping(use_shaping_engine=True, direction="ltr", script="latn", language="eng")


def _fa(text: object) -> str:
    return to_persian_digits(str(text))


def jalali(d: date) -> str:
    """A date in the Solar Hijri calendar, Persian digits: «۱۴۰۵/۰۹/۱۲»."""
    return _fa(jdatetime.date.fromgregorian(date=d).strftime("%Y/%m/%d"))


def _levels(a: Address) -> list[tuple[str, str]]:
    usage = Usage(a.usage).label_fa if a.usage in Usage._value2member_map_ else a.usage
    return [("استان", a.province), ("شهرستان", a.county), ("بخش", a.district), ("دهستان", a.rural_district),
            ("نوع مکان", a.locality_type), ("نام مکان", a.locality), ("محله", a.neighbourhood),
            ("معبر ماقبل آخر", a.prev_thoroughfare), ("معبر آخر", a.last_thoroughfare), ("پلاک", a.plate),
            ("ورودی", a.entrance), ("نام ساختمان", a.building),
            ("طبقه", "" if a.floor is None else floor_text(a.floor)), ("واحد", a.unit), ("نوع کاربری", usage)]


def render(a: Address, payload: Payload, signed: str, nearby: Sequence[tuple[float, float]] = ()) -> bytes:
    """The certificate of unit ``a`` as PDF bytes (``nearby``: points of the buildings around it)."""
    pdf = new_document()
    pdf.set_title(f"گواهی کد پستی {a.postcode}")
    pdf.set_keywords(signed)
    pdf.set_creator("Jinef")
    x0, y = _MARGIN, _MARGIN
    pdf.set_font(FONT, "B", 20)
    pdf.set_xy(x0, y)
    pdf.cell(_WIDTH, 10, "گواهی کد پستی", align="C")
    pdf.set_font(FONT, "", 10)
    pdf.set_xy(x0, y + 10)
    pdf.cell(_WIDTH, 6, "پرونده ملی نشانی‌های مکان‌یابی‌شده — جینف", align="C")
    pdf.set_font(FONT, "B", 24)
    pdf.set_xy(x0, y + 20)
    pdf.cell(_WIDTH, 12, _fa(f"{a.postcode[:5]}-{a.postcode[5:]}"), align="C")
    _barcode(pdf, a.postcode, x0 + _WIDTH / 2 - 35, y + 34, 70, 12)
    # The certificate's levels, large to small, label on the right.
    pdf.set_font(FONT, "", 11)
    row_y = y + 52
    for label, value in _levels(a):
        pdf.set_xy(x0 + _WIDTH - 45, row_y)
        pdf.set_font(FONT, "B", 11)
        pdf.cell(45, 7, label, border="B", align="R")
        pdf.set_xy(x0 + 70, row_y)
        pdf.set_font(FONT, "", 11)
        pdf.cell(_WIDTH - 115, 7, _fa(value) if value else "—", border="B", align="R")
        row_y += 7
    _sketch(pdf, a, nearby, x0, y + 52, 65)
    pdf.set_xy(x0, row_y + 4)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(_WIDTH, 7, "نشانی استاندارد ملی", align="R")
    pdf.set_xy(x0, row_y + 11)
    pdf.set_font(FONT, "", 11)
    pdf.multi_cell(_WIDTH, 7, a.standard_address, align="R")
    info_y = pdf.get_y() + 3
    lines = []
    if a.lat is not None and a.lon is not None:
        lat, lon = (_fa(f"{v:.6f}").replace(".", "٫") for v in (a.lat, a.lon))  # the Persian decimal separator
        lines.append(f"موقعیت: عرض جغرافیایی {lat}، طول جغرافیایی {lon}")
    lines += [f"تاریخ صدور: {jalali(payload.issued)}   اعتبار تا: {jalali(payload.expires)}",
              f"شماره سریال: {payload.serial}   شناسه کلید امضا: {payload.kid}"]
    for i, line in enumerate(lines):
        pdf.set_xy(x0 + 50, info_y + 7 * i)
        pdf.cell(_WIDTH - 50, 7, line, align="R")
    latin(pdf)
    pdf.set_font(FONT, "", 9)
    pdf.set_xy(x0 + 50, info_y + 7 * len(lines))
    pdf.cell(_WIDTH - 50, 6, f"Issued {payload.issued:%Y-%m-%d}, valid until {payload.expires:%Y-%m-%d}", align="R")
    _qr(pdf, signed, x0, info_y, 45)
    pdf.set_font(FONT, "", 6)
    pdf.set_xy(x0, 280)
    pdf.multi_cell(_WIDTH, 3, signed, align="L")
    persian(pdf)
    pdf.set_font(FONT, "", 8)
    pdf.set_xy(x0, 270)
    pdf.cell(_WIDTH, 5, "درستی این گواهی را با کلید عمومی جینف بسنجید: jinef certificate verify", align="R")
    return bytes(pdf.output())


def _barcode(pdf: FPDF, postcode: str, x: float, y: float, w: float, h: float) -> None:
    """Code-128 of the postcode, drawn as bars."""
    modules = barcode.Code128(postcode).build()[0]
    unit = w / len(modules)
    pdf.set_fill_color(0, 0, 0)
    start = None
    for i, bit in enumerate(modules + "0"):
        if bit == "1" and start is None:
            start = i
        elif bit != "1" and start is not None:
            pdf.rect(x + start * unit, y, (i - start) * unit, h, style="F")
            start = None


def _qr(pdf: FPDF, text: str, x: float, y: float, size: float) -> None:
    """A QR code of ``text`` (level M), drawn as modules with a quiet zone."""
    matrix = segno.make(text, error="m").matrix
    n = len(matrix) + 8
    unit = size / n
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                pdf.rect(x + (c + 4) * unit, y + (r + 4) * unit, unit, unit, style="F")


def _sketch(pdf: FPDF, a: Address, nearby: Sequence[tuple[float, float]], x: float, y: float, size: float) -> None:
    """The buildings within about 150 m, the unit's own filled, north up, with a 50 m scale bar."""
    pdf.set_draw_color(120, 120, 120)
    pdf.rect(x, y, size, size)
    if a.lat is None or a.lon is None:
        return
    metres = 300.0  # the box spans this many metres
    k = size / metres
    cos = math.cos(math.radians(a.lat))
    pdf.set_fill_color(170, 170, 170)
    for lat, lon in nearby:
        dx = (lon - a.lon) * 111_320.0 * cos * k
        dy = (lat - a.lat) * 110_540.0 * k
        if abs(dx) < size / 2 - 2 and abs(dy) < size / 2 - 2:
            pdf.rect(x + size / 2 + dx - 1, y + size / 2 - dy - 1, 2, 2, style="F")
    pdf.set_fill_color(200, 0, 0)
    pdf.ellipse(x + size / 2 - 2, y + size / 2 - 2, 4, 4, style="F")
    pdf.set_draw_color(0, 0, 0)
    pdf.line(x + 4, y + size - 4, x + 4 + 50 * k, y + size - 4)
    pdf.set_font(FONT, "", 7)
    pdf.set_xy(x + 4, y + size - 9)
    pdf.cell(20, 4, "۵۰ متر", align="L")
    pdf.set_xy(x + size - 8, y + 2)
    pdf.cell(6, 4, "ش", align="C")

"""Documents made from the read models: QR codes (PNG, SVG), a printable
sheet of an enterprise's position codes (PDF) and the inspection ledger as
CSV or XLSX. Plain functions returning bytes.

The QR sheet is a real PDF (fpdf2), not a picture of one: its labels are
text, in a CJK font embedded as a subset of the glyphs used, so Chinese
position names print and can be searched and copied. The font is WenQuanYi
Zen Hei from Debian's fonts-wqy-zenhei (the project's setup installs it), or
the file QR_SHEET_FONT names. A TrueType-outline font on purpose: fpdf2
embeds it as a CIDFontType2 with Identity-H, which every reader decodes
(pypdf included); a CFF one (Noto Sans CJK) gets an embedded encoding CMap
that some text extractors misread."""
import io
import logging
import os

import qrcode
import qrcode.image.svg
from fpdf import FPDF

from einspection import days, spreadsheet
from einspection.contract import parse_instant

# fontTools reports every table it subsets at INFO: a page of log per QR sheet
logging.getLogger("fontTools").setLevel(logging.WARNING)

PNG, SVG, PDF = "image/png", "image/svg+xml", "application/pdf"
CSV, XLSX = spreadsheet.CSV, spreadsheet.XLSX

# Where Debian's fonts-wqy-zenhei puts it: a collection whose first face is
# the proportional one.
WQY_ZENHEI = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


class FontMissing(RuntimeError):
    """No font that can print Chinese: an installation fault, not bad input."""


def _qr(url):
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_png(url):
    out = io.BytesIO()
    _qr(url).make_image().save(out, format="PNG")
    return out.getvalue()


def qr_svg(url):
    out = io.BytesIO()
    _qr(url).make_image(image_factory=qrcode.image.svg.SvgPathImage).save(out)
    return out.getvalue()


def label_font(path=None):
    """The labels' font file: `path` (the setting QR_SHEET_FONT; of a
    collection, its first face) or WenQuanYi Zen Hei."""
    path = path or WQY_ZENHEI
    if not os.path.isfile(path):
        raise FontMissing("no CJK font for the QR sheet at %s: install Debian's "
                          "fonts-wqy-zenhei (make venv does) or set QR_SHEET_FONT to a "
                          "TrueType font file with Chinese glyphs" % path)
    return path


def _printable(text):
    """Text as it can be drawn: a control or format character (which a name
    may hold) shows as U+FFFD rather than moving the pen."""
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text)


def _fitted(pdf, text, width):
    """`text`, cut with an ellipsis where it is wider than `width`."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def qr_sheet_pdf(title, labelled_urls, columns=3, rows=4, font_path=None):
    """A4 pages of QR codes, each with its label under it. `labelled_urls`:
    [(label, url)]; an empty list gives one page that says so."""
    font_file = label_font(font_path)
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_auto_page_break(False)
    pdf.set_creator("E-inspection")
    pdf.set_title(_printable(title))
    pdf.add_font("labels", fname=font_file)
    margin, heading = 12.0, 12.0
    cell_w = (pdf.w - 2 * margin) / columns
    cell_h = (pdf.h - 2 * margin - heading) / rows
    side = min(cell_w, cell_h) - 14
    per_page = columns * rows
    chunks = [labelled_urls[i:i + per_page] for i in range(0, len(labelled_urls), per_page)]
    for number, chunk in enumerate(chunks or [[]], start=1):
        pdf.add_page()
        pdf.set_font("labels", size=14)
        pdf.set_xy(margin, margin)
        pdf.cell(pdf.w - 2 * margin, 8, _fitted(pdf, "%s  (page %d of %d)" % (
            _printable(title), number, len(chunks) or 1), pdf.w - 2 * margin))
        pdf.set_font("labels", size=11)
        if not chunk:
            pdf.set_xy(margin, margin + heading)
            pdf.cell(pdf.w - 2 * margin, 8, "no positions registered")
        for index, (label, url) in enumerate(chunk):
            x = margin + (index % columns) * cell_w
            y = margin + heading + (index // columns) * cell_h
            code = _qr(url).make_image().get_image().convert("1")
            pdf.image(code, x=x + (cell_w - side) / 2, y=y, w=side, h=side)
            pdf.set_xy(x, y + side + 1)
            pdf.cell(cell_w, 6, _fitted(pdf, _printable(label), cell_w - 4), align="C")
    return bytes(pdf.output())


LEDGER_COLUMNS = tuple((key, key) for key in (
    "id", "enterprise_id", "position_id", "checklist_id", "checklist_version", "kind",
    "started_at", "completed_at", "completed_on", "items_passed", "items_failed",
    "items_not_applicable", "inspector"))


def _dated(views, zone=None):
    """(columns, rows): the instants stay UTC; `completed_on` is the
    deployment's day, its zone named in the column's title."""
    zone = zone or days.deployment_zone()
    columns = tuple((key, "completed_on (%s)" % zone.key if key == "completed_on" else title)
                    for key, title in LEDGER_COLUMNS)
    return columns, [dict(view, completed_on=days.local_day(
        parse_instant(view["completed_at"]), zone).isoformat()) for view in views]


def ledger_csv(views, zone=None):
    return spreadsheet.to_csv(*_dated(views, zone))


def ledger_xlsx(views, zone=None):
    return spreadsheet.to_xlsx("inspections", *_dated(views, zone))

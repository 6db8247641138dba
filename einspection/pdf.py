"""Printable PDFs (fpdf2) with Chinese text: the font and the helpers the
QR sheet (services/checklist) and the rectification notice (the gateway)
share.

The text is text, in a CJK font embedded as a subset of the glyphs used, so
Chinese names print and can be searched and copied. The font is WenQuanYi
Zen Hei from Debian's fonts-wqy-zenhei (the project's setup installs it), or
the file QR_SHEET_FONT names. A TrueType-outline font on purpose: fpdf2
embeds it as a CIDFontType2 with Identity-H, which every reader decodes
(pypdf included); a CFF one (Noto Sans CJK) gets an embedded encoding CMap
that some text extractors misread."""
import logging
import os

from fpdf import FPDF

from .errors import ServiceUnavailable

# fontTools reports every table it subsets at INFO: a page of log per document
logging.getLogger("fontTools").setLevel(logging.WARNING)

PDF = "application/pdf"
FONT_SETTING = "QR_SHEET_FONT"

# Where Debian's fonts-wqy-zenhei puts it: a collection whose first face is
# the proportional one.
WQY_ZENHEI = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"


class FontMissing(ServiceUnavailable):
    """No font that can print Chinese: an installation fault, not bad input —
    the printout is unavailable (503 naming the font) until it is installed."""


def label_font(path=None):
    """The text's font file: `path` (the setting QR_SHEET_FONT; of a
    collection, its first face) or WenQuanYi Zen Hei."""
    path = path or WQY_ZENHEI
    if not os.path.isfile(path):
        raise FontMissing("no CJK font for printing at %s: install Debian's "
                          "fonts-wqy-zenhei (make venv does) or set QR_SHEET_FONT to a "
                          "TrueType font file with Chinese glyphs" % path)
    return path


def document(title, font_path=None, font_name="labels"):
    """An A4 FPDF in millimetres, titled, with the CJK font added as `font_name`."""
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_creator("E-inspection")
    pdf.set_title(printable(title))
    pdf.add_font(font_name, fname=label_font(font_path))
    return pdf


def printable(text):
    """Text as it can be drawn: a control or format character (which a name
    may hold) shows as U+FFFD rather than moving the pen."""
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text)


def fitted(pdf, text, width):
    """`text`, cut with an ellipsis where it is wider than `width`."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"

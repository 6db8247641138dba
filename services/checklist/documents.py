"""Documents made from the read models: QR codes (PNG, SVG), a printable
sheet of an enterprise's position codes (PDF, drawn with Pillow) and the
inspection ledger as CSV or XLSX. Plain functions returning bytes."""
import io

import qrcode
import qrcode.image.svg
from PIL import Image, ImageDraw, ImageFont

from einspection import spreadsheet

PNG, SVG, PDF = "image/png", "image/svg+xml", "application/pdf"
CSV, XLSX = spreadsheet.CSV, spreadsheet.XLSX

# Fonts tried for labels (the first that loads); CJK-capable ones first.
LABEL_FONTS = ("NotoSansCJK-Regular.ttc", "wqy-microhei.ttc", "DejaVuSans.ttf")


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


def _font(size):
    for name in LABEL_FONTS:
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _printable(text):
    """Text as it can be drawn: a control or format character (which a name
    may hold) makes the text layout engine fail, so it shows as U+FFFD."""
    return "".join(ch if ch.isprintable() else "\ufffd" for ch in text)


def _draw_text(draw, position, text, font):
    try:
        draw.text(position, text, fill="black", font=font)
    except (RuntimeError, OSError, ValueError):      # what the layout engine refuses still prints
        ascii_text = text.encode("ascii", "replace").decode("ascii")
        draw.text(position, ascii_text, fill="black", font=font)


def _text_width(draw, text, font):
    try:
        return draw.textlength(text, font=font)
    except (RuntimeError, OSError, ValueError):
        return draw.textlength(text.encode("ascii", "replace").decode("ascii"), font=font)


def qr_sheet_pdf(title, labelled_urls, columns=3, rows=4, dpi=150):
    """A4 pages of QR codes, each with its label under it. `labelled_urls`:
    [(label, url)]; an empty list gives one page that says so."""
    width, height = int(8.27 * dpi), int(11.69 * dpi)
    margin, heading = dpi // 2, dpi // 2
    cell_w = (width - 2 * margin) // columns
    cell_h = (height - 2 * margin - heading) // rows
    side = min(cell_w, cell_h) - dpi // 3
    title_font, label_font = _font(dpi // 5), _font(dpi // 8)
    per_page = columns * rows
    chunks = [labelled_urls[i:i + per_page] for i in range(0, len(labelled_urls), per_page)]
    pages = []
    for number, chunk in enumerate(chunks or [[]], start=1):
        page = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(page)
        _draw_text(draw, (margin, margin), "%s  (page %d of %d)" % (
            _printable(title), number, len(chunks) or 1), title_font)
        if not chunk:
            draw.text((margin, margin + heading), "no positions registered", fill="black",
                      font=label_font)
        for index, (label, url) in enumerate(chunk):
            x = margin + (index % columns) * cell_w
            y = margin + heading + (index // columns) * cell_h
            code = _qr(url).make_image().get_image().convert("RGB").resize((side, side))
            page.paste(code, (x + (cell_w - side) // 2, y))
            text = _printable(label if len(label) <= 40 else label[:39] + "…")
            text_w = _text_width(draw, text, label_font)
            _draw_text(draw, (x + (cell_w - text_w) / 2, y + side + 4), text, label_font)
        pages.append(page)
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=dpi)
    return out.getvalue()


LEDGER_COLUMNS = tuple((key, key) for key in (
    "id", "enterprise_id", "position_id", "checklist_id", "checklist_version", "kind",
    "started_at", "completed_at", "items_passed", "items_failed", "items_not_applicable",
    "inspector"))


def ledger_csv(views):
    return spreadsheet.to_csv(LEDGER_COLUMNS, views)


def ledger_xlsx(views):
    return spreadsheet.to_xlsx("inspections", LEDGER_COLUMNS, views)

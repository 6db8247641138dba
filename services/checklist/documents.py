"""Documents made from the read models: QR codes (PNG, SVG), a printable
sheet of an enterprise's position codes (PDF) and the inspection ledger as
CSV or XLSX. Plain functions returning bytes.

The QR sheet is a real PDF (fpdf2) with its labels as text in an embedded
CJK font: einspection.pdf says how and why."""
import io

import qrcode
import qrcode.image.svg

from einspection import pdf as printing, spreadsheet
from einspection.spreadsheet import DAY, INSTANT, INTEGER, Column

PNG, SVG, PDF = "image/png", "image/svg+xml", printing.PDF
CSV, XLSX = spreadsheet.CSV, spreadsheet.XLSX


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


def qr_sheet_pdf(title, labelled_urls, columns=3, rows=4, font_path=None):
    """A4 pages of QR codes, each with its label under it. `labelled_urls`:
    [(label, url)]; an empty list gives one page that says so."""
    pdf = printing.document(title, font_path)
    pdf.set_auto_page_break(False)
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
        pdf.cell(pdf.w - 2 * margin, 8, printing.fitted(pdf, "%s  (page %d of %d)" % (
            printing.printable(title), number, len(chunks) or 1), pdf.w - 2 * margin))
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
            pdf.cell(cell_w, 6, printing.fitted(pdf, printing.printable(label), cell_w - 4), align="C")
    return bytes(pdf.output())


# The inspection ledger's columns (einspection/spreadsheet.py says how each
# kind is written): names beside the ids; in the CSV the instants stay UTC
# with the deployment's day of completion beside them, in the XLSX they are
# datetimes of the deployment's zone; each title names its zone.
LEDGER_COLUMNS = (
    Column("id", "检查编号", "inspection id"),
    Column("enterprise_id", "企业编号", "enterprise id"),
    Column("enterprise_name", "企业名称", "enterprise"),
    Column("position_id", "岗位编号", "position id"),
    Column("position_name", "岗位名称", "position"),
    Column("checklist_id", "检查表编号", "checklist id"),
    Column("checklist_title", "检查表名称", "checklist"),
    Column("checklist_version", "检查表版本", "checklist version", INTEGER),
    Column("kind", "检查类型", "kind"),
    Column("started_at", "开始时间", "started at", INSTANT),
    Column("completed_at", "完成时间", "completed at", INSTANT),
    Column("completed_on", "完成日期", "completed on", DAY, day_of="completed_at"),
    Column("items_passed", "合格项", "items passed", INTEGER),
    Column("items_failed", "不合格项", "items failed", INTEGER),
    Column("items_not_applicable", "不适用项", "items not applicable", INTEGER),
    Column("inspector", "检查人", "inspector"),
)


def ledger_csv(views, zone, lang=None):
    return spreadsheet.to_csv(LEDGER_COLUMNS, views, zone, lang)


def ledger_xlsx(views, zone):
    return spreadsheet.to_xlsx("inspections", LEDGER_COLUMNS, views, zone)

"""The printable rectification notice (隐患整改通知书) of a hazard: an A4
PDF in the CJK font of einspection.pdf, made by the gateway from what the
hazard service (the hazard, its category labels) and the register (the
enterprise, the position, the failed item's legal basis) answer. A plain
function of those views and the printing instant: the same hazard prints
the same notice, its number included, but for the "printed at" line."""
import hashlib

from einspection import pdf as printing
from einspection.contract import parse_instant

LEVELS = {"general": "一般隐患 general", "major": "重大隐患 major"}
MARGIN = 18.0


def number(hazard):
    """The notice's number: the local day the hazard was found and eight
    characters of its id's digest, so a reprint carries the same number."""
    digest = hashlib.sha256(hazard["id"].encode("utf-8")).hexdigest()[:8].upper()
    return "ZG-%s-%s" % (hazard["found_on"].replace("-", ""), digest)


def local(instant, zone):
    """An API instant as the deployment's clock shows it."""
    return parse_instant(instant).astimezone(zone).strftime("%Y-%m-%d %H:%M")


def category_label(category, categories):
    for entry in categories:
        if entry["key"] == category:
            return "%s %s" % (entry["zh"], entry["en"])
    return category                       # a free-text category from before the taxonomy


def rectification_notice_pdf(hazard, enterprise, position, categories, legal_basis, printed_at,
                             zone, font_path=None):
    """`hazard`: the hazard service's view; `enterprise`, `position`: the
    register's (position None for a hazard reported without one);
    `categories`: the taxonomy's entries; `legal_basis`: the failed item's,
    or ""; `printed_at`: an aware datetime."""
    hazard = dict(hazard, found_on=parse_instant(hazard["found_at"]).astimezone(zone)
                  .date().isoformat())
    pdf = printing.document("隐患整改通知书 %s" % number(hazard), font_path, "notice")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN)
    pdf.add_page()
    width = pdf.w - 2 * MARGIN

    pdf.set_font("notice", size=20)
    pdf.cell(width, 12, "隐患整改通知书", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("notice", size=10)
    pdf.cell(width, 6, "Hazard rectification notice", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(width, 7, "编号 No. %s" % number(hazard), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    def field(label, value):
        """A label and its value, the value wrapped under itself, each of
        its lines kept (a description's lines stay lines)."""
        pdf.set_font("notice", size=11)
        top = pdf.get_y()
        pdf.set_xy(MARGIN, top)
        pdf.multi_cell(48, 7, label, new_x="RIGHT", new_y="TOP")
        pdf.set_xy(MARGIN + 48, top)
        lines = [printing.printable(line) for line in (value or "—").splitlines()] or ["—"]
        pdf.multi_cell(width - 48, 7, "\n".join(lines), new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(max(pdf.get_y(), top + 7) + 1)

    tz = " (%s)" % zone.key
    field("企业 Enterprise", enterprise["name"])
    field("部位 Position", position["name"] if position else "—")
    field("隐患等级 Level", LEVELS.get(hazard["level"], hazard["level"]))
    field("隐患类别 Category", category_label(hazard["category"], categories))
    field("隐患描述 Description", hazard["description"])
    field("发现日期 Found on", hazard["found_on"])
    field("整改期限 Deadline", local(hazard["rectification_deadline"], zone) + tz)
    if legal_basis:
        field("依据 Legal basis", legal_basis)
    plan = hazard.get("plan")
    if hazard["level"] == "major":
        if plan:
            field("治理方案 Plan", "\n".join([
                "目标 Goal: %s" % plan["goal"], "措施 Measures: %s" % plan["measures"],
                "资金 Funds: %s" % plan["funds"],
                "责任人 Responsible: %s" % plan["responsible_person"],
                "期限 Deadline: %s" % (local(plan["deadline"], zone) + tz),
                "临时措施 Interim measures: %s" % (plan["interim_measures"] or "—")]))
        else:
            field("治理方案 Plan", "尚未制定 not yet recorded")
    reporter = hazard["reported_by"]
    if hazard.get("reporter") and hazard["reporter"] != reporter:
        reporter = "%s (%s)" % (reporter, hazard["reporter"])
    field("报告人 Reported by", reporter)
    field("打印时间 Printed at", printed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") + tz)

    pdf.ln(4)
    pdf.set_font("notice", size=11)
    pdf.multi_cell(width, 7, "请于整改期限内完成整改，并将整改情况报验收人验收。\n"
                   "Rectify the hazard by the deadline and have the rectification accepted.",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(10)
    half = width / 2
    for label in ("整改责任人 Responsible person", "验收人 Accepted by"):
        pdf.cell(half, 8, label + "：", new_x="RIGHT", new_y="TOP")
    pdf.ln(14)
    for _ in range(2):
        pdf.cell(half, 8, "签字 Signature ____________", new_x="RIGHT", new_y="TOP")
    pdf.ln(10)
    for _ in range(2):
        pdf.cell(half, 8, "日期 Date ____年__月__日", new_x="RIGHT", new_y="TOP")
    return bytes(pdf.output())

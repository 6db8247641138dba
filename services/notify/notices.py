"""Grade notices, written from the grade's indicator contributions: the
seed's "Evaluation feedback" and its management notice."""
import uuid
from decimal import Decimal

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, select

from einspection import eventstore
from einspection.contract import isoformat, new_event

CONSUMER = "notify"

metadata = MetaData()

notices = Table(
    "notices", metadata,
    Column("notice_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("title", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("cause_event_id", String(64), nullable=False, unique=True),
    Column("issued_at", DateTime(timezone=True), nullable=False),
)

def grade_notice_text(data):
    weakest = sorted((i for i in data["indicators"]
                      if Decimal(i["points"]) < Decimal(i["max_points"])),
                     key=lambda i: (Decimal(i["points"]) / Decimal(i["max_points"]), i["key"]))
    title = "Grade %s: %s points in the last three months" % (data["grade"], data["points"])
    body = ("Performance points for your enterprise in the last three months (%s to %s) "
            "were %s, and you are graded %s in overall performance."
            % (data["window_start"], data["window_end"], data["points"], data["grade"]))
    if weakest:
        # the rule set says what gains each indicator's missing points
        advice = "; ".join(i["advice"] or "improve %s" % i["title"].lower() for i in weakest)
        body += ("\n\nOSH management notice: %s. This will improve your management capacity "
                 "while gaining more points." % (advice[0].upper() + advice[1:]))
    return title, body


def handle(conn, event):
    """Issue the notice a GradeAssigned calls for, once; returns its event."""
    if not eventstore.record_received(conn, CONSUMER, event):
        return None
    if event.name != "GradeAssigned":
        return None
    title, body = grade_notice_text(event.data_json())
    notice = new_event("NoticeIssued", {
        "notice_id": str(uuid.uuid4()), "enterprise_id": event.subject, "kind": "grade",
        "title": title, "body": body, "cause_event_id": event.id,
    }, actor="notify", correlation_id=event.correlation_id, causation_id=event.id)
    eventstore.append(conn, "notice-" + notice.data["notice_id"], 0, [notice])
    project(conn, notice)
    return notice


def project(conn, event):
    if event.name == "NoticeIssued":
        conn.execute(notices.insert().values(issued_at=event.time, **event.data))


def list_for(conn, enterprise_id):
    rows = conn.execute(select(notices).where(notices.c.enterprise_id == enterprise_id)
                        .order_by(notices.c.issued_at.desc())).all()
    return [dict(r._mapping, issued_at=isoformat(r.issued_at)) for r in rows]

"""The checklist service's read models, kept in step with its own events."""
from sqlalchemy import (Column, DateTime, Float, Integer, MetaData, String, Table, select)

from einspection.contract import isoformat

metadata = MetaData()

enterprises = Table(
    "enterprises", metadata,
    Column("enterprise_id", String(64), primary_key=True),
    Column("credit_code", String(18), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("industry", String(100), nullable=False, index=True),
    Column("town", String(100), nullable=False, index=True),
    Column("grid", String(100), nullable=False, index=True),
    Column("address", String(300), nullable=False),
    Column("latitude", Float), Column("longitude", Float),
    Column("employees", Integer),
    Column("registered_at", DateTime(timezone=True), nullable=False),
)

inspections = Table(
    "inspections", metadata,
    Column("inspection_id", String(64), primary_key=True),
    Column("enterprise_id", String(64), nullable=False, index=True),
    Column("position_id", String(64), nullable=False),
    Column("checklist_id", String(64), nullable=False),
    Column("checklist_version", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=False),
    Column("items_passed", Integer, nullable=False),
    Column("items_failed", Integer, nullable=False),
    Column("items_not_applicable", Integer, nullable=False),
    Column("inspector", String(200), nullable=False),
)

TABLES = [enterprises, inspections]


def _columns_of(table, data):
    return {column.name: data[column.name] for column in table.columns if column.name in data}


def project(conn, event):
    if event.name == "EnterpriseRegistered":
        conn.execute(enterprises.insert().values(**_columns_of(enterprises, event.data)))
    elif event.name == "InspectionLogged":
        conn.execute(inspections.insert().values(**_columns_of(inspections, event.data)))


def enterprise_view(row):
    view = dict(row._mapping)
    view["registered_at"] = isoformat(view["registered_at"])
    view["id"] = view.pop("enterprise_id")
    return view


def find_enterprise(conn, enterprise_id):
    return conn.execute(select(enterprises).where(
        enterprises.c.enterprise_id == enterprise_id)).first()


def find_by_credit_code(conn, code):
    return conn.execute(select(enterprises).where(enterprises.c.credit_code == code)).first()

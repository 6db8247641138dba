"""The printable rectification notice (隐患整改通知书) of a hazard, through
the gateway on the running platform: a PDF whose text layer holds the
enterprise, the position, the description's lines, the category's labels and
the days in the deployment's time zone (Asia/Shanghai here, not UTC); a
major hazard's plan; an inspection's hazard's legal basis; the same number
on a reprint; scoped as the hazard is."""
import io
import re
import uuid
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from pypdf import PdfReader

from . import factories, fixtures
from .fixtures import created
from .support import wait_until
from .test_hazards import PLAN, report

SHANGHAI = ZoneInfo("Asia/Shanghai")        # the platform's EINSPECTION_TIME_ZONE default


def notice_text(api, hazard_id):
    response = api.get("/api/v1/hazards/%s/rectification-notice.pdf" % hazard_id)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


def test_the_notice_prints_the_hazard_in_local_days(api):
    site = fixtures.site(api, name="百德纺织有限公司")
    where = fixtures.position(api, site.enterprise_id, name="锅炉房（二号）")
    # 00:30 in Shanghai three days ago: the day before in UTC
    day = datetime.now(SHANGHAI).date() - timedelta(days=3)
    found = datetime.combine(day, time(0, 30), SHANGHAI).astimezone(timezone.utc)
    deadline = datetime.combine(day + timedelta(days=7), time(0, 30), SHANGHAI)
    assert found.date() == day - timedelta(days=1)
    hazard = report(api, site.enterprise_id, position_id=where["id"], category="electrical",
                    description="配电柜门未关闭\n带电部位外露，无警示标志",
                    found_at=factories.iso(found), rectification_deadline=factories.iso(deadline))

    text = notice_text(api, hazard["id"])
    for expected in ("隐患整改通知书", "百德纺织有限公司", "锅炉房（二号）", "配电柜门未关闭",
                     "带电部位外露，无警示标志", "一般隐患", "用电 electrical",
                     day.isoformat(), (day + timedelta(days=7)).isoformat() + " 00:30",
                     hazard["reported_by"], "整改责任人", "验收人"):
        assert expected in text, (expected, text)
    assert (day - timedelta(days=1)).isoformat() not in text      # not the UTC day
    assert "治理方案" not in text and "依据" not in text           # no plan, no basis for a general report
    number = re.search(r"ZG-\d{8}-[0-9A-F]{8}", text).group(0)
    assert number.startswith("ZG-" + day.strftime("%Y%m%d"))
    assert re.search(r"ZG-\d{8}-[0-9A-F]{8}", notice_text(api, hazard["id"])).group(0) == number
    other = report(api, site.enterprise_id, found_at=factories.iso(found))
    assert number not in notice_text(api, other["id"])


def test_a_major_hazard_shows_its_plan_and_an_inspection_hazard_its_legal_basis(api):
    site = fixtures.site(api)
    major = report(api, site.enterprise_id, level="major")
    assert "尚未制定" in notice_text(api, major["id"])            # the plan is not there yet
    created(api.post("/api/v1/hazards/%s/plan" % major["id"], PLAN))
    text = notice_text(api, major["id"])
    for expected in ("重大隐患", PLAN["goal"], PLAN["funds"], PLAN["responsible_person"]):
        assert expected in text, (expected, text)

    inspection = created(api.post("/api/v1/inspections", site.inspection(failed=(0,))))
    [found] = wait_until(lambda: api.get("/api/v1/hazards", params={
        "enterprise_id": site.enterprise_id,
        "source_inspection_id": inspection["id"]}).json()["items"])
    text = notice_text(api, found["id"])
    assert "GB 50016-2014 5.5.17" in text, text                  # item 0's legal basis


def test_another_tenants_hazard_and_a_missing_one_are_404(api):
    site = fixtures.site(api)
    hazard = report(api, site.enterprise_id)
    stranger = fixtures.account(api, "enterprise_manager",
                                enterprise_id=fixtures.register_enterprise(api))
    path = "/api/v1/hazards/%s/rectification-notice.pdf"
    assert stranger.get(path % hazard["id"]).status_code == 404
    assert api.get(path % uuid.uuid4()).status_code == 404
    assert api.get(path % "nope").status_code == 404
    own = fixtures.account(api, "enterprise_staff", enterprise_id=site.enterprise_id)
    assert own.get(path % hazard["id"]).status_code == 200

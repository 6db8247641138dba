"""Reporting a hazard from the phone, in headless Chromium at phone size,
against the running processes: from a scanned position, a report without a
description shows the API's reason beside the field; in full, with a photo
and the submit tapped twice (and once more after the answer), the API holds
exactly one hazard, with that photo as its evidence; the page links to it;
the top bar of an enterprise account offers the page; without a position the
page offers the enterprise's positions; no sideways scrolling at 375 px."""
import hashlib
import os
import uuid

import pytest

from . import factories, fixtures
from .fixtures import account, created
from .support import Api
from .web_support import run_flow

pytestmark = pytest.mark.backends("postgres")

PHONE_WIDTH = 375


@pytest.fixture(scope="module")
def reporting(platform, admin_tokens):
    """An enterprise of its own, its staff account, two positions."""
    if platform.base_url not in admin_tokens:
        admin_tokens[platform.base_url] = platform.login()
    api = Api(platform.base_url, admin_tokens[platform.base_url])
    enterprise = fixtures.register_enterprise(api, name="上报测试企业 " + uuid.uuid4().hex[:6])
    staff = account(api, "enterprise_staff", enterprise_id=enterprise)
    scanned = fixtures.position(api, enterprise, name="配电房")
    other = fixtures.position(api, enterprise, name="仓库二号")
    return {"api": api, "enterprise": enterprise, "staff": staff, "scanned": scanned,
            "other": other}


def test_a_hazard_is_reported_once_with_its_photo_however_often_submit_is_tapped(
        platform, reporting, screenshots, tmp_path):
    staff, enterprise, scanned = reporting["staff"], reporting["enterprise"], reporting["scanned"]
    photo = factories.unique_photo(size=(64, 48))
    photo_path = tmp_path / "hazard.png"
    photo_path.write_bytes(photo)
    description = "配电箱门未关闭\n带电部位裸露 " + uuid.uuid4().hex[:6]
    seen = run_flow("report", expected_console_errors=("status of 400",),
                    base_url=platform.base_url, username=staff.username,
                    password=staff.password, token=fixtures.position_token(platform, scanned["id"]),
                    category="fire",
                    description=description, photo=str(photo_path),
                    screenshots={"report": os.path.join(
                        screenshots, "report-%s.png" % platform.backend)})

    assert seen["report_url"].endswith("/app/report.html?position=" + scanned["id"])
    assert seen["refused"]                                  # the API's reason, beside its field
    assert any("上报隐患" in link for link in seen["nav"])
    categories = created(staff.get("/api/v1/hazard-categories"), 200)["categories"]
    assert seen["categories"] == [c["key"] for c in categories]
    assert seen["category_labels"] == [c["zh"] for c in categories]     # Chinese, the default
    assert seen["positions"] == [scanned["id"]]             # the scanned one, chosen
    reported = created(staff.get("/api/v1/hazards", params={
        "enterprise_id": enterprise, "position_id": scanned["id"]}), 200)["items"]
    assert len(reported) == 1, reported                     # three taps, one hazard
    hazard = created(staff.get("/api/v1/hazards/" + reported[0]["id"]), 200)
    assert hazard["description"] == description and hazard["category"] == "fire"
    assert hazard["reported_by"] == staff.username and hazard["level"] == "general"
    assert hazard["evidence"] == ["sha256:" + hashlib.sha256(photo).hexdigest()]
    assert staff.get("/api/v1/evidence/" + hazard["evidence"][0]).content == photo
    assert seen["hazard_href"] == "/app/hazard.html?id=" + hazard["id"]
    assert not any(seen["field_errors"])                    # cleared once it was recorded
    assert seen["width"] <= PHONE_WIDTH, seen["too_wide"]
    assert {"配电房", "仓库二号"} <= set(seen["listed_positions"])

"""The enterprise side end to end, across services and the bus: a
self-inspection at a scanned position with two failed items becomes exactly
two hazards (one major) in the hazard service, linked back to the inspection
and its items; the standing book and the score see them."""
import json

from . import fixtures
from .support import EventTap, wait_until


def hazards_of(api, enterprise_id):
    response = api.get("/api/v1/hazards?enterprise_id=%s&size=200" % enterprise_id)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_two_failed_items_become_exactly_two_hazards_one_major(api, platform):
    site = fixtures.site(api)
    tap = EventTap(platform.amqp_uri, platform.exchange, "einspection.hazard.reported.v1")
    try:
        # item 0 is a major one (blocked fire exits), item 2 requires a photo
        inspected = api.post("/api/v1/inspections", site.inspection(failed=(0, 2)))
        assert inspected.status_code == 201, inspected.text
        inspection_id = inspected.json()["id"]

        hazards = wait_until(lambda: len(hazards_of(api, site.enterprise_id)) == 2
                             and hazards_of(api, site.enterprise_id), timeout=30,
                             message="two hazards from the inspection")
        tap.drain(2.0)                    # time for any duplicate to appear
        assert len(hazards_of(api, site.enterprise_id)) == 2
        items = site.version["items"]
        by_item = {h["source_item_id"]: h for h in hazards}
        assert set(by_item) == {items[0]["item_id"], items[2]["item_id"]}
        assert by_item[items[0]["item_id"]]["level"] == "major"
        assert by_item[items[2]["item_id"]]["level"] == "general"
        for hazard in hazards:
            assert hazard["source_inspection_id"] == inspection_id
            assert hazard["position_id"] == site.position_id
            assert hazard["status"] == "reported"
        reported = [json.loads(m.body) for m in tap.messages]
        assert sorted(e["data"]["hazard_id"] for e in reported
                      if e["subject"] == site.enterprise_id) == sorted(by_item[i]["id"]
                                                                       for i in by_item)
        # the major one needs its plan before it can be rectified
        major = by_item[items[0]["item_id"]]
        refused = api.post("/api/v1/hazards/%s/rectification" % major["id"],
                           {"measures": "cleared", "done_at": major["found_at"],
                            "rectified_by": "li"})
        assert refused.status_code in (400, 409), refused.text
    finally:
        tap.close()

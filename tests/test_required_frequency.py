"""The authority's universal checklists with a required frequency, through
the gateway on the real processes, both backends: set in the draft (create
or PUT …/draft), frozen with the published version, refused on an
enterprise checklist (400 naming it); a schedule of it rarer than required
is refused (400 naming `frequency`, saying the required one), and the
enterprise's schedule list answers each requirement that applies to it and
whether a schedule meets it."""
import uuid

from einspection.contract import utcnow
from einspection.days import deployment_zone, local_day
from services.checklist import rounds

from . import factories
from .fixtures import account, created, position, site
from .test_end_to_end import register

TODAY = local_day(utcnow(), deployment_zone()).isoformat()


def schedule(checklist_id, position_id, frequency, **terms):
    return dict({"checklist_id": checklist_id, "position_id": position_id,
                 "frequency": frequency, "starts_on": TODAY,
                 "assignee_role": "enterprise_staff"}, **terms)


def test_the_order_of_frequencies_is_defined_once():
    def terms(frequency, weekdays=()):
        return {"frequency": frequency, "weekdays": list(weekdays)}
    assert rounds.at_least_as_often(terms("daily"), "monthly")
    assert rounds.at_least_as_often(terms("shift"), "daily")
    assert rounds.at_least_as_often(terms("daily"), "shift")
    assert not rounds.at_least_as_often(terms("weekly", [1]), "daily")
    assert rounds.at_least_as_often(terms("weekly", range(1, 8)), "daily")
    assert not rounds.at_least_as_often(terms("shift", [1, 2]), "daily")
    assert rounds.at_least_as_often(terms("shift", [1, 2]), "weekly")
    assert not rounds.at_least_as_often(terms("monthly"), "weekly")
    assert rounds.at_least_as_often(terms("monthly"), None)


def test_a_required_frequency_is_set_published_enforced_and_answered(api):
    industry = "chemicals-" + uuid.uuid4().hex[:6]     # the checklists apply to this test's only
    enterprise_id = register(api, industry=industry)
    elsewhere_id = register(api)                          # another industry
    manager = account(api, "enterprise_manager", enterprise_id=enterprise_id)
    place = site(api, enterprise_id)

    # the authority's draft carries it; publishing freezes it into the version
    draft = created(api.post("/api/v1/checklists", factories.checklist(
        title="危化品月检", industry=industry, required_frequency="daily")))
    assert draft["latest"]["required_frequency"] == "daily"
    assert draft["required_frequency"] is None                  # nothing published yet
    edited = created(api.put("/api/v1/checklists/%s/draft" % draft["id"], {
        "items": draft["latest"]["items"], "required_frequency": "weekly"}), 200)
    assert edited["latest"]["required_frequency"] == "weekly"
    kept = created(api.put("/api/v1/checklists/%s/draft" % draft["id"], {
        "items": draft["latest"]["items"], "title": "危化品周检"}), 200)   # left out: kept
    assert kept["latest"]["required_frequency"] == "weekly"
    published = created(api.post("/api/v1/checklists/%s/publish" % draft["id"]), 200)
    assert published["required_frequency"] == "weekly"
    version = created(api.get("/api/v1/checklists/%s/versions/1" % draft["id"]), 200)
    assert version["required_frequency"] == "weekly" and version["status"] == "published"
    # a next draft may change it; the published version and what is enforced stay
    created(api.put("/api/v1/checklists/%s/draft" % draft["id"], {
        "items": draft["latest"]["items"], "required_frequency": "monthly"}), 200)
    got = created(api.get("/api/v1/checklists/%s" % draft["id"]), 200)
    assert got["required_frequency"] == "weekly" and got["latest"]["required_frequency"] == (
        "monthly")
    assert created(api.get("/api/v1/checklists/%s/versions/1" % draft["id"]),
                   200)["required_frequency"] == "weekly"
    created(api.put("/api/v1/checklists/%s/draft" % draft["id"], {
        "items": draft["latest"]["items"], "required_frequency": "weekly"}), 200)
    created(api.post("/api/v1/checklists/%s/publish" % draft["id"]), 200)

    # an enterprise checklist has none; an unknown frequency is no frequency
    for response in (
            api.post("/api/v1/checklists", factories.checklist(
                enterprise_id, required_frequency="daily")),
            api.put("/api/v1/checklists/%s/draft" % place.version["checklist_id"], {
                "items": place.version["items"], "required_frequency": "monthly"}),
            api.post("/api/v1/checklists", factories.checklist(
                industry=industry, required_frequency="hourly"))):
        assert response.status_code == 400, response.text
        assert "required_frequency" in response.json()["error"]["fields"], response.text

    # the enterprise's list says what is required, unsatisfied so far
    path = "/api/v1/enterprises/%s/schedules" % enterprise_id
    def ours(answer):
        """This test's requirements: a universal checklist of every industry another
        test published with a required frequency binds this enterprise too."""
        return [r for r in answer["requirements"] if r["checklist_id"] == draft["id"]]
    answer = created(manager.get(path), 200)
    assert ours(answer) == [{
        "checklist_id": draft["id"], "title": "危化品周检", "required_frequency": "weekly",
        "satisfied": False, "schedule_ids": []}]
    assert ours(created(api.get("/api/v1/enterprises/%s/schedules" % elsewhere_id),
                        200)) == []                             # another industry's

    # rarer than required: refused, naming frequency and the required one
    refused = manager.post(path, schedule(draft["id"], place.position_id, "monthly"))
    assert refused.status_code == 400, refused.text
    reason = refused.json()["error"]["fields"]["frequency"][0]
    assert "weekly" in reason and draft["id"] in reason
    # a shift schedule on some weekdays only comes weekly: enough for weekly
    weekly = created(manager.post(path, schedule(draft["id"], place.position_id, "weekly",
                                                 weekdays=[1])))
    daily = created(manager.post(path, schedule(draft["id"], position(
        api, enterprise_id, name="Tank farm")["id"], "daily")))
    # another checklist of the enterprise is not bound
    created(manager.post(path, schedule(place.version["checklist_id"], place.position_id,
                                        "monthly")))
    [requirement] = ours(created(manager.get(path), 200))
    assert requirement["satisfied"] is True
    assert sorted(requirement["schedule_ids"]) == sorted([weekly["id"], daily["id"]])
    # one ended (no rounds from today on: ends_on has none) no longer meets it
    created(manager.post("/api/v1/schedules/%s/end" % weekly["id"], {}), 200)
    [requirement] = ours(created(manager.get(path), 200))
    assert requirement["satisfied"] is True and requirement["schedule_ids"] == [daily["id"]]
    created(manager.post("/api/v1/schedules/%s/end" % daily["id"], {}), 200)
    [requirement] = ours(created(manager.get(path), 200))
    assert requirement["satisfied"] is False and requirement["schedule_ids"] == []

"""Logins and accounts, from outside: case-insensitive unique usernames, the
password policy, changing one's password, a reset to a temporary password
that must be changed first, account creation that tells a manager nothing
about other enterprises, and login throttling on a platform of its own with
two gateways and two checklist processes."""
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import select

from conftest import BACKENDS
from einspection.db import make_engine
from services.checklist import cli, projections
from tools import launch

from . import fixtures
from .conftest import own_platform
from .fixtures import created
from .support import Api, free_port, wait_until


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:6])


def login(base_url, username, password, **headers):
    return requests.post(base_url + "/api/v1/auth/token", json={
        "username": username, "password": password}, headers=headers, timeout=30)


def test_usernames_are_case_insensitive_and_unique_as_such(api, platform):
    admin_name, admin_password = launch.ADMIN
    taken = api.post("/api/v1/accounts", {"username": admin_name.upper(),
                                          "password": "a-long-password-1",
                                          "role": "authority_inspector"})
    assert taken.status_code == 409, taken.text
    assert "taken" in taken.json()["error"]["message"]
    inspector = unique("Bureau.Inspector")
    created(api.post("/api/v1/accounts", {"username": inspector, "password": "a-long-password-1",
                                          "role": "authority_inspector"}))
    assert api.post("/api/v1/accounts", {"username": inspector.lower(),
                                         "password": "a-long-password-1",
                                         "role": "authority_inspector"}).status_code == 409
    for spelling in (inspector, inspector.lower(), inspector.upper()):
        answer = created(login(platform.base_url, spelling, "a-long-password-1"), 200)
        assert answer["account"]["username"] == inspector     # as it was created
    assert login(platform.base_url, admin_name.upper(), admin_password).status_code == 200


def test_the_password_policy_names_the_rule_broken(api):
    def refused(password, username=None):
        response = api.post("/api/v1/accounts", {
            "username": username or unique("bureau.li"), "password": password,
            "role": "authority_inspector"})
        assert response.status_code == 400, response.text
        return response.json()["error"]["fields"]["password"]

    assert refused("eleven-char") == ["must be at least 12 characters"]
    name = unique("bureau.wang")
    assert refused(name.upper(), username=name) == ["must not be the username"]
    assert refused("z" * 14) == ["must not be one character repeated"]
    assert refused("Password1234") == ["is a commonly used password"]


def test_changing_ones_own_password(api, platform):
    enterprise = fixtures.register_enterprise(api)
    staff = fixtures.account(api, "enterprise_staff", enterprise_id=enterprise)

    def change(old, new):
        return staff.post("/api/v1/auth/password", {"old_password": old, "new_password": new})

    wrong = change("not-the-password", "a brand new password")
    assert wrong.status_code == 400
    assert list(wrong.json()["error"]["fields"]) == ["old_password"]
    weak = change(staff.password, "qwerty123456")
    assert weak.json()["error"]["fields"] == {"new_password": ["is a commonly used password"]}
    same = change(staff.password, staff.password)
    assert same.json()["error"]["fields"] == {
        "new_password": ["must differ from the current password"]}
    changed = created(change(staff.password, "a brand new password"), 200)
    assert changed["account"]["username"] == staff.username
    assert changed["account"]["must_change_password"] is False
    assert Api(platform.base_url, changed["token"]).get("/api/v1/hazards").status_code == 200
    assert login(platform.base_url, staff.username, staff.password).status_code == 401
    assert login(platform.base_url, staff.username, "a brand new password").status_code == 200
    bad_body = staff.post("/api/v1/auth/password", {"new_password": "a brand new password 2"})
    assert "old_password" in bad_body.json()["error"]["fields"]


def test_a_reset_password_is_temporary_and_must_be_changed_before_anything_else(api, platform):
    a, b = fixtures.register_enterprise(api), fixtures.register_enterprise(api)
    manager = fixtures.account(api, "enterprise_manager", enterprise_id=a)
    staff = fixtures.account(manager, "enterprise_staff", enterprise_id=a)
    staff_id = created(staff.get("/api/v1/auth/me"), 200)["account_id"]
    manager_id = created(manager.get("/api/v1/auth/me"), 200)["account_id"]
    # another enterprise's manager: as if there were no such account
    outsider = fixtures.account(api, "enterprise_manager", enterprise_id=b)
    assert outsider.post("/api/v1/accounts/%s/password-reset" % staff_id).status_code == 404
    assert outsider.post("/api/v1/accounts/%s/password-reset" % uuid.uuid4()).status_code == 404
    assert staff.post("/api/v1/accounts/%s/password-reset" % staff_id).status_code == 403
    assert manager.post("/api/v1/accounts/%s/password-reset" % manager_id).status_code == 409

    reset = created(manager.post("/api/v1/accounts/%s/password-reset" % staff_id), 200)
    temporary = reset["temporary_password"]
    assert reset["account"]["must_change_password"] is True
    assert login(platform.base_url, staff.username, staff.password).status_code == 401
    issued = created(login(platform.base_url, staff.username, temporary), 200)
    assert issued["account"]["must_change_password"] is True
    expires = datetime.fromisoformat(issued["expires_at"].replace("Z", "+00:00"))
    assert expires - datetime.now(timezone.utc) <= timedelta(minutes=15)   # good for little
    limited = Api(platform.base_url, issued["token"])
    for refused in (limited.get("/api/v1/hazards"), limited.get("/api/v1/enterprises/" + a),
                    limited.post("/api/v1/hazards", {})):
        assert refused.status_code == 403
        assert "change the temporary password" in refused.json()["error"]["message"]
    assert created(limited.get("/api/v1/auth/me"), 200)["must_change_password"] is True
    changed = created(limited.post("/api/v1/auth/password", {
        "old_password": temporary, "new_password": "my own password now"}), 200)
    assert changed["account"]["must_change_password"] is False
    assert Api(platform.base_url, changed["token"]).get("/api/v1/hazards").status_code == 200
    assert login(platform.base_url, staff.username, temporary).status_code == 401
    listed = created(manager.get("/api/v1/accounts"), 200)["items"]
    assert [x["must_change_password"] for x in listed if x["account_id"] == staff_id] == [False]
    # the admin resets anyone's, a manager's too
    assert created(api.post("/api/v1/accounts/%s/password-reset" % manager_id),
                   200)["account"]["must_change_password"] is True
    # an operator on the register's database resets any account's (an admin who lost theirs)
    temporary = cli.reset_password(platform.database_urls["checklist"], manager.username.upper())
    assert login(platform.base_url, manager.username, temporary).json()["account"][
        "must_change_password"] is True

    # resets and changes are events: the accounts read model rebuilds to the same rows
    engine = make_engine(platform.database_urls["checklist"])
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            before = sorted(map(tuple, conn.execute(select(projections.accounts)).all()))
            projections.rebuild(conn)
            after = sorted(map(tuple, conn.execute(select(projections.accounts)).all()))
            transaction.rollback()
    finally:
        engine.dispose()
    assert after == before


def test_a_manager_learns_nothing_of_another_enterprises_usernames(api):
    a, b = fixtures.register_enterprise(api), fixtures.register_enterprise(api)
    prefix_a = created(api.get("/api/v1/enterprises/" + a), 200)["account_prefix"]
    prefix_b = created(api.get("/api/v1/enterprises/" + b), 200)["account_prefix"]
    manager = fixtures.account(api, "enterprise_manager", enterprise_id=a)
    staff_of_b = fixtures.account(api, "enterprise_staff", enterprise_id=b)
    inspector = fixtures.account(api, "authority_inspector")

    def attempt(username):
        response = manager.post("/api/v1/accounts", {
            "username": username, "password": "a-long-password-1", "role": "enterprise_staff",
            "enterprise_id": a})
        return response.status_code, response.json()["error"]

    # B's staff member, an authority account, and names nobody has: the same answer
    answers = {name: attempt(name) for name in (
        staff_of_b.username, inspector.username, prefix_b + ".nobody-" + uuid.uuid4().hex[:6],
        "nobody-" + uuid.uuid4().hex[:6], launch.ADMIN[0])}
    assert {status for status, _ in answers.values()} == {400}
    assert len({repr(error) for _, error in answers.values()}) == 1, answers
    assert prefix_a + "." in answers[staff_of_b.username][1]["fields"]["username"][0]
    # a name taken in its own enterprise is 409: one it can see in its list anyway
    colleague = fixtures.account(api, "enterprise_staff", enterprise_id=a)
    assert attempt(colleague.username.upper())[0] == 409
    listed = created(manager.get("/api/v1/accounts"), 200)["items"]
    assert colleague.username in [x["username"] for x in listed]
    assert staff_of_b.username not in [x["username"] for x in listed]
    created(manager.post("/api/v1/accounts", {
        "username": prefix_a + ".wang-" + uuid.uuid4().hex[:6], "password": "a-long-password-1",
        "role": "enterprise_staff", "enterprise_id": a}))

    # no one else may take an enterprise's prefix
    refused = api.post("/api/v1/accounts", {"username": prefix_b + ".officer",
                                            "password": "a-long-password-1",
                                            "role": "grid_officer", "grid": "Wukang-1"})
    assert refused.status_code == 400 and "username" in refused.json()["error"]["fields"]
    for prefix in (prefix_a.upper(), inspector.username.split(".")[0]):
        clash = api.post("/api/v1/enterprises", dict(fixtures.factories.enterprise(),
                                                     account_prefix=prefix))
        assert clash.status_code == 409, (prefix, clash.text)
    bad = api.post("/api/v1/enterprises", dict(fixtures.factories.enterprise(),
                                               account_prefix="has.dot"))
    assert "account_prefix" in bad.json()["error"]["fields"]


# --- throttling, on a platform of its own ---------------------------------------------------
# Two gateways (the first behind a "proxy" on 127.0.0.1 whose X-Forwarded-For it
# believes, the second believing no one) and two checklist processes; waits of
# 0.5 s doubling to at most 1 s (usernames) and 2 s (addresses).

THROTTLE = {"LOGIN_THROTTLE_BASE_SECONDS": "0.5", "LOGIN_THROTTLE_USERNAME_FAILURES": "5",
            "LOGIN_THROTTLE_USERNAME_MAX_SECONDS": "1", "LOGIN_THROTTLE_ADDRESS_FAILURES": "20",
            "LOGIN_THROTTLE_ADDRESS_MAX_SECONDS": "2", "GATEWAY_TRUSTED_PROXIES": "127.0.0.1"}


@pytest.fixture(scope="module", params=BACKENDS)
def guarded(request, databases, run_id, tmp_path_factory):
    def second_processes(running):
        running.start_service("checklist", replica=1)
        port = free_port()
        running.start_service("gateway", replica=1, extra_env={
            "GATEWAY_ADDRESS": "127.0.0.1:%d" % port, "GATEWAY_TRUSTED_PROXIES": ""})
        running.other_url = "http://127.0.0.1:%d" % port
        wait_until(lambda: _healthy(running.other_url), message="the second gateway")
        admin = Api(running.base_url, running.token)
        running.victim = unique("bureau.victim")
        created(admin.post("/api/v1/accounts", {"username": running.victim,
                                                "password": "the-right-password",
                                                "role": "authority_inspector"}))
    with own_platform(request, databases, run_id, tmp_path_factory, "throttle",
                      second_processes, **THROTTLE) as running:
        yield running


def _healthy(url):
    try:
        return requests.get(url + "/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_fifty_wrong_passwords_get_429s_then_after_the_wait_the_right_one_logs_in(guarded):
    gateways = (guarded.base_url, guarded.other_url)
    answers = []
    for n in range(50):
        spelling = guarded.victim if n % 2 else guarded.victim.upper()   # one username
        answer = login(gateways[n % 2], spelling, "wrong-password-%d" % n,
                       **{"X-Forwarded-For": "198.51.100.%d" % (n + 1)})
        answers.append((n % 2, answer))
    statuses = [answer.status_code for _, answer in answers]
    assert set(statuses) == {401, 429}, statuses
    assert statuses[:5] == [401] * 5                       # five free failures
    assert statuses[5] == 429                              # then held back
    throttled = [(gateway, answer) for gateway, answer in answers if answer.status_code == 429]
    assert {gateway for gateway, _ in throttled} == {0, 1}  # both gateways, one count
    for _, answer in throttled:
        assert 1 <= int(answer.headers["Retry-After"]) <= 1
        assert answer.json()["error"]["status"] == 429
        assert "try again" in answer.json()["error"]["message"]
    # while held back even the right password is refused
    held = login(guarded.base_url, guarded.victim, "the-right-password")
    if held.status_code == 429:
        time.sleep(int(held.headers["Retry-After"]))
    else:
        assert held.status_code == 200          # the delay (1 s at most) had just run out
    assert login(guarded.other_url, guarded.victim, "the-right-password").status_code == 200
    # the success forgot the username's failures
    assert login(guarded.base_url, guarded.victim, "wrong-again").status_code == 401


def test_an_address_that_fails_for_many_usernames_is_held_back_for_all(guarded):
    attacker = {"X-Forwarded-For": "203.0.113.66"}
    statuses = [login(guarded.base_url, unique("nobody"), "guess-%d" % n, **attacker).status_code
                for n in range(25)]
    assert statuses[:20] == [401] * 20 and 429 in statuses[20:], statuses
    held = login(guarded.base_url, guarded.victim, "the-right-password", **attacker)
    assert held.status_code == 429 and int(held.headers["Retry-After"]) >= 1
    # the victim, from its own address, is not held back by the attacker's failures
    assert login(guarded.base_url, guarded.victim, "the-right-password",
                 **{"X-Forwarded-For": "192.0.2.10"}).status_code == 200


def test_x_forwarded_for_is_not_believed_from_an_untrusted_peer(guarded):
    """The second gateway trusts no proxy: rotating the header changes nothing,
    every try counts against the connection's own address."""
    statuses = [login(guarded.other_url, unique("nobody"), "guess",
                      **{"X-Forwarded-For": "192.0.2.%d" % n}).status_code for n in range(30)]
    assert 429 in statuses, statuses
    wait = int(login(guarded.other_url, unique("nobody"), "guess").headers.get("Retry-After", 0))
    time.sleep(wait)        # leave the address as the next test would want it

"""Notice texts in both languages, topic patterns and the retry schedule:
plain functions, no broker, no database."""
from datetime import date, datetime, timezone

import pytest

from einspection.contract import LANGUAGES
from einspection.errors import InvalidCommand
from services.notify import channels, dispatch, policy, templates
from services.notify.policy import topic_matches

WHEN = datetime(2026, 11, 29, 8, 30, tzinfo=timezone.utc)
CONTEXTS = {
    "grade": dict(points="7.86", grade="C", previous_grade="B", window_start=date(2026, 8, 30),
                  window_end=date(2026, 11, 29), name="Baide Fabrics", period=None,
                  advice=["increase safety action recording"]),
    "monthly": dict(points="9.20", grade="A", previous_grade=None, period="2026-10",
                    window_start=date(2026, 8, 2), window_end=date(2026, 11, 1),
                    name="Baide Fabrics", advice=[]),
    "major_hazard": dict(name="Baide Fabrics", town="Wukang", grid="Wukang-1", hazard_id="h-1",
                         category="fire", description="sprinkler valve closed", found_at=WHEN,
                         reported_at=WHEN, reporter="li", deadline=WHEN, level_text="重大"),
    "overdue": dict(name="Baide Fabrics", town="Wukang", grid="Wukang-1", hazard_id="h-1",
                    level="major", level_text="重大", deadline=WHEN, detected_at=WHEN),
    "publication": dict(title="Enforcement inspection", body="Inspectors visit in May.",
                        published_by="Deqing ESB", published_at=WHEN),
    "listed": dict(name="Baide Fabrics", town="Wukang", grid="Wukang-1", hazard_id="h-1",
                   level="major", level_text="重大", office="县应急管理局执法大队",
                   reason="重大火灾隐患", deadline=WHEN, listed_at=WHEN),
    "listing_due": dict(name="Baide Fabrics", town="Wukang", grid="Wukang-1", hazard_id="h-1",
                        level_text="重大", office="县应急管理局执法大队", deadline=WHEN,
                        days_left=7),
    "delisted": dict(name="Baide Fabrics", town="Wukang", grid="Wukang-1", hazard_id="h-1",
                     level_text="重大", delisted_at=WHEN, delisted_by="sun.admin", note="复查合格"),
    "targets_drawn": dict(campaign_name="2016年度重点企业执法检查", legal_basis="德安监发[2016]5号",
                          seed="4 7 1", seed_source="福彩3D 第2016125期", drawn_at=WHEN,
                          algorithm="es-sha256-v1", snapshot_digest="ab" * 32,
                          targets=[{"enterprise_id": "e-1", "name": "Baide Fabrics",
                                    "town": "Wukang", "grid": "Wukang-1", "mandatory": True},
                                   {"enterprise_id": "e-2", "name": None, "town": "Xinshi",
                                    "grid": None, "mandatory": False}],
                          shortfall={"Zhongguan": 1}),
    "grid_targets_drawn": dict(campaign_name="2016年度重点企业执法检查",
                               legal_basis="德安监发[2016]5号", seed="4 7 1",
                               seed_source="福彩3D 第2016125期", drawn_at=WHEN, grid="Wukang-1",
                               targets=[{"enterprise_id": "e-1", "name": "Baide Fabrics",
                                         "town": "Wukang", "mandatory": True}]),
    "abatement_overdue": dict(name="Baide Fabrics", town="Wukang", grid="Wukang-1",
                              case_id="case-1", citation_id="c-1",
                              clause="《安全生产法》第九十九条", abatement_date=date(2026, 3, 20),
                              hazard_ids="h-1", detected_at=WHEN),
    "round_missed": dict(name="Baide Fabrics", town="Wukang", grid="Wukang-1",
                         schedule_id="s-1", round="2026-12-03", position_id="p-1",
                         checklist_id="cl-1", window_start=WHEN, window_end=WHEN,
                         who="baide.li"),
    "assigned": dict(name="Baide Fabrics", town="Wukang", grid="Wukang-1", hazard_id="h-1",
                     level_text="一般", assignee="baide.li", due=WHEN, note="先断电",
                     assigned_by="baide.manager"),
    "rectification_due": dict(name="Baide Fabrics", town="Wukang", grid="Wukang-1",
                              hazard_id="h-1", level_text="一般", assignee="baide.li", due=WHEN,
                              days_left=3),
    "assignment_overdue": dict(name="Baide Fabrics", town="Wukang", grid="Wukang-1",
                               hazard_id="h-1", level="general", level_text="一般",
                               deadline=WHEN, detected_at=WHEN, assignee="baide.li"),
    "escalated": dict(name="Baide Fabrics", town="Wukang", grid="Wukang-1", hazard_id="h-1",
                      level="general", level_text="一般", deadline=WHEN, days_overdue=3,
                      assignee="baide.li"),
}


@pytest.mark.parametrize("days_left, zh, en", [
    (3, "您负责的隐患距整改期限还有3天", "due in 3 days"),
    (1, "您负责的隐患距整改期限还有1天", "due in 1 day"),
    (0, "您负责的隐患今日到期", "due today")])
def test_the_assignees_reminder_says_how_many_days_are_left(days_left, zh, en):
    context = dict(CONTEXTS["rectification_due"], days_left=days_left)
    assert templates.render("rectification_due", "zh", **context)[0] == zh
    assert templates.render("rectification_due", "en", **context)[0].endswith(en)
    # a note only when there is one
    assert "说明" not in templates.render("assigned", "zh", **dict(CONTEXTS["assigned"],
                                                                   note=""))[1]


def test_one_persons_inbox_is_read_answered_and_managed_by_that_account():
    def principal(username, role, **anchor):
        return dict({"username": username, "role": role, "enterprise_id": None, "grid": None,
                     "town": None}, **anchor)
    li = principal("baide.li", "enterprise_staff", enterprise_id="e-1")
    colleague = principal("baide.wang", "enterprise_manager", enterprise_id="e-1")
    admin = principal("sun.admin", "authority_admin")
    inbox = "account:baide.li"
    assert policy.may_read(li, ["e-1"], inbox) and policy.may_read(admin, None, inbox)
    assert policy.may_read(dict(li, username="Baide.Li"), ["e-1"], inbox)   # case ignored
    assert not policy.may_read(colleague, ["e-1"], inbox)
    assert policy.answers_for(li, inbox) and not policy.answers_for(admin, inbox)
    assert not policy.answers_for(colleague, inbox)
    assert policy.manages(li, inbox) and policy.manages(admin, inbox)
    assert not policy.manages(colleague, inbox)
    policy.check_recipient(inbox)
    with pytest.raises(InvalidCommand):
        policy.check_recipient("account:")


@pytest.mark.parametrize("days_left, zh, en", [
    (7, "距整改期限还有7天", "7 days to its deadline"),
    (1, "距整改期限还有1天", "1 day to its deadline"),
    (0, "今日到期", "the deadline is today"),
    (-2, "已超过整改期限", "past its deadline")])
def test_a_listing_reminder_says_how_many_days_are_left(days_left, zh, en):
    context = dict(CONTEXTS["listing_due"], days_left=days_left)
    assert templates.render("listing_due", "zh", **context)[0] == "Baide Fabrics挂牌督办隐患" + zh
    assert templates.render("listing_due", "en", **context)[0].endswith(en)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", templates.KINDS)
def test_every_kind_renders_in_every_language(kind, language):
    title, body = templates.render(kind, language, **CONTEXTS[kind])
    assert title and "\n" not in title and body
    assert "{{" not in title + body and "{%" not in title + body


def test_the_grade_notice_says_the_seeds_sentence_with_the_advice():
    title, body = templates.render("grade", "en", **CONTEXTS["grade"])
    assert title == "Grade C: 7.86 points in the last three months"
    assert body.startswith("Performance points for Baide Fabrics in the last three months "
                           "(2026-08-30 to 2026-11-29) were 7.86, and you are graded C in "
                           "overall performance. (Previously graded B.)")
    assert body.endswith("OSH management notice: Increase safety action recording. This will "
                         "improve your management capacity while gaining more points.")
    _, chinese = templates.render("grade", "zh", **CONTEXTS["grade"])
    assert "绩效得分为7.86分，综合表现评定为C级" in chinese


def test_weakest_indicator_first_translated_with_english_fallback():
    indicators = [
        {"key": "a", "title": "A", "points": "1.00", "max_points": "2.00", "advice": "do a",
         "i18n": {"zh": {"title": "甲", "advice": "做甲"}}},
        {"key": "b", "title": "B", "points": "0.10", "max_points": "1.00", "advice": "do b"},
        {"key": "c", "title": "C", "points": "1.00", "max_points": "1.00", "advice": ""},
    ]
    assert templates.weakest_advice(indicators, "en") == ["do b", "do a"]
    assert templates.weakest_advice(indicators, "zh") == ["do b", "做甲"]


def test_an_indicator_without_advice_is_left_out_of_the_notice():
    """Scoring sends no advice for points lost with nothing to judge (no hazard
    recorded): the notice then names only the real shortfalls."""
    indicators = [
        {"key": "timeliness", "title": "Timeliness of hazard reporting", "points": "1.00",
         "max_points": "2.00", "advice": "",
         "i18n": {"zh": {"title": "隐患上报及时性", "advice": ""}}},
        {"key": "safety_actions", "title": "Safety action recording", "points": "0.30",
         "max_points": "1.50", "advice": "increase safety action recording",
         "i18n": {"zh": {"title": "安全活动记录", "advice": "增加安全活动记录"}}},
    ]
    data = dict(points="7.50", grade="C", window_start=date(2026, 8, 30),
                window_end=date(2026, 11, 29), indicators=indicators)
    _, english = templates.render("grade", "en", **templates.grade_context(data, "Baide", "en"))
    _, chinese = templates.render("grade", "zh", **templates.grade_context(data, "Baide", "zh"))
    assert english.endswith("OSH management notice: Increase safety action recording. This "
                            "will improve your management capacity while gaining more points.")
    assert "timeliness" not in english.lower() and "及时" not in chinese
    assert "增加安全活动记录" in chinese


@pytest.mark.parametrize("pattern, event_type, matches", [
    ("einspection.hazard.reported.v1", "einspection.hazard.reported.v1", True),
    ("einspection.hazard.#", "einspection.hazard.reported.v1", True),
    ("einspection.*.reported.v1", "einspection.hazard.reported.v1", True),
    ("einspection.*", "einspection.hazard.reported.v1", False),
    ("#", "einspection.grade.assigned.v1", True),
    ("einspection.grade.#", "einspection.hazard.reported.v1", False),
])
def test_topic_patterns(pattern, event_type, matches):
    assert topic_matches(pattern, event_type) is matches


def test_retries_back_off_doubling_up_to_the_cap():
    settings = dispatch.DeliverySettings(backoff_seconds=30, max_backoff_seconds=300)
    assert [settings.retry_delay(n) for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]


def test_the_lease_must_outlast_one_send():
    with pytest.raises(ValueError, match="NOTIFY_LEASE_SECONDS .* NOTIFY_WEBHOOK_TIMEOUT_SECONDS"):
        dispatch.DeliverySettings(lease_seconds=10, webhook_timeout=10)
    assert dispatch.DeliverySettings(lease_seconds=11, webhook_timeout=10).lease_seconds == 11


def test_the_signature_is_hmac_sha256_of_the_body():
    # RFC 4231 test case 2
    assert channels.signature("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")

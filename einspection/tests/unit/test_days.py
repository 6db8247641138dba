"""Days of the deployment's time zone: an instant at 00:30 in Shanghai is
of that day, though UTC still counts the day before."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from marshmallow import Schema

from einspection import days
from einspection.contract import InstantOrDay

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 00:30 on 3 December in Shanghai, 16:30 on the 2nd in UTC
JUST_AFTER_MIDNIGHT = datetime(2026, 12, 2, 16, 30, tzinfo=timezone.utc)


def test_the_deployment_zone_is_shanghai_unless_configured():
    assert days.deployment_zone({}).key == "Asia/Shanghai"
    assert days.deployment_zone({"EINSPECTION_TIME_ZONE": ""}).key == "Asia/Shanghai"
    assert days.deployment_zone({"EINSPECTION_TIME_ZONE": "Europe/Berlin"}).key == "Europe/Berlin"


def test_an_instant_just_after_local_midnight_is_of_the_local_day():
    assert days.local_day(JUST_AFTER_MIDNIGHT, SHANGHAI) == date(2026, 12, 3)
    assert days.local_day(JUST_AFTER_MIDNIGHT, timezone.utc) == date(2026, 12, 2)


def test_a_local_day_starts_at_16_utc_the_day_before():
    assert days.start_of(date(2026, 12, 3), SHANGHAI) == datetime(2026, 12, 2, 16,
                                                                  tzinfo=timezone.utc)
    # a zone with summer time: 30 March 2026 begins at 22:00 UTC, not 23:00
    assert days.start_of(date(2026, 3, 30), ZoneInfo("Europe/Berlin")) == datetime(
        2026, 3, 29, 22, tzinfo=timezone.utc)


class Period(Schema):
    from_ = InstantOrDay(data_key="from")
    to = InstantOrDay(end_of_day=True)


def test_a_period_of_days_is_the_whole_local_days(monkeypatch):
    monkeypatch.setenv("EINSPECTION_TIME_ZONE", "Asia/Shanghai")
    period = Period().load({"from": "2026-12-03", "to": "2026-12-03"})
    assert period["from_"] == datetime(2026, 12, 2, 16, tzinfo=timezone.utc)
    assert period["to"] == datetime(2026, 12, 3, 15, 59, 59, 999999, tzinfo=timezone.utc)
    assert period["from_"] <= JUST_AFTER_MIDNIGHT <= period["to"]
    monkeypatch.setenv("EINSPECTION_TIME_ZONE", "UTC")
    utc_days = Period().load({"from": "2026-12-03", "to": "2026-12-03"})
    assert not utc_days["from_"] <= JUST_AFTER_MIDNIGHT <= utc_days["to"]


def test_instants_stay_instants_and_nonsense_days_are_refused(monkeypatch):
    monkeypatch.setenv("EINSPECTION_TIME_ZONE", "Asia/Shanghai")
    assert Period().load({"to": "2026-12-03T08:00:00+08:00"})["to"] == datetime(
        2026, 12, 3, 0, tzinfo=timezone.utc)
    for bad in ("2026-13-01", "2026-02-30", "0001-01-01", "tomorrow"):
        with pytest.raises(Exception) as refused:
            Period().load({"from": bad})
        assert "from" in refused.value.messages, bad

"""Notices give times on the deployment's clock, the zone named."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from services.notify import templates


def test_an_instant_is_written_on_the_local_clock_with_its_zone():
    found = datetime(2026, 12, 2, 16, 30, tzinfo=timezone.utc)
    assert templates._when(found, ZoneInfo("Asia/Shanghai")) == "2026-12-03 00:30 Asia/Shanghai"
    assert templates._when(found.replace(tzinfo=None), ZoneInfo("Asia/Shanghai")) \
        == "2026-12-03 00:30 Asia/Shanghai"          # naive: UTC, as stored
    assert templates._when(date(2026, 12, 3)) == "2026-12-03"


def test_a_notice_body_shows_the_local_day(monkeypatch):
    monkeypatch.setenv("EINSPECTION_TIME_ZONE", "Asia/Shanghai")
    found = datetime(2026, 12, 2, 16, 30, tzinfo=timezone.utc)
    title, body = templates.render("major_hazard", "zh", name="甲厂", town="武康",
                                   grid="武康-1", hazard_id="h-1", category="fire",
                                   description="消防通道堵塞", found_at=found, reported_at=found,
                                   reporter="li", deadline=found, level_text="重大")
    assert "2026-12-03 00:30" in title + body and "2026-12-02" not in title + body

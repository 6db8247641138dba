"""The round calendar: daily, weekly, monthly and shift windows cut in local
time, across a time zone boundary (UTC day ≠ local day), a month end and a
DST change (Europe/Berlin) as well as a DST-free zone (Asia/Shanghai)."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from services.checklist.rounds import round_at, rounds_between, rounds_ending_by

SHANGHAI, BERLIN = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Berlin")
UTC = timezone.utc


def terms(frequency, starts_on=date(2026, 12, 1), weekdays=(), shifts=(), ends_on=None):
    return {"frequency": frequency, "starts_on": starts_on, "weekdays": list(weekdays),
            "shifts": list(shifts), "ends_on": ends_on}


def test_a_daily_round_is_the_local_day_in_utc():
    found = rounds_between(terms("daily"), date(2026, 12, 3), date(2026, 12, 4), SHANGHAI)
    assert [r.key for r in found] == ["2026-12-03", "2026-12-04"]
    assert found[0].starts_at == datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
    assert found[0].ends_at == datetime(2026, 12, 3, 16, 0, tzinfo=UTC)


def test_an_inspection_at_half_past_midnight_local_counts_for_the_local_day():
    moment = datetime(2026, 12, 3, 16, 30, tzinfo=UTC)      # 00:30 on 4 December in Shanghai
    assert round_at(terms("daily"), moment, SHANGHAI).key == "2026-12-04"


def test_weekly_rounds_fall_on_the_given_weekdays_only():
    found = rounds_between(terms("weekly", weekdays=[1, 4]), date(2026, 12, 1),
                           date(2026, 12, 14), SHANGHAI)
    # 3 and 10 December 2026 are Thursdays, 7 and 14 Mondays
    assert [r.key for r in found] == ["2026-12-03", "2026-12-07", "2026-12-10", "2026-12-14"]
    assert round_at(terms("weekly", weekdays=[1]), datetime(2026, 12, 2, 3, tzinfo=UTC),
                    SHANGHAI) is None


def test_a_monthly_round_is_the_calendar_month_across_its_end():
    t = terms("monthly", starts_on=date(2026, 12, 3))
    found = rounds_between(t, date(2026, 12, 3), date(2027, 2, 28), SHANGHAI)
    assert [r.key for r in found] == ["2026-12", "2027-01", "2027-02"]
    assert found[0].starts_at == datetime(2026, 12, 2, 16, tzinfo=UTC)   # from its first day
    assert found[0].ends_at == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert found[2].ends_at == datetime(2027, 2, 28, 16, tzinfo=UTC)
    # 31 December 23:30 local is still December; 00:30 on 1 January is January
    assert round_at(t, datetime(2026, 12, 31, 15, 30, tzinfo=UTC), SHANGHAI).key == "2026-12"
    assert round_at(t, datetime(2026, 12, 31, 16, 30, tzinfo=UTC), SHANGHAI).key == "2027-01"


def test_shifts_are_named_windows_and_a_night_shift_ends_the_next_day():
    t = terms("shift", shifts=[{"name": "早班", "start": "08:00", "end": "16:00"},
                               {"name": "夜班", "start": "22:00", "end": "06:00"}])
    found = rounds_between(t, date(2026, 12, 3), date(2026, 12, 3), SHANGHAI)
    assert [r.key for r in found] == ["2026-12-03/早班", "2026-12-03/夜班"]
    night = found[1]
    assert night.starts_at == datetime(2026, 12, 3, 14, tzinfo=UTC)
    assert night.ends_at == datetime(2026, 12, 3, 22, tzinfo=UTC)
    assert round_at(t, datetime(2026, 12, 3, 20, tzinfo=UTC), SHANGHAI).key == "2026-12-03/夜班"
    assert round_at(t, datetime(2026, 12, 3, 12, tzinfo=UTC), SHANGHAI) is None   # 20:00 local


def test_a_day_across_a_dst_change_is_23_or_25_hours_long():
    spring = rounds_between(terms("daily", starts_on=date(2026, 3, 1)), date(2026, 3, 29),
                            date(2026, 3, 29), BERLIN)[0]
    assert spring.ends_at - spring.starts_at == timedelta(hours=23)
    autumn = rounds_between(terms("daily", starts_on=date(2026, 10, 1)), date(2026, 10, 25),
                            date(2026, 10, 25), BERLIN)[0]
    assert autumn.ends_at - autumn.starts_at == timedelta(hours=25)
    assert autumn.starts_at == datetime(2026, 10, 24, 22, tzinfo=UTC)
    shift = rounds_between(terms("shift", starts_on=date(2026, 3, 1),
                                 shifts=[{"name": "night", "start": "22:00", "end": "06:00"}]),
                           date(2026, 3, 28), date(2026, 3, 28), BERLIN)[0]
    assert shift.ends_at - shift.starts_at == timedelta(hours=7)      # the clocks went forward


def test_the_schedule_days_bound_its_rounds_and_a_sweep_takes_each_ended_one_once():
    t = terms("daily", starts_on=date(2026, 12, 3), ends_on=date(2026, 12, 6))
    assert [r.key for r in rounds_between(t, date(2026, 12, 1), date(2026, 12, 9), SHANGHAI)] \
        == ["2026-12-03", "2026-12-04", "2026-12-05"]
    now = datetime(2026, 12, 4, 17, tzinfo=UTC)          # 01:00 on the 5th locally
    first = rounds_ending_by(t, None, now, SHANGHAI)
    assert [r.key for r in first] == ["2026-12-03", "2026-12-04"]
    assert rounds_ending_by(t, first[-1].ends_at, now, SHANGHAI) == []
    later = rounds_ending_by(t, first[-1].ends_at, now + timedelta(days=5), SHANGHAI)
    assert [r.key for r in later] == ["2026-12-05"]

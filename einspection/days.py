"""Days as people count them: cut in the deployment's time zone
(`EINSPECTION_TIME_ZONE`, default Asia/Shanghai), while instants are stored
in UTC. A deadline "in 7 days" or "today" is a day of the county, not of UTC."""
import os
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

DEFAULT_TIME_ZONE = "Asia/Shanghai"


def deployment_zone(environ=os.environ):
    return ZoneInfo(environ.get("EINSPECTION_TIME_ZONE") or DEFAULT_TIME_ZONE)


def local_day(moment, zone):
    """The deployment's calendar day an instant falls on."""
    return moment.astimezone(zone).date()


def start_of(day, zone):
    """The instant (UTC) a deployment day begins."""
    return datetime.combine(day, time(), zone).astimezone(timezone.utc)

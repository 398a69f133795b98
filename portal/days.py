"""Calendar days in a business's timezone: the one place that turns a local date into an aware instant."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from .models import utcnow


def day_start(day, tz, plus_days=0):
    """Midnight starting the calendar day `day` (+ plus_days) in tz, a zone name or a tzinfo (zoneinfo: a pytz
    zone given as tzinfo= would be local mean time, 30-60 minutes off)."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return datetime.combine(day + timedelta(days=plus_days), time.min, zone)


def at_local(day, time_of_day, tz, plus_days=0):
    """The aware instant of a wall-clock time on `day` (+ plus_days) in tz (a time skipped by a clock change
    counts as the later offset's, as zoneinfo does)."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return datetime.combine(day + timedelta(days=plus_days), time_of_day, zone)


def today_in(tz):
    """Today's date in tz."""
    return utcnow().astimezone(ZoneInfo(tz) if isinstance(tz, str) else tz).date()


def week_bounds(tz, today=None):
    """Monday 00:00 to next Monday 00:00 of the week holding `today` (default: now) in tz."""
    today = today or today_in(tz)
    monday = today - timedelta(days=today.weekday())
    return day_start(monday, tz), day_start(monday, tz, plus_days=7)

"""Per-person counters of actions that cost the service something another person pays for: files sent (the store,
the workers) and invitations mailed (someone's inbox, the sender's reputation).

Counted in the store named by RATELIMIT_STORAGE_URI, like the sign-in counters, so every worker and every
machine sees the same counts. Unlike those, every action counts, not only failures; and unlike those, an
allowance whose store cannot be reached lets the action through (logged): it brakes abuse, and an outage of its
counters must not stop an employee's sick note.
"""
import logging
import math
import time

from flask import current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from .config import ConfigError

log = logging.getLogger("portal.quotas")

# name: its setting (what it counts, and whose id is its key)
QUOTAS = {
    "uploads": "MEDIA_UPLOAD_RATE_LIMIT",  # files one person sends, through upload slots or the form
    "invitations": "INVITATION_RATE_LIMIT",  # invitations one person mails from the staff page, resends included
    "invitation-resends": "INVITATION_RESEND_RATE_LIMIT",  # new invitation links mailed to one person
}


class QuotaExceededError(Exception):
    """The window's allowance is used up; retry_after is in seconds."""

    def __init__(self, retry_after):
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class Quota:
    """A fixed-window allowance per key (a person's id) in a `limits` store."""

    def __init__(self, storage_uri, limit, name, setting):
        try:
            self._limit = parse(limit)
        except ValueError as error:
            raise ConfigError(f"{setting}: {error}") from None
        self._name = name
        self._limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))

    def check(self, key, cost=1):
        """QuotaExceededError if cost more actions of key would not fit the window; counts nothing."""
        try:
            if self._limiter.test(self._limit, self._name, str(key), cost=cost):
                return
            reset = self._limiter.get_window_stats(self._limit, self._name, str(key)).reset_time
        except Exception:  # noqa: BLE001  (each storage raises its own driver's errors)
            log.warning("quota %s could not be read; allowed", self._name, exc_info=True)
            return
        raise QuotaExceededError(max(1, math.ceil(reset - time.time())))

    def hit(self, key, cost=1):
        """Count cost actions for key; QuotaExceededError (nothing counted) once they do not fit the window."""
        self.check(key, cost)
        self.count(key, cost)

    def count(self, key, cost=1):
        """Count cost actions already done for key, whether or not they fit."""
        try:
            self._limiter.hit(self._limit, self._name, str(key), cost=cost)
        except Exception:  # noqa: BLE001
            log.warning("quota %s could not be counted; allowed", self._name, exc_info=True)


def init_app(app):
    """Build every quota from its setting."""
    app.extensions["quotas"] = {name: Quota(app.config["RATELIMIT_STORAGE_URI"], app.config[setting], name, setting)
                                for name, setting in QUOTAS.items()}


def check(name, key, cost=1):
    """QuotaExceededError unless cost more actions of the named quota fit for key now; counts nothing (the
    action then runs its own checks, and spend() counts it once it is done)."""
    current_app.extensions["quotas"][name].check(key, cost)


def spend(name, key, cost=1):
    """Count cost actions of the named quota for key (QuotaExceededError when they do not fit)."""
    current_app.extensions["quotas"][name].hit(key, cost)


def count(name, key, cost=1):
    """Count cost actions of the named quota that were checked and are now done."""
    current_app.extensions["quotas"][name].count(key, cost)

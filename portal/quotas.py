"""Per-person counters of actions that cost the service something another person pays for: files sent (the store,
the workers) and invitations mailed (someone's inbox, the sender's reputation).

Counted in the store named by RATELIMIT_STORAGE_URI, like the sign-in counters, so every worker and every
machine sees the same counts. Unlike those, every action counts, not only failures.
"""
import math
import time

from flask import current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from .config import ConfigError

# name: (setting, what it counts and whose key it is)
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

    def hit(self, key, cost=1):
        """Count cost actions for key; QuotaExceededError (nothing counted) once they do not fit the window."""
        if not self._limiter.test(self._limit, self._name, str(key), cost=cost) or \
                not self._limiter.hit(self._limit, self._name, str(key), cost=cost):
            reset = self._limiter.get_window_stats(self._limit, self._name, str(key)).reset_time
            raise QuotaExceededError(max(1, math.ceil(reset - time.time())))


def init_app(app):
    """Build every quota from its setting."""
    app.extensions["quotas"] = {name: Quota(app.config["RATELIMIT_STORAGE_URI"], app.config[setting], name, setting)
                                for name, setting in QUOTAS.items()}


def spend(name, key, cost=1):
    """Count cost actions of the named quota for key (QuotaExceededError when they do not fit)."""
    current_app.extensions["quotas"][name].hit(key, cost)

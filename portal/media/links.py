"""Presigned thumbnail links that stay the same for a time window, so browsers can cache what they point to.

A thumbnail's link is made once per (object, lifetime, window) and handed to everyone who asks within that
window: from Redis when REDIS_URL is set (every worker and machine gives out the same link), else from this
process. A window is half the viewer role's lifetime, so a link handed out is good for at least that half
and never for longer than the role's lifetime from when it was made.
"""
import json
import logging
import threading
import time
from collections import OrderedDict

import redis

log = logging.getLogger("portal.media")
MAX_LOCAL_ENTRIES = 10_000


class LinkCache:
    """Links by (object key, lifetime, window); Redis-backed when given a client, else per process."""

    def __init__(self, client=None):
        self._redis = client
        self._local = OrderedDict()
        self._lock = threading.Lock()

    def link(self, key, lifetime, make):
        """(url, expires_at epoch seconds) for key: the window's shared link, or make(lifetime) for a new one."""
        now = time.time()
        window = max(1, lifetime // 2)
        name = f"portal:link:{lifetime}:{int(now // window)}:{key}"
        found = self._get(name)
        if found and found[1] > now:
            return found
        made = (make(lifetime), now + lifetime)
        self._put(name, made, window)
        return made

    def _get(self, name):
        if self._redis is None:
            with self._lock:
                return self._local.get(name)
        try:
            value = self._redis.get(name)
        except redis.RedisError:
            log.warning("link cache unavailable; making a fresh link")
            return None
        return tuple(json.loads(value)) if value else None

    def _put(self, name, value, window):
        if self._redis is None:
            with self._lock:
                self._local[name] = value
                while len(self._local) > MAX_LOCAL_ENTRIES:
                    self._local.popitem(last=False)
            return
        try:
            # set only if absent: two workers making a link at once agree on the first one
            self._redis.set(name, json.dumps(value), ex=window + 1, nx=True)
        except redis.RedisError:
            pass

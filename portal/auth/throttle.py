"""Sign-in throttling that counts failed attempts only, so nobody can lock the owner out of their account.

Failures are counted in the store named by RATELIMIT_STORAGE_URI (Redis in production, so every worker and
every machine sees the same counts; memory for `make run`), under three keys:

- per client address (LOGIN_RATE_LIMIT): one address guessing at many accounts;
- per address and account (LOGIN_RATE_LIMIT): one address guessing at one account;
- per account (LOGIN_ACCOUNT_RATE_LIMIT), a soft limit: once an account has had that many failures, an address
  that already failed on it in that window is refused, while an address with no failure on it still gets its
  try. Attackers spread over many addresses get one guess per address and window; the owner, from their own
  address, still signs in.

A client is its IPv4 address, or the /56 network of its IPv6 address: that is what a provider gives one
customer (RIPE-690), and every host has a whole /64 to choose addresses from, so counting single IPv6 addresses
would give one attacker 2^64 fresh "addresses" to guess from. An IPv4 address written as IPv6 (::ffff:a.b.c.d)
counts as that IPv4 address.

A successful sign-in is not counted and resets nothing, so an attacker cannot clear counts with an account of
their own. Emails are hashed before they become keys.

The same counters, under their own keys, limit "forgot password" requests (PASSWORD_RESET_*), where every request
counts because every request may send a mail.
"""
import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from flask import current_app
from limits import parse, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from ..config import ConfigError

IPV6_CLIENT_PREFIX = 56


class ThrottleUnavailableError(RuntimeError):
    """The store of the sign-in counters cannot be reached; sign-in is refused until it can."""


@dataclass(frozen=True)
class _Keys:
    address: tuple
    pair: tuple
    account: tuple


class SignInThrottle:
    """Failure counters for sign-in, in a `limits` store."""

    def __init__(self, storage_uri, per_address, per_account, scope="sign-in",
                 settings="LOGIN_RATE_LIMIT / LOGIN_ACCOUNT_RATE_LIMIT"):
        try:
            self._per_address = parse_many(per_address)
            self._per_account = parse(per_account)
        except ValueError as error:
            raise ConfigError(f"{settings}: {error}") from None
        self._scope = scope
        # One failure per address and account over the account window: who has already had their guess.
        self._one_guess = type(self._per_account)(1, self._per_account.multiples)
        self._limiter = FixedWindowRateLimiter(storage_from_string(storage_uri))

    def retry_after(self, address, email):
        """Seconds until this address may try this account again, or None when it may try now."""
        keys = _keys(self._scope, address, email)
        try:
            blocking = [(item, key) for item in self._per_address for key in (keys.address, keys.pair)
                        if not self._limiter.test(item, *key)]
            if not self._limiter.test(self._per_account, *keys.account) and \
                    not self._limiter.test(self._one_guess, *keys.pair):
                blocking.append((self._one_guess, keys.pair))
            resets = [self._limiter.get_window_stats(item, *key).reset_time for item, key in blocking]
        except Exception as error:  # each storage raises its own driver's errors
            raise ThrottleUnavailableError(str(error)) from error
        return max(1, math.ceil(max(resets) - time.time())) if resets else None

    def failed(self, address, email):
        """Count one failed sign-in of this address on this account."""
        keys = _keys(self._scope, address, email)
        try:
            for item in self._per_address:
                self._limiter.hit(item, *keys.address)
                self._limiter.hit(item, *keys.pair)
            self._limiter.hit(self._per_account, *keys.account)
            self._limiter.hit(self._one_guess, *keys.pair)
        except Exception as error:
            raise ThrottleUnavailableError(str(error)) from error


def client_key(address):
    """What counts as one client: an IPv4 address, or the /56 network of an IPv6 address (see the module's text)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(ip), IPV6_CLIENT_PREFIX), strict=False))  # int: a %zone is dropped


def _keys(scope, address, email):
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    address = client_key(address)
    return _Keys((scope, "address", address), (scope, "pair", address, account), (scope, "account", account))


def init_app(app):
    """Build the app's throttles from its settings: failed sign-ins, and password links asked for (each may mail)."""
    app.extensions["sign_in_throttle"] = SignInThrottle(
        app.config["RATELIMIT_STORAGE_URI"], app.config["LOGIN_RATE_LIMIT"], app.config["LOGIN_ACCOUNT_RATE_LIMIT"])
    app.extensions["password_reset_throttle"] = SignInThrottle(
        app.config["RATELIMIT_STORAGE_URI"], app.config["PASSWORD_RESET_RATE_LIMIT"],
        app.config["PASSWORD_RESET_ACCOUNT_RATE_LIMIT"], scope="password-reset",
        settings="PASSWORD_RESET_RATE_LIMIT / PASSWORD_RESET_ACCOUNT_RATE_LIMIT")


def throttle():
    """The current app's sign-in throttle."""
    return current_app.extensions["sign_in_throttle"]


def reset_throttle():
    """The current app's throttle of "forgot password" requests (counted per address, pair and account)."""
    return current_app.extensions["password_reset_throttle"]

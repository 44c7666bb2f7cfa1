"""Who is staff in a request: the login cookie checked against the server's own sessions.

One object for the login route, the logout route and every Gradio handler, so that the
answer to "may this request see internal documents?" is made in one place, from the
cookie of the request at hand (never from anything the page or a session hash says).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

from .config import WebLimits
from .sessions import COOKIE, Clock, LoginLimiter, StaffSessions
from .staff import StaffAccounts

NOT_CONFIGURED = "Innlogging er ikke satt opp på denne serveren."
WRONG = "Feil brukernavn eller passord."
TOO_LONG = "Brukernavn og passord kan være høyst {n} tegn."


def logged_in_message(user: str) -> str:
    return f"Logget inn som {user}. Interne dokumenter er med i søket."


def locked_message(seconds: float) -> str:
    if seconds <= 90:
        wait = f"{math.ceil(seconds)} sekunder"
    else:
        minutes = math.ceil(seconds / 60)
        wait = f"{minutes} minutt" if minutes == 1 else f"{minutes} minutter"
    return f"For mange mislykkede forsøk. Vent {wait} før du prøver igjen."


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt: the new session's token on success, else why not.

    ``status`` is the HTTP status the login route answers with (200, 401, 413 or 429).
    """

    message: str
    status: int
    user: str | None = None
    token: str | None = None
    retry_after: float = 0.0


class StaffAccess:
    """Accounts, sessions and lock-outs together; ``accounts`` None means no logins."""

    def __init__(self, accounts: StaffAccounts | None, limits: WebLimits,
                 clock: Clock = time.monotonic):
        self.accounts = accounts
        self.limits = limits
        self.sessions = StaffSessions(limits, clock)
        self.limiter = LoginLimiter(limits, clock)

    @property
    def enabled(self) -> bool:
        return self.accounts is not None

    def login(self, name: str, password: str, address: str | None) -> LoginResult:
        """Check a login; locked-out names and addresses are refused without hashing."""
        if self.accounts is None:
            return LoginResult(NOT_CONFIGURED, 401)
        cap = self.limits.login_field_chars
        if len(name) > cap or len(password) > cap:
            return LoginResult(TOO_LONG.format(n=cap), 413)
        name = name.strip()
        verdict = self.limiter.check(name, address)
        if not verdict.allowed:
            return LoginResult(locked_message(verdict.retry_after), 429,
                               retry_after=verdict.retry_after)
        if not self.accounts.check(name, password):
            self.limiter.failed(name, address)
            return LoginResult(WRONG, 401)
        self.limiter.succeeded(name, address)
        return LoginResult(logged_in_message(name), 200, name, self.sessions.create(name))

    def user(self, cookies: Mapping[str, str] | None) -> str | None:
        """The logged-in staff member of a request with these cookies, or None."""
        if self.accounts is None or not cookies:
            return None
        return self.sessions.user(cookies.get(COOKIE))

    def token(self, cookies: Mapping[str, str] | None) -> str | None:
        return (cookies or {}).get(COOKIE)

    def logout(self, cookies: Mapping[str, str] | None) -> None:
        self.sessions.end(self.token(cookies))

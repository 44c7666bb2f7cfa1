"""Staff logins on the server: sessions behind random tokens, and lock-outs after failed logins.

Why not Gradio's session hash: it is made by the browser, sent in every request body and
URL, and kept in an LRU shared with anonymous traffic, so it can be replayed, leaked by a
deep link and pushed out by a flood of sessions (issue #13). A staff login is instead a
random token (``secrets.token_urlsafe``) in an HttpOnly cookie, looked up here on every
call. Only a successful login adds an entry, so anonymous clients cannot fill this store.

Pure logic with an injectable clock, so expiry and back-off are tested without waiting.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from .config import WebLimits

Clock = Callable[[], float]

#: The cookie that carries a staff login.
COOKIE = "osloregionen_ansatt"
#: Gradio session hashes a staff login may bind (one per open tab or reload).
MAX_BOUND_HASHES = 32


@dataclass
class StaffSession:
    """One staff login: who, when it started, when it was last used, and the Gradio
    sessions (tabs) it has been used from."""

    user: str
    created: float
    last_used: float
    session_hashes: OrderedDict[str, None] = field(default_factory=OrderedDict)


class StaffSessions:
    """Logged-in staff by token; expire after ``session_idle`` unused or ``session_lifetime``.

    At most ``max_staff_sessions``: when full, expired ones go first, then the least
    recently used. Thread-safe (handlers run in worker threads).
    """

    def __init__(self, limits: WebLimits, clock: Clock = time.monotonic):
        self.limits = limits
        self.clock = clock
        self._sessions: OrderedDict[str, StaffSession] = OrderedDict()
        self._owner: dict[str, str] = {}  # Gradio session hash → token
        self._lock = threading.Lock()

    def create(self, user: str) -> str:
        """A new login for ``user``; returns the token for the cookie."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            self._purge(now)
            while len(self._sessions) >= self.limits.max_staff_sessions:
                self._drop(next(iter(self._sessions)))
            self._sessions[token] = StaffSession(user, now, now)
        return token

    def user(self, token: str | None) -> str | None:
        """The user behind a cookie's token, if that login is still valid (counts as use)."""
        session = self.touch(token)
        return session.user if session else None

    def touch(self, token: str | None) -> StaffSession | None:
        if not token:
            return None
        now = self.clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None:
                return None
            if self._expired(session, now):
                self._drop(token)
                return None
            session.last_used = now
            self._sessions.move_to_end(token)
            return session

    def end(self, token: str | None) -> None:
        """Log out: the token is worthless from now on."""
        with self._lock:
            if token in self._sessions:
                self._drop(token)

    def bind(self, token: str, session_hash: str) -> None:
        """Mark a Gradio session hash as used by this login, so that only requests carrying
        the same cookie may use that hash again (see :meth:`may_use`)."""
        with self._lock:
            session = self._sessions.get(token)
            if session is None or not session_hash:
                return
            session.session_hashes[session_hash] = None
            self._owner[session_hash] = token
            while len(session.session_hashes) > MAX_BOUND_HASHES:
                old, _ = session.session_hashes.popitem(last=False)
                self._owner.pop(old, None)

    def may_use(self, session_hash: str, token: str | None) -> bool:
        """False when ``session_hash`` belongs to a (still valid) staff login other than
        ``token``: a replayed or stolen hash of a staff member's tab."""
        with self._lock:
            owner = self._owner.get(session_hash)
            if owner is None or owner == token:
                return True
            session = self._sessions.get(owner)
            if session is None or self._expired(session, self.clock()):
                self._owner.pop(session_hash, None)
                return True
            return False

    def __len__(self) -> int:
        return len(self._sessions)

    def _expired(self, session: StaffSession, now: float) -> bool:
        return (now - session.last_used > self.limits.session_idle
                or now - session.created > self.limits.session_lifetime)

    def _purge(self, now: float) -> None:
        for token in [t for t, s in self._sessions.items() if self._expired(s, now)]:
            self._drop(token)

    def _drop(self, token: str) -> None:
        session = self._sessions.pop(token)
        for session_hash in session.session_hashes:
            self._owner.pop(session_hash, None)


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


@dataclass(frozen=True)
class LoginVerdict:
    """Whether a login attempt may be checked now; if not, for how many seconds it may not."""

    allowed: bool
    retry_after: float = 0.0


class LoginLimiter:
    """Failed logins per user name and per client address, with exponential lock-out.

    After ``failures_before_lockout`` failures a key is locked for ``lockout_base``
    seconds, doubled for each further failure up to ``lockout_max``; while locked no
    password is even checked, so guessing is slow whatever the password. A success clears
    the user's and the address's count. Only ``tracked_logins`` keys are kept (the
    oldest are forgotten), so a flood of made-up names cannot grow memory.
    """

    def __init__(self, limits: WebLimits, clock: Clock = time.monotonic):
        self.limits = limits
        self.clock = clock
        self._failures: OrderedDict[str, _Failures] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def keys(user: str, address: str | None) -> tuple[str, ...]:
        keys = ["bruker:" + user.casefold()]
        if address:
            keys.append("adresse:" + address)
        return tuple(keys)

    def check(self, user: str, address: str | None) -> LoginVerdict:
        """May a login for ``user`` from ``address`` be tried now?"""
        now = self.clock()
        with self._lock:
            waits = [f.locked_until - now for key in self.keys(user, address)
                     if (f := self._failures.get(key)) is not None and f.locked_until > now]
        return LoginVerdict(False, max(waits)) if waits else LoginVerdict(True)

    def failed(self, user: str, address: str | None) -> None:
        now = self.clock()
        limits = self.limits
        with self._lock:
            for key in self.keys(user, address):
                failures = self._failures.pop(key, None) or _Failures()
                failures.count += 1
                over = failures.count - limits.failures_before_lockout
                if over >= 0:
                    wait = min(limits.lockout_base * 2 ** min(over, 32), limits.lockout_max)
                    failures.locked_until = now + wait
                self._failures[key] = failures  # now the most recent
            while len(self._failures) > limits.tracked_logins:
                self._failures.popitem(last=False)

    def succeeded(self, user: str, address: str | None) -> None:
        with self._lock:
            for key in self.keys(user, address):
                self._failures.pop(key, None)

"""Staff accounts, sessions and lock-outs as pure logic (a fake clock, no server, no model)."""

import subprocess
import sys

import pytest

from assistant.access import StaffAccess
from assistant.config import WebLimits
from assistant.sessions import LoginLimiter, StaffSessions
from assistant.staff import CredentialsError, PasswordHash, StaffAccounts, add_user

FAST = 2 ** 10  # scrypt cost for tests that hash many passwords; the real one is 2**15


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sessions_expire_when_idle_and_after_their_lifetime():
    clock = Clock()
    sessions = StaffSessions(WebLimits(session_idle=60, session_lifetime=300), clock)
    token = sessions.create("kari")
    assert len(token) >= 40 and sessions.user(token) == "kari"
    clock.now += 59
    assert sessions.user(token) == "kari"  # used: the idle timer starts again
    clock.now += 61
    assert sessions.user(token) is None  # idle too long

    token = sessions.create("kari")
    for _ in range(6):  # kept busy, but the absolute lifetime still ends it
        clock.now += 55
        sessions.user(token)
    assert sessions.user(token) is None
    assert sessions.user("gjettet-token") is None and sessions.user(None) is None


def test_logout_makes_the_token_worthless():
    sessions = StaffSessions(WebLimits(), Clock())
    token = sessions.create("kari")
    sessions.end(token)
    assert sessions.user(token) is None


def test_a_bound_session_hash_belongs_to_its_login_only():
    clock = Clock()
    sessions = StaffSessions(WebLimits(session_idle=60), clock)
    token = sessions.create("kari")
    sessions.bind(token, "hash-kari")
    assert sessions.may_use("hash-kari", token)
    assert not sessions.may_use("hash-kari", None)
    assert not sessions.may_use("hash-kari", sessions.create("ola"))
    assert sessions.may_use("annen-hash", None)
    clock.now += 61  # the login expired: the hash is an ordinary anonymous one again
    assert sessions.may_use("hash-kari", None)


def test_a_full_store_drops_the_least_recently_used_login():
    sessions = StaffSessions(WebLimits(max_staff_sessions=2), Clock())
    first, second = sessions.create("a"), sessions.create("b")
    sessions.user(first)
    sessions.create("c")
    assert sessions.user(first) == "a" and sessions.user(second) is None


def test_lockout_doubles_and_is_per_user_and_per_address():
    clock = Clock()
    limiter = LoginLimiter(WebLimits(failures_before_lockout=5, lockout_base=30, lockout_max=600),
                           clock)
    for _ in range(4):
        limiter.failed("kari", "10.0.0.1")
    assert limiter.check("kari", "10.0.0.1").allowed
    limiter.failed("kari", "10.0.0.1")
    verdict = limiter.check("kari", "10.0.0.9")  # the user is locked from everywhere
    assert not verdict.allowed and verdict.retry_after == pytest.approx(30)
    assert not limiter.check("ola", "10.0.0.1").allowed  # and the address for every name
    assert limiter.check("ola", "10.0.0.2").allowed
    clock.now += 31
    limiter.failed("kari", "10.0.0.1")
    assert limiter.check("kari", None).retry_after == pytest.approx(60)
    for _ in range(20):
        limiter.failed("kari", "10.0.0.1")
    assert limiter.check("kari", None).retry_after == pytest.approx(600)


def test_the_limiter_remembers_a_bounded_number_of_names():
    limiter = LoginLimiter(WebLimits(tracked_logins=100), Clock())
    for i in range(1000):
        limiter.failed(f"navn-{i}", None)
    assert len(limiter._failures) == 100


def test_locked_out_logins_are_not_even_checked():
    clock = Clock()
    access = StaffAccess(StaffAccounts.from_pairs({"kari": "riktig-passord"}, n=FAST),
                         WebLimits(), clock)
    for _ in range(300):
        assert access.login("kari", "feil", "10.0.0.1").status in (401, 429)
    locked = access.login("kari", "riktig-passord", "10.0.0.1")
    assert locked.status == 429 and locked.token is None and "Vent" in locked.message
    clock.now += 3601
    ok = access.login("kari", "riktig-passord", "10.0.0.1")
    assert ok.status == 200 and access.sessions.user(ok.token) == "kari"


def test_overlong_fields_are_refused_before_hashing(monkeypatch):
    accounts = StaffAccounts.from_pairs({"kari": "riktig-passord"}, n=FAST)
    access = StaffAccess(accounts, WebLimits(login_field_chars=200), Clock())
    monkeypatch.setattr(PasswordHash, "matches", lambda *a: pytest.fail("hashed"))
    assert access.login("kari", "x" * 50_000_000, None).status == 413
    assert access.login("k" * 201, "x", None).status == 413


def test_passwords_are_stored_as_salted_scrypt(tmp_path):
    path = tmp_path / "ansatte.txt"
    assert add_user(path, "kari", "langt-passord-1")
    assert add_user(path, "ola", "langt-passord-1")
    assert not add_user(path, "kari", "nytt-passord-2")  # a new password, same line
    text = path.read_text(encoding="utf-8")
    assert "passord" not in text and text.count("scrypt$32768$8$1$") == 2
    salts = [line.split("$")[4] for line in text.splitlines()]
    assert salts[0] != salts[1]
    assert (path.stat().st_mode & 0o777) == 0o600
    accounts = StaffAccounts.load(path)
    assert accounts.check("kari", "nytt-passord-2") and not accounts.check("kari", "langt-passord-1")
    assert accounts.check("ola", "langt-passord-1")


def test_plain_text_and_latin1_files_give_clear_norwegian_errors(tmp_path):
    plain = tmp_path / "klartekst.txt"
    plain.write_text("kari:hemmelig\n", encoding="utf-8")
    with pytest.raises(CredentialsError, match="klartekst.*staff add kari"):
        StaffAccounts.load(plain)
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("kåre:scrypt$1$2$3$4$5\n".encode("latin-1"))
    with pytest.raises(CredentialsError, match="latin1.txt er ikke lagret som UTF-8"):
        StaffAccounts.load(latin)


def test_staff_add_reads_the_password_from_stdin_never_argv(tmp_path):
    path = tmp_path / "ansatte.txt"
    result = subprocess.run([sys.executable, "-m", "assistant", "staff", "add", "kari",
                             "--credentials", str(path)], input="et-langt-passord\n",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "kari" in result.stdout and "lagt til" in result.stdout
    assert StaffAccounts.load(path).check("kari", "et-langt-passord")
    short = subprocess.run([sys.executable, "-m", "assistant", "staff", "add", "ola",
                            "--credentials", str(path)], input="kort\n",
                           capture_output=True, text=True, timeout=60)
    assert short.returncode == 1 and "mellom 12 og 200 tegn" in short.stderr
    assert "ola" not in path.read_text(encoding="utf-8")


def test_serve_with_a_latin1_credentials_file_is_one_line_and_exit_1(tmp_path):
    latin = tmp_path / "ansatte.txt"
    latin.write_bytes("kåre:passord\n".encode("latin-1"))
    result = subprocess.run([sys.executable, "-m", "assistant", "serve", "--corpus", str(tmp_path),
                             "--index", str(tmp_path / "index"), "--staff-credentials", str(latin),
                             "--quiet"], capture_output=True, text=True, timeout=60,
                            env={**__import__("os").environ,
                                 "ASSISTANT_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert str(latin) in result.stderr and "UTF-8" in result.stderr

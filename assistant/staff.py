"""Staff accounts for the internal documents, with passwords stored as scrypt hashes.

Credentials never live in the code. They come from a file given at start-up
(``serve --staff-credentials FIL``) or from ``ASSISTANT_STAFF_CREDENTIALS``, with one line
per user::

    kari:scrypt$32768$8$1$<salt, base64>$<hash, base64>

Such lines are made by ``python -m assistant staff add kari --credentials FIL``, which
asks for the password (never on the command line, where it would end up in the shell
history and the process list). The salt is random per user, and scrypt is slow and
memory-hard on purpose, so a stolen file does not give the passwords away cheaply.
The old ``navn:passord`` lines in plain text are refused with a message saying how to
add the user again. With no credentials configured nobody can log in, so internal
documents are never served.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .oserror import reason

ENV_CREDENTIALS = "ASSISTANT_STAFF_CREDENTIALS"
SCHEME = "scrypt"
#: scrypt cost: 2**15 × 8 × 128 bytes = 32 MB and ~0.2 s per check on this machine.
DEFAULT_N, DEFAULT_R, DEFAULT_P = 2 ** 15, 8, 1
KEY_BYTES = 32
SALT_BYTES = 16
MAX_NAME_CHARS = 200
MAX_PASSWORD_CHARS = 200
MIN_PASSWORD_CHARS = 12
#: The hash a check runs against for unknown names, so that they take as long as known ones.
_DUMMY_SALT = secrets.token_bytes(SALT_BYTES)


class CredentialsError(ValueError):
    """The credentials file or variable is malformed or unreadable; the message names where."""


@dataclass(frozen=True)
class PasswordHash:
    """One stored password: scrypt parameters, salt and derived key."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    @classmethod
    def make(cls, password: str, n: int = DEFAULT_N, r: int = DEFAULT_R,
             p: int = DEFAULT_P) -> PasswordHash:
        salt = secrets.token_bytes(SALT_BYTES)
        return cls(n, r, p, salt, _scrypt(password, salt, n, r, p))

    def matches(self, password: str) -> bool:
        return hmac.compare_digest(self.key, _scrypt(password, self.salt, self.n, self.r, self.p))

    def encode(self) -> str:
        salt, key = (base64.b64encode(raw).decode("ascii") for raw in (self.salt, self.key))
        return f"{SCHEME}${self.n}${self.r}${self.p}${salt}${key}"

    @classmethod
    def decode(cls, text: str) -> PasswordHash:
        """Parse :meth:`encode`'s output; ValueError if it is not such a hash."""
        scheme, n, r, p, salt, key = text.split("$")
        if scheme != SCHEME:
            raise ValueError(scheme)
        n_, r_, p_ = int(n), int(r), int(p)
        if n_ < 2 or n_ & (n_ - 1) or not (1 <= r_ <= 64 and 1 <= p_ <= 16) or n_ > 2 ** 20:
            raise ValueError("parametre")
        return cls(n_, r_, p_, base64.b64decode(salt, validate=True),
                   base64.b64decode(key, validate=True))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(_normalized(password).encode("utf-8", "replace"), salt=salt,
                          n=n, r=r, p=p, maxmem=256 * r * n * p + 2 ** 20, dklen=KEY_BYTES)


def _normalized(text: str) -> str:
    """NFC, so the same password typed on another keyboard (å as one or two code points)
    gives the same hash."""
    return unicodedata.normalize("NFC", text)


def valid_name(name: str) -> bool:
    return (0 < len(name) <= MAX_NAME_CHARS and ":" not in name and "," not in name
            and name == name.strip() and all(c.isprintable() for c in name))


def _parse(lines: list[str], source: str) -> dict[str, PasswordHash]:
    accounts = {}
    for number, line in enumerate(lines, start=1):
        line = line.strip().lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        name, separator, stored = line.partition(":")
        name = name.strip()
        where = f"{source}, linje {number}"
        if not separator or not valid_name(name):
            raise CredentialsError(f"{where}: forventet «navn:{SCHEME}$…», laget med "
                                   "«python -m assistant staff add NAVN --credentials FIL»")
        if not stored.startswith(SCHEME + "$"):
            raise CredentialsError(
                f"{where}: passordet til «{name}» står i klartekst, og det godtas ikke lenger. "
                f"Legg brukeren inn på nytt med «python -m assistant staff add {name} "
                "--credentials FIL», så lagres passordet som en scrypt-hash.")
        try:
            accounts[name] = PasswordHash.decode(stored)
        except (ValueError, TypeError):
            raise CredentialsError(f"{where}: passordhashen til «{name}» er skadet; legg "
                                   "brukeren inn på nytt med «python -m assistant staff add»") from None
    return accounts


def read_lines(path: Path) -> list[str]:
    """The lines of a credentials file; a clear Norwegian error if it cannot be read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CredentialsError(f"Kan ikke lese påloggingsfilen {path}: {reason(exc)}") from exc
    try:
        return raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise CredentialsError(
            f"Påloggingsfilen {path} er ikke lagret som UTF-8 (byte {exc.start + 1} kan ikke "
            "leses). Lagre den som UTF-8, eller lag den på nytt med "
            "«python -m assistant staff add».") from None


@dataclass(frozen=True)
class StaffAccounts:
    """Who may log in to the staff view; passwords are kept only as scrypt hashes."""

    accounts: Mapping[str, PasswordHash]

    def check(self, name: str, password: str) -> bool:
        """Whether the password is right; overlong fields are refused before hashing, and an
        unknown name costs as much time as a known one."""
        name, password = (name or "").strip(), password or ""
        if len(name) > MAX_NAME_CHARS or len(password) > MAX_PASSWORD_CHARS:
            return False
        stored = self.accounts.get(name)
        if stored is None:
            _scrypt(password, _DUMMY_SALT, DEFAULT_N, DEFAULT_R, DEFAULT_P)
            return False
        return bool(password) and stored.matches(password)

    @classmethod
    def from_pairs(cls, pairs: dict[str, str], n: int = DEFAULT_N) -> StaffAccounts:
        """Accounts from plain passwords (tests and scripts; hashed here, never stored)."""
        return cls({name: PasswordHash.make(password, n=n) for name, password in pairs.items()})

    @classmethod
    def load(cls, path: Path | None, pairs: str | None = None) -> StaffAccounts | None:
        """Accounts from the file ``path``, else from ``pairs`` (lines separated by commas,
        the environment variable); None when neither is set
        (:attr:`~assistant.config.Settings.staff_credentials_file` and ``staff_credentials``)."""
        if path is not None:
            accounts = _parse(read_lines(path), str(path))
        elif pairs:
            accounts = _parse(pairs.split(","), ENV_CREDENTIALS)
        else:
            return None
        return cls(accounts) if accounts else None


def add_user(path: Path, name: str, password: str) -> bool:
    """Add ``name`` to the credentials file, or give it a new password; True if it was new.

    Other lines are kept as they are. The file is replaced in one step and readable by its
    owner only (mode 600).
    """
    lines = read_lines(path) if path.exists() else []
    _parse(lines, str(path))  # refuse to add to a file the server would refuse
    entry = f"{name}:{PasswordHash.make(password).encode()}"
    new = True
    for i, line in enumerate(lines):
        if line.strip().partition(":")[0].strip() == name:
            lines[i], new = entry, False
    if new:
        lines.append(entry)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    return new

"""Staff accounts for the internal documents.

Credentials never live in the code: they come from ``ASSISTANT_STAFF_CREDENTIALS``
(``navn:passord`` pairs separated by commas) or from a file given at start-up
(``serve --staff-credentials FIL``, one ``navn:passord`` per line, ``#`` for comments).
With no credentials configured nobody can log in, so internal documents are never served.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_CREDENTIALS = "ASSISTANT_STAFF_CREDENTIALS"


class CredentialsError(ValueError):
    """The credentials file or variable is malformed; the message names where."""


def _digest(password: str) -> bytes:
    return hashlib.sha256(password.encode("utf-8")).digest()


def _parse(lines: list[str], source: str) -> dict[str, bytes]:
    accounts = {}
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, separator, password = line.partition(":")
        if not separator or not name.strip() or not password:
            raise CredentialsError(f"{source}, linje {number}: forventet «navn:passord»")
        accounts[name.strip()] = _digest(password)
    return accounts


@dataclass(frozen=True)
class StaffAccounts:
    """Who may log in to the staff view; passwords are kept only as SHA-256 digests."""

    accounts: Mapping[str, bytes]

    def check(self, name: str, password: str) -> bool:
        expected = self.accounts.get((name or "").strip())
        if expected is None or not password:
            return False
        return hmac.compare_digest(expected, _digest(password))

    @classmethod
    def from_pairs(cls, pairs: dict[str, str]) -> "StaffAccounts":
        return cls({name: _digest(password) for name, password in pairs.items()})

    @classmethod
    def load(cls, path: Path | None, pairs: str | None = None) -> "StaffAccounts | None":
        """Accounts from the file ``path``, else from ``pairs`` (``navn:passord,…``, the
        environment variable); None when neither is set
        (:attr:`~assistant.config.Settings.staff_credentials_file` and ``staff_credentials``)."""
        if path is not None:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise CredentialsError(f"Kan ikke lese påloggingsfilen {path}: {exc.strerror}") from exc
            accounts = _parse(lines, str(path))
        elif pairs:
            accounts = _parse(pairs.split(","), ENV_CREDENTIALS)
        else:
            return None
        return cls(accounts) if accounts else None

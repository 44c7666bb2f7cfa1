"""Why a file operation failed, in Norwegian: every message that names a file a person
gave (a corpus file, the index folder, a gold file) says why in the same words."""

from __future__ import annotations

import errno

#: The errors a person can do something about; others keep the system's own text.
_REASONS = {
    errno.ENOENT: "finnes ikke",
    errno.ENOTDIR: "en del av stien er en fil, ikke en mappe",
    errno.EISDIR: "det er en mappe, ikke en fil",
    errno.EEXIST: "finnes allerede",
    errno.EACCES: "mangler tilgang",
    errno.EPERM: "mangler tilgang",
    errno.ENOSPC: "disken er full",
    errno.EROFS: "filsystemet er skrivebeskyttet",
    errno.ENAMETOOLONG: "navnet er for langt",
    errno.ELOOP: "for mange symbolske lenker",
}


def reason(exc: OSError) -> str:
    """The reason of ``exc`` in Norwegian (the system's text for errors not listed)."""
    return _REASONS.get(exc.errno, exc.strerror or str(exc))

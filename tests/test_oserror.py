"""Why a file operation failed, in Norwegian, from a real failed operation."""

import errno

from assistant.oserror import reason


def test_common_errors_are_explained_in_norwegian(tmp_path):
    a_file = tmp_path / "fil"
    a_file.write_text("x", encoding="utf-8")
    for attempt, expected in [
        (lambda: (a_file / "under").mkdir(), "en del av stien er en fil, ikke en mappe"),
        (lambda: tmp_path.read_bytes(), "det er en mappe, ikke en fil"),
        (lambda: (tmp_path / "mangler").read_bytes(), "finnes ikke"),
    ]:
        try:
            attempt()
        except OSError as exc:
            assert reason(exc) == expected
        else:
            raise AssertionError("the operation was expected to fail")


def test_an_error_not_listed_keeps_the_systems_text():
    assert reason(OSError(errno.EBUSY, "Device or resource busy")) == "Device or resource busy"

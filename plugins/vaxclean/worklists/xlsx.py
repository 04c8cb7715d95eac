"""Writing files for people who open them in Excel: formula-injection-safe text, atomic replacement."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

from vaxclean.permissions import private_umask, protect, restricted_group

# A cell starting with one of these may be taken for a formula by a spreadsheet (CSV injection, OWASP).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str | None:
    """A value as text, prefixed with `'` when a spreadsheet could take it for a formula."""
    if value is None:
        return None
    text = str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; on success rename it over `final` (readers see the old or the
    whole new file, never half a file), on failure remove it. The file holds personal data: it is owner and
    group readable only from its first byte (vaxclean.permissions), its folders likewise."""
    tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
    try:
        with private_umask():
            final.parent.mkdir(parents=True, exist_ok=True)
            yield tmp
        protect(tmp, restricted=True, group=restricted_group())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()

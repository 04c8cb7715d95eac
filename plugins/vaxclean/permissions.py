"""Who may read what is published: personal data for its owner and group only, the BI layer for everyone.

The restricted file and its Parquet, the commune worklists and the write-back files hold names, ID numbers,
phones and birth dates: mode 0640 (directories 0750), group VAXCLEAN_RESTRICTED_GROUP when it is set (a name
or a number; else the group the process creates files with). The BI layer is pseudonymised: 0644 / 0755.
"""

from __future__ import annotations

import contextlib
import grp
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from vaxclean.config import settings

PRIVATE_DIR, RESTRICTED_DIR, RESTRICTED_FILE, PUBLIC_DIR, PUBLIC_FILE = 0o700, 0o750, 0o640, 0o755, 0o644


def restricted_group() -> int | None:
    """The group id of the setting VAXCLEAN_RESTRICTED_GROUP (vaxclean.config), or None (the process's group).
    Raises ValueError naming the setting when the group does not exist."""
    name = settings().restricted_group
    if not name:
        return None
    if name.isdigit():
        return int(name)
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise ValueError(f"VAXCLEAN_RESTRICTED_GROUP={name!r}: no such group on this machine") from None


def protect(path: Path, *, restricted: bool, group: int | None = None) -> None:
    """Set the mode of a file or of a directory and everything in it: restricted (owner and group) or public."""
    path = Path(path)
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        if p.is_symlink():
            continue
        if p.is_dir():
            os.chmod(p, RESTRICTED_DIR if restricted else PUBLIC_DIR)
        else:
            os.chmod(p, RESTRICTED_FILE if restricted else PUBLIC_FILE)
        if restricted and group is not None:
            os.chown(p, -1, group)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """While personal data is written: new files 0640 and directories 0750 at most (umask 027), so that no file
    is readable by others before `protect` gives it its final mode. The process's umask is restored after
    (the tasks that write personal data run one at a time in their process)."""
    previous = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(previous)


def owner_only_secret(path: Path, make: Callable[[], str]) -> str:
    """The secret kept in `path` (mode 0600, its folder 0700), made with `make` the first time; returns it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, PRIVATE_DIR)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make() + "\n")
    return path.read_text().strip()

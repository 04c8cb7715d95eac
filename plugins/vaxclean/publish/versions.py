"""The published set switches as one: a versioned directory per publication and one pointer.

```
published/
  current -> .versions/<version>        the pointer: a symlink replaced atomically (rename)
  marts.duckdb -> current/marts.duckdb   the restricted file (owner and group only)
  parquet -> current/parquet             its Parquet (owner and group only)
  bi.duckdb -> current/bi.duckdb         the BI layer (readable by everyone)
  bi -> current/bi                       its Parquet (bi/parquet/<mart>.parquet)
  .versions/<version>/...                what the links point at
  worklists/  write_back/                the commune files (written after publishing; owner and group only)
```

A reader opening `published/marts.duckdb` resolves the links when it opens the file: it gets the whole
file of the previous publication or of the new one, never half a file. A reader of several files (both
DuckDB files, a folder of Parquet) that must see one publication resolves `published/current` once
(`os.path.realpath`) and reads below it. A reader that holds a file open keeps reading it (POSIX keeps the
inode), so the previous version stays on disk until the next publication; older versions are removed.
One publication at a time: `publishing()` holds an exclusive lock on `published/.publish.lock`. A version being written is private (mode 0700) until it is
complete; a crash leaves it behind, and the next publication removes it.

Permissions (vaxclean.permissions): the restricted file and its Parquet owner and group only, the BI
layer readable by everyone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from vaxclean.permissions import PRIVATE_DIR, PUBLIC_DIR, protect
from vaxclean.raw.layout import safe_name

log = logging.getLogger(__name__)

VERSIONS_DIR = ".versions"
LOCK = ".publish.lock"
CURRENT = "current"
# the fixed paths readers open (the contract's), each a link into the current version: personal data
# (owner and group only) and the BI layer (readable by everyone)
RESTRICTED = ("marts.duckdb", "parquet")
PUBLIC = ("bi.duckdb", "bi")
LINKS = RESTRICTED + PUBLIC


@contextlib.contextmanager
def publishing(published_dir: Path) -> Iterator[None]:
    """One publication at a time in this directory (an exclusive lock on `published/.publish.lock`): a
    second publisher (a manual `make run` beside the DAG) waits, instead of removing the other's version."""
    published_dir.mkdir(parents=True, exist_ok=True)
    with open(published_dir / LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_version(published_dir: Path, run_id: str) -> Path:
    """A fresh private directory for the next publication, named by the time and the run."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    version = published_dir / VERSIONS_DIR / f"{stamp}__{safe_name(run_id)}"
    (published_dir / VERSIONS_DIR).mkdir(parents=True, exist_ok=True)
    os.chmod(published_dir / VERSIONS_DIR, PUBLIC_DIR)
    version.mkdir(mode=PRIVATE_DIR)
    return version


def current_version(published_dir: Path) -> Path | None:
    """The version the pointer names, or None before the first publication."""
    pointer = published_dir / CURRENT
    if not pointer.is_symlink():
        return None
    target = published_dir / os.readlink(pointer)
    return target if target.is_dir() else None


def switch(published_dir: Path, version: Path, *, group: int | None) -> Path | None:
    """Make `version` the current publication in one rename; returns the previous version (or None).

    The version's restricted entries are protected first and the version directory made traversable
    (0755) only then; the fixed links are put in place before the pointer moves (a file or directory of the
    layout before versions is replaced by its link then). The rename of the pointer is the last step: when
    this returns, or raises, `current_version` says which publication is current.
    """
    for name in LINKS:
        if (version / name).exists():
            protect(version / name, restricted=name in RESTRICTED, group=group)
    os.chmod(version, PUBLIC_DIR)
    previous = current_version(published_dir)
    _ensure_links(published_dir)
    pointer_tmp = published_dir / f".{CURRENT}.{version.name}.tmp"
    if pointer_tmp.is_symlink() or pointer_tmp.exists():
        pointer_tmp.unlink()
    os.symlink(version.relative_to(published_dir), pointer_tmp)
    os.replace(pointer_tmp, published_dir / CURRENT)  # the switch: one atomic rename
    return previous


def _ensure_links(published_dir: Path) -> None:
    """Each fixed path a link into `current`. What the layout before versions left there is replaced: a
    regular file by its link in one rename, a directory (which cannot be renamed over) moved aside into
    .versions/legacy__<name> first (removed with the old versions)."""
    for name in LINKS:
        path = published_dir / name
        if path.is_symlink():
            continue
        link_tmp = published_dir / f".{name}.link.tmp"
        if link_tmp.is_symlink() or link_tmp.exists():
            link_tmp.unlink()
        os.symlink(Path(CURRENT) / name, link_tmp)
        if path.is_dir():
            legacy = published_dir / VERSIONS_DIR / f"legacy__{name}"
            shutil.rmtree(legacy, ignore_errors=True)
            os.replace(path, legacy)
        os.replace(link_tmp, path)  # replaces a regular file of the old layout atomically


def remove_old_versions(published_dir: Path, keep: Iterable[Path | None]) -> list[str]:
    """Remove every version but those in `keep` (the current and the previous one, None if there is none):
    older publications, leftovers of crashed publications, legacy files, temp files. Returns the names."""
    root = published_dir / VERSIONS_DIR
    keep_names = {p.name for p in keep if p is not None}
    stale = [p for p in (sorted(root.iterdir()) if root.is_dir() else []) if p.name not in keep_names]
    stale += published_dir.glob(".*.tmp")  # pointer/link leftovers and temp files of the layout before versions
    removed = []
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path.name)
    if removed:
        log.info("publish: removed %d old or unfinished versions", len(removed))
    return removed

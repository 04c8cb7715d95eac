"""What the loaders take from the landing directory, and what they refuse before reading a byte.

The landing directory is written by people and other systems: a loader must not follow a symbolic link out
of it (to another commune's data, or to /etc), trust a directory name as a site or commune code, or open a
file so large that reading it takes the machine down. `landing_files` walks a source's folder without
following links and returns the regular files to load, and the entries it refuses with why:

- a symbolic link (file or directory), never followed;
- a name that is not safe: control characters, bytes that are not UTF-8, more than 200 characters, a
  leading `-`; a partition directory (site code, commune code) that is not a code
  (`[A-Za-z0-9][A-Za-z0-9._-]{0,63}`);
- a file over VAXCLEAN_MAX_FILE_MB.
Hidden files and Office lock files (`.~`, `~$`) are skipped, as before. A refused entry is quarantined
whole by its loader (a reason, no content read), under a key made of its path, size and modification time
(`refusal_key`), so that it is reported once, not at every run.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from vaxclean.config import settings

MAX_NAME = 200
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Refused:
    """A landing entry a loader will not read, and why (its name is not in the reason: it may be personal)."""

    path: Path
    reason: str


def unsafe_name(name: str) -> str | None:
    """Why a file or directory name is refused, or None."""
    if _CONTROL.search(name):
        return "a name with control characters"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return "a name that is not valid UTF-8"
    if len(name) > MAX_NAME:
        return f"a name of {len(name)} characters (at most {MAX_NAME})"
    if name.startswith("-"):
        return "a name starting with '-'"
    return None


def landing_files(source_dir: Path, *, partitioned: bool = False) -> tuple[list[Path], list[Refused]]:
    """The regular files under `source_dir` to load (sorted), and the entries refused. With `partitioned`,
    the first directory level names a site or commune: it must look like a code."""
    files: list[Path] = []
    refused: list[Refused] = []
    if not source_dir.is_dir() or source_dir.is_symlink():
        return files, refused
    max_bytes = settings().max_file_mb * 1024 * 1024
    for root, dirs, names in os.walk(source_dir, followlinks=False):
        here = Path(root)
        depth = len(here.relative_to(source_dir).parts)
        keep = []
        for name in sorted(dirs):
            path = here / name
            if name.startswith((".", "~$")):
                continue
            why = ("a symbolic link to a directory (not followed)" if path.is_symlink() else unsafe_name(name)
                   or ("a directory name that is not a code" if partitioned and depth == 0 and not CODE.match(name)
                       else None))
            if why:
                refused.extend(Refused(f, f"refused: {why}") for f in _entries_below(path))
            else:
                keep.append(name)
        dirs[:] = keep
        for name in sorted(names):
            if name.startswith((".", "~$")):
                continue
            path = here / name
            if path.is_symlink():
                refused.append(Refused(path, "refused: a symbolic link (not followed)"))
            elif (why := unsafe_name(name)) is not None:
                refused.append(Refused(path, f"refused: {why}"))
            elif not path.is_file():
                refused.append(Refused(path, "refused: not a regular file"))
            elif (size := path.stat().st_size) > max_bytes:
                refused.append(Refused(path, f"refused: {size / 1024 / 1024:,.0f} MB, over the limit of "
                                             f"{settings().max_file_mb:g} MB (VAXCLEAN_MAX_FILE_MB)"))
            else:
                files.append(path)
    return sorted(files), sorted(refused, key=lambda r: r.path)


def _entries_below(path: Path) -> list[Path]:
    """A refused directory as one entry per file below it, without following anything (a link: itself)."""
    if path.is_symlink() or not path.is_dir():
        return [path]
    found = [Path(root) / name for root, _, names in os.walk(path, followlinks=False) for name in names]
    return sorted(found) or [path]


def refusal_key(path: Path, rel_path: str) -> tuple[str, int]:
    """A registry key for a refused entry, without reading it: a hash of its path, size and modification
    time (so the same entry is reported once), and its size as the link or file itself says."""
    stat = path.lstat()
    key = hashlib.sha256(f"refused\0{rel_path}\0{stat.st_size}\0{stat.st_mtime_ns}".encode(
        "utf-8", errors="surrogateescape")).hexdigest()
    return key, stat.st_size

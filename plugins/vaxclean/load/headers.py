"""Checking a landed file's header row against a source's template (sources.md)."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

OTHER = ""  # target of a column that goes into `other_columns`


def clean_header(name: str) -> str:
    """A header name as compared: BOM and surrounding spaces trimmed, Unicode NFC."""
    return unicodedata.normalize("NFC", name.replace("\ufeff", "").strip())


@dataclass(frozen=True)
class HeaderMapping:
    """Where each column of the file goes: targets[i] is a raw column name, or OTHER."""

    targets: tuple[str, ...]
    names: tuple[str, ...]  # the cleaned header names, in file order

    @property
    def has_other(self) -> bool:
        return OTHER in self.targets


class HeaderError(ValueError):
    """The header does not match the template; the message names the offending header names.

    `summary` says the same with counts only, for logs (a data row taken for a header would put personal
    data into the names).
    """

    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{kind} {names}" for kind, names in problems.items()))
        self.summary = ", ".join(f"{len(names)} {kind}" for kind, names in problems.items())


def _duplicates(names: Sequence[str]) -> list[str]:
    return sorted(name for name, count in Counter(names).items() if count > 1)


def _template(header_map: Mapping[str, str]) -> dict[str, str]:
    return {clean_header(k): v for k, v in header_map.items()}


def map_exact(header: Sequence[str], header_map: Mapping[str, str]) -> HeaderMapping:
    """Every template header exactly once and nothing else (order free: columns are mapped by name)."""
    names = [clean_header(h) for h in header]
    template = _template(header_map)
    problems: dict[str, list[str]] = {}
    if dups := _duplicates(names):
        problems["duplicate headers"] = dups
    if missing := [k for k in template if k not in names]:
        problems["missing headers"] = missing
    if unexpected := [n for n in names if n not in template]:
        problems["unexpected headers"] = unexpected
    if problems:
        raise HeaderError(problems)
    return HeaderMapping(tuple(template[n] for n in names), tuple(names))


def map_with_others(header: Sequence[str], header_map: Mapping[str, str], required: Sequence[str]) -> HeaderMapping:
    """The required headers must be there (once); other template headers are optional; the rest is OTHER."""
    names = [clean_header(h) for h in header]
    template = _template(header_map)
    problems: dict[str, list[str]] = {}
    if dups := _duplicates([n for n in names if n]):
        problems["duplicate headers"] = dups
    if missing := [clean_header(r) for r in required if clean_header(r) not in names]:
        problems["missing required headers"] = missing
    if problems:
        raise HeaderError(problems)
    named = tuple(n if n else f"_column_{i + 1}" for i, n in enumerate(names))
    return HeaderMapping(tuple(template.get(n, OTHER) for n in names), named)

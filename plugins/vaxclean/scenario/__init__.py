"""vaxclean.scenario: generates a realistic, dirty scenario directory with its ground truth.

`generate(out_dir, people, seed, site_convention=None)` writes every source of sources.md and `truth/`; see docs/scenario.md.
"""

from __future__ import annotations

from pathlib import Path


def generate(out_dir: Path, people: int, seed: int, site_convention: str | None = None) -> dict:
    """Write a scenario for `people` residents with `seed` to `out_dir`; returns the manifest."""
    from vaxclean.scenario.builder import generate as _generate

    return _generate(out_dir, people, seed, site_convention)


__all__ = ["generate"]

"""The version of the checks a verdict was reached with: a file or table validated under another version
is validated again (the raw files a passed gate listed, the build a passed gate validated, the
fingerprints a publication trusts)."""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

import pandera
import polars as pl

from vaxclean.schemas import _common
from vaxclean.schemas import marts as mart_schemas
from vaxclean.schemas import raw as raw_schemas
from vaxclean.schemas import staging as staging_schemas


def checks_version(layer: str) -> str:
    """A digest of what decides a layer's verdict: the code of every module of the gates package
    (gate_modules), the layer's schemas and their shared checks, pandera's and polars' versions.

    A file or table validated under another version is validated again: any change of gate code
    invalidates the earlier validations.
    """
    schemas = {"raw": raw_schemas, "staging": staging_schemas, "marts": mart_schemas}
    digest = hashlib.sha256(f"pandera {pandera.__version__} polars {pl.__version__}".encode())
    for module in gate_modules():  # named: moving code between modules is a change too
        digest.update(f"{module.__name__}\0".encode())
        digest.update(Path(str(module.__file__)).read_bytes())
    for module in (_common, schemas[layer]):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


def gate_modules() -> list[ModuleType]:
    """Every module of this package: the package itself first, then its modules by name. Found on disk, not
    listed: a module added to the package is part of checks_version without anyone remembering it."""
    package = sys.modules[__package__]
    names = sorted(info.name for info in pkgutil.iter_modules(package.__path__))
    return [package, *(importlib.import_module(f"{__package__}.{name}") for name in names)]

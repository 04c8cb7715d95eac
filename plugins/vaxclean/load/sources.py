"""The three tabular landing sources (sources.md §2, §4, §6) and their load functions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from vaxclean.load.file_sources import FileSource, load_file_source
from vaxclean.load.headers import HeaderMapping, map_exact, map_with_others
from vaxclean.raw.layout import HOTLINE_HEADERS, POLICE_RETURN_HEADERS, POLICE_RETURN_REQUIRED, SITE_BATCH_HEADERS


def _site_batch_header(header: Sequence[str]) -> HeaderMapping:
    return map_exact(header, SITE_BATCH_HEADERS)


def _hotline_header(header: Sequence[str]) -> HeaderMapping:
    return map_exact(header, HOTLINE_HEADERS)


def _police_return_header(header: Sequence[str]) -> HeaderMapping:
    return map_with_others(header, POLICE_RETURN_HEADERS, POLICE_RETURN_REQUIRED)


SITE_BATCHES = FileSource(
    source="site_batch", landing_subdir="site_batches", table="site_batch_rows",
    extensions=(".csv", ".xlsx"), map_header=_site_batch_header, partition_column="_site_code",
)
HOTLINE = FileSource(
    source="hotline", landing_subdir="hotline", table="hotline_calls",
    extensions=(".csv",), map_header=_hotline_header,
)
POLICE_RETURNS = FileSource(
    source="police_return", landing_subdir="police_returns", table="police_returns",
    extensions=(".csv", ".xlsx"), map_header=_police_return_header, partition_column="_commune_code",
    required_columns=("source_record_id",),
)


def load_site_batches(landing_dir: Path, raw_dir: Path) -> dict[str, object]:
    """Load new site batch files (`<landing>/site_batches/<site_code>/*.csv|*.xlsx`) into `site_batch_rows`."""
    return load_file_source(SITE_BATCHES, landing_dir, raw_dir)


def load_hotline(landing_dir: Path, raw_dir: Path) -> dict[str, object]:
    """Load new hotline call logs (`<landing>/hotline/<yyyy-mm-dd>.csv`) into `hotline_calls`."""
    return load_file_source(HOTLINE, landing_dir, raw_dir)


def load_police_returns(landing_dir: Path, raw_dir: Path) -> dict[str, object]:
    """Load new police returns (`<landing>/police_returns/<commune_code>/*.csv|*.xlsx`) into `police_returns`."""
    return load_file_source(POLICE_RETURNS, landing_dir, raw_dir)

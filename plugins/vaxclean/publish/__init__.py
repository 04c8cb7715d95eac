"""vaxclean.publish: atomic publication of the marts (DuckDB file + Parquet)."""

from vaxclean.publish.publisher import publish

__all__ = ["publish"]

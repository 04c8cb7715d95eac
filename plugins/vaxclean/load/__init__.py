"""vaxclean.load: landing files (site batches, hotline, population, police returns) into the raw layer.

Each function takes the landing directory and the raw directory and returns a dict of counts for XCom.
"""

from vaxclean.load.population import load_population
from vaxclean.load.sources import load_hotline, load_police_returns, load_site_batches

__all__ = ["load_hotline", "load_police_returns", "load_population", "load_site_batches"]

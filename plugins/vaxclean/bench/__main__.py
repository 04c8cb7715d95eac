"""`python -m vaxclean.bench --people N --seed S --cache DIR` (what `make bench` calls)."""

import sys

from vaxclean.bench.harness import main

if __name__ == "__main__":
    sys.exit(main())

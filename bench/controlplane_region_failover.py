"""The region-failover benchmark; the same as ``covenant bench region-failover``.

    python bench/controlplane_region_failover.py --trials 10 --json
"""

import sys

from controlplane.cli import app

if __name__ == "__main__":
    app(["bench", "region-failover", *sys.argv[1:]])

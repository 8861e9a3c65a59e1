"""The core API benchmark; the same as ``covenant bench api`` (see core_api/bench.py)."""

from core_api.bench import main

if __name__ == "__main__":
    main()

"""Import paths for every test: the recipe packages, the bundled runtime, and tests/ helpers."""
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
for sub in ("tests", "tools", "recipe"):
    path = os.path.join(ROOT, sub)
    if path not in sys.path:
        sys.path.insert(0, path)

"""Test-tree setup: the shared helpers (``sim_helpers``, ``fuzz_helpers``, ``repo_paths``) live in
``tests/`` beside this file, while the tests sit in folders that mirror the packages."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

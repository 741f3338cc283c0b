"""Where the repository and the test tree are, whatever folder a test lives in."""

import os

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)

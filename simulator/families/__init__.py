"""Hardware families: one sub-package per hardware ``kind``."""

"""Stage 2: the pure transforms."""

"""Shared test settings: hypothesis runs deterministically (same examples on every machine)."""
from hypothesis import settings

settings.register_profile("book", deadline=None, max_examples=60, derandomize=True, print_blob=True)
settings.load_profile("book")

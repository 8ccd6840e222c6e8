"""Shared by the property tests and their conftest: a count of the inputs each tried."""

from __future__ import annotations

from collections import Counter

# Inputs tried, by test: incremented in each test body, shown in the terminal summary.
EXAMPLES: Counter[str] = Counter()

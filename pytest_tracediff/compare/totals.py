"""The run totals a budget can hold, and what each measures: the one list every layer uses.

Stdlib only, so the plugin can register its ini options without importing the model.
"""

from __future__ import annotations

TOTALS = {"tokens": "total tokens", "cost": "total cost", "steps": "step count", "attempts": "attempt count"}
"""Budgeted totals (never durations: they are not behaviour), in report order."""

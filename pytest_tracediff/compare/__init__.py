"""Comparison: diffs, their rendering, tolerances, budgets and behaviour assertions.

Depends on the model, sources and normalization; knows nothing of pytest or goldens.
"""

"""Golden files: names, the syrupy extension, the ``trace_snapshot`` object, run bookkeeping, the CI gate.

The lowest layer that may import pytest or syrupy.
"""

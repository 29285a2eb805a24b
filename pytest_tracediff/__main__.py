"""``python -m pytest_tracediff``: the ``pytest-tracediff`` command line."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())

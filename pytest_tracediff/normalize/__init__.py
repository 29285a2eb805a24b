"""Normalization: volatile data out, secrets redacted, payloads canonical, concurrent steps ordered.

Exports load lazily: ``normalize.redact`` alone (used by reports) does not import the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .apply import normalize, normalize_step, normalized_json
    from .options import DEFAULT_OPTIONS, Masker, NormalizeOptions
    from .order import canonical_order

__all__ = [
    "DEFAULT_OPTIONS",
    "Masker",
    "NormalizeOptions",
    "canonical_order",
    "normalize",
    "normalize_step",
    "normalized_json",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "normalize": "apply",
        "normalize_step": "apply",
        "normalized_json": "apply",
        "DEFAULT_OPTIONS": "options",
        "Masker": "options",
        "NormalizeOptions": "options",
        "canonical_order": "order",
    },
)

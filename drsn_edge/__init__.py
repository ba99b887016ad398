"""drsn-edge: Deep Residual Shrinkage Networks from training to the edge.

Torch-dependent names (``create_model``, ``soft_threshold``) load lazily so that
``drsn_edge.runtime`` stays importable on devices without PyTorch.
"""

from __future__ import annotations

import importlib
from typing import Any

from drsn_edge._version import __version__
from drsn_edge.errors import DrsnEdgeError

__all__ = ["__version__", "DrsnEdgeError", "create_model", "list_models", "soft_threshold"]

_LAZY = {
    "create_model": "drsn_edge.models.factory",
    "list_models": "drsn_edge.models.factory",
    "soft_threshold": "drsn_edge.models.shrinkage",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'drsn_edge' has no attribute {name!r}")

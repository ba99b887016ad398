"""Graph optimization: constant folding, BatchNorm folding, dead-node removal (onnxslim), then temporal
convolutions in the 2-D form ONNX Runtime's fastest CPU kernels take (:mod:`drsn_edge.export.conv_layout`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import onnx
import onnxslim

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.export.allowlist import check_allowed_ops
from drsn_edge.export.conv_layout import convs_as_2d
from drsn_edge.modelfile.onnx_props import description_of, write_description


def op_histogram(proto) -> dict[str, int]:
    return dict(sorted(Counter(n.op_type for n in proto.graph.node).items()))


def optimize_onnx(src: str | Path, out: str | Path, convs_2d: bool = True) -> dict[str, Any]:
    """Simplify ``src`` with onnxslim (folds BN into the preceding Conv where there is one), rewrite wide temporal
    convolutions as 2-D ones (unless ``convs_2d`` is False), keep metadata."""
    proto = onnx.load(str(src))
    md = description_of(proto)
    before = op_histogram(proto)
    try:
        slim = onnxslim.slim(proto)
    except Exception as exc:
        raise DrsnEdgeError(f"onnxslim failed on {src}: {str(exc).splitlines()[0][:200]}") from None
    layout = convs_as_2d(slim) if convs_2d else {"convs_as_2d": 0}
    onnx.checker.check_model(slim)
    check_allowed_ops(slim)
    write_description(slim, md)
    onnx.save(slim, str(out))
    after = op_histogram(slim)
    return {"nodes_before": sum(before.values()), "nodes_after": sum(after.values()),
            "ops_before": before, "ops_after": after, **layout}

"""FLOPs per window of an ONNX graph (Conv, Gemm, MatMul; elementwise ops are not counted)."""

from __future__ import annotations

import numpy as np


def count_flops(path: str) -> int:
    """2 x multiply-accumulates of the compute ops for one window (batch 1)."""
    import onnx

    proto = onnx.load(path)
    inp = proto.graph.input[0].type.tensor_type.shape
    if inp.dim[0].dim_param or inp.dim[0].dim_value != 1:
        inp.dim[0].ClearField("dim_param")
        inp.dim[0].dim_value = 1
    inferred = onnx.shape_inference.infer_shapes(proto)
    shapes = {}
    for vi in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]:
        shapes[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    for t in proto.graph.initializer:
        shapes[t.name] = list(t.dims)
    macs = 0
    for n in inferred.graph.node:
        if n.op_type == "Conv":
            w, out = shapes.get(n.input[1]), shapes.get(n.output[0])
            if w and out:
                macs += int(np.prod(out)) * int(np.prod(w[1:]))
        elif n.op_type in ("Gemm", "MatMul"):
            a, out = shapes.get(n.input[0]), shapes.get(n.output[0])
            if a and out:
                macs += int(np.prod(out)) * a[-1]
    return 2 * macs

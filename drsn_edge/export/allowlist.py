"""The standard ``ai.onnx`` ops an exported DRSN may contain; anything else fails the export."""

from __future__ import annotations

from drsn_edge.errors import DrsnEdgeError

#: Ops the exporter, onnxslim and the quantizers produce for these networks. All are in the default
#: ``ai.onnx`` domain, run in ONNX Runtime, ONNX's reference evaluator and TensorRT 8.6 / 10.
#: ``Sign`` appears only with the "sign" soft-threshold decomposition (TensorRT >= 8.2).
ALLOWED_OPS = frozenset({
    # network
    "Conv", "BatchNormalization", "Relu", "Add", "Sub", "Mul", "Div", "Gemm", "MatMul", "Sigmoid",
    "ReduceMean", "GlobalAveragePool", "AveragePool", "Sqrt", "Concat", "Slice", "Unsqueeze", "Squeeze",
    "Reshape", "Flatten", "Identity", "Constant",
    # novelty (Mahalanobis distance) and noise-level heads
    "ReduceSum", "ReduceMin", "Log", "Transpose",
    # soft-threshold decompositions
    "Abs", "Sign", "Neg", "Max", "Min",
    # precision changes (FP16 / INT8 QDQ)
    "Cast", "QuantizeLinear", "DequantizeLinear",
})


def graph_op_types(model) -> set[str]:
    """Op types of an ``onnx.ModelProto``, checking every node is in the default domain."""
    ops = set()
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx"):
            raise DrsnEdgeError(f"node {node.name!r} uses custom domain {node.domain!r}: {node.op_type}")
        ops.add(node.op_type)
    return ops


def check_allowed_ops(model) -> set[str]:
    """Raise if the graph has an op outside :data:`ALLOWED_OPS`; return the op types used."""
    ops = graph_op_types(model)
    extra = ops - ALLOWED_OPS
    if extra:
        raise DrsnEdgeError(f"graph uses ops outside the standard allow-list: {', '.join(sorted(extra))}")
    return ops

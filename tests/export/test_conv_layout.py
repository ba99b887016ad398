"""Temporal convolutions rewritten as 2-D ones: same outputs, only where it pays, any opset."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from drsn_edge.export.conv_layout import convs_as_2d


def _conv(name: str, x: str, cin: int, cout: int, k: int, rng, **attrs):
    fan_in = cin // attrs.get("group", 1)
    w = numpy_helper.from_array((rng.standard_normal((cout, fan_in, k)) / np.sqrt(fan_in * k)).astype(np.float32),
                                f"{name}.w")
    b = numpy_helper.from_array(rng.standard_normal(cout).astype(np.float32), f"{name}.b")
    return helper.make_node("Conv", [x, w.name, b.name], [f"{name}.y"], name=name, kernel_shape=[k], **attrs), [w, b]


def _model(opset: int = 17):
    """stem (1 -> 4, stays 1-D) -> conv (4 -> 16, stride 2) -> Relu -> conv (16 -> 16, dilated, grouped) -> Relu ->
    conv (16 -> 8, SAME_UPPER) read by two nodes -> conv (8 -> 8) as a graph output."""
    rng = np.random.default_rng(0)
    nodes, inits = [], []
    for node, ws in [
        _conv("stem", "x", 1, 4, 7, rng, pads=[3, 3]),
        _conv("c1", "stem.y", 4, 16, 3, rng, pads=[1, 1], strides=[2]),
        _conv("c2", "r1", 16, 16, 3, rng, pads=[2, 2], dilations=[2], group=4),
        _conv("c3", "r2", 16, 8, 4, rng, auto_pad="SAME_UPPER"),
        _conv("c4", "c3.y", 8, 8, 3, rng, pads=[1, 1]),
    ]:
        nodes.append(node)
        inits += ws
    nodes.insert(2, helper.make_node("Relu", ["c1.y"], ["r1"], name="relu1"))
    nodes.insert(4, helper.make_node("Relu", ["c2.y"], ["r2"], name="relu2"))
    nodes.append(helper.make_node("Abs", ["c3.y"], ["a3"], name="abs3"))
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 1, 256])],
                          [helper.make_tensor_value_info("c4.y", TensorProto.FLOAT, ["n", 8, 128]),
                           helper.make_tensor_value_info("a3", TensorProto.FLOAT, ["n", 8, 128])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def _run(m, x):
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {"x": x})


@pytest.mark.parametrize("opset", [11, 17])
def test_rewritten_graph_computes_the_same_outputs(opset):
    m = _model(opset)
    x = np.random.default_rng(1).standard_normal((3, 1, 256)).astype(np.float32)
    ref = _run(m, x)
    stats = convs_as_2d(m)
    onnx.checker.check_model(m)
    out = _run(m, x)
    for a, b in zip(ref, out):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    convs = [n for n in m.graph.node if n.op_type == "Conv"]
    weights = {t.name: t for t in m.graph.initializer}
    ranks = {n.name: len(weights[n.input[1]].dims) for n in convs}
    assert ranks == {"stem": 3, "c1": 4, "c2": 4, "c3": 4, "c4": 4}  # the 4-channel stem stays 1-D
    assert stats["convs_as_2d"] == 4
    assert stats["relus_moved"] == 2
    # c1 -> relu -> c2 -> relu -> c3 stay in one 4-D view; c3 is also read by Abs, so it is squeezed
    assert stats["views_joined"] == 2
    assert not any(t.name.endswith(".w") for t in m.graph.initializer if t.name.split(".")[0] != "stem")


def test_narrow_convolutions_and_graphs_without_initializer_weights_are_left_alone():
    m = _model()
    before = m.SerializeToString()
    assert convs_as_2d(m, min_out_channels=64) == {"convs_as_2d": 0}
    assert m.SerializeToString() == before

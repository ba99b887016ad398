"""A one-node ONNX model (Identity on a float vector), encoded by hand so that the runtime can try a provider
without the onnx package."""

from __future__ import annotations


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _value_info(name: str) -> bytes:
    dim = _field(1, _field(1, 4))  # TensorShapeProto.dim { dim_value: 4 }
    tensor = _field(1, 1) + _field(2, dim)  # elem_type FLOAT, shape
    return _field(1, name) + _field(2, _field(1, tensor))


def identity_model_bytes() -> bytes:
    node = _field(1, "x") + _field(2, "y") + _field(3, "probe") + _field(4, "Identity")
    graph = _field(1, node) + _field(2, "probe") + _field(11, _value_info("x")) + _field(12, _value_info("y"))
    opset = _field(1, "") + _field(2, 13)
    return _field(1, 8) + _field(2, "drsn-edge") + _field(7, graph) + _field(8, opset)

"""Checkpoint -> standard-op ONNX, parity verification, optimization, FP16 / INT8, TensorRT engines."""

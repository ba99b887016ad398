"""The model's description through every container that carries it, and files recognised by their content."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile import ModelMetadata, detect_format, is_triton_url, read_description, sha256_file
from drsn_edge.modelfile.checkpoint import FORMAT, drsn_entry, encode_entry, read_checkpoint_file
from drsn_edge.modelfile.engine import read_sidecar, sidecar_path, write_sidecar
from drsn_edge.modelfile.props import META_KEY, decode_props, encode_props
from drsn_edge.modelfile.triton import from_parameters, to_parameters


def _md(**kw) -> ModelMetadata:
    base = dict(class_names=["normal", "inner_race", "ball"], sample_rate=12000.0, window=2048, hop=1024, in_channels=1,
                channels=["DE"], extra_outputs=["novelty"], novelty={"threshold": 3.5},
                data={"source": "folder", "options": {"root": "/data/pumps"}, "fs": None, "split": None, "seed": 0},
                model={"arch": "drsn-cw", "preset": "wide"})
    return ModelMetadata(**{**base, **kw})


def test_every_container_carries_the_same_description(tmp_path):
    md = _md()
    assert decode_props(encode_props(md)).to_dict() == md.to_dict()
    served = {k: {"string_value": v} for k, v in to_parameters(md).items()}  # as a Triton server reports them
    assert from_parameters(served, "config").to_dict() == md.to_dict()
    engine = tmp_path / "m.fp16.engine"
    engine.write_bytes(b"\0" * 16)
    write_sidecar(engine, md, {"tensorrt_version": "10.0"})
    got, build = read_sidecar(engine)
    assert got.to_dict() == md.to_dict() and build == {"tensorrt_version": "10.0"}
    assert detect_format(engine) == "engine" and sidecar_path(engine).name == "m.fp16.engine.json"
    entry = json.loads(encode_entry(md, tmp_path / "models")[META_KEY])
    stored = entry["description"]["data"]["options"]["root"]  # relative to the checkpoint's folder
    assert entry["format"] == FORMAT and not os.path.isabs(stored)
    assert os.path.normpath(os.path.join(tmp_path / "models", stored)) == "/data/pumps"


def test_a_checkpoint_is_read_once_and_recognised_by_content(sim_checkpoint, tmp_path):
    ckpt = read_checkpoint_file(sim_checkpoint)
    assert ckpt.sha256 == sha256_file(sim_checkpoint) and len(ckpt.data) == sim_checkpoint.stat().st_size
    assert ckpt.md.to_dict() == read_description(sim_checkpoint).to_dict() and ckpt.history
    renamed = tmp_path / "model.onnx"  # the suffix does not decide
    shutil.copyfile(sim_checkpoint, renamed)
    assert detect_format(renamed) == "checkpoint"
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint at all")
    with pytest.raises(DrsnEdgeError, match="not a drsn-edge checkpoint"):
        read_checkpoint_file(tmp_path / "bad.safetensors")
    with pytest.raises(DrsnEdgeError, match="checkpoint not found"):
        read_checkpoint_file(tmp_path / "none.safetensors")
    with pytest.raises(DrsnEdgeError, match="unsupported checkpoint format"):
        drsn_entry({"__metadata__": {META_KEY: json.dumps({"format": "drsn-edge-checkpoint/9"})}}, "x")


def test_a_triton_address_is_recognised_without_importing_a_backend():
    code = ("import sys; from drsn_edge.modelfile import detect_format; "
            "assert detect_format('triton://host:8001/drsn') == 'triton'; "
            "print([m for m in sys.modules if 'triton' in m])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out  # no Triton client, no gRPC backend
    assert is_triton_url("triton://h:1/m") and not is_triton_url("model.onnx")
    with pytest.raises(DrsnEdgeError, match="description comes from the server"):
        read_description("triton://h:1/m")

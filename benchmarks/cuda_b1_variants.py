"""Where batch-1 time goes on ONNX Runtime's CUDA provider with CUDA graphs: the same model under CUDA provider options
and exact graph rewrites, each timed (host latency p50 / p99 and GPU time from CUDA events) in interleaved rounds.

    python benchmarks/cuda_b1_variants.py MODEL.onnx --out DIR       (on a GPU; --provider cpu rehearses on a CPU)
        [--one-d MODEL.openvino.onnx] [--fp16 MODEL.fp16.onnx]     (export --openvino --fp16 writes both)

``MODEL.onnx`` has its temporal convolutions as 2-D ones (the export's default, never timed under CUDA before this
script ran it); ``--one-d`` adds the same network with them 1-D, ``--fp16`` the FP16 file, each under CUDA graphs.

Rewrites (exact in inference): BatchNormalization after Gemm folded into the Gemm; ReduceMean over time replaced by
GlobalAveragePool (cuDNN pooling instead of a reduction kernel)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def fold_gemm_bn(model):
    """Fold every BatchNormalization that is the only consumer of a Gemm (transB=1) into that Gemm."""
    from onnx import numpy_helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    users: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    folded = 0
    for gemm in list(g.node):
        if gemm.op_type != "Gemm" or len(users.get(gemm.output[0], [])) != 1:
            continue
        bn = users[gemm.output[0]][0]
        attrs = {a.name: a for a in gemm.attribute}
        if bn.op_type != "BatchNormalization" or attrs.get("transB") is None or attrs["transB"].i != 1 or \
                len(gemm.input) < 3 or not all(x in inits for x in (*gemm.input[1:3], *bn.input[1:5])):
            continue
        w, b = (numpy_helper.to_array(inits[x]) for x in gemm.input[1:3])
        gamma, beta, mean, var = (numpy_helper.to_array(inits[x]) for x in bn.input[1:5])
        eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
        s = gamma / np.sqrt(var + eps)
        inits[gemm.input[1]].CopyFrom(numpy_helper.from_array((w * s[:, None]).astype(np.float32), gemm.input[1]))
        inits[gemm.input[2]].CopyFrom(numpy_helper.from_array(((b - mean) * s + beta).astype(np.float32), gemm.input[2]))
        gemm.output[0] = bn.output[0]
        g.node.remove(bn)
        for name in bn.input[1:5]:
            g.initializer.remove(inits.pop(name))
        folded += 1
    return folded


def reducemean_to_gap(model):
    """ReduceMean over the last axis of a (N, C, T) map, keepdims 0 -> GlobalAveragePool + Squeeze."""
    from onnx import helper, numpy_helper

    g = model.graph
    inits = {i.name: i for i in g.initializer}
    consts = {n.output[0]: n for n in g.node if n.op_type == "Constant"}
    done = 0
    for n in list(g.node):
        if n.op_type != "ReduceMean":
            continue
        attrs = {a.name: a for a in n.attribute}
        axes = list(attrs["axes"].ints) if "axes" in attrs else None
        if axes is None and len(n.input) > 1:
            src = inits.get(n.input[1])
            if src is not None:
                axes = numpy_helper.to_array(src).tolist()
            elif n.input[1] in consts:
                axes = numpy_helper.to_array(consts[n.input[1]].attribute[0].t).tolist()
        keep = attrs["keepdims"].i if "keepdims" in attrs else 1
        if axes not in ([-1], [2]):
            continue
        pooled = n.output[0] + "_gap"
        gap = helper.make_node("GlobalAveragePool", [n.input[0]], [pooled], name=n.name + "_gap")
        idx = list(g.node).index(n)
        g.node.remove(n)
        if keep:
            gap.output[0] = n.output[0]
            g.node.insert(idx, gap)
        else:
            ax = n.output[0] + "_axes"
            g.initializer.append(numpy_helper.from_array(np.array([2], np.int64), ax))
            g.node.insert(idx, gap)
            g.node.insert(idx + 1, helper.make_node("Squeeze", [pooled, ax], [n.output[0]], name=n.name + "_sq"))
        done += 1
    return done


def session(path: str, provider: str, opts: dict, stream_ptr: int | None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    if provider == "cpu":
        return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    o = {"device_id": 0, "use_tf32": 0, "enable_cuda_graph": "1", **opts}
    if stream_ptr:
        o.update(user_compute_stream=str(stream_ptr))
    return ort.InferenceSession(path, so, providers=[("CUDAExecutionProvider", o), "CPUExecutionProvider"])


def runner(sess, provider: str, x: np.ndarray, graph_id: int):
    import onnxruntime as ort

    name, outs = sess.get_inputs()[0].name, [o.name for o in sess.get_outputs()]
    if provider == "cpu":
        return lambda: sess.run(outs[:1], {name: x})
    xin = ort.OrtValue.ortvalue_from_numpy(x, "cuda", 0)
    binding = sess.io_binding()
    binding.bind_ortvalue_input(name, xin)
    vals = []
    for o in sess.get_outputs():
        shape = [x.shape[0] if not isinstance(d, int) else d for d in o.shape]
        v = ort.OrtValue.ortvalue_from_shape_and_type(shape, np.float32, "cuda", 0)
        binding.bind_ortvalue_output(o.name, v)
        vals.append(v)
    ro = ort.RunOptions()
    ro.add_run_config_entry("gpu_graph_id", str(graph_id))

    def run():
        xin.update_inplace(x)
        sess.run_with_iobinding(binding, ro)
        return vals[0].numpy()

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--out", default="cuda-b1-variants")
    ap.add_argument("--provider", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--one-d", help="the same model with its temporal convolutions 1-D (export --openvino)")
    ap.add_argument("--fp16", help="the FP16 export (fp32 inputs and outputs)")
    a = ap.parse_args()
    import onnx

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    models = {"as exported": a.model}
    for tag, fn in (("gemm-bn folded", [fold_gemm_bn]), ("reducemean->gap", [reducemean_to_gap]),
                    ("both rewrites", [fold_gemm_bn, reducemean_to_gap])):
        m = onnx.load(a.model)
        n = [f(m) for f in fn]
        p = out / (tag.replace(" ", "_").replace(">", "") + ".onnx")
        onnx.save(m, str(p))
        models[tag] = str(p)
        print(f"{tag}: {n} nodes rewritten")
    variants = {f"{k} / default": (v, {}) for k, v in models.items()}
    if a.provider == "cuda":
        base = a.model
        variants.update({
            "as exported / conv1d_pad_to_nc1d": (base, {"cudnn_conv1d_pad_to_nc1d": "1"}),
            "as exported / prefer_nhwc": (base, {"prefer_nhwc": "1"}),
            "as exported / algo HEURISTIC": (base, {"cudnn_conv_algo_search": "HEURISTIC"}),
            "as exported / tf32 on (not the default)": (base, {"use_tf32": "1"}),
            "both rewrites / conv1d_pad_to_nc1d": (models["both rewrites"], {"cudnn_conv1d_pad_to_nc1d": "1"}),
            "as exported / max workspace": (base, {"cudnn_conv_use_max_workspace": "1"}),
            "as exported / algo DEFAULT": (base, {"cudnn_conv_algo_search": "DEFAULT"}),
        })
    if a.one_d:
        variants["1-D convolutions / default"] = (a.one_d, {})
        if a.provider == "cuda":
            variants["1-D convolutions / algo HEURISTIC"] = (a.one_d, {"cudnn_conv_algo_search": "HEURISTIC"})
            variants["1-D convolutions / max workspace"] = (a.one_d, {"cudnn_conv_use_max_workspace": "1"})
    if a.fp16:
        variants["FP16 / default"] = (a.fp16, {})
    stream = timer = None
    if a.provider == "cuda":
        from drsn_edge.runtime.cuda import EventTimer, Stream

        stream = Stream()
        timer = EventTimer(stream)
    rng = np.random.default_rng(0)
    ref_in = onnx.load(a.model).graph.input[0].type.tensor_type.shape.dim
    x = rng.standard_normal((1, ref_in[1].dim_value, ref_in[2].dim_value)).astype(np.float32)
    fns, ref, res = {}, None, {}
    for k, (path, opts) in variants.items():
        try:
            sess = session(path, a.provider, opts, stream.ptr if stream else None)
            fn = runner(sess, a.provider, x, 1)
            for _ in range(20):
                y = fn()
            y = np.asarray(y[0] if isinstance(y, list) else y)
            ref = y if ref is None else ref
            res[k] = {"max_abs_diff_vs_first": float(np.abs(y - ref).max()), "host_ms": [], "gpu_ms": []}
            fns[k] = (sess, fn)
        except Exception as exc:  # noqa: BLE001 - an option this build lacks is a finding, not a crash
            res[k] = {"error": str(exc).splitlines()[0][:200]}
            print(f"{k}: {res[k]['error']}")
    for _ in range(a.rounds):
        for k, (_, fn) in fns.items():
            h = []
            for _ in range(a.calls):
                t0 = time.perf_counter()
                fn()
                h.append((time.perf_counter() - t0) * 1e3)
            res[k]["host_ms"] += h
            if timer is not None:
                for _ in range(30):
                    with timer:
                        fn()
                    res[k]["gpu_ms"].append(timer.elapsed_ms())
    rows = []
    for k, r in res.items():
        if "error" in r:
            rows.append(f"| {k} | failed: {r['error']} | | | |")
            continue
        h = np.array(r["host_ms"])
        r.update(host_p50=float(np.median(h)), host_p99=float(np.percentile(h, 99)),
                 gpu_p50=float(np.median(r["gpu_ms"])) if r["gpu_ms"] else None)
        rows.append(f"| {k} | {r['host_p50']:.3f} | {r['host_p99']:.3f} | "
                    f"{'-' if r['gpu_p50'] is None else format(r['gpu_p50'], '.3f')} | {r['max_abs_diff_vs_first']:.1e} |")
        del r["host_ms"], r["gpu_ms"]
    md = ["| variant | host p50 ms | host p99 ms | GPU p50 ms (events; includes the launch) | max abs diff |",
          "|---|---|---|---|---|", *rows]
    (out / "variants.md").write_text("\n".join(md) + "\n")
    (out / "variants.json").write_text(json.dumps(res, indent=1))
    print("\n".join(md))


if __name__ == "__main__":
    main()

"""Unsupervised adaptation to a new machine from its unlabelled recordings.

- AdaBN (Li et al., "Revisiting batch normalization for practical domain adaptation", 2016; applied to bearing
  faults by Zhang et al., WDCNN, Sensors 17(2), 2017): every BatchNorm's running mean and variance re-estimated on
  the target windows, in one pass, nothing else changed. The target windows get the noise mixture the model was
  trained under first: measured on CWRU, re-estimating on clean target windows alone moved the statistics by the
  noise as much as by the machine, and cost accuracy.
- ``tent`` (Wang et al., "Tent: fully test-time adaptation by entropy minimization", ICLR 2021): after AdaBN, the
  BatchNorm scales and shifts are trained to make each target prediction confident while the predictions stay
  spread over the classes the target contains (the diversity term of information maximisation, Liang et al.,
  SHOT, ICML 2020), with a guard against collapse: if that spread falls below 75 % of its start, adaptation stops
  and keeps the last good state.
  The classes the target contains are those AdaBN's model predicts for at least a quarter of a uniform share of the
  target windows. Spreading over all the model's classes instead assumes that the target holds every class: on CWRU
  (9 fault classes held out, 10 known) that pulled windows into the absent class and cost one fold 5 points; a
  machine recorded healthy has one class present, and then only the confidence term acts.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import nn

from drsn_edge.data.augment import Augment
from drsn_edge.data.dataset import DataSpec, load_dataset
from drsn_edge.data.splits import SplitSpec
from drsn_edge.errors import DrsnEdgeError
from drsn_edge.modelfile.checkpoint import read_checkpoint_file
from drsn_edge.models.checkpoint import load_checkpoint, save_checkpoint
from drsn_edge.training.config import TrainConfig
from drsn_edge.training.heads import fit_heads
from drsn_edge.training.noise_schedule import NoiseSchedule

METHODS = ("adabn", "tent")


def _bns(model: nn.Module) -> list[nn.BatchNorm1d]:
    return [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]


@torch.no_grad()
def adabn(model: nn.Module, x: np.ndarray, batch: int = 256, noise=None, seed: int = 0, augment=None) -> None:
    """Replace every BatchNorm's statistics by the target's (a cumulative average over all windows).

    ``noise`` (the training's NoiseSchedule) and ``augment`` (its Augment): the target windows get the same noise
    mixture, polarity flips and channel gains the source statistics were measured under, so that the statistics
    change only by what differs between the machines, not by what training added. (Speed changes are left out: a
    window holds no samples to stretch into.) Measured on CWRU's held-out loads with the default recipe (one seed):
    AdaBN 91.8 / 96.2 / 98.7 / 99.6 % without the training's polarity flips, 93.9 / 97.7 / 99.2 / 99.8 % with them.
    """
    rng = np.random.default_rng(seed)
    if augment is not None and augment.enabled:
        still = replace(augment, speed=0.0)
        x = np.concatenate([still.apply(x, x.shape[2], rng), still.apply(x, x.shape[2], rng)])
    if noise is not None and noise.enabled:
        x = np.concatenate([noise.apply(x, rng), noise.apply(x, rng)])
    bns = _bns(model)
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative moving average: every window weighs the same
    model.train()
    for i in range(0, len(x), batch):
        model(torch.from_numpy(np.ascontiguousarray(x[i : i + batch])))
    for bn in bns:
        bn.momentum = 0.1
    model.eval()


def _mean_entropy(p: torch.Tensor, present: torch.Tensor | None = None) -> torch.Tensor:
    """Entropy of the mean prediction, over the ``present`` classes only (renormalised) where given."""
    m = p.mean(0)
    if present is not None:
        m = m[present] / m[present].sum().clamp_min(1e-12)
    return -(m * torch.log(m + 1e-12)).sum()


def present_classes(p: torch.Tensor, share: float = 0.25) -> torch.Tensor:
    """Classes predicted (argmax) for at least ``share`` of a uniform share of the windows of ``p`` (N, K)."""
    k = p.shape[1]
    counts = torch.bincount(p.argmax(1), minlength=k).float()
    return counts / len(p) >= share / k


def tent(model: nn.Module, x: np.ndarray, steps: int = 50, batch: int = 128, lr: float = 1e-3, seed: int = 0,
         collapse: float = 0.75, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Entropy minimisation on the BatchNorm affine parameters, statistics frozen at their AdaBN values."""
    rng = np.random.default_rng(seed)
    params = [p for bn in _bns(model) for p in (bn.weight, bn.bias)]
    ids = {id(q) for q in params}
    for p in model.parameters():
        p.requires_grad_(id(p) in ids)
    model.eval()  # BatchNorm uses the (adapted) running statistics
    with torch.no_grad():
        p0 = torch.softmax(model(torch.from_numpy(x[: min(len(x), 1024)])), 1)
        present = present_classes(p0)
        start = _mean_entropy(p0, present).item()
    opt = torch.optim.Adam(params, lr=lr)
    good = copy.deepcopy(model.state_dict())
    stopped = None
    for step in range(steps):
        xb = torch.from_numpy(x[rng.integers(0, len(x), size=min(batch, len(x)))])
        p = torch.softmax(model(xb), 1)
        ent = -(p * torch.log(p + 1e-12)).sum(1).mean()
        div = _mean_entropy(p, present)
        if div.item() < collapse * start:  # predictions collapsing onto few classes: stop, keep the last good state
            stopped = step
            model.load_state_dict(good)
            log(f"adapt: stopped at step {step}: the prediction diversity fell below {collapse:.0%} of the start")
            break
        good = copy.deepcopy(model.state_dict())
        opt.zero_grad()
        (ent - div).backward()  # confident per window, diverse over windows
        opt.step()
    for p in model.parameters():
        p.requires_grad_(True)
    model.eval()
    return {"steps": steps if stopped is None else stopped, "stopped_by_guard": stopped is not None,
            "start_mean_entropy": start, "present_classes": int(present.sum())}


def training_noise(md):
    """The noise schedule a model was trained with (its BatchNorm statistics were measured under it)."""
    n = (md.training or {}).get("noise") or {}
    return NoiseSchedule(tuple(n.get("kinds", ())), n.get("snr_low", 0.0), n.get("snr_high", 0.0),
                         n.get("clean_fraction", 0.0))


def training_augment(md):
    """The augmentation a model was trained with (None for none)."""
    a = (md.training or {}).get("augment")
    return Augment(**a) if a else None


def adapt_model(model: nn.Module, x: np.ndarray, method: str = "tent", log: Callable[[str], None] = print,
                noise=None, augment=None, **kw: Any) -> dict[str, Any]:
    if method not in METHODS:
        raise DrsnEdgeError(f"unknown adaptation method {method!r}; choose from {', '.join(METHODS)}")
    torch.manual_seed(kw.get("seed", 0))
    probe = torch.from_numpy(np.ascontiguousarray(x[np.linspace(0, len(x) - 1, min(len(x), 1024)).astype(int)]))
    before = _predict(model, probe)
    adabn(model, x, noise=noise, seed=kw.get("seed", 0), augment=augment)
    info: dict[str, Any] = {"method": method, "windows": int(len(x))}
    if method == "tent":
        info.update(tent(model, x, log=log, **kw))
    info.update(relabelled(before, _predict(model, probe)))
    return info


@torch.no_grad()
def _predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    return torch.cat([torch.softmax(model(x[i : i + 256]), 1) for i in range(0, len(x), 256)])


def relabelled(before: torch.Tensor, after: torch.Tensor, confident: float = 0.9) -> dict[str, Any]:
    """How many of the target windows the source model was confident about got another label by adaptation.

    Adaptation should fix a minority of windows. Re-estimating BatchNorm statistics on recordings of one state
    of a machine (all healthy, the common case) normalises away what tells the states apart: measured on the
    simulator, a model calling 99 % of healthy windows healthy called 25 % healthy after AdaBN."""
    sure = before.max(1).values >= confident
    changed = (before.argmax(1) != after.argmax(1))[sure]
    return {"confident_windows": int(sure.sum()),
            "confident_relabelled": float(changed.float().mean()) if len(changed) else 0.0}


#: above this share of confidently labelled target windows relabelled, ``adapt`` refuses the result
MAX_RELABELLED = 0.3


def target_windows(md, spec, max_windows: int = 4096, seed: int = 0) -> tuple[np.ndarray, str]:
    """Windows of the target machine at the model's rate, labels ignored: every window of the data ``spec``
    describes (split "all"), at most ``max_windows`` of them, spread over the recordings."""
    spec = DataSpec(spec.source, spec.options, md.sample_rate, SplitSpec("all"), spec.seed)
    ds = load_dataset(spec, min_samples=md.window)
    if ds.in_channels != md.in_channels:
        raise DrsnEdgeError(f"the target data has {ds.in_channels} channel(s), the model takes {md.in_channels}")
    x, _ = ds.windows("test", md.window, md.hop)
    if len(x) > max_windows:
        x = x[np.sort(np.random.default_rng(seed).permutation(len(x))[:max_windows])]
    return x, f"{spec.describe()}: {len(ds.recordings)} recordings, {len(x)} windows"


def adapt_checkpoint(checkpoint: str, target, out: str, method: str = "tent", max_windows: int = 4096,
                     log: Callable[[str], None] = print, force: bool = False) -> dict[str, Any]:
    """Adapt a checkpoint to the machine ``target`` (a DataSpec) describes and write the adapted checkpoint."""
    ckpt = read_checkpoint_file(checkpoint)
    model, md = load_checkpoint(ckpt)
    x, described = target_windows(md, target, max_windows)
    log(f"adapting to {described} ({method})")
    source = copy.deepcopy(model)
    info = adapt_model(model, x, method, log=log, noise=training_noise(md), augment=training_augment(md))
    if info["confident_relabelled"] > MAX_RELABELLED and not force:
        raise DrsnEdgeError(
            f"adaptation relabelled {100 * info['confident_relabelled']:.0f} % of the {info['confident_windows']} target "
            "windows the model was sure about: the target recordings hold one state of the machine (e.g. only "
            "healthy), or differ so much from the training data (another sensor or position) that its labels there "
            "need labelled checks either way; adapt on recordings of the machine's different states; with healthy "
            "recordings only, drsn-edge enrol learns the machine's healthy state instead (--force writes it anyway)")
    heads_note = _refit_heads(model, md, source, log)
    md.adaptation = {**info, "target": described, "source_checkpoint_sha256": ckpt.sha256,
                     "source_metrics": md.metrics, "heads": heads_note,
                     "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    md.metrics = {}  # the source's test figures no longer describe this model; evaluate it on labelled target data
    save_checkpoint(out, model, md)
    log(f"wrote {out}")
    return md.adaptation


def _refit_heads(model, md, source_net, log) -> str:
    """The heads were fitted to the source's features (``source_net``, the network before adaptation); refit them on
    the source data through the adapted network, or drop what cannot be refitted here (saying so)."""
    if not md.extra_outputs:
        return "none"

    try:
        ds = load_dataset(DataSpec.from_dict(md.data), min_samples=md.window)
    except DrsnEdgeError as exc:
        dropped = [o for o in md.extra_outputs if o == "novelty"]
        md.extra_outputs = [o for o in md.extra_outputs if o != "novelty"]
        model.novelty = None
        model.config.heads = [h for h in model.config.heads if h != "novelty"]
        md.novelty = {}
        log(f"note: the novelty output is dropped: refitting it needs the source data, which is not here ({exc})")
        return f"dropped {', '.join(dropped)} (source data not here)" if dropped else "kept"
    cfg = TrainConfig(seed=int((md.training or {}).get("seed", 0)), noise=training_noise(md))
    source = None
    if "novelty" in md.extra_outputs and (md.training or {}).get("refit") and md.novelty.get("threshold"):
        # the refit trained on the validation recordings: they cannot calibrate a threshold, carry the source's over
        source = (source_net.eval(), float(md.novelty["threshold"]))
    fitted = fit_heads(model, ds, cfg, source=source)
    md.novelty = fitted.get("novelty", md.novelty)
    md.noise = fitted.get("noise", md.noise)
    return "refitted on the source data through the adapted network"

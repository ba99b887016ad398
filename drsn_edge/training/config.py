"""Training settings: one set of defaults for the library and the CLI (torch-free, so the CLI can read them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from drsn_edge.data.augment import Augment
from drsn_edge.training.noise_schedule import NoiseSchedule

#: epochs when fine-tuning from a trained model (``train --init``): the backbone starts where it learnt, so a third of
#: a new model's epochs (a wide model on one labelled load: 36-82 s on 2 cores, refit included; few_shot.md)
FINETUNE_EPOCHS = 10
#: ``train --init``: validation scores within this of the best count as equal and the latest such epoch is chosen.
#: A few labelled recordings give a validation split that scores 98-100 % from the first epochs, so the best score
#: falls on an early epoch by one window, and that epoch's weights (and a refit stopped there) have not been through
#: the schedule's annealing: on CWRU's fan end from one load, a run that chose epoch 5 of 10 scored 73.9 %, the same
#: run choosing this way 90.8 % (benchmarks/results/few_shot.md)
FINETUNE_SELECTION_TOLERANCE = 0.01
#: ``train --last-epoch``: every balanced accuracy is within 1 of the best, so the latest epoch, the last, is chosen
LAST_EPOCH_TOLERANCE = 1.0
#: ``enrol``: the shaft-speed drift (relative) its healthy baseline is widened over: a recording of minutes holds one
#: speed, while a drive's speed moves with its load by about this much over hours (training.enrol)
ENROL_SPEED_RANGE = 0.02


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    #: Optimizer steps per epoch; each step draws ``batch_size`` fresh random crops.
    steps_per_epoch: int = 100
    seed: int = 0
    noise: NoiseSchedule = field(default_factory=NoiseSchedule)
    device: str = "auto"
    label_smoothing: float = 0.0
    augment: Augment = field(default_factory=Augment)
    #: stop after this many epochs without a better validation balanced accuracy (None: run every epoch)
    patience: int | None = None
    #: after choosing the epoch on validation, train again on training + validation recordings up to it
    refit: bool = True
    #: the backbone's learning rate as a share of ``lr`` (fine-tuning from a trained model: 0.1)
    backbone_lr_scale: float = 1.0
    #: validation balanced accuracy within this of the best counts as the best; the latest such epoch is chosen
    #: (fine-tuning: FINETUNE_SELECTION_TOLERANCE)
    selection_tolerance: float = 0.0

    def describe(self) -> dict[str, Any]:
        d = asdict(self)
        d["noise"] = self.noise.describe()
        d["augment"] = self.augment.describe()
        return d

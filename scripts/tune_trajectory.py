"""Tuning probe: train a C-RNN-GAN / GAN configuration step by step on the quick Sines split and print MMD² to the
held-out windows every few steps (one torch thread). Usage:
python scripts/tune_trajectory.py crnngan '{"hidden": 32}' --every 50 --seed 0"""
from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch

torch.set_num_threads(1)

from tsbench.metrics.mmd import MMD  # noqa: E402
from tsbench.data import resolve_dataset  # noqa: E402
from tsbench.registry import generators  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("params", default="{}")
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dataset", default="sines")
    args = ap.parse_args()
    split = resolve_dataset(args.dataset, preset="quick").load(args.seed, "tsbench")
    cls = generators.get(args.name)
    params = {**cls.presets["quick"], **json.loads(args.params)}
    pretrain_steps = params.pop("pretrain_steps", 0)
    mmd = MMD(subset_size=1000, repeats=1)

    def score(model):
        model.nets_.eval()
        with torch.no_grad():
            s = model._sample(1000, seed=1)
        model.nets_.train()
        return mmd.compute(split.train, split.test, s, seed=0)["value"][0]

    model = cls(**params)
    model.seq_len_, model.n_features_in_ = split.train.shape[1], split.train.shape[2]
    rng = model._start_fit(*split.train.shape[1:], args.seed)  # as fit does: weights from the seed, rng seed + 1
    X = torch.as_tensor(split.train)
    t0 = time.perf_counter()
    if args.name == "crnngan":
        opt_g, opt_d = model._optimizers()
        batch = int(model.batch_size)
        steps = int(pretrain_steps) or int(model.pretrain_epochs) * math.ceil(len(X) / batch)
        epochs = max(1, int(model.pretrain_epochs))
        for i in range(steps):
            length = max(1, math.ceil(model.seq_len_ * min(epochs, 1 + i * epochs // steps) / epochs))
            mse = model.pretrain_step(X[:, :length], rng, opt_g)
        print(f"pretrain {steps} steps mse {float(mse):.4f} mmd {score(model):.4f} t {time.perf_counter()-t0:.1f}",
              flush=True)
        frozen = torch.zeros(2)
        for it in range(1, int(model.iterations) + 1):
            ld, lg, fr = model.train_step(X, rng, opt_g, opt_d)
            frozen += fr
            if it % args.every == 0:
                print(f"it {it} d {float(ld):.3f} g {float(lg):.4f} frozen {(frozen / args.every).tolist()} "
                      f"mmd {score(model):.4f} t {time.perf_counter()-t0:.1f}", flush=True)
                frozen.zero_()


if __name__ == "__main__":
    main()

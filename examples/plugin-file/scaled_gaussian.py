"""A complete tsbench plugin in one file: `tsbench run -g scaled_gaussian.py:ScaledGaussian`."""
import numpy as np

from tsbench.card import Card
from tsbench.errors import InputError
from tsbench.generator import Generator


class ScaledGaussian(Generator):
    """Independent Gaussian per (time step, feature), its standard deviation times ``scale``."""

    name = "scaled_gaussian"                  # the registry key: the name in records and tables
    card = Card(title="Scaled independent Gaussian", citation_key="scaled_gaussian",
                faithful=("per (step, feature) mean and standard deviation of the training windows",),
                adapted=("standard deviation multiplied by scale; samples clipped to [0, 1]",))
    presets = {"smoke": {"scale": 0.5}, "quick": {"scale": 1.0}, "paper": {"scale": 1.0}}

    def __init__(self, scale: float = 1.0):
        self.scale = scale                    # store only: validate in _fit

    def _fit(self, X, *, seed, callback):
        if not isinstance(self.scale, (int, float)) or self.scale < 0:
            raise InputError("scaled_gaussian scale", expected="a number >= 0", got=repr(self.scale))
        self.mean_, self.std_ = X.mean(axis=0), X.std(axis=0)   # learned state ends in "_"
        callback(1, 1, {})

    def _sample(self, n, *, seed):
        noise = np.random.default_rng(seed).standard_normal((n, *self.mean_.shape))
        return np.clip(self.mean_ + self.scale * self.std_ * noise, 0.0, 1.0)

"""Alias of :mod:`tsbench.baselines.calibration`, where the corruption rows now live (kept for old imports)."""
from tsbench.baselines.calibration import AddNoise, CopyTrain, ModeCollapse, ShuffleChannels, ShuffleTime

__all__ = ["AddNoise", "ShuffleTime", "ShuffleChannels", "ModeCollapse", "CopyTrain"]

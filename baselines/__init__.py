"""Built-in generators, installed as ``tsbench.baselines`` (one file per model family)."""

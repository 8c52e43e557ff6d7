"""Built-in metrics, installed as ``tsbench.metrics`` (one file per metric family)."""

"""Evaluation protocols: named, versioned bundles of data-split policy and metric settings.

The protocol name and version are recorded in every record and shown in every table caption.

* ``timegan2019`` reproduces the original TimeGAN code: rows reversed, all windows used both to train the
  generator and to score it, metric settings exactly as released (see each metric's card).
* ``tsbench`` is the honest default: the series is split chronologically (first 80 % train, last 20 %
  held-out test) *before* windowing so overlapping windows cannot leak; metrics score against held-out
  windows; metric changes are documented on each metric's card.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .errors import InputError


@dataclass(frozen=True)
class Protocol:
    name: str
    version: str
    split: str  # "all" (train = test = all windows) or "chronological"
    reverse_rows: bool  # the TimeGAN loader's [::-1]
    train_fraction: float  # used by the chronological split
    default_repeats: int  # metric repeats per cell
    description: str

    @property
    def tag(self) -> str:
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict:
        return asdict(self)


PROTOCOLS = {
    "timegan2019": Protocol("timegan2019", "1", split="all", reverse_rows=True, train_fraction=1.0,
                            default_repeats=10,
                            description="TimeGAN reference code: all windows for training and testing"),
    "tsbench": Protocol("tsbench", "1", split="chronological", reverse_rows=False, train_fraction=0.8,
                        default_repeats=5,
                        description="chronological 80/20 split before windowing; scored on held-out windows"),
}

DEFAULT_PROTOCOL = "tsbench"


def get_protocol(name: str | Protocol) -> Protocol:
    if isinstance(name, Protocol):
        return name
    if name not in PROTOCOLS:
        raise InputError("unknown protocol", expected=" or ".join(PROTOCOLS), got=repr(name),
                         fix="pass --protocol timegan2019 or --protocol tsbench")
    return PROTOCOLS[name]

"""Evaluation protocols: named, versioned bundles of data-split policy and metric settings.

The protocol tag (``name@version``) is recorded in every record and shown in every table caption; a table
never puts two tags in one column.

* ``timegan2019@2`` reproduces the original TimeGAN code: rows reversed, min–max scaled over the whole file,
  all windows used both to train the generator and to score it, metric settings exactly as released (see
  each metric's card). The calibration row ``real`` is the one deliberate difference from the paper's
  "Original" row (which scores the data against itself): the windows are cut into two disjoint random
  halves, ``real`` returns one half and is scored against the other (train = test = that half), so the row
  measures the noise floor between two independent draws of windows. Stride-1 windows of a series overlap
  in time, so under this protocol the halves share time steps but never a window.
* ``tsbench@2`` (the default) is the honest protocol: a **blocked** split. The series is cut into
  ``n_blocks`` contiguous blocks; evenly spread interior blocks are held out, alternately as *test* blocks
  (every row is scored against their windows) and *floor* blocks (the windows ``real`` returns), the rest
  (the first and last block included) train the generators. At every boundary between a training block
  and a held-out block ``seq_len − 1`` steps are purged from the training side, windows are cut inside
  blocks only, and the min–max scaler is fitted on the training rows only. So no window spans two roles,
  no time step is shared between roles, the held-out blocks lie inside the training period (interpolation,
  not extrapolation to a later price level), and ``real`` is an independent sample of held-out data that
  shares no time step with what it is scored against. Held-out values can fall slightly outside [0, 1].
  Independent windows (Sines) are split at random in the same proportions.
* ``tsbench-chrono@2`` keeps the chronological split for forecasting-style studies: train first, then the
  floor block, then the test block (the latest period), with the same purge gaps and train-only scaling.

Retired tags (``tsbench@1``: chronological 80/20 split, scaler fitted on the whole file, ``real`` scored
against the windows it returned; ``timegan2019@1``: ``real`` scored against itself) stay readable in
records and tables but cannot be run.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .errors import InputError


@dataclass(frozen=True)
class Protocol:
    name: str
    version: str
    split: str  # "all" (train = test = all windows), "blocked" or "chronological"
    reverse_rows: bool  # the TimeGAN loader's [::-1]
    held_out: float  # fraction of the rows (or windows) for the test role, and again for the floor role
    n_blocks: int  # blocks of the blocked split (at most; fewer for short series)
    scale: str  # "all": scaler fitted on the whole series (TimeGAN); "train": on the training rows only
    metrics: str  # the metric-settings family the metrics follow: "timegan2019" or "tsbench"
    default_repeats: int  # metric repeats per cell
    description: str
    runnable: bool = True  # retired versions stay readable in records but cannot be run

    @property
    def tag(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def train_fraction(self) -> float:
        return 1.0 - 2.0 * self.held_out if self.split != "all" else 1.0

    def to_dict(self) -> dict:
        return asdict(self)


PROTOCOLS = {
    "timegan2019": Protocol("timegan2019", "2", split="all", reverse_rows=True, held_out=0.0, n_blocks=1,
                            scale="all", metrics="timegan2019", default_repeats=10,
                            description="TimeGAN reference code: all windows for training and testing; "
                                        "real = one random half of the windows scored against the other"),
    "tsbench": Protocol("tsbench", "2", split="blocked", reverse_rows=False, held_out=0.15, n_blocks=20,
                        scale="train", metrics="tsbench", default_repeats=5,
                        description="blocked 70/15/15 split (train / test / real floor) with purge gaps; "
                                    "scaler fitted on training rows; scored on held-out test windows"),
    "tsbench-chrono": Protocol("tsbench-chrono", "2", split="chronological", reverse_rows=False, held_out=0.15,
                               n_blocks=1, scale="train", metrics="tsbench", default_repeats=5,
                               description="chronological 70/15/15 split (train, real floor, test = latest) "
                                           "with purge gaps; scaler fitted on training rows"),
}

#: retired versions: readable in records and tables, never run
RETIRED = {
    "tsbench@1": Protocol("tsbench", "1", split="chronological", reverse_rows=False, held_out=0.2, n_blocks=1,
                          scale="all", metrics="tsbench", default_repeats=5, runnable=False,
                          description="chronological 80/20 split; real scored against its own windows"),
    "timegan2019@1": Protocol("timegan2019", "1", split="all", reverse_rows=True, held_out=0.0, n_blocks=1,
                              scale="all", metrics="timegan2019", default_repeats=10, runnable=False,
                              description="TimeGAN reference code; real scored against itself"),
}

DEFAULT_PROTOCOL = "tsbench"


def get_protocol(name: str | Protocol) -> Protocol:
    """The protocol called ``name`` (``"tsbench"``, ``"tsbench@2"``, a retired ``"tsbench@1"``, ...)."""
    if isinstance(name, Protocol):
        return name
    text = str(name).strip()
    base, _, version = text.partition("@")
    current = PROTOCOLS.get(base)
    if current is not None and version in ("", current.version):
        return current
    if text in RETIRED:
        return RETIRED[text]
    known = [p.tag for p in PROTOCOLS.values()] + list(RETIRED)
    raise InputError("unknown protocol", expected=" or ".join(known), got=repr(name),
                     fix="pass --protocol " + " or --protocol ".join(PROTOCOLS))


def runnable_protocol(name: str | Protocol) -> Protocol:
    """:func:`get_protocol` for a new run: a retired version is an :class:`InputError`."""
    protocol = get_protocol(name)
    if not protocol.runnable:
        current = PROTOCOLS[protocol.name]
        raise InputError(f"protocol {protocol.tag} is retired", expected=f"a current protocol ({current.tag})",
                         got=protocol.tag,
                         fix=f"run with --protocol {current.name} ({current.tag}); {protocol.tag} records stay "
                             "readable but new cells use the current version")
    return protocol


def recorded_tag(name: str) -> str:
    """The tag of a protocol as written in a cell file: cells written before tags were stored name only
    the protocol (``"tsbench"``) and were run under version 1."""
    text = str(name).strip()
    return text if "@" in text else f"{text}@1"

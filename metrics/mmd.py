"""Maximum mean discrepancy (Gretton et al. 2012) with an RBF kernel on flattened windows.

Estimator (unbiased MMD², Gretton et al. 2012, Lemma 6), for ``X`` (m windows) and ``Y`` (n windows)::

    MMD² = 1/(m(m−1)) Σ_{i≠j} k(x_i, x_j) + 1/(n(n−1)) Σ_{i≠j} k(y_i, y_j) − 2/(mn) Σ_{i,j} k(x_i, y_j)

Kernel and bandwidth convention (the *median heuristic*, stated exactly):

* windows ``(seq_len, n_features)`` are flattened to vectors of length ``d = seq_len · n_features``;
* ``σ² = median{‖z_i − z_j‖² : i < j}`` over the *real reference windows* only (the dataset's training
  windows, the same for every row of a table: see :meth:`tsbench.metric.Metric.compute`), subsampled to at
  most 1000 windows with a fixed seed, so one kernel serves every row and repeat of a (dataset, split,
  seq_len) and is recorded as the output ``bandwidth``. (Version 1 pooled each row's own synthetic sample
  into the median, so a collapsed model got a narrower kernel than the others and rows were not
  comparable.)
* ``k(x, y) = exp(−‖x − y‖² / (2σ²))``; :class:`MultiBandwidthMMD` sums this kernel over the bandwidths
  ``σ · s`` for ``s ∈ {0.25, 0.5, 1, 2, 4}`` (so ``k(x, x) = 5``).

The kernel matrix is never materialised: the pooled ``(m + n) × (m + n)`` kernel is visited in square
blocks (``block_size`` rows, upper triangle only, by symmetry), each block multiplied into a small label
matrix; sums are accumulated in float64. One pass gives the observed statistic and every permutation's,
so the optional permutation test costs little more than the statistic itself.

>>> import numpy as np
>>> from tsbench.metrics.mmd import MMD
>>> rng = np.random.default_rng(0)
>>> real, synthetic = rng.random((300, 24, 2)), rng.random((300, 24, 2)) + 0.2
>>> result = MMD(subset_size=200, repeats=3).compute(real, real, synthetic, seed=0)
>>> len(result["value"]), result["value"][0] > 0
(3, True)
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np
import torch

from tsbench.card import Card
from tsbench.errors import InputError
from tsbench.metric import Metric, MetricResult
from tsbench.params import NON_NEGATIVE, POSITIVE, Interval
from tsbench.seeding import derive_seed

#: points used to estimate the median pairwise distance
MEDIAN_MAX_POINTS = 1000
_GRETTON2012 = {"authors": "Gretton, Borgwardt, Rasch, Schölkopf, Smola", "year": 2012,
                "venue": "Journal of Machine Learning Research 13", "citation_key": "gretton2012",
                "url": "https://jmlr.org/papers/v13/gretton12a.html"}


def median_sq_distance(Z: np.ndarray, *, rng: np.random.Generator, max_points: int = MEDIAN_MAX_POINTS) -> float:
    """``σ²`` of the median heuristic: median squared Euclidean distance over distinct pairs of rows of ``Z``
    ``(N, d)``, on a seeded subsample of at most ``max_points`` rows. Falls back to the mean of the non-zero
    squared distances, then to 1.0, when the median is 0 (e.g. many duplicate windows)."""
    Z = np.asarray(Z, dtype=np.float64)
    if len(Z) > max_points:
        Z = Z[np.sort(rng.choice(len(Z), size=max_points, replace=False))]
    Z = Z - Z.mean(axis=0)
    sq = np.einsum("ij,ij->i", Z, Z)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * Z @ Z.T, 0.0)
    pairs = d2[np.triu_indices(len(Z), k=1)]
    if len(pairs) == 0:
        return 1.0
    median = float(np.median(pairs))
    if median > 0:
        return median
    positive = pairs[pairs > 0]
    return float(positive.mean()) if len(positive) else 1.0


def _kernel_block(d2: torch.Tensor, gammas: Sequence[float]) -> torch.Tensor:
    """Sum over ``gammas`` of ``exp(−γ · d²)`` for a block of squared distances."""
    out = torch.exp(d2 * -gammas[0])
    for gamma in gammas[1:]:
        out += torch.exp(d2 * -gamma)
    return out


def mmd2_unbiased(X: np.ndarray, Y: np.ndarray, *, sigma2: float, scales: Sequence[float] = (1.0,),
                  permutations: int = 0, rng: np.random.Generator | None = None, block_size: int = 2048,
                  device: str | torch.device = "cpu") -> tuple[float, np.ndarray]:
    """Unbiased MMD² between ``X`` ``(m, d)`` and ``Y`` ``(n, d)`` (m, n ≥ 2) with the kernel
    ``Σ_s exp(−‖x − y‖² / (2 σ² s²))``, computed blockwise in float64.

    Returns ``(mmd2, null)`` where ``null`` holds the statistic under ``permutations`` random relabellings
    of the pooled sample (drawn from ``rng``), for the permutation p-value.
    """
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    Y = np.asarray(Y, dtype=np.float64).reshape(len(Y), -1)
    m, n = len(X), len(Y)
    if m < 2 or n < 2:
        raise InputError("MMD inputs", expected="at least 2 windows in each set", got=f"{m} and {n}",
                         fix="pass more windows (or a larger subset_size)")
    N = m + n
    labels = np.zeros((N, 2 + permutations))  # columns: ones, observed labels, permuted labels
    labels[:, 0] = 1.0
    labels[:m, 1] = 1.0
    if permutations:
        rng = rng if rng is not None else np.random.default_rng(0)
        for b in range(permutations):
            labels[rng.permutation(N)[:m], 2 + b] = 1.0

    device = torch.device(device)
    Z = np.concatenate([X, Y])
    Z = torch.as_tensor(Z - Z.mean(axis=0), device=device)  # centring improves the d² cancellation
    A = torch.as_tensor(labels, device=device)
    sq = (Z * Z).sum(dim=1)
    gammas = [1.0 / (2.0 * sigma2 * s * s) for s in scales]
    KA = torch.zeros_like(A)
    for r0 in range(0, N, block_size):
        r1 = min(r0 + block_size, N)
        for c0 in range(r0, N, block_size):
            c1 = min(c0 + block_size, N)
            d2 = sq[r0:r1, None] + sq[None, c0:c1] - 2.0 * (Z[r0:r1] @ Z[c0:c1].T)
            d2.clamp_(min=0.0)
            if c0 == r0:
                d2.fill_diagonal_(0.0)
            K = _kernel_block(d2, gammas)
            KA[r0:r1] += K @ A[c0:c1]
            if c0 != r0:
                KA[c0:c1] += K.T @ A[r0:r1]
    KA = KA.cpu().numpy()
    k_diag = float(len(scales))  # k(z, z) = Σ_s exp(0)
    a = labels[:, 1:]
    Ka, K1 = KA[:, 1:], KA[:, :1]
    s_xx = (a * Ka).sum(axis=0) - m * k_diag
    s_yy = ((1.0 - a) * (K1 - Ka)).sum(axis=0) - n * k_diag
    s_xy = (a * (K1 - Ka)).sum(axis=0)
    stats = s_xx / (m * (m - 1)) + s_yy / (n * (n - 1)) - 2.0 * s_xy / (m * n)
    return float(stats[0]), stats[1:]


def permutation_p_value(observed: float, null: np.ndarray) -> float:
    """``p = (1 + #{b: MMD²_b ≥ observed}) / (B + 1)``."""
    return float((1 + np.count_nonzero(np.asarray(null) >= observed)) / (len(null) + 1))


class MMD(Metric):
    """Unbiased MMD² (RBF kernel, median heuristic on real data; see the module docstring for the convention).

    Scored between the held-out real windows ``real_test`` (under ``timegan2019`` these are all windows)
    and the synthetic windows. Each repeat draws a seeded random subset of ``subset_size`` windows of each
    set (without replacement), as KID does (Bińkowski et al. 2018); when ``subset_size`` covers both sets
    the repeats would be identical, so the statistic is computed once (one repeat).

    Parameters
    ----------
    protocol : ``"tsbench"`` or ``"timegan2019"`` (recorded; the MMD arithmetic is the same under both).
    repeats : number of random subsets (default: the protocol's).
    subset_size : windows per set and repeat; ``None`` uses all windows.
    permutations : B > 0 adds the output ``p_value`` of a permutation test with B relabellings.
    block_size : rows per kernel block (memory ≈ 3 · block_size² · 8 bytes).
    device : ``"cpu"``, ``"cuda"`` or ``"auto"`` (where the blocks are computed).

    Outputs: ``value`` (MMD², lower is better; can be slightly negative, it is unbiased), ``bandwidth`` (σ)
    and, with permutations, ``p_value``.
    """

    name = "mmd"
    version = "2"
    outputs: ClassVar[dict[str, bool | None]] = {"value": False, "bandwidth": None, "p_value": None}
    parameter_constraints = {"subset_size": Interval(2, None), "permutations": NON_NEGATIVE, "block_size": POSITIVE}
    presets: ClassVar[dict[str, dict]] = {
        "smoke": {"subset_size": 200, "repeats": 2},
        "quick": {"subset_size": 1000},
        "paper": {"subset_size": 2000, "permutations": 200},
    }
    #: bandwidth multipliers of the summed RBF kernels
    scales: ClassVar[tuple[float, ...]] = (1.0,)
    card = Card(
        title="Maximum mean discrepancy (unbiased MMD², RBF kernel, median heuristic)",
        **_GRETTON2012,
        faithful=("unbiased MMD²_u estimator (Gretton et al. 2012, Lemma 6)",
                  "permutation test p = (1 + #{b: MMD²_b ≥ observed}) / (B + 1)",
                  "median heuristic bandwidth (Gretton et al. 2012, Sec. 8)"),
        adapted=("convention fixed as σ² = median squared pairwise distance of the real reference (training) "
                 "windows (≤ 1000, fixed seed), k = exp(−d²/(2σ²)), one kernel for every row of a table; "
                 "papers vary on this",
                 "mean ± std over seeded random subsets of both sets (as KID, Bińkowski et al. 2018)",
                 "scored against held-out real windows under the tsbench protocol"))

    def __init__(self, *, protocol: str = "tsbench", repeats: int | None = None, subset_size: int | None = 1000,
                 permutations: int = 0, block_size: int = 2048, device: str = "cpu"):
        self.protocol = protocol
        self.repeats = repeats
        self.subset_size = subset_size
        self.permutations = permutations
        self.block_size = block_size
        self.device = device

    def _check_params(self) -> None:
        for what, value, minimum in (("subset_size", self.subset_size, 2), ("permutations", self.permutations, 0),
                                     ("block_size", self.block_size, 1)):
            if value is None and what == "subset_size":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
                raise InputError(f"{self.name} parameter {what}", expected=f"an integer ≥ {minimum}",
                                 got=repr(value), fix=f"pass {what}=<integer ≥ {minimum}>")

    def _device(self) -> torch.device:
        from tsbench.baselines._torch import resolve_device

        return resolve_device(self.device)

    def reference_sigma2(self) -> float:
        """``σ²`` of the median heuristic on the real reference windows (fixed seed: a function of the data)."""
        reference = self.reference_.reshape(len(self.reference_), -1)
        return median_sq_distance(reference, rng=np.random.default_rng(derive_seed("mmd-bandwidth")))

    def _compute(self, real_train, real_test, synthetic, *, seed: int, artefact_dir: Path | None) -> MetricResult:
        real = real_test.reshape(len(real_test), -1)
        fake = synthetic.reshape(len(synthetic), -1)
        size = self.subset_size
        full = size is None or (size >= len(real) and size >= len(fake))
        draws = 1 if full else self.n_repeats()
        device = self._device()
        sigma2 = self.reference_sigma2()
        out: dict[str, list[float]] = {"value": [], "bandwidth": []}
        if self.permutations:
            out["p_value"] = []
        for r in range(draws):
            rng = np.random.default_rng(derive_seed(seed, self.name, r))
            X = real if full else real[rng.choice(len(real), size=min(size, len(real)), replace=False)]
            Y = fake if full else fake[rng.choice(len(fake), size=min(size, len(fake)), replace=False)]
            value, null = mmd2_unbiased(X, Y, sigma2=sigma2, scales=self.scales, permutations=self.permutations,
                                        rng=rng, block_size=self.block_size, device=device)
            out["value"].append(value)
            out["bandwidth"].append(float(np.sqrt(sigma2)))
            if self.permutations:
                out["p_value"].append(permutation_p_value(value, null))
        return out


class MultiBandwidthMMD(MMD):
    """Unbiased MMD² with a sum of RBF kernels at bandwidths σ · {0.25, 0.5, 1, 2, 4}, σ from the median
    heuristic (same convention, subsets and outputs as :class:`MMD`; ``bandwidth`` reports the base σ).

    A single median bandwidth can be blind to differences at much smaller or larger scales; summing
    kernels over a range of bandwidths (a characteristic kernel at every scale) guards against that.
    """

    name = "mmd_multi"
    version = "2"
    scales: ClassVar[tuple[float, ...]] = (0.25, 0.5, 1.0, 2.0, 4.0)
    card = Card(
        title="Multi-bandwidth MMD (unbiased MMD², sum of RBF kernels)",
        **_GRETTON2012,
        faithful=("unbiased MMD²_u estimator (Gretton et al. 2012, Lemma 6)",
                  "permutation test p = (1 + #{b: MMD²_b ≥ observed}) / (B + 1)"),
        adapted=("kernel k = Σ_{s ∈ {0.25, 0.5, 1, 2, 4}} exp(−d²/(2 s² σ²)), σ² = median squared pairwise "
                 "distance of the real reference (training) windows (≤ 1000, fixed seed), the same for every "
                 "row; a sum of kernels as in generative "
                 "MMD nets (Li et al. 2015), with scales fixed relative to the median",
                 "mean ± std over seeded random subsets of both sets (as KID, Bińkowski et al. 2018)",
                 "scored against held-out real windows under the tsbench protocol"))

"""The metric sensitivity study behind ``tsbench validate-metrics``: what does each metric actually detect?

(Not to be confused with :mod:`tsbench.validation`, the input checks.)

Every selected metric is fed controlled corruptions of a dataset's held-out windows and its response is
compared with its real-vs-real noise floor.

Design (per dataset and repeat ``r = 0 … R−1``):

1. A *reference* set — a random half (seeded by ``r``) of the split's test windows, passed to the metrics as
   ``real_test`` — and a *source* set — a random half of its floor windows, from which every corruption is
   built. Under the held-out protocols the test and floor blocks share no time step (see
   :mod:`tsbench.protocols`), so ``real`` is an independent sample of held-out data and its values give the
   metric's noise floor. The training windows are ``real_train`` as usual.
2. Each corruption generator (see :mod:`tsbench.baselines.calibration`) is fit with the source set as its
   held-out data (``copy_train`` and ``gaussian`` use the training windows) and sampled to the size of the
   reference set.
3. Each metric runs once per repeat (its own ``repeats=1``) with a seed shared by all corruptions of that
   repeat (paired comparisons).

Detection: a corruption *differs* from ``real`` when a two-sided Welch t-test over the R repeats gives
p < ``level`` (0.05 by default, no multiple-comparison correction); when both rows have zero spread any
difference beyond round-off counts. A differing row is ``worse`` or ``better`` according to the metric's
direction (``differs`` when it has none). A metric that does not differ on a corruption is flagged *blind*
to it on that dataset.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .seeding import derive_seed


@dataclass(frozen=True)
class Corruption:
    """One row of the experiment: a registered generator with parameters; ``strength`` orders a family."""

    label: str
    generator: str
    params: dict = field(default_factory=dict)
    family: str = ""
    strength: float | None = None


CORRUPTIONS: tuple[Corruption, ...] = (
    Corruption("real", "real", family="real", strength=0.0),
    *(Corruption(f"noise σ={s:g}", "noise", {"sigma": s}, "noise", s) for s in (0.01, 0.03, 0.1, 0.3)),
    Corruption("shuffle_time", "shuffle_time", family="shuffle_time", strength=1.0),
    Corruption("shuffle_channels", "shuffle_channels", family="shuffle_channels", strength=1.0),
    *(Corruption(f"mode_collapse {f:g}", "mode_collapse", {"fraction": f}, "mode_collapse", 1 - f)
      for f in (0.2, 0.02)),
    Corruption("copy_train", "copy_train", family="copy_train", strength=1.0),
    Corruption("gaussian", "gaussian", family="gaussian", strength=1.0),
)

Progress = Callable[[str], None]

#: provenance columns of every ``raw.csv`` row, as in the runner's records (see :mod:`tsbench.records`)
PROVENANCE_COLUMNS = ("tsbench_version", "torch_version", "numpy_version", "python_version", "git_sha", "device",
                      "host", "timestamp")


def run_provenance() -> dict:
    """Code and machine of this run: the runner's provenance (versions, git sha, host), the CPU device
    (metrics run on the CPU here) and the start time."""
    import datetime
    import os

    import torch

    from .runner.execute import provenance

    info = provenance()
    out = {key: info.get(key) for key in PROVENANCE_COLUMNS}
    out["device"] = f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"
    out["timestamp"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return out


def _sample_corruption(corruption: Corruption, train, source, n: int, seed: int) -> np.ndarray:
    from .registry import generators

    generator = generators.get(corruption.generator)(**corruption.params)
    extra = {"X_test": source} if generator.needs_held_out else {}
    generator.fit(train, seed=derive_seed(seed, "fit"), **extra)
    return generator.sample(n, seed=derive_seed(seed, "sample"))


def run_validation(datasets: list[str], metrics: list[str], *, preset: str = "quick", repeats: int = 3,
                   seed: int = 0, protocol: str = "tsbench", corruptions=CORRUPTIONS, data_dir: str | None = None,
                   progress: Progress | None = None):
    """Run the experiment; returns a long DataFrame (one row per dataset, metric output, corruption, repeat).

    ``datasets`` are dataset display names (or :class:`~tsbench.dataset.Dataset` instances); ``metrics``
    metric display names. Columns: dataset, metric, output, higher_is_better, corruption, family, strength,
    repeat, value, metric_s, the settings preset, protocol (``name@version``), seed, and the run's provenance
    (:data:`PROVENANCE_COLUMNS`: versions, git sha, device, host, start time).
    """
    import pandas as pd

    from .data import dataset_display_name, resolve_dataset
    from .errors import InputError
    from .protocols import get_protocol
    from .evaluation import MetricSpec

    if repeats < 2:
        raise InputError("repeats", expected="at least 2 (the noise floor needs a spread)", got=repr(repeats),
                         fix="pass --repeats 3 or more")
    say = progress or (lambda message: None)
    context = {"preset": preset, "protocol": get_protocol(protocol).tag, "seed": seed, **run_provenance()}
    specs = [MetricSpec.build(m, preset=preset, protocol=protocol, repeats=1) for m in metrics]
    rows = []
    for spec_or_name in datasets:
        dataset = resolve_dataset(spec_or_name, preset=preset, data_dir=data_dir) \
            if isinstance(spec_or_name, str) else spec_or_name
        name = dataset_display_name(dataset)
        split = dataset.load(seed, protocol)
        if len(split.test) < 4:
            raise InputError(f"held-out windows of {name}", expected="at least 4", got=str(len(split.test)),
                             fix="use a longer series or a smaller seq_len")
        say(f"{name}: {len(split.train)} training / {len(split.test)} held-out windows")
        for r in range(repeats):
            reference, source = _reference_and_source(split, np.random.default_rng(derive_seed(seed, name, "halves", r)))
            samples = {c.label: _sample_corruption(c, split.train, source, len(reference),
                                                   derive_seed(seed, name, c.label, r)) for c in corruptions}
            for spec in specs:
                metric = spec.instantiate()
                metric_seed = derive_seed(seed, name, spec.seed_key, r)
                for c in corruptions:
                    start = time.perf_counter()
                    try:
                        values = metric.compute(split.train, reference, samples[c.label], seed=metric_seed)
                    except Exception as exc:  # one metric failing must not end the experiment
                        say(f"  {spec.display} on {c.label} failed: {type(exc).__name__}: {exc}")
                        continue
                    elapsed = time.perf_counter() - start
                    for output, vals in values.items():
                        rows.append({"dataset": name, "metric": spec.display, "output": output,
                                     "higher_is_better": type(metric).outputs.get(output), "corruption": c.label,
                                     "family": c.family, "strength": c.strength, "repeat": r,
                                     "value": float(np.mean(vals)), "metric_s": elapsed, **context})
                say(f"  repeat {r + 1}/{repeats} {spec.display}: done")
    return pd.DataFrame(rows)


def _reference_and_source(split, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One repeat's reference windows (what metrics compare against) and source windows (what is corrupted):
    a random half of the split's test windows and a random half of its floor windows, which share no time
    step under the held-out protocols (``timegan2019``: halves of its two disjoint window halves). A split
    without a floor falls back to two random halves of the test windows."""
    if split.floor is None:
        order = rng.permutation(len(split.test))
        half = len(order) // 2
        return split.test[order[:half]], split.test[order[half:]]
    pool = split.floor_reference if split.floor_reference is not None else split.test

    def half_of(windows):
        return windows[np.sort(rng.permutation(len(windows))[:max(2, len(windows) // 2)])]

    return half_of(pool), half_of(split.floor)


def differs(values, floor, level: float = 0.05) -> tuple[float, bool]:
    """(p-value, differs) for ``values`` vs the real-vs-real ``floor`` (Welch; exact compare when no spread)."""
    from scipy import stats

    a, b = np.asarray(values, dtype=float), np.asarray(floor, dtype=float)
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        same = np.isclose(a[0], b[0], rtol=1e-9, atol=1e-12)
        return (1.0 if same else 0.0), not same
    with warnings.catch_warnings():  # nearly constant rows trigger precision warnings; the p-value stands
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return p, bool(p < level)


def summarise(raw, level: float = 0.05):
    """Per (dataset, metric, output, corruption): mean, std, n, p-value vs ``real`` and the response."""
    import pandas as pd

    out = []
    for (dataset, metric, output), group in raw.groupby(["dataset", "metric", "output"], sort=False):
        floor = group.loc[group.corruption == "real", "value"].to_numpy()
        direction = group.higher_is_better.iloc[0]
        for corruption, rows in group.groupby("corruption", sort=False):
            values = rows.value.to_numpy()
            p, moved = (1.0, False) if corruption == "real" or len(floor) == 0 else differs(values, floor, level)
            if corruption == "real":
                response = "floor"
            elif not moved:
                response = "blind"
            elif direction is None or pd.isna(direction):
                response = "differs"
            else:
                worse = values.mean() < floor.mean() if direction else values.mean() > floor.mean()
                response = "worse" if worse else "better"
            out.append({"dataset": dataset, "metric": metric, "output": output, "higher_is_better": direction,
                        "corruption": corruption, "family": rows.family.iloc[0], "strength": rows.strength.iloc[0],
                        "mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
                        "n": len(values), "p_value": p, "response": response,
                        "metric_s": float(rows.metric_s.median())})
    return pd.DataFrame(out)


_MARK = {"floor": "", "blind": " ✗", "worse": " ✓", "better": " ⚠", "differs": " ●"}


def _row_name(metric: str, output: str, direction) -> str:
    name = metric if output == "value" else f"{metric}.{output}"
    arrow = {True: " ↑", False: " ↓"}.get(direction if isinstance(direction, bool) else None, "")
    return name + arrow


def _fmt(mean: float, std: float) -> str:
    return f"{mean:.3g} ± {std:.2g}"


def to_markdown(summary, *, level: float = 0.05, header: str = "") -> str:
    """The report: one table per dataset (metric output × corruption), then the blind spots."""
    lines = [header] if header else []
    lines += [f"Cells: mean ± std over repeats. ✓ worse than the real-vs-real floor (Welch p < {level:g}), "
              "⚠ differs but looks *better* than real, ● differs (metric without direction), ✗ blind "
              "(no significant difference). ↑/↓: higher/lower is better.", ""]
    for dataset, table in summary.groupby("dataset", sort=False):
        corruptions = list(dict.fromkeys(table.corruption))
        lines += [f"## {dataset}", "", "| metric | " + " | ".join(corruptions) + " |",
                  "|---|" + "---|" * len(corruptions)]
        for (metric, output), rows in table.groupby(["metric", "output"], sort=False):
            cells = {row.corruption: _fmt(row["mean"], row["std"]) + _MARK[row.response]
                     for _, row in rows.iterrows()}
            lines.append(f"| {_row_name(metric, output, rows.higher_is_better.iloc[0])} | "
                         + " | ".join(cells.get(c, "–") for c in corruptions) + " |")
        lines.append("")
    lines += ["## Blind spots (main outputs)", ""]
    blind = summary[(summary.response == "blind") & (summary.output == "value")]
    if blind.empty:
        lines.append("None: every metric's main output responds to every corruption.")
    for (dataset, metric), rows in blind.groupby(["dataset", "metric"], sort=False):
        lines.append(f"- **{metric}** on {dataset}: blind to {', '.join(rows.corruption)}")
    wrong = summary[(summary.response == "better") & (summary.output == "value")]
    if not wrong.empty:
        lines += ["", "## Corruptions scored *better* than real data (main outputs)", ""]
        for (dataset, metric), rows in wrong.groupby(["dataset", "metric"], sort=False):
            lines.append(f"- **{metric}** on {dataset}: {', '.join(rows.corruption)}")
    return "\n".join(lines) + "\n"


def plot_metric(summary, metric: str, path: Path) -> Path:
    """One figure per metric: response (mean ± std) per corruption, one panel per (output, dataset), with
    the real-vs-real floor (mean ± 2 std) shaded and the noise levels joined as a strength curve."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = summary[summary.metric == metric]
    outputs, datasets = list(dict.fromkeys(table.output)), list(dict.fromkeys(table.dataset))
    fig, axes = plt.subplots(len(outputs), len(datasets), figsize=(4.8 * len(datasets), 3.4 * len(outputs)),
                             squeeze=False)
    for i, output in enumerate(outputs):
        for j, dataset in enumerate(datasets):
            ax, rows = axes[i][j], table[(table.output == output) & (table.dataset == dataset)]
            x = np.arange(len(rows))
            floor = rows[rows.corruption == "real"]
            if not floor.empty:
                m, s = float(floor["mean"].iloc[0]), float(floor["std"].iloc[0])
                ax.axhspan(m - 2 * s, m + 2 * s, color="0.85", zorder=0, label="real ± 2 std")
                ax.axhline(m, color="0.5", lw=0.8, zorder=0)
            colours = ["tab:red" if r == "blind" else "tab:orange" if r == "better" else "tab:blue"
                       for r in rows.response]
            ax.errorbar(x, rows["mean"], yerr=rows["std"], fmt="none", ecolor="0.3", capsize=2)
            ax.scatter(x, rows["mean"], c=colours, zorder=3, s=18)
            noise = np.flatnonzero((rows.family == "noise").to_numpy())
            if len(noise):
                ax.plot(x[noise], rows["mean"].to_numpy()[noise], color="tab:blue", lw=1)
            ax.set_xticks(x, rows.corruption, rotation=60, ha="right", fontsize=7)
            ax.set_title(f"{dataset}: {_row_name(metric, output, rows.higher_is_better.iloc[0])}", fontsize=9)
            ax.tick_params(axis="y", labelsize=7)
    fig.suptitle(f"{metric}: response to corruptions (red = blind, orange = better than real)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_outputs(raw, summary, out: Path, *, level: float = 0.05, header: str = "") -> dict[str, Path]:
    """``raw.csv``, ``summary.csv``, ``report.md`` and ``figures/<metric>.png`` under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"raw": out / "raw.csv", "summary": out / "summary.csv", "report": out / "report.md"}
    raw.to_csv(paths["raw"], index=False)
    summary.to_csv(paths["summary"], index=False)
    paths["report"].write_text(to_markdown(summary, level=level, header=header), encoding="utf-8")
    for metric in dict.fromkeys(summary.metric):
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in metric)
        paths[f"figure:{metric}"] = plot_metric(summary, metric, out / "figures" / f"{safe}.png")
    return paths


__all__ = ["CORRUPTIONS", "PROVENANCE_COLUMNS", "Corruption", "differs", "plot_metric", "run_provenance",
           "run_validation", "summarise", "to_markdown", "write_outputs"]

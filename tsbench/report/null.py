"""The gaussian null: each model cell's verdict against the ``gaussian`` calibration row of its column.

The null of a ``(protocol, preset)`` group is the generator named ``gaussian`` (its display name, or else the
first display name whose registry name is ``gaussian``) that is not a model row by the records' ``role`` (the
built-in calibration row). A model cell (dataset, generator, metric) is compared
with the null's cell of the same dataset and metric by :func:`tsbench.report.stats.versus_null` over per-seed
values: ``'better'``, ``'worse'``, ``'not_separated'``, or ``None`` when there is no test (calibration row, no
direction, fewer than 2 seeds on a side, or no null). Tables, the CSV and the generated summary all read
their verdicts from :func:`null_verdicts`, so they never disagree.
"""
from __future__ import annotations

import pandas as pd

from .aggregate import GROUP, KEY, generator_roles, metric_directions, per_seed
from .stats import ALPHA, versus_null

#: the registry name of the null row
NULL = "gaussian"


def null_generator(generators, names: dict, roles: dict | None = None) -> str | None:
    """The null's display name among ``generators`` (``names``: display → registry name; ``roles``: display →
    role, :func:`~tsbench.report.aggregate.generator_roles`: a model row is never the null), or ``None``."""
    generators = [g for g in generators if (roles or {}).get(g) != "model"]
    if NULL in generators:
        return NULL
    return next((g for g in generators if names.get(g, g) == NULL), None)


def null_verdicts(records: pd.DataFrame, *, alpha: float = ALPHA, mix_devices: bool = False,
                  seeds: pd.DataFrame | None = None) -> pd.DataFrame:
    """``KEY + ['null', 'vs_null']``: one row per cell with a value; ``null`` is the group's null display name
    (``None`` when the group has none). ``seeds`` (:func:`per_seed` of ``records``) saves recomputing it."""
    seeds = per_seed(records, mix_devices=mix_devices) if seeds is None else seeds
    directions = metric_directions(records)
    names = dict(zip(records["generator"], records["generator_name"]))
    roles = generator_roles(records)
    values = {key: grp["value"].to_numpy(float) for key, grp in seeds.groupby(KEY, sort=False)}
    rows = []
    for group, block in seeds.groupby(GROUP, sort=False):
        null = null_generator(dict.fromkeys(block["generator"]), names, roles)
        for key in dict.fromkeys(map(tuple, block[KEY].itertuples(index=False))):
            *_, dataset, generator, metric = key
            verdict = None
            if null is not None and roles.get(generator, "model") == "model":
                verdict = versus_null(values[key], values.get((*group, dataset, null, metric)),
                                      directions.get(metric), alpha)
            rows.append((*key, null, verdict))
    out = pd.DataFrame([row[:len(KEY)] for row in rows], columns=KEY)
    # object columns, so a missing null or verdict stays None (pandas ≥ 3 would infer strings with NaN)
    out["null"] = pd.Series([row[-2] for row in rows], index=out.index, dtype=object)
    out["vs_null"] = pd.Series([row[-1] for row in rows], index=out.index, dtype=object)
    return out

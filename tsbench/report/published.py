"""Published numbers shown beside the measured rows (``tsbench table --published``).

:data:`PUBLISHED` holds only numbers copied exactly from the papers (value and ± as printed; each entry's
``source`` says where it was copied from):

* the TimeGAN paper's Table 2 (TimeGAN, C-RNN-GAN, original data), as recorded in the project's protocol notes
  (``docs/PROTOCOLS.md`` of the shared docs; ``source`` names the line);
* the Diffusion-TS paper's Table 1 (Yuan & Qiao, ICLR 2024, arXiv 2403.01742; "Results of 24-length
  Time-series Generation"): Context-FID, correlational, discriminative and predictive scores of Diffusion-TS,
  TimeGAN and TimeVAE on Sines, Stocks and Energy. Its ETTh column is left out: the copies read do not say
  which ETT file it is, so it is not mapped to ``etth1``.

A field the source does not state is left empty (``table``/``page`` ``""``, ``std`` ``None``) — never guessed.

Contract (:func:`matches`): a published value is shown only in a table column whose

* dataset is the same built-in dataset (display name ``sines`` or ``sines[seq_len=…]``: any other parameter
  changes the data, so it does not match; user files never match),
* metric display name is the same (``discriminative``; ``discriminative[iterations=100]`` does not match),
* protocol family is the same (the name before ``@``: ``timegan2019@1`` and ``timegan2019@2`` both match an
  entry of protocol ``timegan2019``, which is the TimeGAN reference code's protocol), and
* seq_len equals the entry's (the table's records state it; unknown or several seq_lens never match).

Published rows are never ranked, marked or flagged: they are not records, so no statistic of
:mod:`tsbench.report` ever sees them.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from ..naming import parse_display_name

_TIMEGAN_TABLE2 = "PROTOCOLS.md, TimeGAN: 'Published (Table 2, seq_len 24, Sines/Stocks/Energy)'"
_CRNNGAN_TABLE2 = "PROTOCOLS.md, C-RNN-GAN: 'TimeGAN Table 2 baseline numbers for C-RNN-GAN' (no ± stated)"
#: Diffusion-TS (Yuan & Qiao, ICLR 2024, arXiv 2403.01742), Table 1. Copied from the table as the authors show it in
#: their repository (github.com/Y-debug-sys/Diffusion-TS, README "Main Results", "Table 1: Results of 24-length
#: Time-series Generation", image figures/fig2.jpg, commit 4f1e2fd), every number cross-checked against the same
#: numbers quoted in ST-Diff's Table 1 (baselines "from the original publications"). Neither copy shows a page, so
#: ``page`` is "". Protocol family: ``timegan2019`` — Diffusion-TS takes TimeGAN's data sets and window length 24
#: and TimeGAN's discriminative and predictive score definitions (its TimeGAN row repeats TimeGAN's Table 2), and
#: tsbench computes Context-FID and the correlational score under that protocol too.
_DIFFUSION_TS_TABLE1 = ("Diffusion-TS paper (Yuan & Qiao, ICLR 2024, arXiv 2403.01742), Table 1 'Results of 24-length "
                        "Time-series Generation', Sines/Stocks/Energy columns; copied from the authors' image of "
                        "the table (github.com/Y-debug-sys/Diffusion-TS, README 'Main Results', figures/fig2.jpg), "
                        "cross-checked against ST-Diff's Table 1; no page shown in either copy")
_ORIGINAL = ("PROTOCOLS.md, Metrics, predictive score: 'Published \"Original\" (real data in place of synthetic)' "
             "(no table, ± or seq_len stated; seq_len 24 is the TimeGAN data protocol's window length)")


@dataclass(frozen=True)
class PublishedValue:
    """One published number: ``value`` ± ``std`` as printed in the paper (text, e.g. ``".011"``)."""

    model: str  # the row's name in the paper
    dataset: str  # tsbench dataset name
    metric: str  # tsbench metric display name
    protocol: str  # protocol family (name without @version)
    seq_len: int
    value: str
    std: str | None  # None: the source gives no ±
    citation: str  # citation key (as on the generators' cards)
    reference: str  # short author-year text shown in the row label
    table: str  # e.g. "Table 2"; "" when the source does not say
    page: str  # "" when the source does not say
    source: str  # where the number was copied from

    @property
    def mean(self) -> float:
        return float(self.value)

    @property
    def spread(self) -> float | None:
        return None if self.std is None else float(self.std)

    @property
    def label(self) -> str:
        """``'TimeGAN (Yoon et al. 2019, Table 2)'``; the table and page only when the source states them."""
        where = ", ".join(p for p in (self.reference, self.table, f"p. {self.page}" if self.page else "") if p)
        return f"{self.model} ({where})"


def _entries(model, metric, values, stds, *, citation, reference, table, source, page=""):
    """One entry per dataset (Sines, Stocks, Energy, in that order), protocol family ``timegan2019``, seq_len 24."""
    out = []
    for dataset, value, std in zip(("sines", "stocks", "energy"), values, stds, strict=True):
        out.append(PublishedValue(model, dataset, metric, "timegan2019", 24, value, std, citation, reference,
                                  table, page, source))
    return out


_YOON = dict(citation="yoon2019timegan", reference="Yoon et al. 2019")
#: the citation key of the ``diffusion_ts`` generator's card: the source of every number of its Table 1, the
#: TimeGAN and TimeVAE rows included (those are Yuan & Qiao's numbers, not TimeGAN's or TimeVAE's papers')
_YUAN = dict(citation="yuan2024diffusionts", reference="Yuan and Qiao 2024", table="Table 1",
             source=_DIFFUSION_TS_TABLE1)


def _diffusion_ts_table1(model, rows):
    """``rows``: metric → (Sines, Stocks, Energy) cells as printed, ``"0.006±.000"``."""
    out = []
    for metric, cells in rows.items():
        values, stds = zip(*(cell.split("±") for cell in cells))
        out += _entries(model, metric, values, stds, **_YUAN)
    return out

#: every published number tsbench shows; copied exactly from their sources (see each ``source``)
PUBLISHED: tuple[PublishedValue, ...] = tuple(
    _entries("TimeGAN", "discriminative", (".011", ".102", ".236"), (".008", ".021", ".012"), **_YOON,
             table="Table 2", source=_TIMEGAN_TABLE2)
    + _entries("TimeGAN", "predictive", (".093", ".038", ".273"), (".019", ".001", ".004"), **_YOON,
               table="Table 2", source=_TIMEGAN_TABLE2)
    + _entries("C-RNN-GAN", "discriminative", (".229", ".399", ".499"), (None,) * 3, **_YOON,
               table="Table 2", source=_CRNNGAN_TABLE2)
    + _entries("C-RNN-GAN", "predictive", (".127", ".038", ".483"), (None,) * 3, **_YOON,
               table="Table 2", source=_CRNNGAN_TABLE2)
    + _entries("Original data", "predictive", (".094", ".036", ".250"), (None,) * 3, **_YOON,
               table="", source=_ORIGINAL)
    # Diffusion-TS paper, Table 1 (see _DIFFUSION_TS_TABLE1): Sines, Stocks, Energy as printed
    + _diffusion_ts_table1("Diffusion-TS", {
        "context_fid": ("0.006±.000", "0.147±.025", "0.089±.024"),
        "correlational": ("0.015±.004", "0.004±.001", "0.856±.147"),
        "discriminative": ("0.006±.007", "0.067±.015", "0.122±.003"),
        "predictive": ("0.093±.000", "0.036±.000", "0.250±.000")})
    + _diffusion_ts_table1("TimeGAN", {
        "context_fid": ("0.101±.014", "0.103±.013", "0.767±.103"),
        "correlational": ("0.045±.010", "0.063±.005", "4.010±.104"),
        "discriminative": ("0.011±.008", "0.102±.021", "0.236±.012"),
        "predictive": ("0.093±.019", "0.038±.001", "0.273±.004")})
    + _diffusion_ts_table1("TimeVAE", {
        "context_fid": ("0.307±.060", "0.215±.035", "1.631±.142"),
        "correlational": ("0.131±.010", "0.095±.008", "1.688±.226"),
        "discriminative": ("0.041±.044", "0.145±.120", "0.499±.000"),
        "predictive": ("0.093±.000", "0.039±.000", "0.292±.000")})
)


def protocol_family(tag: str) -> str:
    """``'timegan2019@2'`` → ``'timegan2019'``."""
    return str(tag).split("@", 1)[0]


def dataset_base(display: str) -> str | None:
    """The built-in dataset a display name denotes with at most ``seq_len`` changed, else ``None``."""
    try:
        name, params = parse_display_name(str(display))
    except InputError:
        return None
    return name if set(params) <= {"seq_len"} else None


def matches(entry: PublishedValue, *, protocol: str, dataset: str, metric: str, seq_len: int | None) -> bool:
    """Whether ``entry`` belongs in the column (``protocol`` tag, ``dataset`` and ``metric`` display names, the
    column's ``seq_len``, ``None`` when unknown); see the module docstring."""
    return (seq_len is not None and int(seq_len) == entry.seq_len and metric == entry.metric
            and protocol_family(protocol) == entry.protocol and dataset_base(dataset) == entry.dataset)


def resolve(published) -> tuple[PublishedValue, ...]:
    """``True`` → :data:`PUBLISHED`; ``False``/``None`` → none; a sequence of :class:`PublishedValue` → itself."""
    if published is True:
        return PUBLISHED
    if not published:
        return ()
    entries = tuple(published)
    bad = [type(e).__name__ for e in entries if not isinstance(e, PublishedValue)]
    if bad:
        raise InputError("published numbers", expected="True, False or a sequence of PublishedValue",
                         got=f"items of type {', '.join(dict.fromkeys(bad))}",
                         fix="pass published=True for tsbench's table (tsbench.report.published.PUBLISHED)")
    return entries


def coverage(entries=PUBLISHED) -> str:
    """What the published numbers cover, for the message shown when none matches a table."""
    entries = tuple(entries)
    parts = dict.fromkeys(f"protocol {e.protocol}, seq_len {e.seq_len}" for e in entries)
    datasets = ", ".join(dict.fromkeys(e.dataset for e in entries))
    metrics = ", ".join(dict.fromkeys(e.metric for e in entries))
    return f"{'; '.join(parts)}; datasets {datasets}; metrics {metrics}"

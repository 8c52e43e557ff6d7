"""Numbers and settings quoted in the docs come from committed outputs, and agree with them.

The rule: a measured figure in README.md, docs/*.md or results/validate-metrics/README.md is produced by a
committed output that names the git sha, machine and torch version of its run, and is checked here against
that output; timings, which no committed output records, are not quoted at all.

* docs/protocols.md, measured cases of the ``tsbench`` protocol <- results/measurements/protocol_cases.json
  (``python scripts/measure_protocol_cases.py ds|ps``);
* docs/protocols.md, fidelity bounds and the paper's values <- tests/test_fidelity.py (what the slow test
  asserts);
* results/validate-metrics/README.md (command, findings) and the validate-metrics evidence in
  docs/protocols.md <- results/validate-metrics/report.md, summary.csv and raw.csv.
"""
from __future__ import annotations

import ast
import json
import re
import shlex
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
PROTOCOLS_DOC = ROOT / "docs" / "protocols.md"
CASES = ROOT / "results" / "measurements" / "protocol_cases.json"
VALIDATE = ROOT / "results" / "validate-metrics"
DOCS = [ROOT / "README.md", VALIDATE / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def flat(path: Path) -> str:
    """The file's text with every run of whitespace (line breaks included) as one space."""
    return " ".join(path.read_text(encoding="utf-8").split())


def quoted(pattern: str, text: str) -> re.Match:
    match = re.search(pattern, text)
    assert match, f"the doc no longer says {pattern!r}: update the doc and this test together"
    return match


def short(value: float, digits: int) -> str:
    """``0.2503`` → ``".2503"``: the docs' style for values below 1."""
    return f"{value:.{digits}f}".removeprefix("0")


# --- docs/protocols.md <- results/measurements/protocol_cases.json -------------------------------------------

@pytest.fixture(scope="module")
def cases() -> dict:
    return json.loads(CASES.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", ["ds", "ps"])
def test_protocol_cases_name_sha_machine_and_torch(cases, case):
    run = cases[case]["provenance"]
    assert re.fullmatch(r"[0-9a-f]{40}", run["git_sha"])
    assert run["git_uncommitted"] == [], "measured with uncommitted code: the sha does not identify it"
    assert run["host"] and run["machine"] and run["torch_version"] and run["numpy_version"]
    assert cases[case]["command"] == f"python scripts/measure_protocol_cases.py {case}"


def test_discriminative_case_quoted_in_protocols_doc(cases):
    case = cases["ds"]
    settings, results = case["settings"], case["results"]
    weak, strong = results["timegan2019"], results["tsbench"]
    doc = quoted(r"Measured on Sines \((\d+) windows, (\d+) iterations, (\d+) repeats\), real vs the independent "
                 r"Gaussian null: (\d+) units (\d\.\d+) ± (\d\.\d+) \(repeats swing from (\.\d+) to (\.\d+)\), "
                 r"(\d+) units (\d\.\d+) ± (\d\.\d+)\.", flat(PROTOCOLS_DOC)).groups()
    measured = (str(settings["n_windows"]), str(settings["iterations"]), str(settings["repeats"]),
                str(weak["hidden"]), f"{weak['mean']:.3f}", f"{weak['std']:.3f}",
                short(min(weak["values"]), 2), short(max(weak["values"]), 2),
                str(strong["hidden"]), f"{strong['mean']:.3f}", f"{strong['std']:.3f}")
    assert doc == measured
    assert settings["dataset"] == "sines" and settings["null"] == "gaussian"
    assert len(weak["values"]) == len(strong["values"]) == settings["repeats"]


def test_predictive_case_quoted_in_protocols_doc(cases):
    case = cases["ps"]
    settings, results = case["settings"], case["results"]
    old, new = results["timegan2019"], results["tsbench"]
    doc = quoted(r"Measured on Energy \((\d+) windows, (\d+) iterations, (\d+) repeats\): `timegan2019` gives "
                 r"(\.\d+) when trained on real data and (\.\d+) when trained on the Gaussian null "
                 r"\(indistinguishable\); `tsbench` gives (\.\d+) vs (\.\d+)\.", flat(PROTOCOLS_DOC)).groups()
    measured = (str(settings["n_windows"]), str(settings["iterations"]), str(settings["repeats"]),
                short(old["real"]["mean"], 4), short(old["gaussian"]["mean"], 4),
                short(new["real"]["mean"], 4), short(new["gaussian"]["mean"], 4))
    assert doc == measured
    assert settings["dataset"] == "energy" and settings["null"] == "gaussian"
    # the doc's words: "indistinguishable" under timegan2019, far apart under tsbench
    assert abs(old["real"]["mean"] - old["gaussian"]["mean"]) < 0.01 * old["real"]["mean"]
    assert new["gaussian"]["mean"] > 2 * new["real"]["mean"]


def test_protocols_doc_points_at_the_measurements():
    text = flat(PROTOCOLS_DOC)
    assert "results/measurements/protocol_cases.json" in text
    assert "python scripts/measure_protocol_cases.py ds|ps" in text


# --- docs/protocols.md <- tests/test_fidelity.py -------------------------------------------------------------

def test_fidelity_bounds_and_paper_values_are_the_slow_test_s():
    source = (ROOT / "tests" / "test_fidelity.py").read_text(encoding="utf-8")
    published = ast.literal_eval(re.search(r"PUBLISHED_PS = (\{[^}]*\})", source).group(1))
    ps_tol = re.search(r"PUBLISHED_PS\[name\]\) <= (0\.\d+)", source).group(1)
    floor = re.search(r"assert np\.mean\(same\) < (0\.\d+)", source).group(1)
    noise = re.search(r"assert np\.mean\(far\) >= (0\.\d+)", source).group(1)
    doc = quoted(r"within ±(\.\d+) of the TimeGAN paper's \"Original\" row \((\.\d+) / (\.\d+) / (\.\d+) on "
                 r"Sines / Stocks / Energy\), the discriminative score of real vs real \(two disjoint halves\) "
                 r"below (\.\d+), and that of real vs uniform noise at least (\.\d+)\.", flat(PROTOCOLS_DOC))
    tol, sines, stocks, energy, below, at_least = (float(g) for g in doc.groups())
    assert (sines, stocks, energy) == (published["sines"], published["stocks"], published["energy"])
    assert (tol, below, at_least) == (float(ps_tol), float(floor), float(noise))


# --- results/validate-metrics: README <- report.md, raw.csv, summary.csv -----------------------------------------

def parse_command(command: str):
    """``tsbench validate-metrics ...`` (leading environment assignments and ``<placeholders>`` allowed)
    parsed by the real command-line parser."""
    from tsbench.cli import _Parser
    from tsbench.commands import validate_metrics

    words = shlex.split(re.sub(r"<[^>]*>", "PLACEHOLDER", command.replace("\\\n", " ")))
    while "=" in words[0]:
        words.pop(0)
    assert words[:2] == ["tsbench", "validate-metrics"], words[:2]
    parser = _Parser(prog="tsbench")
    validate_metrics.register(parser.add_subparsers(dest="command", parser_class=_Parser))
    return parser.parse_args(words[1:])


def readme_command():
    text = (VALIDATE / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S) if "tsbench validate-metrics" in b]
    assert len(blocks) == 1, "the README states the run's command in one code block"
    return parse_command(blocks[0])


def report_command():
    header = (VALIDATE / "report.md").read_text(encoding="utf-8")
    return parse_command(re.search(r"Command: `(tsbench validate-metrics [^`]*)`", header).group(1))


SETTINGS = ("dataset", "metric", "preset", "protocol", "repeats", "seed")


def test_validate_readme_command_is_the_run_s():
    readme, report = readme_command(), report_command()
    assert {k: getattr(readme, k) for k in SETTINGS} == {k: getattr(report, k) for k in SETTINGS}
    raw, summary = pd.read_csv(VALIDATE / "raw.csv"), pd.read_csv(VALIDATE / "summary.csv")
    for table in (raw, summary):
        assert sorted(set(table.dataset.str.split("[").str[0])) == sorted(d.split("[")[0] for d in readme.dataset)
        assert sorted(set(table.metric)) == sorted(readme.metric)
    assert raw.repeat.nunique() == readme.repeats and set(summary.n) == {readme.repeats}


def test_validate_raw_csv_names_its_settings_sha_machine_and_torch():
    from tsbench.protocols import get_protocol
    from tsbench.sensitivity import PROVENANCE_COLUMNS

    readme = readme_command()
    raw = pd.read_csv(VALIDATE / "raw.csv", dtype={"git_sha": str})
    missing = {"preset", "protocol", "seed", *PROVENANCE_COLUMNS} - set(raw.columns)
    assert not missing, f"raw.csv lacks {sorted(missing)}"
    one = {column: raw[column].unique().tolist() for column in ("preset", "protocol", "seed", *PROVENANCE_COLUMNS)
           if column != "timestamp"}
    assert all(len(values) == 1 for values in one.values()), one
    assert one["preset"] == [readme.preset] and one["seed"] == [readme.seed]
    assert one["protocol"] == [get_protocol(readme.protocol).tag]
    assert re.fullmatch(r"[0-9a-f]{40}", one["git_sha"][0])
    report = (VALIDATE / "report.md").read_text(encoding="utf-8")
    assert f"Run: git {one['git_sha'][0]}, " in report and f"torch {one['torch_version'][0]}" in report


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    table = pd.read_csv(VALIDATE / "summary.csv")
    table["base"] = table.dataset.str.split("[").str[0]
    return table


def response(summary, dataset, metric, corruption, output="value") -> str:
    row = summary[(summary.base == dataset) & (summary.metric == metric) & (summary.corruption == corruption)
                  & (summary.output == output)]
    assert len(row) == 1, (dataset, metric, corruption, output)
    return row.response.iloc[0]


def mean(summary, dataset, metric, corruption, output="value") -> float:
    row = summary[(summary.base == dataset) & (summary.metric == metric) & (summary.corruption == corruption)
                  & (summary.output == output)]
    assert len(row) == 1, (dataset, metric, corruption, output)
    return float(row["mean"].iloc[0])


def copies_caught_by_memorisation_only(summary) -> bool:
    share_one = all(abs(mean(summary, d, "memorisation", "copy_train") - 1) < 1e-9 for d in set(summary.base))
    ratio_zero = all(mean(summary, d, "memorisation", "copy_train", "ratio") < 1e-3 for d in set(summary.base))
    sines = summary[(summary.base == "sines") & (summary.corruption == "copy_train") & (summary.output == "value")
                    & (summary.metric != "memorisation")]
    return share_one and ratio_zero and len(sines) > 0 and not (sines.response == "worse").any()


def channel_shuffle_invisible_on_sines(summary) -> bool:
    rows = summary[(summary.base == "sines") & (summary.corruption == "shuffle_channels")
                   & (summary.output == "value")]
    return len(rows) > 0 and (rows.response == "blind").all()


def per_feature_metrics_blind_across_channels(summary) -> bool:
    return (all(response(summary, "stocks", m, "shuffle_channels") == "blind" for m in ("acd", "mdd", "sd", "kd"))
            and response(summary, "stocks", "correlational", "shuffle_channels") == "worse")


def large_noise_seen_by_distribution_metrics(summary) -> bool:
    return (all(response(summary, d, m, "noise σ=0.3") == "worse" for d in ("sines", "stocks")
                for m in ("context_fid", "mmd", "acd", "kd", "sd"))
            and response(summary, "sines", "mdd", "noise σ=0.3") == "worse"
            and response(summary, "stocks", "mdd", "noise σ=0.3") == "better")


#: (doc, sentence as written, the check of summary.csv that backs it)
FINDINGS = [
    (VALIDATE / "README.md", "On both datasets, `memorisation` gives `copy_train` a size-corrected share of 1 and "
     "a DCR ratio ≈ 0. On Sines no other metric scores copies of training windows worse than `real`",
     copies_caught_by_memorisation_only),
    (PROTOCOLS_DOC, "under this split `copy_train` is caught by `memorisation` (share 1, DCR ratio ≈ 0) while "
     "every fidelity metric treats copies of training windows as perfect samples on Sines",
     copies_caught_by_memorisation_only),
    (VALIDATE / "README.md", "no metric responds to it there", channel_shuffle_invisible_on_sines),
    (VALIDATE / "README.md", "ACD, MDD, SD and KD are blind to `shuffle_channels` by design, while the "
     "correlational score catches it", per_feature_metrics_blind_across_channels),
    (VALIDATE / "README.md", "`noise σ=0.3` is caught by Context-FID, MMD, ACD, KD and SD on both datasets; MDD "
     "catches it on Sines, but on Stocks it scores the noisy windows better than `real`",
     large_noise_seen_by_distribution_metrics),
]


@pytest.mark.parametrize("doc, sentence, check", FINDINGS, ids=lambda x: getattr(x, "__name__", None))
def test_stated_findings_hold_in_summary_csv(summary, doc, sentence, check):
    assert sentence in flat(doc), f"{doc.name} no longer says: {sentence}"
    assert check(summary), f"{doc.name} says '{sentence}', but summary.csv does not show it"


# --- no unsourced timings ----------------------------------------------------------------------------------------

TIMING = re.compile(r"\d[\d.,]*\s?(?:ms|µs|s|sec|min|minutes|hours|h)\b")
SPEEDUP = re.compile(r"\d(?:\.\d+)?\s?×\s?(?:faster|slower|speed)|\d(?:\.\d+)?×(?!\s*\d)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_quote_no_timings(doc):
    """No committed output records timings, so no doc may quote one (durations, speed-ups)."""
    found = [m.group() for line in doc.read_text(encoding="utf-8").splitlines()
             for m in (*TIMING.finditer(line), *SPEEDUP.finditer(line))]
    assert not found, f"{doc.name} quotes timings {found}"


def test_readme_leaderboard_paragraph_has_no_hand_typed_results():
    paragraphs = (ROOT / "README.md").read_text(encoding="utf-8").split("\n\n")
    leaderboard = [p for p in paragraphs if "committed leaderboard" in p]
    assert leaderboard and all("results/README.md" in p for p in leaderboard)
    # links may hold digits; the words may not
    assert not any(re.search(r"\d", re.sub(r"\]\([^)]*\)", "]", p)) for p in leaderboard)


def test_readme_reliability_figures_come_from_the_chaos_output():
    """The README's chaos-test figures are the ones in results/chaos/chaos.json."""
    import json

    root = Path(__file__).resolve().parents[1]
    chaos = json.loads((root / "results" / "chaos" / "chaos.json").read_text())
    text = " ".join((root / "README.md").read_text().split())
    assert chaos["identical"] is True
    quoted = (f"Its committed run: {len(chaos['kills'])} kills, final records identical to an uninterrupted run "
              f"({chaos['records']['rows']} rows), {chaos['files']['compared']} model / sample / loss files "
              f"byte-identical, {chaos['files']['verified']} files verified and {len(chaos['files']['orphans'])} "
              f"orphaned")
    assert quoted in text
    assert not chaos["files"]["differing"] and not chaos["files"]["unverifiable"]

"""The HTML report (self-contained) and the ``tsbench table`` command."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from fixtures.records import make_records
from fixtures.runfolder import make_run_folder

from tsbench.cli import _Parser
from tsbench.commands import table as table_command
from tsbench.errors import InputError
from tsbench.report import build_tables, rank_results, to_html, to_latex


@pytest.fixture(scope="module")
def records():
    return make_records()


def test_html_report_is_self_contained_and_has_every_section(records, tmp_path):
    run = make_run_folder(tmp_path / "run", records, max_cells=2)
    html = to_html(records, out_dir=run, sensitivity_dir=run / "validate-metrics")
    sources = re.findall(r'<img src="([^"]*)"', html)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    # CD diagram + 1 embedding (2 cells of one generator: the gallery shows its first seed) + loss curves of
    # 1 (dataset, generator) + 1 sensitivity figure
    assert len(sources) == 4
    assert "sines · timegan · seed 1" not in html
    for heading in ("Tables", "Ranks", "Embeddings", "Loss curves", "Metric sensitivity"):
        assert f"<h2>{heading}" in html
    assert '<tbody class="calibration">' in html and "<b>" in html and "<u>" in html
    assert "sines · timegan · seed 0" in html
    moved = tmp_path / "elsewhere.html"
    moved.write_text(html)
    assert 'src="data:' in moved.read_text()  # nothing points back to the run folder


def _run(argv):
    parser = _Parser(prog="tsbench")
    table_command.register(parser.add_subparsers(dest="command", parser_class=_Parser))
    args = parser.parse_args(argv)
    return args.func(args)


def test_table_command_formats(records, tmp_path, capsys):
    path = tmp_path / "records.csv"
    records.to_csv(path, index=False)
    assert _run(["table", "--records", str(path), "--no-citations"]) == 0
    assert "| Generator | discriminative ↓" in capsys.readouterr().out
    for fmt, suffix in (("latex", "tex"), ("csv", "csv"), ("md", "md")):
        out = tmp_path / f"t.{suffix}"
        assert _run(["table", "--records", str(path), "--format", fmt, "--layout", "columns", "--output", str(out),
                     "--no-citations"]) == 0
        assert out.stat().st_size > 500
    # a records file read back from CSV renders the same tables as the in-memory records
    expected = to_latex(build_tables(records, layout="columns"), rank_results(records))
    assert (tmp_path / "t.tex").read_text() == expected
    with pytest.raises(InputError, match="not found"):
        _run(["table", "--records", str(tmp_path / "nope.csv")])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_standalone_latex_compiles(records, tmp_path):
    tex = tmp_path / "tables.tex"
    tex.write_text(to_latex(build_tables(records) + build_tables(records, layout="columns"), standalone=True))
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "tables.pdf").stat().st_size > 1000
    assert "Overfull" not in (tmp_path / "tables.log").read_text()

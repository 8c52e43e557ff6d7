"""The registry: duplicates name both origins, unknown names get suggestions, wildcards expand, listing is
lazy (no torch), and a broken plugin installed through an entry point is listed as unavailable."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tsbench.errors import InputError, UnknownNameError
from tsbench.registry import DuplicateNameError, PluginUnavailableError, Registry, generators, metrics


def _fresh(group="tsbench.test-nothing-here") -> Registry:
    registry = Registry("generator", group)
    registry.register("alpha", "tsbench.baselines.calibration:Gaussian", summary="a")
    registry.register("alpine", "tsbench.baselines.calibration:Real")
    registry.register("beta", "tsbench.baselines.calibration:AddNoise")
    return registry


def test_duplicate_name_names_both_origins():
    registry = _fresh()
    with pytest.raises(DuplicateNameError) as info:
        registry.register("alpha", "my_pkg.models:Alpha", origin="plugin my-pkg (entry point tsbench.generators)")
    message = str(info.value)
    assert "duplicate generator name 'alpha'" in message
    assert "built-in (tsbench.baselines.calibration:Gaussian)" in message
    assert "plugin my-pkg (entry point tsbench.generators) (my_pkg.models:Alpha)" in message


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UnknownNameError) as info:
        generators.get("timegam")
    assert "unknown generator 'timegam'. Did you mean: timegan" in str(info.value)
    with pytest.raises(UnknownNameError, match="Did you mean: mmd"):
        metrics.entry("mdm")
    with pytest.raises(UnknownNameError) as info:
        _fresh().entry("zzzzzz")
    assert "Did you mean" not in str(info.value) and "Available: alpha, alpine, beta" in str(info.value)


def test_wildcards_expand_and_keep_parameters():
    registry = _fresh()
    assert registry.names("al*") == ["alpha", "alpine"]
    assert registry.expand(["al*[scale=2]", "beta", "alpha[scale=2]"]) == ["alpha[scale=2]", "alpine[scale=2]",
                                                                           "beta"]
    assert registry.expand(["?eta", "*"]) == ["beta", "alpha", "alpine"]
    assert set(generators.expand(["*gan"])) >= {"gan", "timegan"}
    with pytest.raises(InputError, match="matches nothing"):
        registry.expand(["gamma*"])
    with pytest.raises(UnknownNameError, match="Did you mean: alpha"):
        registry.expand(["alpah"])


def test_roles_are_declared_by_the_classes():
    """Defect: calibration and corruption rows were recognised by name lists kept in several modules."""
    from tsbench import builtins
    from tsbench.cli import build_parser
    from tsbench.commands.run import resolve_selection

    assert generators.names(role="calibration") == ["gaussian", "real"]
    assert generators.names(role="corruption") == ["copy_train", "mode_collapse", "noise", "shuffle_channels",
                                                   "shuffle_time"]
    assert generators.names("*gan", role="model") == ["crnngan", "gan", "nrgan", "timegan"]
    assert not hasattr(builtins, "CORRUPTIONS")
    _, gens, _, _ = resolve_selection(build_parser().parse_args(["run", "--all", "-m", "mmd"]))
    assert gens == ["crnngan", "diffusion_ts", "gan", "gaussian", "nrgan", "real", "timegan", "timevae"]  # --all: no corruptions


def test_entries_load_lazily_and_accept_classes():
    registry = _fresh()
    entry = registry.entry("alpha")
    assert entry.obj is None and entry.summary == "a"
    from tsbench.baselines.calibration import Gaussian

    assert registry.get("alpha") is Gaussian and entry.obj is Gaussian
    registry.register("direct", Gaussian)
    assert registry.entry("direct").target == "tsbench.baselines.calibration:Gaussian"


def test_import_failure_is_unavailable_not_a_crash():
    registry = _fresh()
    registry.register("ghost", "tsbench_no_such_module_xyz:Ghost", origin="plugin ghost")
    entry = registry.entry("ghost")
    assert entry.available is False
    assert "ModuleNotFoundError" in entry.error
    with pytest.raises(PluginUnavailableError, match="ghost \\(plugin ghost\\) is unavailable"):
        registry.get("ghost")
    assert registry.get("beta").__name__ == "AddNoise"  # the rest still works


def test_listing_names_imports_no_torch():
    code = ("import sys; from tsbench.registry import REGISTRIES; "
            "[r.names() for r in REGISTRIES.values()]; [e.summary for e in REGISTRIES['generators'].entries()]; "
            "from tsbench.cli import main; main(['list']); main(['list', 'generators', 'time*']); "
            "assert 'torch' not in sys.modules, 'listing imported torch'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "timegan" in result.stdout


# plugins installed through entry points (a dist-info folder on PYTHONPATH) --------------------------
def _install_fake_dist(root, name: str, entry_points: str, modules: dict[str, str]) -> None:
    dist = root / f"{name.replace('-', '_')}-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))


def _tsbench(root, *args, timeout=120):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
           "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "tsbench.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


@pytest.fixture
def broken_plugin(tmp_path):
    _install_fake_dist(tmp_path, "broken-plugin", """
        [tsbench.generators]
        broken_gen = broken_plugin_mod:Model

        [tsbench.metrics]
        broken_metric = broken_plugin_mod:Score
        """, {"broken_plugin_mod": "raise ImportError(\"broken_plugin_mod needs the 'unobtainium' package\")\n"})
    return tmp_path


def test_broken_plugin_is_listed_as_unavailable(broken_plugin):
    result = _tsbench(broken_plugin, "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    (gen,) = [line for line in lines if "broken_gen" in line]
    assert "plugin broken-plugin (entry point tsbench.generators)" in gen
    assert "[unavailable: ImportError: broken_plugin_mod needs the 'unobtainium' package]" in gen
    assert any("broken_metric" in line and "unavailable" in line for line in lines)
    assert any(line.split()[:1] == ["gaussian"] for line in lines)  # built-ins still listed


def test_broken_plugin_fails_only_when_selected(broken_plugin):
    result = _tsbench(broken_plugin, "check", "broken_gen")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "broken_gen (plugin broken-plugin (entry point tsbench.generators)) is unavailable" in result.stderr


def test_plugin_shadowing_a_built_in_is_an_error_naming_both(tmp_path):
    _install_fake_dist(tmp_path, "shadow-plugin", """
        [tsbench.generators]
        gaussian = shadow_mod:Gaussian
        """, {"shadow_mod": "Gaussian = None\n"})
    result = _tsbench(tmp_path, "list", "generators")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "duplicate generator name 'gaussian'" in result.stderr
    assert "built-in (tsbench.baselines.calibration:Gaussian)" in result.stderr
    assert "plugin shadow-plugin (entry point tsbench.generators) (shadow_mod:Gaussian)" in result.stderr


def test_a_second_thread_waits_for_plugin_discovery_to_finish(monkeypatch):
    """Two threads of one Dask worker ask for a plugin at once: the one that does not discover must wait for the
    discovery, not see a registry marked as discovered while it is still empty (an UnknownNameError)."""
    import threading
    import time
    from types import SimpleNamespace

    from tsbench import registry as registry_module

    registry = Registry("generator", "tsbench.test-slow-discovery")
    started = threading.Event()

    def slow_entry_points(group):
        started.set()
        time.sleep(0.3)
        return [SimpleNamespace(name="slowplugin", value="tsbench.baselines.gan:GAN", dist=None)]

    monkeypatch.setattr(registry_module.metadata, "entry_points", slow_entry_points)
    found, errors = [], []

    def lookup():
        try:
            found.append(registry.get("slowplugin"))
        except Exception as exc:  # noqa: BLE001 — collected and asserted below
            errors.append(exc)

    first = threading.Thread(target=lookup)
    first.start()
    assert started.wait(5)
    lookup()  # while the first thread is inside discovery
    first.join(5)
    assert errors == [] and len(found) == 2

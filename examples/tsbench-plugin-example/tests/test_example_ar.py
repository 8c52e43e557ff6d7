"""The plugin's own test: every tsbench conformance check, one pytest test each."""
from tsbench.testing import parametrize_generator_checks
from tsbench_plugin_example import AutoRegressive


@parametrize_generator_checks([AutoRegressive])
def test_tsbench_conformance(check):
    check()

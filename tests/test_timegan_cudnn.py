"""TimeGAN's opt-in ``cell="cudnn"`` variant (issue 16, item 1): ``torch.nn.GRU`` behind TF1GRU's interface, a
different model with its own display name, cell ids and seeds; the faithful default is untouched."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from tsbench.baselines.timegan import TimeGAN
from tsbench.data.sines import sine_windows
from tsbench.errors import InputError
from tsbench.nn.gru import CuDNNGRU, TF1GRU
from tsbench.runner.cells import build_cell
from tsbench.testing import parametrize_generator_checks

SMOKE = TimeGAN.presets["smoke"]


def reset_after_reference(x: torch.Tensor, rnn: torch.nn.GRU) -> torch.Tensor:
    """cuDNN's GRU written out step by step: c = tanh(W_c x + b_c + r·(U_c h + b_hc)), h' = u·h + (1 − u)·c."""
    H = rnn.hidden_size
    for k in range(rnn.num_layers):
        w_i, w_h = getattr(rnn, f"weight_ih_l{k}"), getattr(rnn, f"weight_hh_l{k}")
        b_i, b_h = getattr(rnn, f"bias_ih_l{k}"), getattr(rnn, f"bias_hh_l{k}")
        h, outputs = x.new_zeros(x.shape[1], H), []
        for x_t in x:
            a_i, a_h = x_t @ w_i.t() + b_i, h @ w_h.t() + b_h
            r = torch.sigmoid(a_i[:, :H] + a_h[:, :H])
            u = torch.sigmoid(a_i[:, H:2 * H] + a_h[:, H:2 * H])
            c = torch.tanh(a_i[:, 2 * H:] + r * a_h[:, 2 * H:])
            h = u * h + (1 - u) * c
            outputs.append(h)
        x = torch.stack(outputs)
    return x


def test_cudnn_cell_is_the_reset_after_gru_time_major():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = CuDNNGRU(3, 4, 2).double()
        x = torch.rand(6, 5, 3, dtype=torch.double)
    out = net(x)
    assert out.shape == (6, 5, 4)
    torch.testing.assert_close(out, reset_after_reference(x, net.rnn))


def test_tf1_init_gives_the_tf1_cells_initial_values():
    """Same global seed → the same kernels as TF1GRU, laid out as nn.GRU's rows; gate bias 1, hidden biases 0."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        tf1 = TF1GRU(3, 4, 2)
        torch.manual_seed(3)
        cudnn = CuDNNGRU(3, 4, 2)
    for k, layer in enumerate(tf1.layers):
        I = layer.input_size
        w_ih = torch.cat([layer.gate_kernel[:I], layer.candidate_kernel[:I]], 1).t()
        w_hh = torch.cat([layer.gate_kernel[I:], layer.candidate_kernel[I:]], 1).t()
        assert torch.equal(getattr(cudnn.rnn, f"weight_ih_l{k}"), w_ih)
        assert torch.equal(getattr(cudnn.rnn, f"weight_hh_l{k}"), w_hh)
        assert torch.equal(getattr(cudnn.rnn, f"bias_ih_l{k}"), torch.tensor([1.0] * 8 + [0.0] * 4))
        assert torch.equal(getattr(cudnn.rnn, f"bias_hh_l{k}"), torch.zeros(12))
    x = torch.rand(5, 2, 3, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(tf1(x), cudnn(x))  # same start, a different cell


def test_the_variant_fits_samples_and_is_deterministic():
    X = sine_windows(48, 10, 2, 0)
    a = TimeGAN(**SMOKE, cell="cudnn").fit(X, seed=1)
    b = TimeGAN(**SMOKE, cell="cudnn").fit(X, seed=1)
    assert isinstance(a.nets_["generator"].rnn, CuDNNGRU)
    assert isinstance(TimeGAN(**SMOKE).fit(X, seed=1).nets_["generator"].rnn, TF1GRU)  # the default
    samples = a.sample(7, seed=2)
    assert samples.shape == (7, 10, 2) and np.isfinite(samples).all()
    np.testing.assert_array_equal(samples, b.sample(7, seed=2))


def test_a_different_model_a_different_name_cell_and_seed():
    kw = {"preset": "smoke", "protocol": "tsbench", "metric_specs": (), "device": "cpu", "n_samples": None}
    default = build_cell("sines", {"name": "sines"}, "timegan", 0, **kw)
    variant = build_cell("sines", {"name": "sines"}, "timegan[cell=cudnn]", 0, **kw)
    assert variant.generator == "timegan[cell=cudnn]" and default.generator == "timegan"
    assert variant.cell_id != default.cell_id and variant.seed_id != default.seed_id


def test_unknown_cell_is_a_clear_error():
    with pytest.raises(InputError, match="cell.*'tf1' or 'cudnn'"):
        TimeGAN(**{**SMOKE, "cell": "lstm"}).fit(sine_windows(20, 8, 2, 0), seed=0)


@parametrize_generator_checks([TimeGAN(**SMOKE, cell="cudnn")])
def test_the_variant_passes_the_conformance_suite(check):
    check()

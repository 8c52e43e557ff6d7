"""``--deterministic``: the settings that make PyTorch pick reproducible algorithms (and give up some speed).

On the CPU tsbench is reproducible without them (same seed, same threads → same numbers); on CUDA they make cuDNN
and cuBLAS deterministic and turn TF32 off, so two runs on the same GPU give the same numbers. See PyTorch's
"Reproducibility" notes: ``torch.use_deterministic_algorithms``, ``CUBLAS_WORKSPACE_CONFIG``.
"""
from __future__ import annotations

import os

#: cuBLAS needs a fixed workspace for deterministic results (CUDA ≥ 10.2)
CUBLAS_WORKSPACE = ":4096:8"


def enable_determinism() -> None:
    """Make this process's torch deterministic: deterministic algorithms (an error where none exists), cuDNN
    deterministic without autotuning, TF32 off (full float32 matrix products), a fixed cuBLAS workspace."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    import torch

    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


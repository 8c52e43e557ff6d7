"""Neural building blocks shared by the built-in generators (:mod:`tsbench.baselines`) and metrics
(:mod:`tsbench.metrics`), each written once:

* :mod:`tsbench.nn.init` — the initialisers: Glorot-uniform and ``torch.nn.GRU``'s ``U(−1/√H, 1/√H)``;
* :mod:`tsbench.nn.gru` — the TensorFlow 1 ``GRUCell`` (the cell of the TimeGAN reference code): its equations,
  its initialisation (:func:`~tsbench.nn.gru.tf1_gru_parameters`) and a stack of them for one network,
  time-major (``TF1GRU``: TimeGAN's five networks), and ``CuDNNGRU``, ``torch.nn.GRU`` behind the same
  interface (TimeGAN's ``cell="cudnn"`` variant: a different, reset-after cell);
* :mod:`tsbench.nn.ensemble` — ``R`` independent one-layer GRUs trained as one (``EnsembleGRU``: the post-hoc
  discriminative and predictive scores), batch-last, the ``tf1`` cell of :mod:`.gru` or ``torch.nn.GRU``'s;
* :mod:`tsbench.nn.optim` — TF1's Adam: ``MaskedAdam`` (a data-dependent step without a host sync) and
  ``adam`` (torch's fused Adam with TF's defaults).

The two GRU kernels are hand-written forward/backward passes of the same TF1 cell for two memory layouts (one
network of any width, time-major; many tiny networks at once, batch-last); the tests check both against one
step-by-step reference (``tests/_references.py``) and against each other (``tests/test_ensemble.py``).

A lower layer (``tests/test_layers.py``): it imports torch and tsbench's core only — never the generators, the
metrics or anything above them. Nothing here is imported by ``import tsbench`` or ``tsbench list``.
"""

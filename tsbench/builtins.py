"""The built-in components, registered lazily by import path (listing them imports no torch).

To add a built-in: create its module and add one line here. The summary is shown by ``tsbench list``.
What a generator row is (model, calibration, corruption) is its class's ``role``, not a list kept here.
"""
from __future__ import annotations

GENERATORS = {
    # rows with a declared non-model role (calibration, corruption): tsbench.baselines.calibration
    "real": ("tsbench.baselines.calibration:Real", "held-out real windows (the papers' 'Original' row)"),
    "gaussian": ("tsbench.baselines.calibration:Gaussian",
                 "independent Gaussian per (step, feature): matches marginals only"),
    "shuffle_time": ("tsbench.baselines.calibration:ShuffleTime", "real windows with time steps shuffled"),
    "shuffle_channels": ("tsbench.baselines.calibration:ShuffleChannels",
                         "real windows with channels shuffled across windows"),
    "copy_train": ("tsbench.baselines.calibration:CopyTrain", "copies of training windows (memorisation)"),
    "noise": ("tsbench.baselines.calibration:AddNoise", "real windows plus Gaussian noise"),
    "mode_collapse": ("tsbench.baselines.calibration:ModeCollapse", "samples from one small cluster of windows"),
    # generative models
    "gan": ("tsbench.baselines.gan:GAN", "vanilla GAN on flattened windows (Goodfellow et al. 2014)"),
    "crnngan": ("tsbench.baselines.crnngan:CRNNGAN", "C-RNN-GAN (Mogren 2016)"),
    "nrgan": ("tsbench.baselines.nrgan:NRGAN", "NR-GAN-style spectral GAN (Sumiya et al. 2019, adapted)"),
    "timegan": ("tsbench.baselines.timegan:TimeGAN", "TimeGAN (Yoon, Jarrett, van der Schaar 2019)"),
    "timevae": ("tsbench.baselines.timevae:TimeVAE", "TimeVAE: convolutional VAE with trend/season parts (Desai et al. 2021)"),
    "diffusion_ts": ("tsbench.baselines.diffusion_ts:DiffusionTS",
                     "Diffusion-TS: DDPM with an interpretable transformer denoiser (Yuan & Qiao 2024)"),
}

METRICS = {
    "mmd": ("tsbench.metrics.mmd:MMD", "unbiased MMD² with an RBF kernel (median heuristic)"),
    "mmd_multi": ("tsbench.metrics.mmd:MultiBandwidthMMD", "unbiased MMD², sum of RBF kernels at several bandwidths"),
    "discriminative": ("tsbench.metrics.discriminative:DiscriminativeScore",
                       "post-hoc GRU classifier |accuracy − 0.5| (TimeGAN)"),
    "predictive": ("tsbench.metrics.predictive:PredictiveScore", "train on synthetic, test on real MAE (TimeGAN)"),
    "embeddings": ("tsbench.metrics.embeddings:Embeddings", "PCA / t-SNE plots of real vs synthetic"),
    "context_fid": ("tsbench.metrics.context_fid:ContextFID", "FID on TS2Vec embeddings (Jeha et al. 2022)"),
    "correlational": ("tsbench.metrics.correlational:CorrelationalScore",
                      "cross-correlation difference (Diffusion-TS)"),
    "acd": ("tsbench.metrics.tsgbench:ACD", "autocorrelation difference (TSGBench)"),
    "mdd": ("tsbench.metrics.tsgbench:MDD", "marginal distribution difference (TSGBench)"),
    "sd": ("tsbench.metrics.tsgbench:SD", "skewness difference (TSGBench)"),
    "kd": ("tsbench.metrics.tsgbench:KD", "kurtosis difference (TSGBench)"),
    "memorisation": ("tsbench.metrics.memorisation:Memorisation",
                     "distance to closest record: train vs held-out"),
}

DATASETS = {
    "sines": ("tsbench.data.sines:Sines", "5 independent sine channels, generated (TimeGAN)"),
    "stocks": ("tsbench.data.files:Stocks", "GOOG daily prices 2004–2019, 6 columns (TimeGAN repository)"),
    "energy": ("tsbench.data.files:Energy", "UCI appliances energy, 28 columns (Candanedo et al. 2017)"),
    "etth1": ("tsbench.data.files:ETTh1", "electricity transformer, hourly, 7 columns (Zhou et al. 2021)"),
}


def register_all(generators, metrics, datasets) -> None:
    for registry, table in ((generators, GENERATORS), (metrics, METRICS), (datasets, DATASETS)):
        for name, (target, summary) in table.items():
            registry.register(name, target, origin="built-in", summary=summary)

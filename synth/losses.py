"""The hybrid DDPM loss: epsilon MSE plus a weighted variational bound for learned variances."""

from __future__ import annotations

import math

import torch

from synth.schedule import PosteriorTerms


def normal_kl(mean1: torch.Tensor, logvar1: torch.Tensor, mean2: torch.Tensor, logvar2: torch.Tensor) -> torch.Tensor:
    """KL(N(mean1, exp(logvar1)) || N(mean2, exp(logvar2))), elementwise, in nats."""
    return 0.5 * (-1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2) + (mean1 - mean2) ** 2 * torch.exp(-logvar2))


def _standard_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    # The tanh approximation of the normal CDF used by the improved DDPM code.
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def discretized_gaussian_nll(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """-log p(x) of 8-bit data in [-1, 1] under a Gaussian integrated over each 2/255 bin."""
    centered = x - mean
    inv_std = torch.exp(-log_scale)
    cdf_plus = _standard_normal_cdf(inv_std * (centered + 1.0 / 255.0))
    cdf_min = _standard_normal_cdf(inv_std * (centered - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    log_delta = torch.log((cdf_plus - cdf_min).clamp(min=1e-12))
    log_probs = torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_one_minus_cdf_min, log_delta))
    return -log_probs


def diffusion_loss(
    model_output: torch.Tensor,
    noise: torch.Tensor,
    x0: torch.Tensor,
    x_t: torch.Tensor,
    timesteps: torch.Tensor,
    terms: PosteriorTerms,
    *,
    learned_variance: bool,
    vlb_weight: float,
) -> torch.Tensor:
    """Return the batch loss.

    Fixed variances: ``L_simple = ||eps - eps_theta||^2``. Learned range:
    ``L_simple + vlb_weight * L_vlb``, where the bound uses the predicted mean
    with gradients stopped so it trains only the variance (improved DDPM,
    Nichol & Dhariwal 2021, section 3.1).
    """
    channels = x0.shape[1]
    if not learned_variance:
        return torch.mean((model_output.float() - noise) ** 2)

    eps, variance_output = torch.split(model_output.float(), channels, dim=1)
    simple = torch.mean((eps - noise) ** 2)

    x0_pred = terms.predict_x0(x_t, timesteps, eps.detach()).clamp(-1.0, 1.0)
    model_mean = terms.posterior_mean(x0_pred, x_t, timesteps)
    model_log_variance = terms.model_log_variance(timesteps, variance_output)
    true_mean = terms.posterior_mean(x0, x_t, timesteps)
    true_log_variance = terms.gather("posterior_log_variance_clipped", timesteps, x0.ndim).to(x0.device)

    kl = normal_kl(true_mean, true_log_variance, model_mean, model_log_variance)
    kl = kl.mean(dim=(1, 2, 3)) / math.log(2.0)
    nll = discretized_gaussian_nll(x0, model_mean, 0.5 * model_log_variance)
    nll = nll.mean(dim=(1, 2, 3)) / math.log(2.0)
    vlb = torch.where(timesteps == 0, nll, kl)
    # Scaled by T as in the improved DDPM code, so vlb_weight matches its lambda.
    return simple + vlb_weight * len(terms.betas) * vlb.mean()

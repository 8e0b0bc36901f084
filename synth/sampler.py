"""SDAS: the strength-controllable ancestral sampler of RealNet (Zhang et al., CVPR 2024).

At every step of a respaced DDPM chain the model gives the posterior mean
mu_t and standard deviation sigma_t, and SDAS draws

    x_{t-1} = mu_t + sqrt(1 + s) * sigma_t * z,   z ~ N(0, I)

with no noise at the last step. ``s = 0`` is plain ancestral DDPM sampling;
larger ``s`` pushes samples away from the normal-image distribution.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from synth.config import DiffusionConfig, VarianceType
from synth.schedule import PosteriorTerms, linear_betas


@dataclass
class SDASStepOutput:
    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


class SDASScheduler:
    """Respaced ancestral DDPM sampler with a per-sample anomaly strength.

    The chain keeps ``num_inference_steps`` evenly spaced timesteps of the
    training chain: 0, T/n, 2T/n, ..., visited from the largest down.
    """

    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        variance_type: VarianceType = "learned_range",
        num_inference_steps: int = 20,
        clip_sample: bool = True,
    ) -> None:
        if not 1 <= num_inference_steps <= num_train_timesteps:
            raise ValueError(
                f"sampling steps must be between 1 and {num_train_timesteps}, got {num_inference_steps}"
            )
        self.variance_type = variance_type
        self.clip_sample = clip_sample
        self.num_inference_steps = num_inference_steps
        full_betas = linear_betas(num_train_timesteps, beta_start, beta_end)
        alphas_cumprod = torch.cumprod(1.0 - full_betas, dim=0)
        stride = num_train_timesteps // num_inference_steps
        kept = list(range(0, num_train_timesteps, stride))[:num_inference_steps]
        self.terms = PosteriorTerms.respaced(alphas_cumprod, kept)
        # Visited from the noisiest step down. The model receives the original timestep values.
        self.timesteps = torch.tensor(kept[::-1], dtype=torch.long)

    @classmethod
    def from_config(cls, config: DiffusionConfig, num_inference_steps: int = 20) -> SDASScheduler:
        return cls(
            num_train_timesteps=config.num_train_timesteps,
            beta_start=config.beta_start,
            beta_end=config.beta_end,
            variance_type=config.variance_type,
            num_inference_steps=num_inference_steps,
        )

    def step(
        self,
        model_output: torch.Tensor,
        step_index: int,
        sample: torch.Tensor,
        strength: torch.Tensor | float,
        noise: torch.Tensor | None = None,
    ) -> SDASStepOutput:
        """Take one SDAS step from chain position ``step_index`` (0 = noisiest).

        ``strength`` is one value or one per sample; ``noise`` is z, drawn by the
        caller so that each record's randomness comes from its own generator.
        """
        channels = sample.shape[1]
        variance_output = None
        if self.variance_type == "learned_range":
            if model_output.shape[1] != 2 * channels:
                raise ValueError(
                    f"learned_range needs {2 * channels} model output channels, got {model_output.shape[1]}"
                )
            model_output, variance_output = torch.split(model_output, channels, dim=1)

        # Position in the respaced chain, counted from t = 0.
        index = torch.full((sample.shape[0],), len(self.timesteps) - 1 - step_index, dtype=torch.long)
        model_output = model_output.float()
        sample = sample.float()

        # x_0 from the predicted noise, clipped to the data range.
        pred_x0 = self.terms.predict_x0(sample, index, model_output)
        if self.clip_sample:
            pred_x0 = pred_x0.clamp(-1.0, 1.0)
        # mu_t: mean of q(x_{t-1} | x_t, x_0) at the predicted x_0.
        mean = self.terms.posterior_mean(pred_x0, sample, index)
        if index[0] == 0:
            return SDASStepOutput(prev_sample=mean, pred_original_sample=pred_x0)

        # sigma_t: fixed (beta~_t) or learned between beta~_t and beta_t.
        log_variance = self.terms.model_log_variance(
            index, variance_output.float() if variance_output is not None else None
        ).to(sample.device)
        sigma = torch.exp(0.5 * log_variance)
        if noise is None:
            noise = torch.randn_like(sample)
        strength = torch.as_tensor(strength, dtype=sample.dtype, device=sample.device)
        strength = strength.reshape(-1, *([1] * (sample.ndim - 1))) if strength.ndim else strength
        # SDAS: x_{t-1} = mu_t + sqrt(1 + s) * sigma_t * z
        return SDASStepOutput(prev_sample=mean + torch.sqrt(1.0 + strength) * sigma * noise, pred_original_sample=pred_x0)

"""Closed-form terms of the Gaussian diffusion process (Ho et al., 2020; Nichol & Dhariwal, 2021)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


def linear_betas(num_timesteps: int, beta_start: float, beta_end: float) -> torch.Tensor:
    """Return the linear beta schedule of DDPM, in float64."""
    return torch.linspace(beta_start, beta_end, num_timesteps, dtype=torch.float64)


@dataclass(frozen=True)
class PosteriorTerms:
    """Coefficients of q(x_{t-1} | x_t, x_0) for every step of a (possibly respaced) chain."""

    betas: torch.Tensor
    alphas_cumprod: torch.Tensor
    alphas_cumprod_prev: torch.Tensor
    posterior_variance: torch.Tensor
    posterior_log_variance_clipped: torch.Tensor
    posterior_mean_coef_x0: torch.Tensor
    posterior_mean_coef_xt: torch.Tensor

    @classmethod
    def from_betas(cls, betas: torch.Tensor) -> PosteriorTerms:
        betas = betas.to(torch.float64)
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        alphas_cumprod_prev = torch.cat([torch.ones(1, dtype=torch.float64), alphas_cumprod[:-1]])
        # beta~_t = beta_t (1 - abar_{t-1}) / (1 - abar_t)   (DDPM eq. 7)
        posterior_variance = betas * (1.0 - alphas_cumprod_prev) / (1.0 - alphas_cumprod)
        # The variance is 0 at t = 0; its log is clipped to the value at t = 1.
        if len(betas) > 1:
            clipped = torch.cat([posterior_variance[1:2], posterior_variance[1:]])
        else:
            clipped = betas.clone()
        return cls(
            betas=betas,
            alphas_cumprod=alphas_cumprod,
            alphas_cumprod_prev=alphas_cumprod_prev,
            posterior_variance=posterior_variance,
            posterior_log_variance_clipped=torch.log(clipped),
            # mu~_t = coef_x0 * x_0 + coef_xt * x_t   (DDPM eq. 7)
            posterior_mean_coef_x0=betas * torch.sqrt(alphas_cumprod_prev) / (1.0 - alphas_cumprod),
            posterior_mean_coef_xt=(1.0 - alphas_cumprod_prev) * torch.sqrt(1.0 - betas) / (1.0 - alphas_cumprod),
        )

    @classmethod
    def respaced(cls, alphas_cumprod: torch.Tensor, timesteps: list[int]) -> PosteriorTerms:
        """Terms of the shorter chain that visits only ``timesteps`` (ascending) of the full one."""
        kept = alphas_cumprod.to(torch.float64)[timesteps]
        previous = torch.cat([torch.ones(1, dtype=torch.float64), kept[:-1]])
        return cls.from_betas(1.0 - kept / previous)

    def gather(self, name: str, index: torch.Tensor, ndim: int) -> torch.Tensor:
        """Pick ``name`` at per-sample step ``index`` and shape it to broadcast over ``ndim`` dims."""
        values = getattr(self, name)[index.to(torch.long).cpu()]
        return values.float().reshape(-1, *([1] * (ndim - 1)))

    def predict_x0(self, x_t: torch.Tensor, index: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """x_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)."""
        abar = self.gather("alphas_cumprod", index, x_t.ndim).to(x_t.device)
        return (x_t - torch.sqrt(1.0 - abar) * eps) / torch.sqrt(abar)

    def posterior_mean(self, x0: torch.Tensor, x_t: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        coef_x0 = self.gather("posterior_mean_coef_x0", index, x_t.ndim).to(x_t.device)
        coef_xt = self.gather("posterior_mean_coef_xt", index, x_t.ndim).to(x_t.device)
        return coef_x0 * x0 + coef_xt * x_t

    def model_log_variance(self, index: torch.Tensor, variance_output: torch.Tensor | None) -> torch.Tensor:
        """Log variance of p(x_{t-1} | x_t).

        ``fixed_small`` uses beta~_t. ``learned_range`` interpolates in log space
        between beta~_t and beta_t with the model's output v in [-1, 1]
        (improved DDPM eq. 15).
        """
        ndim = 4 if variance_output is None else variance_output.ndim
        min_log = self.gather("posterior_log_variance_clipped", index, ndim)
        if variance_output is None:
            return min_log
        min_log = min_log.to(variance_output.device)
        max_log = torch.log(self.gather("betas", index, ndim)).to(variance_output.device)
        fraction = (variance_output + 1.0) / 2.0
        return fraction * max_log + (1.0 - fraction) * min_log

import pytest
import torch
from diffusers import DDPMScheduler

from synth.sampler import SDASScheduler


def _model_output(sample: torch.Tensor, step: int, learned: bool) -> torch.Tensor:
    """A deterministic stand-in for a UNet output: smooth in the sample, varying with the step."""
    eps = torch.tanh(sample * 0.7 + 0.01 * step)
    if not learned:
        return eps
    variance = torch.tanh(sample * 0.3 - 0.002 * step)
    return torch.cat([eps, variance], dim=1)


@pytest.mark.parametrize("steps", [1000, 20])
@pytest.mark.parametrize("variance_type", ["fixed_small", "learned_range"])
def test_matches_ddpm_step_at_zero_strength(steps, variance_type):
    learned = variance_type == "learned_range"
    reference = DDPMScheduler(num_train_timesteps=1000, beta_schedule="linear", variance_type=variance_type,
                              clip_sample=True)
    reference.set_timesteps(steps)
    sdas = SDASScheduler(variance_type=variance_type, num_inference_steps=steps)
    assert sdas.timesteps.tolist() == reference.timesteps.tolist()

    sample = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    ours = sample.clone()
    theirs = sample.clone()
    for index, timestep in enumerate(sdas.timesteps):
        noise_seed = 1000 + index
        out_ours = _model_output(ours, index, learned)
        out_theirs = _model_output(theirs, index, learned)
        noise = torch.randn(ours.shape, generator=torch.Generator().manual_seed(noise_seed))
        ours = sdas.step(out_ours, index, ours, 0.0, noise).prev_sample
        theirs = reference.step(out_theirs, timestep, theirs,
                                generator=torch.Generator().manual_seed(noise_seed)).prev_sample
    assert torch.allclose(ours, theirs, atol=5e-5), (ours - theirs).abs().max()


def test_step_variance_grows_with_strength():
    sdas = SDASScheduler(variance_type="fixed_small", num_inference_steps=20)
    sample = torch.zeros(4000, 1, 1, 1)
    output = torch.zeros(4000, 1, 1, 1)
    spreads = []
    for strength in (0.0, 0.5, 1.0):
        noise = torch.randn(sample.shape, generator=torch.Generator().manual_seed(7))
        spreads.append(sdas.step(output, 5, sample, strength, noise).prev_sample.var().item())
    assert spreads[0] < spreads[1] < spreads[2]
    assert spreads[2] / spreads[0] == pytest.approx(2.0, rel=1e-4)


def test_per_sample_strength_scales_each_sample():
    sdas = SDASScheduler(variance_type="fixed_small", num_inference_steps=20)
    sample = torch.zeros(2, 1, 4, 4)
    noise = torch.ones_like(sample)
    prev = sdas.step(torch.zeros_like(sample), 3, sample, torch.tensor([0.0, 3.0]), noise).prev_sample
    assert torch.allclose(prev[1], 2.0 * prev[0])


def test_last_step_adds_no_noise():
    sdas = SDASScheduler(num_inference_steps=20, variance_type="fixed_small")
    sample = torch.randn(1, 1, 4, 4)
    a = sdas.step(torch.zeros_like(sample), 19, sample, 1.0, torch.randn_like(sample)).prev_sample
    b = sdas.step(torch.zeros_like(sample), 19, sample, 1.0, torch.randn_like(sample)).prev_sample
    assert torch.equal(a, b)


def test_rejects_bad_step_count():
    with pytest.raises(ValueError, match="sampling steps"):
        SDASScheduler(num_inference_steps=0)

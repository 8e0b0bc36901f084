"""synth: strength-controllable diffusion anomaly synthesis (SDAS) and the shard writer."""

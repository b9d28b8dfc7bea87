"""Gaussian data with a diagonal covariance, where the optimal ε-model, velocity and denoiser are known in
closed form: the training-free models against which the samplers are tested.

Data (model units) x₁ ~ N(μ, diag(s²)) per pixel, tensors of shape (N, 1, 1, d).
"""

import math

import torch

from genir_mini.priors import diffusion


class GaussianData:
    def __init__(self, mean, std):
        self.mean = torch.as_tensor(mean, dtype=torch.float64).view(1, 1, 1, -1)
        self.var = torch.as_tensor(std, dtype=torch.float64).view(1, 1, 1, -1) ** 2

    @property
    def d(self):
        return self.mean.shape[-1]

    def sample(self, n, generator):
        noise = torch.randn((n, 1, 1, self.d), generator=generator)
        return (self.mean + self.var.sqrt() * noise).float()

    def eps_model(self, schedule):
        """E[ε | x_k] = √(1−ᾱ) (x_k − √ᾱ μ) / (ᾱ s² + 1 − ᾱ), called as model(x_k, k/T)."""
        alpha_bar = schedule.alpha_bar

        def model(x, t):
            k = torch.round(t * schedule.T).long()
            ab = alpha_bar[k].view(-1, 1, 1, 1)
            eps = (1 - ab).sqrt() * (x.double() - ab.sqrt() * self.mean) / (ab * self.var + 1 - ab)
            return eps.to(x.dtype)

        return model

    def velocity(self, x, t):
        """E[x₁ − x₀ | x_t] for x_t = (1−t)x₀ + t x₁, x₀ ~ N(0, I)."""
        t = t.view(-1, 1, 1, 1).double()
        v = self.mean + (t * self.var - (1 - t)) / ((1 - t) ** 2 + t**2 * self.var) * (x.double() - t * self.mean)
        return v.to(x.dtype)


def check_moments(samples, data, tol_mean, tol_std):
    mean, std = samples.double().mean(0), samples.double().std(0)
    assert torch.allclose(mean, data.mean[0], atol=tol_mean), (mean, data.mean)
    assert torch.allclose(std, data.var[0].sqrt(), atol=tol_std), (std, data.var.sqrt())


def schedule_and_data():
    return diffusion.linear_schedule(1000), GaussianData([0.3, -0.5, 0.0], [0.2, 0.4, math.sqrt(0.05)])

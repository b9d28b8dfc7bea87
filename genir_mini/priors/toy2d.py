"""Two-dimensional data whose flow-matching velocity is known in closed form (chapter 4; tests of every
flow method): a mixture of isotropic Gaussians as data at t = 1, standard Gaussian noise at t = 0.

For component j (weight π_j, mean m_j, std s_j) and x_t = (1 − t)x₀ + t x₁:
x_t | j ~ N(t m_j, v_j(t) I) with v_j(t) = (1 − t)² + t² s_j², and
E[x₁ − x₀ | x_t, j] = m_j + (t s_j² − (1 − t))/v_j(t) · (x_t − t m_j).
The marginal velocity is the posterior-weighted average over components, with weights
w_j(x_t) ∝ π_j N(x_t; t m_j, v_j(t) I).
"""

import math

import torch


class GaussianMixture:
    """Data ``(N, d)``: ``means`` (K, d), ``stds`` a number or (K,), ``weights`` (K,) (default uniform)."""

    def __init__(self, means, stds=0.1, weights=None):
        self.means = torch.as_tensor(means, dtype=torch.float64)
        if self.means.ndim != 2:
            raise ValueError(f"means must have shape (K, d), got {tuple(self.means.shape)}")
        K = self.means.shape[0]
        self.stds = torch.as_tensor(stds, dtype=torch.float64).expand(K).clone()
        weights = torch.full((K,), 1.0 / K, dtype=torch.float64) if weights is None else torch.as_tensor(
            weights, dtype=torch.float64)
        if weights.shape != (K,) or (weights < 0).any() or not math.isclose(weights.sum().item(), 1, rel_tol=1e-6):
            raise ValueError(f"weights must be {K} non-negative numbers summing to 1")
        if (self.stds <= 0).any():
            raise ValueError("stds must be positive")
        self.weights = weights

    @classmethod
    def ring(cls, k: int = 8, radius: float = 2.0, std: float = 0.15):
        """``k`` equal components on a circle, the classic 2-D test distribution."""
        angles = torch.arange(k, dtype=torch.float64) * 2 * math.pi / k
        return cls(torch.stack([radius * angles.cos(), radius * angles.sin()], 1), std)

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def sample(self, n: int, generator: torch.Generator | None = None, return_labels: bool = False):
        labels = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        x = self.means[labels] + self.stds[labels, None] * torch.randn(n, self.dim, generator=generator,
                                                                        dtype=torch.float64)
        return (x.float(), labels) if return_labels else x.float()

    def posterior_weights(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """w_j(x_t): ``(N, K)`` probabilities that x_t came from component j."""
        x, t = x.double(), t.double().view(-1, 1)
        var = (1 - t) ** 2 + t**2 * self.stds[None] ** 2                                   # (N, K)
        d2 = ((x[:, None, :] - t[:, :, None] * self.means[None]) ** 2).sum(-1)             # (N, K)
        logits = self.weights.log()[None] - d2 / (2 * var) - 0.5 * self.dim * var.log()
        return logits.softmax(1)

    def velocity(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The exact marginal velocity E[x₁ − x₀ | x_t = x] for ``x`` (N, d), ``t`` (N,)."""
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (N, {self.dim}), got {tuple(x.shape)}")
        xd, td = x.double(), t.double().view(-1, 1, 1)
        s2 = self.stds[None, :, None] ** 2
        var = (1 - td) ** 2 + td**2 * s2
        per_component = self.means[None] + (td * s2 - (1 - td)) / var * (xd[:, None, :] - td * self.means[None])
        w = self.posterior_weights(x, t)
        return (w[:, :, None] * per_component).sum(1).to(x.dtype)

"""Two-dimensional data whose flow-matching velocity is known in closed form (chapter 4; chapter 6; tests of
every flow method): a mixture of isotropic Gaussians as data at t = 1 and an independent Gaussian source
N(μ₀, σ₀² I) at t = 0 (standard noise by default; chapter 6's noise-augmented source (6.1) otherwise).

For component j (weight π_j, mean m_j, std s_j) and x_t = (1 − t)x₀ + t x₁:
x_t | j ~ N(c_j(t), v_j(t) I) with c_j(t) = (1 − t)μ₀ + t m_j, v_j(t) = (1 − t)² σ₀² + t² s_j², and
E[x₁ − x₀ | x_t, j] = m_j − μ₀ + (t s_j² − (1 − t) σ₀²)/v_j(t) · (x_t − c_j(t)).
The marginal velocity is the posterior-weighted average over components, with weights
w_j(x_t) ∝ π_j N(x_t; c_j(t), v_j(t) I). With σ₀ = 0 (a point source) v_j(0) = 0: there the velocity is its
limit, Σ_j π_j m_j − μ₀.
"""

import math

import torch


class GaussianMixture:
    """Data ``(N, d)``: ``means`` (K, d), ``stds`` a number or (K,), ``weights`` (K,) (default uniform); the flow
    starts from N(``source_mean``, ``source_std``² I) (``source_mean`` a number or (d,); default N(0, I))."""

    def __init__(self, means, stds=0.1, weights=None, source_mean=0.0, source_std=1.0):
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
        source_mean = torch.as_tensor(source_mean, dtype=torch.float64)
        if source_mean.ndim > 1 or source_mean.numel() not in (1, self.dim):
            raise ValueError(f"source_mean must be a number or {self.dim} numbers, got shape "
                             f"{tuple(source_mean.shape)}")
        self.source_mean = source_mean.expand(self.dim).clone()
        if not isinstance(source_std, (int, float)) or source_std < 0:
            raise ValueError(f"source_std must be a non-negative number, got {source_std!r}")
        self.source_std = float(source_std)

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

    def sample_source(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``(n, d)`` draws of the source x₀ ~ N(μ₀, σ₀² I)."""
        noise = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        return (self.source_mean + self.source_std * noise).float()

    def _moments(self, t: torch.Tensor):
        """c_j(t) ``(N, K, d)`` and v_j(t) ``(N, K, 1)`` for ``t`` ``(N, 1, 1)``; v_j clamped above 0."""
        centre = (1 - t) * self.source_mean + t * self.means[None]
        var = (1 - t) ** 2 * self.source_std**2 + t**2 * self.stds[None, :, None] ** 2
        return centre, var.clamp_min(1e-300)

    def posterior_weights(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """w_j(x_t): ``(N, K)`` probabilities that x_t came from component j (π itself at a point source's
        t = 0)."""
        td = t.double().view(-1, 1, 1)
        centre, var = self._moments(td)
        d2 = ((x.double()[:, None, :] - centre) ** 2).sum(-1)                               # (N, K)
        var = var[..., 0]
        logits = self.weights.log()[None] - d2 / (2 * var) - 0.5 * self.dim * var.log()
        point = (td.view(-1, 1) == 0) & (self.source_std == 0)
        return torch.where(point, self.weights[None], logits.softmax(1))

    def velocity(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The exact marginal velocity E[x₁ − x₀ | x_t = x] for ``x`` (N, d), ``t`` (N,)."""
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (N, {self.dim}), got {tuple(x.shape)}")
        xd, td = x.double(), t.double().view(-1, 1, 1)
        centre, var = self._moments(td)
        s2 = self.stds[None, :, None] ** 2
        gain = (td * s2 - (1 - td) * self.source_std**2) / var
        per_component = self.means[None] - self.source_mean + gain * (xd[:, None, :] - centre)
        point = (td == 0) & (self.source_std == 0)  # the limit t → 0 of a point source
        per_component = torch.where(point, self.means[None] - self.source_mean, per_component)
        w = self.posterior_weights(x, t)
        return (w[:, :, None] * per_component).sum(1).to(x.dtype)

    def average_velocity(self, x: torch.Tensor, t, s, steps: int = 400) -> torch.Tensor:
        """The exact average velocity (ch. 7, eq. 7.1) u(x_t, t, s) = (φ_{t→s}(x_t) − x_t)/(s − t) for ``x``
        (N, d) and ``t``, ``s`` numbers or (N,): the exact velocity's flow map solved by ``steps`` Heun steps
        in float64 (error ∝ 1/steps²); where s = t it is the velocity itself."""
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps!r}")
        xd = x.double()
        t = torch.as_tensor(t, dtype=torch.float64).expand(len(x)).clone()
        s = torch.as_tensor(s, dtype=torch.float64).expand(len(x)).clone()
        dt = ((s - t) / steps)[:, None]
        state, tau = xd, t
        for _ in range(steps):
            slope = self.velocity(state, tau)
            ahead = self.velocity(state + dt * slope, tau + dt[:, 0])
            state, tau = state + dt * (slope + ahead) / 2, tau + dt[:, 0]
        same = s == t
        u = (state - xd) / torch.where(same, 1.0, s - t)[:, None]
        return torch.where(same[:, None], self.velocity(xd, t), u).to(x.dtype)

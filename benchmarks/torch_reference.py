"""The researcher's alternative to `wallc`: a plain eager PyTorch loop over seeds and steps.

It trains what benchmarks/reference.wall specifies: a mean-field two-layer ReLU net
f(x) = (1/m) sum_j a_j relu(<w_j, x> + b_j) with w_j ~ N(0, I/d), b_j ~ N(0, 1), a_j = +-1,
online SGD with learning rate lr * m on fresh Gaussian batches, squared loss, target
z1 + z1*z2*z3, and test loss on 2048 fixed samples normalised by the target variance (2),
logged every `every` steps as `wallc` logs it (the spec's `measure test_loss { every = 50 }`),
so both sides do the same work and return the same curves.
"""

from __future__ import annotations

import time

import torch

TARGET_VARIANCE = 2.0  # Var(z1 + z1 z2 z3) for independent standard Gaussians


def target(x: torch.Tensor) -> torch.Tensor:
    return x[:, 0] + x[:, 0] * x[:, 1] * x[:, 2]


def train_one_seed(seed: int, d: int, width: int, batch: int, steps: int, lr: float, test_samples: int,
                   every: int) -> list[float]:
    """Train one net; return its normalised test loss at step 0 and every `every` steps."""
    generator = torch.Generator().manual_seed(seed)
    w = (torch.randn(width, d, generator=generator) / d**0.5).requires_grad_()
    b = torch.randn(width, generator=generator).requires_grad_()
    a = (torch.randint(0, 2, (width,), generator=generator).float() * 2 - 1).requires_grad_()
    test_x = torch.randn(test_samples, d, generator=generator)

    def predict(x):
        return torch.relu(x @ w.T + b) @ a / width

    def test_loss():
        with torch.no_grad():
            return float(((predict(test_x) - target(test_x)) ** 2).mean() / TARGET_VARIANCE)

    curve = [test_loss()]
    for step in range(1, steps + 1):
        x = torch.randn(batch, d, generator=generator)
        loss = 0.5 * ((predict(x) - target(x)) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            for parameter in (w, b, a):
                parameter -= lr * width * parameter.grad  # mean-field: every rate times m
                parameter.grad = None
        if step % every == 0 or step == steps:
            curve.append(test_loss())
    return curve


def train_seeds(seeds: int, d: int, width: int, batch: int, steps: int, lr: float,
                test_samples: int = 2048, every: int = 50, first_seed: int = 0) -> tuple[float, list[float]]:
    """Train `seeds` nets one after another; return the wall time in s and each final test loss."""
    started = time.perf_counter()
    curves = [train_one_seed(seed, d, width, batch, steps, lr, test_samples, every)
              for seed in range(first_seed, first_seed + seeds)]
    return time.perf_counter() - started, [curve[-1] for curve in curves]

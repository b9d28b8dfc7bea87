"""The training loop: it learns, it is seeded, and an interrupted run resumes to identical weights."""

import pytest
import torch

from genir_mini.train import TrainConfig, train


class Interrupt(Exception):
    pass


def make_problem(interrupt_at=None):
    """Fit y = W x on random data; ``interrupt_at`` raises inside the batch function (a crash)."""
    w_true = torch.randn(4, 4, generator=torch.Generator().manual_seed(0))

    def batch_fn(step, generator):
        if interrupt_at is not None and step == interrupt_at:
            raise Interrupt(step)
        x = torch.randn(16, 4, generator=generator)
        return x, x @ w_true.T

    def loss_fn(model, batch, generator):
        x, y = batch
        noise = 0.01 * torch.randn(y.shape, generator=generator)
        return ((model(x) - y - noise) ** 2).mean()

    return batch_fn, loss_fn


def fresh_model():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 4))


CONFIG = TrainConfig(steps=40, lr=1e-2, checkpoint_every=6, ema_decay=0.9, warmup_steps=3)


def test_loss_decreases():
    batch_fn, loss_fn = make_problem()
    result = train(fresh_model(), loss_fn, batch_fn, CONFIG, progress=False, log_every=1)
    losses = [loss for _, loss in result.history]
    assert losses[-1] < 0.5 * losses[0]


def test_resume_after_interrupt_gives_identical_weights(tmp_path):
    batch_fn, loss_fn = make_problem()
    reference = train(fresh_model(), loss_fn, batch_fn, CONFIG, run_dir=tmp_path / "a", progress=False)

    crashing_batch_fn, _ = make_problem(interrupt_at=23)
    with pytest.raises(Interrupt):
        train(fresh_model(), loss_fn, crashing_batch_fn, CONFIG, run_dir=tmp_path / "b", progress=False)
    resumed = train(fresh_model(), loss_fn, batch_fn, CONFIG, run_dir=tmp_path / "b", progress=False)

    assert resumed.resumed_from == 18, "should resume from the last checkpoint before step 23"
    for p, q in zip(reference.model.parameters(), resumed.model.parameters()):
        assert torch.equal(p, q)
    for p, q in zip(reference.ema.parameters(), resumed.ema.parameters()):
        assert torch.equal(p, q)
    assert reference.history == resumed.history


def test_finished_run_is_not_retrained(tmp_path):
    batch_fn, loss_fn = make_problem()
    train(fresh_model(), loss_fn, batch_fn, CONFIG, run_dir=tmp_path, progress=False)
    again = train(fresh_model(), loss_fn, batch_fn, CONFIG, run_dir=tmp_path, progress=False)
    assert again.resumed_from == CONFIG.steps


def test_mismatched_checkpoint_is_refused(tmp_path):
    batch_fn, loss_fn = make_problem()
    train(fresh_model(), loss_fn, batch_fn, CONFIG, run_dir=tmp_path, progress=False)
    other = TrainConfig(steps=50, lr=1e-2, checkpoint_every=6)
    with pytest.raises(ValueError, match="another run_dir"):
        train(fresh_model(), loss_fn, batch_fn, other, run_dir=tmp_path, progress=False)


def test_bad_config():
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)
    with pytest.raises(ValueError, match="ema_decay"):
        TrainConfig(steps=1, ema_decay=1.5)

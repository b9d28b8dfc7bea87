"""The training loop: it learns, it is seeded, and an interrupted run resumes to identical weights."""

import pytest
import torch

from genir_mini.training.loop import TrainConfig, train


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


def fresh_model(dropout=0.0):
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Dropout(dropout),
                               torch.nn.Linear(8, 4))


CONFIG = TrainConfig(steps=40, lr=1e-2, checkpoint_every=6, ema_decay=0.9, warmup_steps=3)


def test_loss_decreases():
    batch_fn, loss_fn = make_problem()
    result = train(fresh_model(), loss_fn, batch_fn, CONFIG, progress=False, log_every=1)
    losses = [loss for _, loss in result.history]
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("dropout", [0.0, 0.3], ids=["plain", "dropout"])
def test_resume_after_interrupt_gives_identical_weights(tmp_path, dropout):
    batch_fn, loss_fn = make_problem()
    reference = train(fresh_model(dropout), loss_fn, batch_fn, CONFIG, run_dir=tmp_path / "a", progress=False)

    crashing_batch_fn, _ = make_problem(interrupt_at=23)
    with pytest.raises(Interrupt):
        train(fresh_model(dropout), loss_fn, crashing_batch_fn, CONFIG, run_dir=tmp_path / "b", progress=False)
    torch.rand(5)  # whatever the caller does with the global generator in between must not matter
    resumed = train(fresh_model(dropout), loss_fn, batch_fn, CONFIG, run_dir=tmp_path / "b", progress=False)

    assert resumed.resumed_from == 18, "should resume from the last checkpoint before step 23"
    params = list(zip(reference.model.parameters(), resumed.model.parameters(), strict=True))
    params += list(zip(reference.ema.parameters(), resumed.ema.parameters(), strict=True))
    assert all(torch.equal(p, q) for p, q in params)
    assert reference.history == resumed.history


def test_training_leaves_the_global_generator_alone():
    batch_fn, loss_fn = make_problem()
    model = fresh_model(0.3)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train(model, loss_fn, batch_fn, TrainConfig(steps=3), progress=False)
    assert torch.equal(torch.rand(3), expected)


def test_finished_run_is_not_retrained(tmp_path):
    batch_fn, loss_fn = make_problem()
    train(fresh_model(), loss_fn, batch_fn, CONFIG, run_dir=tmp_path, progress=False)
    again = train(fresh_model(), loss_fn, batch_fn, CONFIG, run_dir=tmp_path, progress=False)
    assert again.resumed_from == CONFIG.steps


def test_mismatched_checkpoint_is_refused(tmp_path):
    batch_fn, loss_fn = make_problem()
    train(fresh_model(), loss_fn, batch_fn, CONFIG, run_dir=tmp_path, progress=False)
    for other in (TrainConfig(steps=50, lr=1e-2, checkpoint_every=6),
                  TrainConfig(steps=40, lr=2e-2, checkpoint_every=6, ema_decay=0.9, warmup_steps=3),
                  TrainConfig(steps=40, lr=1e-2, checkpoint_every=6, ema_decay=0.9, warmup_steps=3,
                              weight_decay=0.1)):
        with pytest.raises(ValueError, match="another run_dir"):
            train(fresh_model(), loss_fn, batch_fn, other, run_dir=tmp_path, progress=False)
    # how often to checkpoint may change between sessions
    resumed = train(fresh_model(), loss_fn, batch_fn, TrainConfig(**{**vars(CONFIG), "checkpoint_every": 7}),
                    run_dir=tmp_path, progress=False)
    assert resumed.resumed_from == CONFIG.steps


@pytest.mark.parametrize("kwargs,match", [
    ({"steps": 0}, "steps"), ({"ema_decay": 1.5}, "ema_decay"), ({"lr": -1.0}, "lr"),
    ({"grad_clip": -1.0}, "grad_clip"), ({"weight_decay": -0.1}, "weight_decay"),
    ({"warmup_steps": 10}, "warmup_steps"), ({"checkpoint_every": 2.5}, "checkpoint_every"),
])
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{"steps": 10, **kwargs})


def test_bad_log_every():
    batch_fn, loss_fn = make_problem()
    with pytest.raises(ValueError, match="log_every"):
        train(fresh_model(), loss_fn, batch_fn, TrainConfig(steps=2), progress=False, log_every=0)


def test_bf16_runs_where_supported_and_says_fp32_elsewhere(monkeypatch, capsys):
    from genir_mini.training import loop

    batch_fn, loss_fn = make_problem()
    monkeypatch.setattr(loop, "bf16_supported", lambda device="cpu": False)
    result = train(fresh_model(), loss_fn, batch_fn, TrainConfig(steps=3, bf16=True), progress=False)
    assert result.settings["precision"] == "fp32" and "training in fp32" in capsys.readouterr().err
    monkeypatch.setattr(loop, "bf16_supported", lambda device="cpu": True)  # autocast also where it is slow
    bf16 = train(fresh_model(), loss_fn, batch_fn, TrainConfig(steps=3, bf16=True), progress=False)
    assert bf16.settings["precision"] == "bf16"
    assert not all(torch.equal(p, q) for p, q in zip(bf16.model.parameters(), result.model.parameters()))
    assert all(torch.allclose(p, q, atol=0.05) for p, q in zip(bf16.model.parameters(), result.model.parameters()))


def test_bad_flag_type():
    with pytest.raises(TypeError, match="bf16"):
        TrainConfig(steps=2, bf16="yes")


def test_overrides_make_an_ablation_and_are_never_published():
    from genir_mini.training import cli
    from genir_mini.training.run import apply_overrides

    config = {"train": {"steps": 10}, "sigma_p": 0.2}
    assert apply_overrides(config, {"train.steps": 3, "teacher_norm": "l1"}) == {
        "train": {"steps": 3}, "sigma_p": 0.2, "teacher_norm": "l1"}
    with pytest.raises(ValueError, match="no section 'model'"):
        apply_overrides(config, {"model.channels": [8]})
    assert cli._parse_overrides(["train.steps=5", "teacher_norm=l1", 'x="a"']) == {
        "train.steps": 5, "teacher_norm": "l1", "x": "a"}
    with pytest.raises(SystemExit):
        cli.main(["train", "denoiser", "--tier", "smoke", "--set", "train.steps=1", "--publish"])

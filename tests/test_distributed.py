"""The training loop under ``torchrun`` with 2 CPU processes (gloo): it equals one process running the same
micro-batches, an interrupted run resumes to identical weights, and only rank 0 reports and publishes.

Run as a script (by ``torchrun``), this file trains the small problem below into ``--run-dir``.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genir_mini.training.loop import TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def make_problem(crash_at=None):
    """Fit y = W x with dropout and noise drawn by the loss; ``crash_at`` raises inside the batch function."""
    w_true = torch.randn(4, 4, generator=torch.Generator().manual_seed(0))

    def batch_fn(step, generator):
        if step == crash_at:
            raise SystemExit(f"crash at step {step}")
        x = torch.randn(16, 4, generator=generator)
        return x, x @ w_true.T

    def loss_fn(model, batch, generator):
        x, y = batch
        noise = 0.1 * torch.randn(y.shape, generator=generator)
        return ((model(x) - y - noise) ** 2).mean()

    return batch_fn, loss_fn


def fresh_model():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Dropout(0.2),
                               torch.nn.Linear(16, 4))


def config(seed=0, micro_batches=None):
    return TrainConfig(steps=12, lr=1e-2, checkpoint_every=4, ema_decay=0.9, seed=seed,
                       micro_batches=micro_batches)


def torchrun(*args, env=None):
    """Run ``torchrun --nproc-per-node 2 ARGS`` on CPU, one thread per process; return the finished process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "",
           **(env or {})}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", *map(str, args)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


def weights(run_dir):
    state = torch.load(Path(run_dir) / "checkpoint.pt", weights_only=False)
    return state


def same(a: dict, b: dict, exact: bool) -> bool:
    return all(torch.equal(a[k], b[k]) if exact else torch.allclose(a[k], b[k], rtol=1e-5, atol=1e-6) for k in a)


def test_two_processes_equal_one_and_resume_exactly(tmp_path):
    done = torchrun(__file__, "--run-dir", tmp_path / "a")
    assert done.returncode == 0, done.stderr
    two = weights(tmp_path / "a")
    assert two["step"] == 12 and two["settings"]["processes"] == 2 and two["settings"]["micro_batches"] == 2

    batch_fn, loss_fn = make_problem()
    one = train(fresh_model(), loss_fn, batch_fn, config(micro_batches=2), progress=False)
    assert one.settings["processes"] == 1
    for name, module in (("model", one.model), ("ema", one.ema)):
        assert same(module.state_dict(), two[name], exact=False), f"{name}: 2 processes != 1 process"
    assert [s for s, _ in one.history] == [s for s, _ in two["history"]]
    assert torch.allclose(torch.tensor([v for _, v in one.history]), torch.tensor([v for _, v in two["history"]]))
    other = train(fresh_model(), loss_fn, batch_fn, config(seed=1, micro_batches=2), progress=False)
    assert not same(other.model.state_dict(), two["model"], exact=False), "another seed must give other weights"

    crashed = torchrun(__file__, "--run-dir", tmp_path / "b", "--crash-at", 9)
    assert crashed.returncode != 0
    assert weights(tmp_path / "b")["step"] == 8
    resumed = torchrun(__file__, "--run-dir", tmp_path / "b")
    assert resumed.returncode == 0, resumed.stderr
    again = weights(tmp_path / "b")
    assert same(again["model"], two["model"], exact=True) and same(again["ema"], two["ema"], exact=True)
    assert again["history"] == two["history"]


def test_cli_under_torchrun_publishes_once(tmp_path):
    done = torchrun("-m", "genir_mini.training", "train", "digit-classifier", "--tier", "smoke", "--device", "cpu",
                    "--run-dir", tmp_path / "run", "--publish", "--no-progress",
                    env={"GENIR_CHECKPOINTS": str(tmp_path / "ckpt")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("published digit-classifier.pt") == 1
    entry = json.loads((tmp_path / "ckpt" / "manifest.json").read_text())["digit-classifier"]
    assert entry["training"] == {"precision": "fp32", "compiled": False, "processes": 2, "micro_batches": 2}
    assert "test_accuracy" in entry["evaluation"]


def test_micro_batches_must_split_the_processes_and_the_batch():
    batch_fn, loss_fn = make_problem()
    with pytest.raises(ValueError, match="micro_batches"):
        train(fresh_model(), loss_fn, batch_fn, config(micro_batches=3), progress=False)  # 16 % 3 != 0
    with pytest.raises(ValueError, match="micro_batches"):
        TrainConfig(steps=2, micro_batches=0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--crash-at", type=int, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    batch_fn, loss_fn = make_problem(args.crash_at)
    train(fresh_model(), loss_fn, batch_fn, config(), run_dir=args.run_dir, progress=False)

"""Every recipe's smoke tier trains, publishes and loads; the hub refuses missing or corrupt files and
builds its models through the ``nets`` registry."""

import json

import pytest
import torch

from genir_mini import hub
from genir_mini.training import cli, recipes
from genir_mini.training.run import load_or_train, run


@pytest.mark.parametrize("name", sorted(recipes.RECIPES))
def test_smoke_tier_trains_publishes_and_loads(name, tmp_path):
    out = run(name, "smoke", run_dir=tmp_path / "run", progress=False)
    assert out["steps"] == recipes.get_recipe(name).tiers["smoke"]["train"]["steps"]
    assert (tmp_path / "run" / "checkpoint.pt").exists()
    entry = hub.publish(name, out, directory=tmp_path / "ckpt")
    for key in ("sha256", "bytes", "net", "recipe", "tier", "config", "steps", "hardware", "evaluation"):
        assert key in entry
    model = hub.load(name, directory=tmp_path / "ckpt")
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), out["model"].parameters(), strict=True))


def test_cli_smoke(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GENIR_CHECKPOINTS", str(tmp_path / "ckpt"))
    cli.main(["train", "denoiser", "--tier", "smoke", "--run-dir", str(tmp_path / "run"), "--publish",
              "--no-progress"])
    assert "published denoiser.pt" in capsys.readouterr().out
    assert hub.manifest(tmp_path / "ckpt")["denoiser"]["tier"] == "smoke"


@pytest.fixture()
def published(tmp_path):
    out = run("denoiser", "smoke", run_dir=tmp_path / "run", progress=False, evaluate=False)
    hub.publish("denoiser", out, directory=tmp_path / "ckpt")
    return tmp_path / "ckpt"


def test_hash_mismatch_is_a_clear_error(published):
    path = published / "denoiser.pt"
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(hub.CheckpointError, match="corrupt"):
        hub.load("denoiser", directory=published)


def test_missing_file_and_unknown_name(published):
    (published / "denoiser.pt").unlink()
    with pytest.raises(hub.CheckpointError, match="missing"):
        hub.load("denoiser", directory=published)
    with pytest.raises(hub.CheckpointError, match="no checkpoint named"):
        hub.load("no-such-model", directory=published)


def test_load_builds_the_manifest_net_and_refuses_an_entry_without_one(published):
    entry = hub.manifest(published)["denoiser"]
    assert entry["net"] == recipes.get_recipe("denoiser").net == "drunet"
    assert type(hub.load("denoiser", directory=published)).__name__ == "DRUNet"
    for broken, message in [({k: v for k, v in entry.items() if k != "net"}, "no 'net' field"),
                            ({**entry, "net": "no-such-net"}, "net 'no-such-net'")]:
        (published / "manifest.json").write_text(json.dumps({"denoiser": broken}))
        with pytest.raises(hub.CheckpointError, match=message):
            hub.load("denoiser", directory=published)


def test_publish_needs_a_run_result(published):
    out = {"model": hub.load("denoiser", directory=published), "tier": "smoke"}
    with pytest.raises(KeyError, match="'net'"):
        hub.publish("denoiser", out, directory=published)


def test_load_or_train_falls_back_to_training_the_manifest_tier(published, tmp_path):
    (published / "denoiser.pt").unlink()
    model = load_or_train("denoiser", run_dir=tmp_path / "fallback", directory=published, progress=False)
    state = torch.load(tmp_path / "fallback" / "checkpoint.pt", weights_only=False)
    assert state["step"] == recipes.get_recipe("denoiser").tiers["smoke"]["train"]["steps"]
    assert all(torch.equal(v, state["ema"][k]) for k, v in model.state_dict().items())


def test_publish_refuses_to_replace_a_higher_tier(published, tmp_path):
    manifest = json.loads((published / "manifest.json").read_text())
    manifest["denoiser"]["tier"] = "cpu"
    (published / "manifest.json").write_text(json.dumps(manifest))
    out = run("denoiser", "smoke", run_dir=tmp_path / "run", progress=False, evaluate=False)
    with pytest.raises(hub.CheckpointError, match="force"):
        hub.publish("denoiser", out, directory=published)
    assert hub.publish("denoiser", out, directory=published, force=True)["tier"] == "smoke"


def test_shipped_manifest_matches_files():
    """Every checkpoint the repository ships loads with a matching hash and carries its figures."""
    entries = hub.manifest()
    assert "denoiser" in entries, "the book ships the learned denoiser"
    for name, entry in entries.items():
        assert entry["tier"] in recipes.TIERS and entry["hardware"] and entry["evaluation"], name
        assert entry["net"] == recipes.get_recipe(entry["recipe"]).net, name
        hub.load(name)


def test_unknown_recipe_and_tier():
    with pytest.raises(ValueError, match="unknown recipe"):
        recipes.get_recipe("nope")
    with pytest.raises(ValueError, match="unknown tier"):
        recipes.get_recipe("denoiser").config("tpu")


def test_generative_recipes_sample_and_take_a_data_folder(tmp_path):
    import gzip

    import numpy as np

    config = recipes.get_recipe("fm-digits").config("smoke")
    model = recipes.get_recipe("fm-digits").build_model(config["model"])
    images = recipes.sample_images(model, config, "heun", 4, 3)
    assert images.shape == (3, 1, 28, 28) and 0 <= images.min() and images.max() <= 1
    with pytest.raises(ValueError, match="sampler"):
        recipes.sample_images(model, config, "ddim", 4, 3)
    with pytest.raises(ValueError, match="nfe must be even"):
        recipes.sample_images(model, config, "heun", 3, 3)
    # a folder of idx files replaces the offline digits
    for stem, array in [("train-images-idx3-ubyte", np.zeros((6, 28, 28))), ("train-labels-idx1-ubyte", np.arange(6))]:
        header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
        with gzip.open(tmp_path / f"{stem}.gz", "wb") as f:
            f.write(header + array.astype(np.uint8).tobytes())
    out = run("ddpm-digits", "smoke", run_dir=tmp_path / "run", progress=False, evaluate=False,
              data_dir=tmp_path)
    assert out["config"]["data"]["folder"] == str(tmp_path)
    with pytest.raises(ValueError, match="digit recipes only"):
        run("denoiser", "smoke", data_dir=tmp_path)


def test_digit_models_are_scored_shipped_generators_from_the_same_noise():
    from genir_mini.training import compare, load_or_train

    classifier = load_or_train("digit-classifier")
    models = {"flow matching": ("fm-digits", "euler", [1, 2]), "MeanFlow": ("meanflow-digits", "mean", [1])}
    result = compare.digit_models(models, 32, classifier, floor_draws=2)
    assert [r["model"] for r in result.rows] == ["real digits (floor)"] + ["flow matching"] * 2 + ["MeanFlow"]
    assert set(result.scores) == {("flow matching", 1), ("flow matching", 2), ("MeanFlow", 1)}
    assert result.samples["MeanFlow", 1].shape == (16, 1, 28, 28) and len(result.floor_fds) == 2
    assert result.fd_noise >= 0 and all(r["FD"] > 0 for r in result.rows[1:])
    assert result.scores["MeanFlow", 1]["fd"] < result.scores["flow matching", 1]["fd"], "one jump beats one step"
    with pytest.raises(ValueError, match="models"):
        compare.digit_models({}, 32, classifier)

"""Reference figure: how far Real-ESRGAN's released degradation pipeline takes one photograph from its clean
×4 reduction, to hold ``genir_mini.operators.realworld_degrade`` against.

Usage::

    python tools/realesrgan_reference.py --basicsr DIR --realesrgan DIR [--size 128] [--draws 40]

``--basicsr`` and ``--realesrgan`` are folders holding extracted copies of the two repositories' files
(e.g. ``git archive HEAD basicsr | tar -x -C DIR`` in a clone of https://github.com/XPixelGroup/BasicSR, and
``git archive HEAD realesrgan options | tar -x -C DIR`` in one of https://github.com/xinntao/Real-ESRGAN).
Needs ``cv2`` (``pip install opencv-python-headless``), ``scipy`` and ``pyyaml``; not torchvision.

What it measures: the first test photograph, ``data.test_photographs(size, "resize")[:1]``, is degraded by
the released pipeline once per draw i = 0 .. draws-1 (python ``random``, ``numpy`` and ``torch`` seeded i)
to ``(1, 3, size/4, size/4)``, and each result's PSNR (dB, peak 1) against the clean reduction
``interpolate(x, scale_factor=0.25, mode="bicubic", antialias=True).clamp(0, 1)`` is taken. It prints the
mean ± standard deviation (n − 1) and the median over the draws, the same figure for
``genir_mini.operators.realworld_degrade(x, seed=i)``, the median side (relative to the final one) at which
the release adds its second noise, and the share of draws that took each order of its final stage.

How: the released code itself runs, loaded by file path (``importlib``), not re-implemented:

* Real-ESRGAN (BSD-3-Clause licence): ``realesrgan/data/realesrgan_dataset.py``
  (``RealESRGANDataset.__getitem__`` draws kernel1, kernel2 and the final sinc kernel),
  ``realesrgan/models/realesrnet_model.py`` (``RealESRNetModel.feed_data``: USM sharpening of the GT,
  then the two degradation orders) and the settings of ``options/train_realesrnet_x4plus.yml``;
* BasicSR (Apache-2.0 licence), which those call: ``basicsr/data/degradations.py``,
  ``basicsr/data/transforms.py``, ``basicsr/utils/img_process_util.py`` (``filter2D``, ``USMSharp``),
  ``basicsr/utils/diffjpeg.py`` (``DiffJPEG``), ``basicsr/utils/img_util.py``,
  ``basicsr/utils/file_client.py`` and ``basicsr/utils/registry.py``.

Nothing of theirs is copied here. Stand-ins replace what a CPU run of one image does not need: torchvision
(only its ``rgb_to_grayscale``, with torchvision's formula, is used), the training base class ``SRModel``
(networks, losses) and the training-pair pool (``_dequeue_and_enqueue``, a CUDA queue that swaps pairs
across batches). ``__init__`` is skipped (it moves modules to CUDA); the model gets the yml's options with
``gt_size`` set to the photograph's size, so the final random crop keeps the whole image. The dataset reads
the photograph from a temporary PNG only to run ``__getitem__`` whole; its kernels are kept, while the
degraded GT is the photograph itself (the dataset's copy is padded to 400 pixels and randomly flipped).
Below ``--size 76`` rare draws can fail: ``filter2D`` pads the 21 × 21 kernels' 10 pixels by reflection,
which needs more than 10 pixels left after the first resize (down to 0.15 × at worst).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import random
import statistics
import sys
import tempfile
import types
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
import yaml

from genir_mini import data

YML = "options/train_realesrnet_x4plus.yml"
ORDERS = {"jpeg": "[resize back + sinc] then JPEG", "filter2D": "JPEG then [resize back + sinc]"}


def rgb_to_grayscale(img: torch.Tensor, num_output_channels: int = 1) -> torch.Tensor:
    """Stand-in for torchvision's ``rgb_to_grayscale`` on tensors: 0.2989 R + 0.587 G + 0.114 B, keeping the
    channel dimension (expanded to 3 channels when asked)."""
    r, g, b = img.unbind(dim=-3)
    gray = (0.2989 * r + 0.587 * g + 0.114 * b).to(img.dtype).unsqueeze(dim=-3)
    return gray.expand(img.shape) if num_output_channels == 3 else gray


def _module(name: str, **attrs) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attrs)
    return module


def _load(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_release(basicsr: Path, realesrgan: Path) -> tuple[types.ModuleType, types.ModuleType]:
    """The released ``realesrgan_dataset`` and ``realesrnet_model`` modules, with the BasicSR modules they
    import loaded by path under their package names. The torchvision stand-ins are removed afterwards."""
    gray = _module("torchvision.transforms.functional", rgb_to_grayscale=rgb_to_grayscale)
    stubs = {
        "torchvision": _module("torchvision"),
        "torchvision.transforms": _module("torchvision.transforms"),
        "torchvision.transforms.functional": gray,  # BasicSR after #650
        "torchvision.transforms.functional_tensor": gray,  # BasicSR up to 1.4.2
        "torchvision.utils": _module("torchvision.utils", make_grid=None),  # img_util imports it, unused here
        "basicsr": _module("basicsr"),
        "basicsr.data": _module("basicsr.data"),
        "basicsr.models": _module("basicsr.models"),
        "basicsr.models.sr_model": _module("basicsr.models.sr_model", SRModel=object),
        "basicsr.utils": _module("basicsr.utils", get_root_logger=logging.getLogger),
    }
    clashes = [name for name in stubs if name in sys.modules]
    if clashes:
        raise RuntimeError(f"already imported, would be shadowed: {clashes}")
    sys.modules.update(stubs)
    try:
        utils = sys.modules["basicsr.utils"]
        for name in ("registry", "diffjpeg", "img_process_util", "file_client", "img_util"):
            _load(f"basicsr.utils.{name}", basicsr / "basicsr" / "utils" / f"{name}.py")
        for name in ("degradations", "transforms"):
            _load(f"basicsr.data.{name}", basicsr / "basicsr" / "data" / f"{name}.py")
        for source, names in (("diffjpeg", ["DiffJPEG"]), ("img_process_util", ["USMSharp"]),
                              ("file_client", ["FileClient"]), ("img_util", ["imfrombytes", "img2tensor"])):
            for name in names:  # what the released modules take from basicsr.utils
                setattr(utils, name, getattr(sys.modules[f"basicsr.utils.{source}"], name))
        dataset = _load("realesrgan_dataset", realesrgan / "realesrgan" / "data" / "realesrgan_dataset.py")
        model = _load("realesrnet_model", realesrgan / "realesrgan" / "models" / "realesrnet_model.py")
    finally:
        for name in stubs:
            if name.startswith("torchvision"):
                del sys.modules[name]
    return dataset, model


def psnr(x: torch.Tensor, ref: torch.Tensor) -> float:
    return (10 * torch.log10(1 / F.mse_loss(x, ref))).item()


def summary(values) -> str:
    return (f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f} dB "
            f"(median {statistics.median(values):.2f}, {len(values)} draws)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--basicsr", type=Path, required=True, help="folder holding BasicSR's basicsr/")
    parser.add_argument("--realesrgan", type=Path, required=True,
                        help="folder holding Real-ESRGAN's realesrgan/ and options/")
    parser.add_argument("--size", type=int, default=128, help="side of the photograph (divisible by 4)")
    parser.add_argument("--draws", type=int, default=40)
    args = parser.parse_args(argv)
    if args.size % 4:
        parser.error("--size must be divisible by 4")

    x = data.test_photographs(args.size, "resize")[:1].float()
    clean = F.interpolate(x, scale_factor=0.25, mode="bicubic", antialias=True).clamp(0, 1)
    opt = yaml.safe_load((args.realesrgan / YML).read_text())
    assert opt["scale"] == 4 and opt["gt_usm"] is True, "unexpected settings in " + YML
    dataset_module, model_module = load_release(args.basicsr, args.realesrgan)
    utils = sys.modules["basicsr.utils"]

    calls = []  # (name, (h, w) of the input) of the model's filter2D, noise and JPEG calls, in order

    def spy(name, fn):
        def recorded(img, *a, **k):
            calls.append((name, tuple(img.shape[-2:])))
            return fn(img, *a, **k)
        return recorded

    for name in ("filter2D", "random_add_gaussian_noise_pt", "random_add_poisson_noise_pt"):
        setattr(model_module, name, spy(name, getattr(model_module, name)))
    model = model_module.RealESRNetModel.__new__(model_module.RealESRNetModel)
    model.opt = dict(opt, gt_size=args.size)
    model.is_train, model.device = True, torch.device("cpu")
    model.usm_sharpener = utils.USMSharp()
    model.jpeger = spy("jpeg", utils.DiffJPEG(differentiable=False))
    model._dequeue_and_enqueue = lambda: None

    released, second_noise, orders = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        photo = (x[0].permute(1, 2, 0).numpy()[..., ::-1] * 255).round().astype(np.uint8)  # HWC BGR
        cv2.imwrite(str(Path(folder) / "photo.png"), photo)
        (Path(folder) / "meta_info.txt").write_text("photo.png\n")
        dataset = dataset_module.RealESRGANDataset(dict(
            opt["datasets"]["train"], dataroot_gt=folder, meta_info=str(Path(folder) / "meta_info.txt"),
            io_backend={"type": "disk"}))
        for i in range(args.draws):
            random.seed(i)
            np.random.seed(i)
            torch.manual_seed(i)
            item = dataset[0]
            batch = {k: item[k][None] for k in ("kernel1", "kernel2", "sinc_kernel")}  # as a batch of 1
            batch["gt"] = x
            calls.clear()
            model.feed_data(batch)
            assert model.lq.shape == clean.shape, model.lq.shape
            released.append(psnr(model.lq, clean))
            noises = [shape for name, shape in calls if "noise" in name]
            second_noise.append(noises[1][0] / clean.shape[-2])
            orders.append([name for name, _ in calls if name in ORDERS][-1])

    print(f"photograph: test_photographs({args.size}, 'resize')[:1] -> {tuple(clean.shape)}; PSNR against "
          "the antialiased bicubic x4 reduction")
    print(f"released Real-ESRGAN (train_realesrnet_x4plus): {summary(released)}")
    print(f"  second noise added at a side of {statistics.median(second_noise):.3f} x the final side (median; "
          f"range {min(second_noise):.3f}-{max(second_noise):.3f})")
    for key, label in ORDERS.items():
        print(f"  final stage {label}: {orders.count(key) / len(orders):.0%} of draws")
    try:
        from genir_mini.operators import realworld_degrade
        ours = [psnr(realworld_degrade(x, seed=i), clean) for i in range(args.draws)]
    except Exception as error:  # the function may be mid-edit
        print(f"genir_mini realworld_degrade: skipped ({type(error).__name__}: {error})")
    else:
        print(f"genir_mini realworld_degrade(x, seed=i): {summary(ours)}")


if __name__ == "__main__":
    main()

"""The figures a recipe records in the manifest for its trained model: PSNR for the denoiser, test accuracy
for the classifier, FD in LeNet features (or denoising PSNR) for the generative models, ×4 SR PSNR for the
OFTSR teachers and students; and the test-set
measurement of photo denoisers (``denoising_on_test_set``: mean ± std over the shipped test photographs,
whole-scene resizes and native crops), which the command line runs as
``python -m genir_mini.training evaluate denoiser [--run-dir DIR] [--classical]``."""

import statistics
import time

import torch

from .. import data, hub
from .sampling import sample_images


def evaluate_denoiser(model, config, seed=0) -> dict:
    """PSNR (dB) on the test photographs at each σ (in /255), with fixed noise: the mean over the images
    (``psnr_sigma{σ}_{method}``), its spread (``…_std``) and, for native crops, ``crop_psnr_sigma…``.

    ``config["eval"]`` may set ``sigmas`` (15, 25, 50), ``size`` (256), ``names`` (``data.TEST_SET``),
    ``preparations`` (resize and crop) and ``classical`` (true: also scikit-image's TV, wavelet and
    NL-means denoisers, at chapter 2's settings, on the same inputs).
    """
    from ..priors import denoisers

    e = config.get("eval", {})
    methods = {"learned": denoisers.LearnedDenoiser(model)}
    if e.get("classical", True):
        methods.update(denoisers.classical_denoisers())
    table = denoising_on_test_set(methods, tuple(e.get("sigmas", (15, 25, 50))), e.get("size", 256),
                                  tuple(e.get("preparations", ("resize", "crop"))), e.get("names"), seed)
    return _summary(table, "psnr")


def _summary(table: dict, key: str) -> dict:
    """A ``denoising_on_test_set`` table as flat manifest figures (``crop_`` prefixes native crops)."""
    figures = {"images": table["names"], "n": len(table["names"]), "size": table["size"]}
    for preparation in (p for p in table if p not in ("names", "size")):
        prefix = "" if preparation == "resize" else f"{preparation}_"
        for s, row in table[preparation].items():
            for method, r in row.items():
                name = f"{prefix}{key}_sigma{s}" + ("" if method == "" else f"_{method}")
                figures[name], figures[f"{name}_std"] = r["mean"], r["std"]
    return figures


@torch.no_grad()
def evaluate_classifier(model, config) -> dict:
    """Accuracy of ``model``'s ``(N, 10)`` logits on the test digits."""
    images, labels = data.digits("test")
    accuracy = (model(images).argmax(1) == labels).float().mean().item()
    return {"test_accuracy": round(accuracy, 4), "test_digits": len(labels)}


def evaluate_generator(model, config) -> dict:
    """Sample quality: FD/KD in LeNet features against the test digits at each NFE of ``config["eval"]``
    (with the real-vs-real floor for the same sample count), measured with the shipped
    ``digit-classifier``; for photograph models, the PSNR of the model used as a Gaussian denoiser on the
    test photographs (``denoise_psnr_sigma{σ}``, mean and ``_std`` over the images; ``crop_`` for native
    crops)."""
    from ..evaluation import distances
    from ..priors import EpsModel, diffusion

    e = config["eval"]
    figures = {}
    if config["data"]["source"] == "digits":
        classifier = hub.load("digit-classifier")
        reference, _ = data.digits("test")
        figures["floor"] = _rounded(distances.real_floor(e["samples"], classifier))
        for sampler, nfe in e["samplers"]:
            t0 = time.perf_counter()
            samples = sample_images(model, config, sampler, nfe, e["samples"], device=_device(model))
            key = f"{sampler}_nfe{nfe}"
            figures[key] = _rounded(distances.digit_distances(samples, reference, classifier))
            figures[key]["seconds"] = round(time.perf_counter() - t0, 1)
    else:
        denoiser = EpsModel(model, diffusion.get_schedule(config["schedule"])).denoise
        table = denoising_on_test_set({"": denoiser}, tuple(e["sigmas"]), e["size"],
                                      tuple(e.get("preparations", ("resize", "crop"))), e.get("names"), seed=0)
        figures = _summary(table, "denoise_psnr")
    return figures


@torch.no_grad()
def evaluate_oftsr(model, config, seed=0) -> dict:
    """×4 super-resolution with an OFTSR teacher (Euler, ``eval.nfe`` steps), one-step student (config with
    ``distill``; at each ``eval.t_in``) or MFSR / SMFSR student (config with ``meanflow`` / ``splitmeanflow``;
    ``eval.steps`` jumps from (6.1) with the config's σ_p), on chapter 5's ``sr4`` degradation (on the
    centre-aligned grid for a model trained there, ``data.operator``): PSNR (dB) mean and ``_std`` over
    the test digits (``eval.digits``, padded to 32×32; plus the share the digit classifier reads correctly)
    or the test photographs (``eval.size``, whole scenes resized), and the bicubic baseline; with
    ``eval.realworld``, the same on the photographs' held-out real-world degradations (``realworld_`` names).
    Photographs of at least ``realism.NIQE_MIN_SIZE`` px also get NIQE, mean and ``_std`` (``niqe_`` names,
    with ``niqe_photographs``)."""
    from ..evaluation import realism, tasks
    from ..flowmaps import oftsr
    from ..restore.oftsr import oftsr as restore

    e = config["eval"]
    if config["data"]["source"] == "digits":
        images, labels = data.digits("test")
        pick = torch.arange(e.get("digits", 256)) * (len(images) // e.get("digits", 256))
        clean, labels = torch.nn.functional.pad(images[pick], (2, 2, 2, 2)), labels[pick]
        classifier = hub.load("digit-classifier")
    else:
        clean, classifier = data.test_photographs(e["size"], "resize", e.get("names")), None
    # the grid the model was trained on: its condition and its bicubic task (real-world SR's is centre-aligned)
    centred = config["data"].get("operator") == "bicubic-centred"
    task = tasks.make_task("sr4-centred" if centred else "sr4", clean.shape[-1])
    measurements = {"": tasks.degrade(task, clean, seed=seed)}
    if e.get("realworld"):  # the held-out real-world degradations of the test photographs (chapter 7)
        from ..operators import held_out_degradations

        measurements["realworld_"] = held_out_degradations(clean)
    student = "distill" in config
    if "meanflow" in config or "splitmeanflow" in config:  # an MFSR or SMFSR student: 1, 2, ... jumps
        from ..flowmaps import meanflow
        from ..restore.mfsr import mfsr as restore

        runs = {f"steps{n}": dict(steps=n) for n in e.get("steps", (1, 2, 4))}
        prior = meanflow.ConditionalMeanFlow(getattr(model, "generator", model), config["sigma_p"])  # (a GAN's)
    else:
        runs = {f"t_in{t}": dict(t_in=t) for t in e.get("t_in", (0.0, 0.5, 1.0))} if student else \
            {f"nfe{n}": dict(steps=n) for n in e.get("nfe", (1, 2, 8))}
        prior = oftsr.ConditionalFlow(model, config["sigma_p"], student=student)
    runs = {"bicubic": None, **runs}
    figures = {"n": len(clean), "size": clean.shape[-1]}
    niqe = classifier is None and min(clean.shape[-2:]) >= realism.NIQE_MIN_SIZE
    if niqe:
        figures.update(_niqe_figures("niqe_photographs", clean))
    for prefix, y in measurements.items():
        for name, knobs in runs.items():
            out = task.operator.init(y) if knobs is None else restore(
                y, task.operator, prior, generator=torch.Generator().manual_seed(seed), **knobs)
            out = out.clamp(0, 1)
            figures.update(_psnr_figures(prefix + name, out, clean))
            if niqe:
                figures.update(_niqe_figures(f"niqe_{prefix}{name}", out))
            if classifier is not None:
                read = (classifier(out[..., 2:-2, 2:-2]).argmax(1) == labels).float().mean().item()
                figures[f"read_correctly_{prefix}{name}"] = round(read, 4)
    return figures


@torch.no_grad()
def evaluate_restoration(model, config, seed=0) -> dict:
    """PSNR (dB), mean and ``_std`` over the test photographs (``eval.size``, whole scenes resized;
    ``eval.names``), of a chapter-9 network on its task: ``denoise`` at σ = ``data.sigma``; ``sr`` on the
    ``sr4`` task; ``deblur`` on ``deblur-gaussian`` and ``deblur-motion`` (the known kernel given); with the
    milliseconds per image."""
    from ..evaluation import tasks
    from ..operators import add_noise

    e, task = config["eval"], config["task"]
    clean = data.test_photographs(e["size"], "resize", e.get("names"))
    device = _device(model)
    if task == "denoise":
        runs = {"denoise": (add_noise(clean, config["data"]["sigma"], seed=seed), None)}
    else:
        names = ["sr4"] if task == "sr" else ["deblur-gaussian", "deblur-motion"]
        runs = {}
        for name in names:
            t = tasks.make_task(name, e["size"])
            runs[name] = (tasks.degrade(t, clean, seed), None if task == "sr" else t.operator.kernel)
    figures = {"n": len(clean), "size": e["size"]}
    for name, (y, kernel) in runs.items():
        t0 = time.perf_counter()
        out = model(y.to(device)) if kernel is None else model(y.to(device), kernel.to(device))
        figures[f"ms_per_image_{name}"] = round(1000 * (time.perf_counter() - t0) / len(clean), 1)
        figures.update(_psnr_figures(name, out.cpu().clamp(0, 1), clean))
    return figures


def _psnr_figures(name: str, estimate: torch.Tensor, clean: torch.Tensor) -> dict:
    """``psnr_<name>`` and ``psnr_<name>_std``: the PSNR's mean and spread over the images, rounded."""
    from ..evaluation import metrics

    return _spread_figures(f"psnr_{name}", metrics.psnr(estimate, clean))


def _niqe_figures(name: str, images: torch.Tensor) -> dict:
    """``<name>`` and ``<name>_std``: NIQE's mean and spread over the images (lower is more natural), rounded."""
    from ..evaluation import realism

    return _spread_figures(name, realism.niqe(images))


def _spread_figures(name: str, values) -> dict:
    """``<name>`` and ``<name>_std``: the mean and spread of per-image ``values``, rounded."""
    from ..evaluation import spread

    mean, std = spread.mean_std(values)
    return {name: round(mean, 3), f"{name}_std": round(std, 3)}


def _device(model):
    return next(model.parameters()).device


def _rounded(d: dict) -> dict:
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}


# --------------------------------------------------------------------------------------------------
# photo denoisers on the shipped test set (before/after comparisons of the photo priors)

def denoising_on_test_set(denoisers: dict, sigmas=(15, 25, 50), size: int = 256,
                          preparations=("resize", "crop"), names=None, seed: int = 0) -> dict:
    """PSNR (dB) of each ``D(x, σ)`` in ``denoisers`` (``{name: callable}``) on each test photograph
    (``data.test_photographs(size, preparation, names)``, ``(N, 3, size, size)``), with the same fixed noise
    for every method: ``{"names", "size", preparation: {σ: {method: {"mean", "std", "n", "psnr"}}}}``,
    σ in /255, ``std`` the sample standard deviation over the ``n`` images, ``psnr`` the per-image list."""
    from ..evaluation import metrics
    from ..operators import add_noise

    names = list(data.TEST_SET if names is None else names)
    out = {"names": names, "size": size}
    for preparation in preparations:
        clean = data.test_photographs(size, preparation, names)
        out[preparation] = {}
        for s in sigmas:
            noisy = add_noise(clean, s / 255, seed=seed + s)
            out[preparation][s] = {}
            for method, denoiser in denoisers.items():
                psnr = [round(v, 3) for v in metrics.psnr(denoiser(noisy, s / 255).clamp(0, 1), clean).tolist()]
                out[preparation][s][method] = {"mean": round(statistics.mean(psnr), 3),
                                               "std": round(statistics.stdev(psnr), 3) if len(psnr) > 1 else 0.0,
                                               "n": len(psnr), "psnr": psnr}
    return out


def photo_denoiser(recipe: str, model, config: dict):
    """A photo model as ``D(x, σ)``: the denoiser itself, or a DDPM through Tweedie's x̂₀
    (``EpsModel.denoise``, ch. 5)."""
    from ..priors import EpsModel, denoisers, diffusion

    if recipe == "denoiser":
        return denoisers.LearnedDenoiser(model)
    return EpsModel(model, diffusion.get_schedule(config["schedule"])).denoise


def classical_settings() -> dict:
    """A few settings of each classical denoiser (the best per σ is the classical baseline): TV weight and
    NL-means strength factors around chapter 2's, and BayesShrink wavelets."""
    from ..priors import denoisers

    out = {f"TV x{f}": denoisers.TVDenoiser(f) for f in (0.5, 0.8, 1.2)}
    out["wavelet"] = denoisers.WaveletDenoiser()
    out.update({f"NL-means x{f}": denoisers.NLMeansDenoiser(f) for f in (0.4, 0.5, 0.6, 0.8)})
    out["NL-means x0.5, 7x7 in 23x23"] = denoisers.NLMeansDenoiser(0.5, patch_size=7, patch_distance=11)
    return out


def best_of(table: dict, methods) -> dict:
    """``{preparation: {σ: method}}``: the method of ``methods`` with the highest mean PSNR in a
    ``denoising_on_test_set`` table (for the classical baseline, chosen on the test set itself: an upper
    bound on what tuning could give it)."""
    return {p: {s: max(methods, key=lambda m: table[p][s][m]["mean"]) for s in table[p]}
            for p in table if p not in ("names", "size")}


def format_denoising_table(table: dict, methods=None) -> str:
    """The table as text: one line per preparation, σ and method, ``mean ± std (n)``."""
    lines = [f"test set: {len(table['names'])} photographs, {table['size']} px"]
    for p in (k for k in table if k not in ("names", "size")):
        for s, row in table[p].items():
            for m in methods or row:
                r = row[m]
                lines.append(f"{p:6s} sigma={s:<3} {m:28s} {r['mean']:6.2f} ± {r['std']:.2f} dB (n={r['n']})")
    return "\n".join(lines)

"""The first thing every chapter runs: ``CH = chapter.start(TIER)``.

It checks the tier, picks the device (the GPU when there is one, in every tier), sets the book's figure
style (``viz.style``), seeds torch and prints what the chapter runs on, so that a chapter's numbers can be
traced to a library version (the fingerprint also keys the book's execution cache).
"""

from dataclasses import dataclass

import torch

TIERS = ("smoke", "cpu", "gpu")  # tests (seconds), the book's default (a 2-core CPU), full scale (one GPU)


@dataclass(frozen=True)
class Chapter:
    """What a chapter runs with: ``tier`` (one of ``TIERS``) and ``device`` ("cuda" or "cpu")."""

    tier: str
    device: str

    @property
    def smoke(self) -> bool:
        return self.tier == "smoke"

    @property
    def gpu(self) -> bool:
        return self.tier == "gpu"


def start(tier: str, seed: int = 0, device: str | None = None, verbose: bool = True) -> Chapter:
    """Check ``tier``, choose ``device`` (default: "cuda" if available, else "cpu"), set the figure style,
    seed torch with ``seed`` and print the versions; returns the :class:`Chapter`."""
    if tier not in TIERS:
        raise ValueError(f"TIER must be one of {', '.join(map(repr, TIERS))}, got {tier!r}")
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda") and not str(device).startswith("cuda:"):
        raise ValueError(f"device must be 'cpu' or 'cuda[:N]', got {device!r}")
    from . import __version__, source_fingerprint, viz

    viz.style()
    torch.manual_seed(seed)
    if verbose:
        where = torch.cuda.get_device_name(device) if str(device).startswith("cuda") else \
            f"{torch.get_num_threads()} CPU threads"
        print(f"genir_mini {__version__} (sources {source_fingerprint()}), torch {torch.__version__}, "
              f"{where}, tier {tier!r}")
        if tier == "gpu" and device == "cpu":
            print("no GPU here: the gpu tier runs on the CPU, at full scale (slow)")
    return Chapter(tier, device)

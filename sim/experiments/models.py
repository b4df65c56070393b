r"""The two networks of the experiment, and the flat parameter layout the training uses.

* :class:`SmallCNN`: conv(1 -> c1, 3x3, pad 1) - ReLU - maxpool 2 - conv(c1 -> c2, 3x3, pad 1)
  - ReLU - maxpool 2 - linear(-> classes).  On 8x8 digits with c1 = 8, c2 = 16: 1864 weights.
* :class:`PatchNet`: the one-hidden-layer no-overlap network of P1 on image patches.  The
  image is cut into :math:`k` non-overlapping :math:`p\times p` patches :math:`Z_i`
  (:math:`d = Cp^2`); ``filters`` shared filters :math:`w_j` give the hidden units
  :math:`h_{ji} = \mathrm{relu}(w_j\cdot Z_i)` (a stride-``p`` convolution without bias: the
  same filter on every patch, patches disjoint); a linear readout maps the :math:`mk` hidden
  units to the class scores.  With ``filters=1`` and the readout frozen to the average
  :math:`\frac1k\sum_i` this is exactly the analysed network; for 10 classes a trained readout
  is needed (one filter and an average give one number per image), so the readout is trained
  and penalised like the filters.  On 8x8 digits with 4x4 patches (:math:`k = 4`, :math:`d = 16`)
  and 8 filters: 128 filter weights + 320 readout weights.

Penalised parameters: every weight tensor of dimension >= 2 (filters and readouts); biases are
not penalised (their prox is the identity).  Groups (the channel penalty): one group per
output channel / output unit, i.e. the rows of ``weight.reshape(out, -1)``.

:class:`Layout` puts all parameters in one flat vector (penalised first), so that one update
rule of :mod:`sim.algorithms` drives the whole network: the model is evaluated at a flat
vector with :func:`torch.func.functional_call` on views of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

__all__ = ["MODEL_NAMES", "SmallCNN", "PatchNet", "build_model", "Layout", "Slot"]

MODEL_NAMES: tuple[str, ...] = ("cnn", "patch")


class SmallCNN(nn.Module):
    """Two 3x3 conv layers with max pooling, then a linear classifier."""

    def __init__(self, image_shape: tuple[int, int, int], classes: int, c1: int = 8,
                 c2: int = 16) -> None:
        super().__init__()
        c, h, w = image_shape
        if h < 4 or w < 4:
            raise ValueError(f"SmallCNN needs images of at least 4x4, got {h}x{w}")
        self.conv1 = nn.Conv2d(c, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.fc = nn.Linear(c2 * (h // 4) * (w // 4), classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


class PatchNet(nn.Module):
    """No-overlap one-hidden-layer network: shared filters on disjoint patches + readout."""

    def __init__(self, image_shape: tuple[int, int, int], classes: int, patch: int = 4,
                 filters: int = 8) -> None:
        super().__init__()
        c, h, w = image_shape
        if patch < 1 or h % patch or w % patch:
            raise ValueError(f"patch size {patch} must divide the image size {h}x{w}")
        if filters < 1:
            raise ValueError(f"filters must be >= 1, got {filters}")
        self.k = (h // patch) * (w // patch)
        self.d = c * patch * patch
        self.filter = nn.Conv2d(c, filters, patch, stride=patch, bias=False)
        self.readout = nn.Linear(filters * self.k, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(torch.relu(self.filter(x)).flatten(1))


def build_model(name: str, image_shape: tuple[int, int, int], classes: int,
                **options: Any) -> nn.Module:
    """``cnn`` (options ``c1``, ``c2``) or ``patch`` (options ``patch``, ``filters``)."""
    if name == "cnn":
        return SmallCNN(image_shape, classes, **options)
    if name == "patch":
        return PatchNet(image_shape, classes, **options)
    raise ValueError(f"model must be one of {', '.join(MODEL_NAMES)}, got {name!r}")


@dataclass(frozen=True)
class Slot:
    """One parameter inside the flat vector: ``flat[start:stop]`` viewed as ``shape``."""

    name: str
    shape: tuple[int, ...]
    start: int
    stop: int
    penalised: bool

    @property
    def groups(self) -> int:
        """Output channels (rows of ``weight.reshape(out, -1)``)."""
        return self.shape[0]

    @property
    def group_size(self) -> int:
        return (self.stop - self.start) // self.shape[0]


class Layout:
    """Flat layout of a module's parameters: penalised weights first (one contiguous block
    ``[0, n_penalised)``), then the rest."""

    def __init__(self, module: nn.Module) -> None:
        named = list(module.named_parameters())
        pen = [(n, p) for n, p in named if p.ndim >= 2]
        rest = [(n, p) for n, p in named if p.ndim < 2]
        slots, pos = [], 0
        for n, p in pen + rest:
            slots.append(Slot(n, tuple(p.shape), pos, pos + p.numel(), p.ndim >= 2))
            pos += p.numel()
        self.module = module
        self.slots: tuple[Slot, ...] = tuple(slots)
        self.size = pos
        self.n_penalised = sum(s.stop - s.start for s in slots if s.penalised)

    @property
    def penalised(self) -> tuple[Slot, ...]:
        return tuple(s for s in self.slots if s.penalised)

    def flatten(self, module: nn.Module | None = None) -> torch.Tensor:
        """The module's current parameters as one vector (a copy)."""
        params = dict((module or self.module).named_parameters())
        return torch.cat([params[s.name].detach().reshape(-1) for s in self.slots])

    def views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Parameter dict of views into ``flat`` (1-D)."""
        return {s.name: flat[s.start:s.stop].view(s.shape) for s in self.slots}

    def forward(self, flat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The module evaluated with the parameters in ``flat`` (autograd flows into it)."""
        return torch.func.functional_call(self.module, self.views(flat), (x,))

    def load(self, flat: torch.Tensor, module: nn.Module | None = None) -> None:
        """Copy ``flat`` into the module's parameters."""
        params = dict((module or self.module).named_parameters())
        with torch.no_grad():
            for s in self.slots:
                params[s.name].copy_(flat[s.start:s.stop].view(s.shape))

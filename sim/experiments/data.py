"""Real data for the experiment: the handwritten digits shipped inside scikit-learn, or any
local ``.npz`` with arrays ``X`` (images) and ``y`` (integer labels).  Nothing is downloaded.

Digits (``sklearn.datasets.load_digits``): 1797 grey images of 8x8 pixels with values 0..16,
10 classes.  A :class:`Dataset` holds a fixed stratified train/test split (the split depends
on ``split_seed`` only, never on a training seed), images as float tensors of shape
``(n, 1, H, W)`` scaled to [0, 1] (divided by the largest pixel value of the training split),
and integer labels.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["Dataset", "load_dataset", "load_digits", "load_npz", "split"]


@dataclass(frozen=True)
class Dataset:
    """Train/test tensors and a description (name, sizes, checksum) for provenance."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: int
    info: dict[str, Any]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.x_train.shape[1:]
        return int(c), int(h), int(w)

    def to(self, device: Any = None, dtype: torch.dtype | None = None) -> Dataset:
        """A copy on another device / float dtype (labels stay int64)."""
        def mv(x: torch.Tensor) -> torch.Tensor:
            return x.to(device=device, dtype=dtype)

        return Dataset(self.name, mv(self.x_train), self.y_train.to(device), mv(self.x_test),
                       self.y_test.to(device), self.classes, self.info)


def _as_images(x: np.ndarray, image_shape: tuple[int, int] | None) -> np.ndarray:
    """``(n, H, W)``, ``(n, C, H, W)`` or flat ``(n, H*W)`` (square images) -> ``(n, C, H, W)``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        if image_shape is None:
            side = math.isqrt(x.shape[1])
            if side * side != x.shape[1]:
                raise ValueError(f"X has {x.shape[1]} features, not a square image; pass "
                                 "image_shape=(H, W)")
            image_shape = (side, side)
        if image_shape[0] * image_shape[1] != x.shape[1]:
            raise ValueError(f"image_shape {image_shape} does not match {x.shape[1]} features")
        return x.reshape(x.shape[0], 1, *image_shape)
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4:
        return x
    raise ValueError(f"X must have 2, 3 or 4 dimensions, got shape {x.shape}")


def split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int
          ) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split: indices of train and test (per class, a ``test_fraction`` share,
    rounded, at least one sample kept for training)."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        n_test = min(len(idx) - 1, int(round(test_fraction * len(idx))))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _make(name: str, x: np.ndarray, y: np.ndarray, test_fraction: float, split_seed: int,
          limit: int | None, extra: dict[str, Any]) -> Dataset:
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(f"y must be a vector of {x.shape[0]} labels, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise ValueError("y must hold integer class labels")
        y = y.astype(np.int64)
    if not np.all(np.isfinite(x)):
        raise ValueError("X has NaN or inf entries")
    classes_present = np.unique(y)
    if classes_present[0] < 0:
        raise ValueError("labels must be >= 0")
    if limit is not None:
        if limit < 2 * classes_present.size:
            raise ValueError(f"limit must be >= {2 * classes_present.size}, got {limit}")
        keep, _ = split(x, y, 1 - limit / x.shape[0], split_seed + 1) if limit < x.shape[0] \
            else (np.arange(x.shape[0]), None)
        x, y = x[keep], y[keep]
    tr, te = split(x, y, test_fraction, split_seed)
    scale = float(np.max(np.abs(x[tr]))) or 1.0
    digest = hashlib.sha256(np.ascontiguousarray(x).tobytes() + y.astype(np.int64).tobytes())
    info = {"name": name, "n_train": int(tr.size), "n_test": int(te.size),
            "image_shape": list(x.shape[1:]), "classes": int(classes_present.max() + 1),
            "test_fraction": test_fraction, "split_seed": split_seed, "limit": limit,
            "scale": scale, "sha256": digest.hexdigest()[:16], **extra}

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a / scale, dtype=torch.float32)

    return Dataset(name, t(x[tr]), torch.as_tensor(y[tr], dtype=torch.int64), t(x[te]),
                   torch.as_tensor(y[te], dtype=torch.int64), int(classes_present.max() + 1),
                   info)


def _digits_arrays() -> tuple[np.ndarray, np.ndarray, str]:
    """Images ``(1797, 8, 8)`` and labels of scikit-learn's digits.

    Read straight from the data file inside the installed scikit-learn package
    (``sklearn/datasets/data/digits.csv.gz``, the file ``load_digits`` parses: 64 pixels then
    the label per row), located without importing scikit-learn (that import costs seconds);
    ``sklearn.datasets.load_digits`` itself if the file is not where expected.  Equality of
    the two is tested (``tests/test_experiments.py``).
    """
    import gzip
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:
        raise ValueError("the digits dataset needs scikit-learn installed")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
    if path.is_file():
        with gzip.open(path) as fh:
            arr = np.loadtxt(fh, delimiter=",")
        if arr.ndim == 2 and arr.shape[1] == 65:
            return arr[:, :-1].reshape(-1, 8, 8), arr[:, -1].astype(np.int64), str(path)
    from sklearn import datasets  # pragma: no cover - layout of scikit-learn changed

    bunch = datasets.load_digits()  # pragma: no cover
    return bunch.images, bunch.target, "sklearn.datasets.load_digits"  # pragma: no cover


def load_digits(*, test_fraction: float = 0.25, split_seed: int = 0,
                limit: int | None = None) -> Dataset:
    """The scikit-learn digits (offline: the file ships with the package).  ``limit``: keep a
    stratified subset of about ``limit`` samples (each class's share rounded)."""
    images, target, source = _digits_arrays()
    return _make("digits", _as_images(images, None), target, test_fraction, split_seed, limit,
                 {"source": source})


def load_npz(path: str | Path, *, image_shape: tuple[int, int] | None = None,
             test_fraction: float = 0.25, split_seed: int = 0,
             limit: int | None = None) -> Dataset:
    """A local ``.npz`` with ``X`` (``(n, H, W)``, ``(n, C, H, W)`` or flat square images) and
    ``y`` (integer labels).  Never downloads."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"dataset file {str(p)!r} does not exist")
    try:
        with np.load(p, allow_pickle=False) as z:
            if "X" not in z or "y" not in z:
                raise ValueError(f"{str(p)!r} must contain arrays 'X' and 'y', has "
                                 f"{sorted(z.files)}")
            x, y = z["X"], z["y"]
    except (OSError, EOFError) as exc:
        raise ValueError(f"cannot read {str(p)!r} as .npz: {exc}") from None
    return _make(p.stem, _as_images(x, image_shape), y, test_fraction, split_seed, limit,
                 {"source": str(p.resolve())})


def load_dataset(spec: str = "digits", **kwargs: Any) -> Dataset:
    """``"digits"`` or a path to an ``.npz`` file."""
    if spec == "digits":
        return load_digits(**kwargs)
    return load_npz(spec, **kwargs)

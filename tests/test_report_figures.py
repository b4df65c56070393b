"""Every figure of ``rvsm report`` is written as a PNG that opens and is not blank."""

from __future__ import annotations

import numpy as np
import pytest

from rvsm.report import FIGURES


@pytest.mark.parametrize("caption,fn", FIGURES, ids=[fn.__name__ for _, fn in FIGURES])
def test_figure_opens(tmp_path, caption, fn) -> None:
    import matplotlib.image

    name = fn(tmp_path)
    path = tmp_path / name
    assert path.suffix == ".png" and path.is_file()
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] >= 300 and img.shape[1] >= 400
    # not blank: a plotted figure has many distinct pixel values
    assert np.unique(img.reshape(-1, img.shape[2]), axis=0).shape[0] > 50
    assert not list(tmp_path.glob(".*.tmp.png")), "temporary files left behind"

"""Every figure of ``rvsm report`` is written as a PNG that opens and is not blank, and the
quantity it plots is checked where one can be wrong: the figure is read back through the
``gid`` of its artists (:mod:`rvsm.figures`) and compared with the theory.

Each figure is drawn once per test (the hysteresis figure simulates for about 30 s), so the
"opens" check and the quantity checks of a figure share one test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.colors import to_rgb

import rvsm.figures as F
from theory import relu
from theory.penalties import Penalty

ROOT = Path(__file__).resolve().parents[1]
BY_NAME = {fn.__name__: fn for _, fn in F.FIGURES}


def render(fn: Callable[..., str], out: Path, *args: Any) -> Any:
    """Draw ``fn`` into ``out``, check the PNG opens and is not blank, return the figure.

    The figure is caught on its way to ``_save`` (looked up in ``fn``'s module, so the same
    check runs on any implementation of the figure that saves through a ``_save``)."""
    import matplotlib.image

    caught = []
    save = fn.__globals__["_save"]

    def catch(fig: Any, where: Path, name: str) -> str:
        caught.append(fig)
        return save(fig, where, name)

    fn.__globals__["_save"] = catch
    try:
        name = fn(out, *args)
    finally:
        fn.__globals__["_save"] = save
    path = out / name
    assert path.suffix == ".png" and path.is_file()
    img = matplotlib.image.imread(path)
    assert img.ndim == 3 and img.shape[0] >= 300 and img.shape[1] >= 400
    # not blank: a plotted figure has many distinct pixel values
    assert np.unique(img.reshape(-1, img.shape[2]), axis=0).shape[0] > 50
    assert not list(out.glob(".*.tmp.png")), "temporary files left behind"
    assert len(caught) == 1
    return caught[0]


def by_gid(fig: Any) -> dict[str, Any]:
    return {a.get_gid(): a for ax in fig.axes for a in ax.get_children()
            if a.get_gid() is not None}


def xy(artist: Any) -> tuple[np.ndarray, np.ndarray]:
    return (np.asarray(artist.get_xdata(), dtype=float),
            np.asarray(artist.get_ydata(), dtype=float))


TESTED = {"_figure_relu_landscape", "_figure_random_start", "_figure_trajectories",
          "_figure_bound_tightness", "_figure_limit_map", "_figure_hysteresis"}


def test_every_figure_has_a_test() -> None:
    assert set(BY_NAME) == TESTED, "add a test of the new figure's quantity"


def test_relu_landscape(tmp_path) -> None:
    """The markers sit at critical points: the gradient vanishes there, and the saddle is at
    -(b/a) w* = (1 - k)/(k - 1 + pi) w* (written out here, independently of SymPy)."""
    fig = render(F._figure_relu_landscape, tmp_path)
    g = by_gid(fig)
    k, w_star = F.LANDSCAPE_K, np.array([1.0, 0.0])
    for gid in ("w_star", "saddle"):
        x, y = xy(g[gid])
        assert np.linalg.norm(relu.grad(np.array([x[0], y[0]]), w_star, k)) < 1e-12, gid
    assert xy(g["saddle"])[0][0] == pytest.approx((1 - k) / (k - 1 + np.pi), rel=1e-12)


def test_random_start(tmp_path) -> None:
    """Samples within 5 standard errors of the formula; the formula below delta/pi, and equal
    to it for d = 2; one legend entry per dimension, the formula written once (title)."""
    fig = render(F._figure_random_start, tmp_path)
    g = by_gid(fig)
    dx, chord = xy(g["chord"])
    np.testing.assert_allclose(chord, dx / np.pi)
    for d in F.RANDOM_START_DIMS:
        fx, fy = xy(g[f"formula-d{d}"])
        sx, sy = xy(g[f"sampled-d{d}"])
        at = np.interp(sx, fx, fy)
        se = np.sqrt(at * (1 - at) / F.RANDOM_START_SAMPLES) + 1e-12
        assert np.all(np.abs(sy - at) <= 5 * se), d
        assert np.all(fy <= chord + 1e-12), d
        if d == 2:
            np.testing.assert_allclose(fy, chord, atol=1e-12)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert len(labels) == len(set(labels)) and not any("I_(" in t for t in labels)


def check_trajectories(fig: Any) -> int:
    """Like with like: in every panel that plots an angle, each solid trace ends on a dashed
    line of its own colour (the calculator's limit).  Returns the number of solid traces.

    Written against the artists alone (no gid), so it also judges the figure drawn before the
    fix, which plotted angle(u_t, w*) against the calculator's angle(w_bar, w*)."""
    traces = 0
    for ax in fig.axes:
        if "angle" not in ax.get_ylabel():
            continue
        dashed: dict[tuple[float, ...], list[float]] = {}
        solid = []
        for line in ax.get_lines():
            x, y = xy(line)
            if line.get_linestyle() == "--" and len(y) and np.ptp(y) == 0:
                dashed.setdefault(to_rgb(line.get_color()), []).append(float(y[0]))
            elif line.get_linestyle() == "-" and len(y) > 2:
                solid.append((to_rgb(line.get_color()), float(y[-1])))
        for color, end in solid:
            levels = dashed.get(color, [])
            assert levels and min(abs(end - v) for v in levels) < 1e-6, (
                f"a trace ends at {end:.6f} rad, not on a dashed limit of its colour {levels}")
        traces += len(solid)
    return traces


def test_trajectories(tmp_path) -> None:
    """Each run's angle(w_t, w*) ends on the angle(w_bar, w*) of the limit it reaches; L_beta
    never increases (eta = 0.5 is below the step bound); one panel per penalty."""
    fig = render(F._figure_trajectories, tmp_path)
    p = F.TRAJECTORIES
    runs = p["runs"] * len(p["penalties"])
    assert check_trajectories(fig) >= 0.9 * runs, "most runs should reach a listed limit"
    g = by_gid(fig)
    for pen, _ in p["penalties"]:
        for b in range(p["runs"]):
            _, y = xy(g[f"lagrangian-{pen}-run{b}"])
            assert np.all(np.diff(y) <= 1e-12), (pen, b)
    for ax in fig.axes:
        if ax.get_legend() is not None:
            labels = [t.get_text() for t in ax.get_legend().get_texts()]
            assert len(labels) == len(set(labels))


def test_trajectory_check_catches_the_old_bug(tmp_path, monkeypatch) -> None:
    """Plotting angle(u_t, w*) (the old figure) against the calculator's angle(w_bar, w*)
    fails :func:`check_trajectories`: the l1 runs end at 0.250 rad, their line is at 0.194."""
    runs = F.trajectory_runs

    def old(pen: str, params: dict[str, float]) -> Any:
        res, attracting, match = runs(pen, params)
        res.traces["angle"] = res.traces["angle_u"]
        return res, attracting, match

    monkeypatch.setattr(F, "trajectory_runs", old)
    fig = render(F._figure_trajectories, tmp_path)
    with pytest.raises(AssertionError, match="not on a dashed limit"):
        check_trajectories(fig)


def test_bound_tightness(tmp_path) -> None:
    """Every plotted (bound, actual) pair lies on or below the diagonal."""
    fig = render(F._figure_bound_tightness, tmp_path)
    points = {gid: a for gid, a in by_gid(fig).items() if gid.startswith("points-")}
    assert {"points-relu-l1", "points-binary-l1"} <= set(points)
    for gid, artist in points.items():
        b, a = xy(artist)
        assert len(b) and np.all(a <= b * (1 + 1e-9)), gid


def test_limit_map(tmp_path) -> None:
    """The plotted u_bar is prox(w_bar), and (w_bar, u_bar) is a fixed point of RVSM:
    grad l(w_bar) + beta (w_bar - u_bar) = 0; one figure legend, not one per panel."""
    fig = render(F._figure_limit_map, tmp_path)
    g = by_gid(fig)
    p = F.LIMIT_MAP
    w_star = np.linspace(*p["w_star"])
    for pen, params in F.LIMIT_MAP_PENALTIES:
        _, w = xy(g[f"w_bar-{pen}"])
        _, u = xy(g[f"u_bar-{pen}"])
        np.testing.assert_allclose(u, Penalty(pen, **params).prox(w, p["lam"] / p["beta"]),
                                   atol=1e-12, err_msg=pen)
        resid = relu.grad(w, w_star, p["k"]) + p["beta"] * (w - u)
        assert np.max(np.abs(resid)) < 1e-9 * np.max(np.abs(w_star)), pen
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1


def test_hysteresis(tmp_path) -> None:
    """Every simulated limit has the sparsity of one of the calculator's fixed points at that
    lam (a sparsity is a multiple of 1/d), and l0 shows hysteresis: the sweeps differ."""
    fig = render(F._figure_hysteresis, tmp_path)
    g = by_gid(fig)
    d = F.HYSTERESIS["d"]
    for pen, _ in F.HYSTERESIS["penalties"]:
        cx, cy = xy(g[f"calculator-{pen}"])
        for sweep in ("up", "down"):
            x, y = xy(g[f"{sweep}-{pen}"])
            assert np.allclose(y * d, np.round(y * d)), (pen, sweep)
            for lam, sp in zip(x, y):
                at = cy[np.isclose(cx, lam, rtol=1e-12)]
                assert np.any(np.abs(at - sp) < 1e-9), (pen, sweep, lam, sp, at)
    assert not np.array_equal(xy(g["up-l0"])[1], xy(g["down-l0"])[1][::-1])


TRADEOFF = ROOT / "experiments" / "digits" / "tradeoff.json"


@pytest.mark.skipif(not TRADEOFF.is_file(), reason="no saved real-data results")
def test_tradeoff(tmp_path) -> None:
    """The zoomed panels plot the accuracy at the target sparsities (in %), inside the zoom;
    no more than four series per panel, and no legend repeats itself."""
    fig = render(F.figure_tradeoff, tmp_path, TRADEOFF)
    res = json.loads(TRADEOFF.read_text())
    g = by_gid(fig)
    zoom = {gid: a for gid, a in g.items() if gid.startswith("zoom-")}
    assert {"zoom-cnn-rvsm-tl1", "zoom-cnn-practical-l0", "zoom-patch-prune"} <= set(zoom)
    for gid, artist in zoom.items():
        _, model, method = gid.split("-", 2)
        want = [e for e in res["at_sparsity"] if e["model"] == model and e["method"] == method
                and e["beta"] == 1.0 and e["accuracy"] is not None and e["sparsity"] >= 0.78]
        x, y = xy(artist)
        np.testing.assert_allclose(y, [100 * e["accuracy"] for e in sorted(
            want, key=lambda e: e["sparsity"])], err_msg=gid)
        assert np.all((x >= F.TRADEOFF_ZOOM[0]) & (x <= F.TRADEOFF_ZOOM[1])), gid
    for ax in fig.axes:
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert len(labels) <= 4 and len(labels) == len(set(labels))

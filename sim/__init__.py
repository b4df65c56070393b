"""Batched torch simulation of RVSM / RVSCGD and baselines (imports :mod:`theory`, never
the reverse).  Every gradient comes from :mod:`theory`'s closed forms."""

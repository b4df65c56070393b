"""The face of the toolkit: the ``rvsm`` command line and the verification report.

Contains no mathematics: every number comes from :mod:`theory` or :mod:`sim`.
"""

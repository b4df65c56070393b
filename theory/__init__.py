"""Pure mathematics of relaxed variable splitting for no-overlap CNNs.

SymPy derives every closed form; :mod:`theory.backends` turns the expressions into
NumPy / torch (array API) and mpmath callables.  This package never imports torch:
functions that accept arrays dispatch on the array's namespace, so torch tensors work
when the caller has torch, and autograd flows through them.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("rvsm-theory")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["__version__"]

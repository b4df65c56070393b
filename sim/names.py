"""Names of the simulator's choices, importable without torch (the CLI builds its parser
from them without paying for a torch import)."""

ALGORITHMS: tuple[str, ...] = ("rvsm", "rvscgd", "proxgrad", "admm", "practical")
MODELS: tuple[str, ...] = ("relu", "binary")
MODES: tuple[str, ...] = ("population", "online", "train")
SAMPLERS: tuple[str, ...] = ("projection", "direct")
DTYPES: tuple[str, ...] = ("float32", "float64")

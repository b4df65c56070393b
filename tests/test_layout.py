"""Architecture rules that a test can enforce, and the notebooks as executable scripts."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_theory_never_imports_torch() -> None:
    code = ("import sys, theory, theory.relu, theory.statements, theory.geometry;"
            "import pkgutil, importlib;"
            "[importlib.import_module('theory.' + m.name) for m in pkgutil.iter_modules(theory.__path__)];"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    offenders = [p for p in (ROOT / "theory").rglob("*.py")
                 if any(line.lstrip().startswith(("import torch", "from torch"))
                        for line in p.read_text().splitlines())]
    assert offenders == []


@pytest.mark.parametrize("notebook", sorted((ROOT / "notebooks").glob("*.py")), ids=lambda p: p.stem)
def test_notebook_runs(notebook: Path) -> None:
    """Each py:percent notebook is a script whose cells assert what they show."""
    runpy.run_path(str(notebook), run_name="__main__", init_globals={"display": print})

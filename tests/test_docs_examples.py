"""The runnable examples of the documentation (``docs/examples.md``): every ``pycon`` block is
a doctest, run here with the test suite."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "examples.md"
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def blocks() -> list[str]:
    return re.findall(r"^```pycon\n(.*?)^```", PAGE.read_text(), flags=re.M | re.S)


def test_the_page_has_examples() -> None:
    text = "\n".join(blocks())
    for api in ("fixed_points(", ".prox(", "sim.run(", "load_registry()", ".run("):
        assert api in text, api


def test_examples() -> None:
    """The blocks run in order in one namespace, as a reader would type them."""
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    globs: dict = {}
    for i, block in enumerate(blocks()):
        test = parser.get_doctest(block, globs, f"examples.md block {i + 1}", str(PAGE), 0)
        runner.run(test, clear_globs=False)
        globs = test.globs
    result = runner.summarize(verbose=False)
    if result.failed:
        pytest.fail(f"{result.failed} of {result.attempted} examples failed (output above)")
